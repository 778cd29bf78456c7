/**
 * One end-to-end world: the Kling emulator and the results-service fake on 127.0.0.1, and the built
 * action run as a child process the way the runner runs it. Every run is scanned for secrets.
 */
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { KlingEmulator, type KlingEmulatorOptions } from '../emulator/kling-emulator.ts';
import { readZip, ResultsService } from '../emulator/results-service.ts';
import { JOB_TOKEN, runAction, type ActionRun, type RunActionOptions } from '../support/run-action.ts';

export const API_KEY = 'sk-test-cometapi-3f9a1c7e5b2d';
export const KLING_API_KEY = 'kling-console-key-81b2e6f0a4c9';
export const ACCESS_KEY = 'ak-test-5e7d1a9c3b';
export const SECRET_KEY = 'sk-secret-test-0c4f8a2e6d1b9573';

export interface World {
  kling: KlingEmulator;
  results: ResultsService;
  /** Runs the built action with CometAPI defaults pointed at the emulator; `inputs` override them. */
  run(inputs: Record<string, string>, options?: Partial<RunActionOptions>): Promise<ActionRun>;
  close(): Promise<void>;
}

export async function startWorld(options: KlingEmulatorOptions = {}): Promise<World> {
  const kling = await KlingEmulator.start({
    apiKeys: [API_KEY, KLING_API_KEY],
    accessKeys: { [ACCESS_KEY]: SECRET_KEY },
    ...options,
  });
  const results = await ResultsService.start();
  return {
    kling,
    results,
    async run(inputs, extra = {}) {
      const run = await runAction({
        ...extra,
        // The worlds' videos are fictional (example.com): preflight has tests of its own.
        inputs: {
          api_key: API_KEY,
          base_url: kling.url,
          poll_interval_seconds: '0.05',
          preflight: 'false',
          ...inputs,
        },
        env: { ...results.env(), ...extra.env },
      });
      await expectNoSecrets(run, kling, results, stagingSecrets(kling, extra.env));
      recordSnapshot(run, inputs);
      return run;
    },
    async close() {
      await Promise.all([kling.close(), results.close()]);
    },
  };
}

/**
 * Credentials and every token derived from them must appear nowhere: not in the log (except the
 * runner's own `::add-mask::` command), outputs (`results` among them), state, summary, files
 * written or their names, or artifacts. Nor may 12 characters in a row of one appear in the texts
 * (a secret cut short by a length cap still leaks its start).
 */
export async function expectNoSecrets(
  run: ActionRun,
  kling: KlingEmulator,
  results: ResultsService,
  staging: { raw: string[]; whole: string[] } = { raw: [], whole: [] },
) {
  const tokens = kling.requests
    .map((r) => r.authorization?.replace(/^Bearer\s+/i, ''))
    .filter((t): t is string => Boolean(t));
  const raw = [API_KEY, KLING_API_KEY, ACCESS_KEY, SECRET_KEY, JOB_TOKEN, ...tokens, ...staging.raw];
  // As sent, and URL-encoded as a gateway may quote them; presigned URLs whole (their origin is not secret).
  const secrets = [...new Set([...raw, ...raw.map(encodeURIComponent), ...staging.whole])];
  const log = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  const texts: [string, string][] = [
    ['log', log],
    ['outputs', JSON.stringify(run.outputs)],
    ['state', JSON.stringify(run.state)],
    ['summary', run.summary],
  ];
  const files = workspaceFiles(run.workspace);
  const places: [string, string][] = [
    ...texts,
    ['file names', files.join('\n')],
    ...files.map((f): [string, string] => [f, readFileSync(f, 'latin1')]),
  ];
  for (const artifact of results.artifacts) {
    // archive: false uploads a file as it is; everything else is a zip.
    const zipped = artifact.blob.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
    if (!zipped) places.push([`artifact ${artifact.name}`, artifact.blob.toString('latin1')]);
    else
      for (const [name, bytes] of await readZip(artifact.blob))
        places.push([`artifact ${artifact.name}/${name}`, `${name}\n${bytes.toString('latin1')}`]);
  }
  places.push(['artifact names', results.artifacts.map((a) => a.name).join('\n')]);
  for (const [where, text] of places)
    for (const secret of secrets) expect(text.includes(secret), `a secret leaked into ${where}`).toBe(false);
  for (const secret of raw)
    for (let at = 0; at + 12 <= secret.length; at++) {
      const part = secret.slice(at, at + 12);
      for (const [where, text] of texts)
        expect(text.includes(part), `part of a secret (${part}) leaked into ${where}`).toBe(false);
    }
}

/**
 * What staging must keep secret: the AWS credentials the step was given, and every presigned URL the
 * API received (with its signature alone, which a log could show cut from its URL).
 */
export function stagingSecrets(kling: KlingEmulator, env: Record<string, string> = {}) {
  const credentials = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']
    .map((name) => env[name])
    .filter((value): value is string => Boolean(value));
  const presigned = kling.requests
    .map((r) => (r.body as { video_url?: unknown } | undefined)?.video_url)
    .filter((url): url is string => typeof url === 'string' && url.includes('X-Amz-Signature='));
  const signatures = presigned.map((url) => new URL(url).searchParams.get('X-Amz-Signature')!);
  return { raw: [...credentials, ...signatures], whole: presigned };
}

function workspaceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? workspaceFiles(full) : [full];
  });
}

/** The `::error::` line the action printed, decoded the way the runner shows it. */
export function errorMessage(run: ActionRun): string {
  const line = run.stdout.split('\n').find((l) => l.startsWith('::error'));
  return (line ?? '')
    .replace(/^::error[^:]*::/, '')
    .replace(/%0A/g, '\n')
    .replace(/%0D/g, '\r')
    .replace(/%25/g, '%');
}

export function routeRequests(kling: KlingEmulator, route: 'create' | 'query' | 'download') {
  return kling.requests.filter((r) => r.route === route);
}

/**
 * With E2E_SNAPSHOT_FILE set, every run's outputs, summary and annotations are appended to it (one JSON
 * line each), so a refactor can show they are unchanged: `scripts/compare-e2e-snapshots.ts`.
 */
function recordSnapshot(run: ActionRun, inputs: Record<string, string>): void {
  const record = process.env.E2E_SNAPSHOT_FILE;
  if (!record) return;
  const annotations = run.stdout.split('\n').filter((line) => /^::(error|warning|notice)\b/.test(line));
  // Concurrent tests share expect's state: the inputs tell runs apart, the file name helps reading.
  const file = expect.getState().testPath?.replace(/.*\//, '') ?? '';
  const test = `${file} ${JSON.stringify(Object.entries(inputs).sort())}`;
  appendFileSync(
    `${record}.${process.pid}`,
    `${JSON.stringify({ test, outputs: run.outputs, summary: run.summary, annotations })}\n`,
  );
}
