// Hostile and broken servers, against the built action run as the runner runs it: no outside text
// becomes a workflow command or summary markup, timeout_seconds bounds every wait, API answers are
// read only up to a cap, result URLs cannot point the runner at local files or metadata services,
// credentials never reach a result host, and bad inputs or an unreachable API fail fast and clearly.
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cometErrorBody } from '../emulator/kling/faults.ts';
import { faults } from '../emulator/kling-emulator.ts';
import {
  ACTION_TEST_TIMEOUT_MS,
  type ActionRun,
  JOB_TOKEN,
  REPO_ROOT,
  stepMs,
} from '../support/run-action.ts';
import {
  ACCESS_KEY,
  API_KEY,
  errorMessage,
  KLING_API_KEY,
  routeRequests,
  SECRET_KEY,
  startWorld,
  type World,
} from './world.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

/** A world of its own for each test, so the tests can run side by side. */
async function withWorld<T>(body: (world: World) => Promise<T>): Promise<T> {
  const world = await startWorld();
  try {
    return await body(world);
  } finally {
    await world.close();
  }
}

const video = (name: string) => ({ video_url: `https://example.com/${name}.mp4` });

/** Lines as the runner splits them: at \n, \r or \r\n, on stdout and stderr alike. */
function logLines(run: ActionRun): string[] {
  return `${run.stdout}\n${run.stderr}`.split(/\r\n|\r|\n/);
}

/**
 * Lines the runner would read as a workflow command: `::` after leading white space (.NET trims every
 * Unicode space, U+0085 too), or the legacy `##[` anywhere in the line.
 */
function commandLines(run: ActionRun): string[] {
  return logLines(run)
    .map((line) => line.replace(/^[\s\u0085]+/, ''))
    .filter((line) => line.startsWith('::') || line.includes('##['));
}

/** The way @actions/core escapes a command's data, undone. */
function commandData(line: string): string {
  return line
    .slice(line.indexOf('::', 2) + 2)
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%');
}

const OWN_COMMAND = /^::(add-mask|error|warning|notice|debug|group|endgroup)( [^:]*)?::/;
const FORBIDDEN_COMMANDS = [
  '::set-output',
  '::stop-commands',
  '::add-path',
  '::set-env',
  '::save-state',
  '##[',
];

/**
 * Every command line is one the action issues itself, and `::add-mask::` masks only `secrets`: no
 * server text made a command of its own.
 */
function expectOnlyOwnCommands(run: ActionRun, secrets: readonly string[]): void {
  for (const line of commandLines(run)) {
    for (const forbidden of FORBIDDEN_COMMANDS)
      expect(line.startsWith(forbidden), `a "${forbidden}" line: ${line}`).toBe(false);
    expect(line, 'a command line the action does not issue').toMatch(OWN_COMMAND);
    if (line.startsWith('::add-mask::'))
      expect(secrets, `masks something that is not a secret: ${line}`).toContain(commandData(line));
  }
}

/** What stays of Markdown once every code span (any fence length, CommonMark §6.1) is removed. */
function outsideCodeSpans(markdown: string): string {
  let rest = '';
  let i = 0;
  while (i < markdown.length) {
    const open = /`+/g;
    open.lastIndex = i;
    const start = open.exec(markdown);
    if (!start) break;
    const fence = start[0];
    let close: RegExpExecArray | null;
    const search = /`+/g;
    search.lastIndex = start.index + fence.length;
    while ((close = search.exec(markdown)) && close[0].length !== fence.length);
    rest += markdown.slice(i, start.index);
    if (!close) {
      // An unmatched fence is literal text.
      rest += fence;
      i = start.index + fence.length;
    } else i = close.index + close[0].length;
  }
  return rest + markdown.slice(i);
}

/**
 * How long a step may take to end once its deadline has passed: giving up what it waits for,
 * writing its summary and outputs, which a loaded machine stretches. Still far below what ends a
 * step that ignores its deadline: the 30 s a request or a stalled download is given, the hours a
 * trickle takes, the kill of a run that never ends.
 */
const WRAP_UP_MS = 10_000;

/** ms from a request the emulator received to the action's exit (the same clock). */
function sinceRequest(run: ActionRun, request: { atMs: number }): number {
  return Math.round(run.startedAtMs + run.durationMs - request.atMs);
}

/** A loopback port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/**
 * Peak memory of the action's own process: the entry is a shim that reports
 * process.resourceUsage().maxRSS on exit, then loads the built action as the runner would.
 */
let shimDir: string | undefined;
let rssEntry: string | undefined;
beforeAll(() => {
  shimDir = mkdtempSync(path.join(tmpdir(), 'hostile-rss-'));
  rssEntry = path.join(shimDir, 'measured.mjs');
  writeFileSync(
    rssEntry,
    [
      "process.on('exit', () => process.stderr.write(`peak-rss-kib ${process.resourceUsage().maxRSS}\\n`));",
      `await import(${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist', 'index.js')).href)});`,
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  if (shimDir) rmSync(shimDir, { recursive: true, force: true });
});

function peakRssMiB(run: ActionRun): number {
  const kib = /peak-rss-kib (\d+)/.exec(run.stderr)?.[1];
  expect(kib, `no peak RSS report on stderr:\n${run.stderr}`).toBeDefined();
  return Number(kib) / 1024;
}

describe.concurrent('hostile and broken servers', () => {
  describe('no outside text becomes a workflow command', () => {
    it.each([
      ['the legacy ##[ mid-line', '##[error]pwned'],
      ['a line break and a no-break space', 'x\n\u00a0::error::pwned'],
    ])(
      'a server error code with %s, in more retry notices than the annotation budget: never a command',
      async (_label, code) =>
        withWorld(async (world) => {
          // Eight answered polls fail with the hostile code; Retry-After 0 keeps the retries quick.
          world.kling.inject({
            route: 'query',
            times: 8,
            fault: {
              kind: 'error',
              status: 503,
              body: cometErrorBody('busy', code),
              headers: { 'Retry-After': '0' },
            },
          });
          // No upload: the artifact client masks tokens of its own, which this check cannot tell apart.
          const run = await world.run({ ...video('hostile-code'), upload_artifact: 'false' });
          expect(run.code, run.stdout).toBe(0);
          // Past the 5 warning annotations, notices go to the log as plain lines.
          expect(run.stdout).toMatch(/^Retrying: /m);
          expectOnlyOwnCommands(run, [API_KEY, JOB_TOKEN]);
          expect(logLines(run).some((line) => /^[\s\u0085]*::error::pwned/.test(line))).toBe(false);
        }),
    );

    const hostileIds: [string, string][] = [
      ['a line break and ::add-mask::', 'abc\n::add-mask::x'],
      ['a carriage return and ::set-output', 't1\r::set-output name=task_id::pwned'],
      ['a path out of output_dir', '../../../etc/passwd'],
      ['a slash', 'a/b'],
      ['500 characters', `8${'6'.repeat(499)}`],
    ];
    it.each(hostileIds)(
      'a task id with %s from create: refused as malformed, nothing written, no command of its own',
      async (_label, hostileId) =>
        withWorld(async (world) => {
          world.kling.setNextTaskId(hostileId);
          const run = await world.run(video('hostile-id'));

          expect(run.code, run.stdout).toBe(1);
          // The create did reach the API, so the external id is how a re-run finds the task.
          const externalId = run.outputs.external_task_id;
          expect(externalId).toMatch(/^gha-/);
          expect(routeRequests(world.kling, 'create')).toHaveLength(1);
          expect(run.outputs).not.toHaveProperty('task_id');
          const message = errorMessage(run);
          expect(message).toMatch(/re-run|resume/i);
          expect(message).toMatch(/not a plausible task id|malformed|not with a task|not the documented/i);

          expectOnlyOwnCommands(run, [API_KEY, JOB_TOKEN]);
          // Nothing written anywhere: not in the workspace, not where the id points outside it.
          expect(filesUnder(run.workspace)).toEqual([]);
          const outputDir = path.join(run.workspace, 'kling-audio');
          for (const suffix of ['.mp3', '.wav', '.mp4', '.mp3.part', '.wav.part', '.mp4.part'])
            expect(existsSync(path.resolve(outputDir, `${hostileId}${suffix}`))).toBe(false);
          expect(existsSync(path.join(run.workspace, 'etc'))).toBe(false);
          expect(existsSync(path.resolve(run.workspace, '..', 'etc', 'passwd'))).toBe(false);
          expect(JSON.stringify(run.outputs)).not.toContain('pwned');
          expect(JSON.stringify(run.state)).not.toContain('pwned');
        }),
    );

    const hostileMessage =
      'bad\n::error::pwned\r::add-mask::x\n<img src=x onerror=alert(1)> [click](https://evil.example) ![i](https://evil.example/a.png)';

    it('a failure message with commands and markup: no command line of its own, inert in the summary', async () =>
      withWorld(async (world) => {
        world.kling.setTimeline({ outcome: 'failed', failMessage: hostileMessage });
        const run = await world.run(video('hostile-message'));

        expect(run.code, run.stdout).toBe(1);
        expect(run.outputs.task_status).toBe('failed');
        expect(errorMessage(run)).toContain('pwned');
        expectOnlyOwnCommands(run, [API_KEY, JOB_TOKEN]);
        const lines = logLines(run).map((line) => line.trimStart());
        expect(lines.some((line) => line.startsWith('::error::pwned'))).toBe(false);
        expect(lines.some((line) => line.startsWith('::add-mask::x'))).toBe(false);

        const markup = outsideCodeSpans(run.summary);
        expect(run.summary).toContain('failed');
        expect(markup).not.toMatch(/<img/i);
        expect(markup).not.toContain('](https://evil');
        expect(markup).not.toMatch(/<https?:\/\/evil/);
      }));

    it('a failure message with line breaks: the error annotation shows it escaped, on one line', async () =>
      withWorld(async (world) => {
        world.kling.setTimeline({ outcome: 'failed', failMessage: hostileMessage });
        const run = await world.run(video('hostile-annotation'));

        expect(run.code, run.stdout).toBe(1);
        // The runner decodes %0A/%0D in the ::error:: line and shows the annotation's lines: none of
        // them may be a line the server wrote (external text is quoted, its control characters escaped).
        const message = errorMessage(run);
        expect(message).toContain('pwned');
        expect(message, `the error annotation, decoded: ${JSON.stringify(message)}`).not.toMatch(/[\r\n]/);
      }));
  });

  describe('timeout_seconds bounds every wait', () => {
    it('an artifact service that accepts and never answers: the process ends soon after the deadline', async () =>
      withWorld(async (world) => {
        const sockets = new Set<Socket>();
        const silent = createServer((socket) => sockets.add(socket));
        silent.listen(0, '127.0.0.1');
        await once(silent, 'listening');
        const { port } = silent.address() as AddressInfo;
        try {
          const run = await world.run(
            { ...video('silent-artifacts'), timeout_seconds: '4' },
            { env: { ACTIONS_RESULTS_URL: `http://127.0.0.1:${port}/` }, timeoutMs: 30_000 },
          );
          expect(run.code).toBe(1);
          // The upload client cannot be cancelled: the action gives it up and exits anyway, instead of
          // waiting for an answer that never comes.
          expect(stepMs(run)).toBeLessThan(4_000 + WRAP_UP_MS);
          expect(errorMessage(run)).toMatch(/did not finish before the step's deadline/);
          expect(errorMessage(run)).toContain(run.outputs.audio_path);
        } finally {
          for (const socket of sockets) socket.destroy();
          silent.close();
        }
      }));

    it('a create that never answers: ends at the deadline, says a re-run finds the task', async () =>
      withWorld(async (world) => {
        world.kling.inject(faults.hang('create'));
        const run = await world.run({ ...video('hang-create'), timeout_seconds: '3' });

        expect(run.code, run.stdout).toBe(1);
        // At the deadline: not before it, and long before the 30 s a request is otherwise given.
        expect(stepMs(run)).toBeGreaterThanOrEqual(2_500);
        expect(stepMs(run)).toBeLessThan(3_000 + WRAP_UP_MS);
        const externalId = run.outputs.external_task_id!;
        expect(externalId).toMatch(/^gha-/);
        expect(errorMessage(run)).toMatch(/re-run/i);
        expect(run.summary).toContain(externalId);
      }));

    it('a query that never answers: ends at the deadline with the task id and how to resume', async () =>
      withWorld(async (world) => {
        // A first attempt sends no look-up before the create: every read is a poll, and each hangs.
        world.kling.inject(faults.hang('query', Infinity));
        const run = await world.run({ ...video('hang-query'), timeout_seconds: '3' });

        expect(run.code, run.stdout).toBe(1);
        // Long before the 30 s a request is otherwise given.
        expect(stepMs(run)).toBeLessThan(3_000 + WRAP_UP_MS);
        const taskId = run.outputs.task_id!;
        expect(world.kling.tasks.has(taskId)).toBe(true);
        expect(routeRequests(world.kling, 'query').some((r) => r.status === 0)).toBe(true);
        const message = errorMessage(run);
        expect(message).toContain(`task_id: ${taskId}`);
      }));

    it('a CDN trickling 1 byte/s: ends at the deadline, says the task succeeded and how to collect it', async () =>
      withWorld(async (world) => {
        world.kling.inject(faults.trickleDownload(1));
        const run = await world.run({ ...video('trickle'), timeout_seconds: '4' });

        expect(run.code, run.stdout).toBe(1);
        // The file would take hours at this rate.
        expect(stepMs(run)).toBeLessThan(4_000 + WRAP_UP_MS);
        const taskId = run.outputs.task_id!;
        expect(run.outputs.task_status).toBe('succeed');
        const message = errorMessage(run);
        expect(message).toContain('succeeded');
        expect(message).toContain(`task_id: ${taskId}`);
        expect(run.outputs).not.toHaveProperty('audio_path');
        expect(filesUnder(run.workspace)).toEqual([]);
      }));

    it('a download that stalls: ends at the deadline (before the 30 s stall limit), says how to collect it', async () =>
      withWorld(async (world) => {
        world.kling.inject(faults.stallDownload());
        const run = await world.run({ ...video('stall'), timeout_seconds: '4' });

        expect(run.code, run.stdout).toBe(1);
        expect(stepMs(run)).toBeLessThan(4_000 + WRAP_UP_MS);
        const taskId = run.outputs.task_id!;
        const message = errorMessage(run);
        expect(message).toContain('succeeded');
        expect(message).toContain(`task_id: ${taskId}`);
        expect(filesUnder(run.workspace)).toEqual([]);
      }));
  });

  describe('an API answer is read only up to a cap', () => {
    const cases: ['create' | 'query', boolean][] = [
      ['query', false],
      ['query', true],
      ['create', false],
      ['create', true],
    ];
    it.each(cases)(
      'a 200 MiB answer on %s (chunked: %s): refused as too large, quickly, in little memory',
      async (route, chunked) =>
        withWorld(async (world) => {
          const normal = await world.run(video(`normal-${route}`), rssEntry ? { entry: rssEntry } : {});
          expect(normal.code, normal.stdout).toBe(0);
          const tasksBefore = world.kling.tasks.size;
          const requestsBefore = world.kling.requests.length;
          // On query, every read is huge: from the first poll on.
          world.kling.inject({
            ...faults.hugeBody(route, 200, { chunked }),
            times: route === 'query' ? Infinity : 1,
          });
          const run = await world.run(
            { ...video(`huge-${route}`), timeout_seconds: '20' },
            rssEntry ? { entry: rssEntry } : {},
          );

          // Reading 200 MiB, let alone parsing it, takes far longer than this.
          const huge = world.kling.requests.slice(requestsBefore).find((r) => r.route === route)!;
          expect(sinceRequest(run, huge)).toBeLessThan(10_000);
          const tooLarge = /larger than|too large/i;
          if (route === 'query') {
            expect(run.code, run.stdout).toBe(1);
            expect(errorMessage(run)).toMatch(tooLarge);
            expect(errorMessage(run)).toContain(run.outputs.task_id);
          } else {
            // A create whose answer was refused may have made a task: looked up, then sent again.
            expect(run.stdout).toMatch(tooLarge);
            if (run.code === 0) expect(world.kling.tasks.size).toBe(tasksBefore + 1);
            else expect(errorMessage(run)).toMatch(tooLarge);
          }
          // Against a normal run measured alongside: holding the answer (as bytes, then as a
          // string) would add several hundred MiB.
          expect(peakRssMiB(run)).toBeLessThan(peakRssMiB(normal) + 40);
        }),
    );
  });

  describe('result URLs', () => {
    const refused: [string, RegExp][] = [
      ['file:///etc/passwd', /file:/],
      ['data:audio/mpeg;base64,AAAA', /data:/],
      ['ftp://example.com/a.mp3', /ftp:/],
      ['http://169.254.169.254/latest/meta-data/', /link-local|metadata/],
      ['http://[fd00:ec2::254]/a.mp3', /link-local|metadata/],
    ];
    it.each(refused)('%s is refused at once, never fetched', async (url, reason) =>
      withWorld(async (world) => {
        world.kling.setResultUrls(() => ({ mp3: url, wav: url, mp4: url }));
        const run = await world.run(video('bad-result-url'));

        expect(run.code, run.stdout).toBe(1);
        expect(run.outputs.task_status).toBe('succeed');
        expect(errorMessage(run)).toMatch(reason);
        expect(errorMessage(run)).toMatch(/refused/i);
        // No retry of a refusal: no retry notice, no backoff wait (3 retries, at least 1 s before
        // each); and no connection tried, which waits 10 s for a connect timeout where nothing
        // answers. Timed from the poll that showed the URLs.
        expect(run.stdout).not.toMatch(/retrying/i);
        expect(sinceRequest(run, routeRequests(world.kling, 'query').at(-1)!)).toBeLessThan(5_000);
        expect(routeRequests(world.kling, 'download')).toHaveLength(0);
        expect(filesUnder(run.workspace)).toEqual([]);
      }),
    );

    const credentialHeaders = ['authorization', 'x-api-key', 'api-key', 'cookie', 'proxy-authorization'];
    it.each([
      ['an api_key', {}],
      [
        'access_key + secret_key',
        { provider: 'kling', api_key: '', access_key: ACCESS_KEY, secret_key: SECRET_KEY },
      ],
    ])('no credential is ever sent to a result host (%s)', async (_label, credentials) =>
      withWorld(async (world) => {
        const run = await world.run({
          ...video('downloads'),
          ...credentials,
          audio_format: 'both',
          include_video: 'true',
        });
        expect(run.code, run.stdout).toBe(0);

        const downloads = routeRequests(world.kling, 'download');
        expect(downloads.length).toBeGreaterThanOrEqual(3);
        const tokens = world.kling.requests
          .map((r) => r.authorization?.replace(/^(Bearer|Basic)\s+/i, ''))
          .filter((t): t is string => Boolean(t));
        const secrets = [API_KEY, KLING_API_KEY, ACCESS_KEY, SECRET_KEY, ...tokens];
        for (const download of downloads) {
          expect(download.authorization).toBeUndefined();
          for (const name of credentialHeaders) expect(download.headers[name]).toBeUndefined();
          const headers = JSON.stringify(download.headers);
          for (const secret of secrets) expect(headers).not.toContain(secret);
        }
      }),
    );
  });

  describe('credentials that cannot be sent are input errors', () => {
    const cases: [string, string, Record<string, string>, string[]][] = [
      ['api_key', 'a line break', { api_key: 'sk-abc7\ndef9' }, ['sk-abc7', 'def9']],
      ['api_key', 'a control character', { api_key: 'sk-abc7\u0007def9' }, ['sk-abc7', 'def9']],
      [
        'access_key',
        'a line break',
        { provider: 'kling', api_key: '', access_key: 'ak-abc7\ndef9', secret_key: SECRET_KEY },
        ['ak-abc7', 'def9'],
      ],
      [
        'secret_key',
        'a control character',
        { provider: 'kling', api_key: '', access_key: ACCESS_KEY, secret_key: 'sk-abc7\u0007def9' },
        ['sk-abc7', 'def9'],
      ],
    ];
    it.each(cases)(
      '%s with %s: fails before any request, names the input, shows no part of it',
      async (input, _what, credentials, fragments) =>
        withWorld(async (world) => {
          const run = await world.run({ ...video('bad-key'), ...credentials });

          expect(run.code, run.stdout).toBe(1);
          expect(world.kling.requests).toEqual([]);
          expect(errorMessage(run)).toContain(input);
          // The runner never shows its own `::add-mask::` commands; every other line it does.
          const shown = logLines(run)
            .filter((line) => !line.trimStart().startsWith('::add-mask::'))
            .join('\n');
          for (const place of [shown, run.summary, JSON.stringify(run.outputs), JSON.stringify(run.state)])
            for (const fragment of fragments) expect(place).not.toContain(fragment);
        }),
    );
  });

  describe('an unreachable API fails fast', () => {
    const unreachable: [string, () => Promise<string>][] = [
      // A port fetch() itself refuses to use ("bad port"), as in the Fetch standard.
      ['port 1', () => Promise.resolve('http://127.0.0.1:1')],
      ['a free port (connection refused)', async () => `http://127.0.0.1:${await freePort()}`],
      ['a host that cannot be resolved', () => Promise.resolve('https://no-such-host.invalid')],
    ];
    it.each(unreachable)(
      'base_url on %s: fails in seconds, not after timeout_seconds, naming base_url',
      async (_label, baseUrlOf) =>
        withWorld(async (world) => {
          const baseUrl = await baseUrlOf();
          const run = await world.run(
            { ...video('unreachable'), base_url: baseUrl, timeout_seconds: '600' },
            // Killed (and the test failed with its output) long before timeout_seconds.
            { timeoutMs: 30_000 },
          );

          expect(run.code, run.stdout).toBe(1);
          // The 5 s an API that never answered is given, not the 600 s of timeout_seconds.
          expect(stepMs(run)).toBeLessThan(5_000 + WRAP_UP_MS);
          const message = errorMessage(run);
          expect(message).toContain('base_url');
          expect(message).toContain(baseUrl);
          expect(world.kling.requests).toEqual([]);
        }),
    );
  });

  describe('messages say what the API sent', () => {
    it('data: null on every query: names the task and null, and does not blame base_url', async () =>
      withWorld(async (world) => {
        world.kling.inject({ ...faults.nullData('query'), times: 1_000 });
        const run = await world.run({ ...video('null-data'), timeout_seconds: '6' });

        expect(run.code, run.stdout).toBe(1);
        expect(stepMs(run)).toBeLessThan(6_000 + WRAP_UP_MS);
        const taskId = run.outputs.task_id!;
        expect(world.kling.tasks.has(taskId)).toBe(true);
        const message = errorMessage(run);
        expect(message).toContain(taskId);
        expect(message).toMatch(/\bnull\b/);
        expect(message).not.toContain('base_url');
      }));

    it('an undocumented task_status: names the task and the status, and does not blame base_url', async () =>
      withWorld(async (world) => {
        world.kling.inject({ ...faults.undocumentedStatus('query', 'queued_weird'), times: 1_000 });
        const run = await world.run({ ...video('weird-status'), timeout_seconds: '6' });

        expect(run.code, run.stdout).toBe(1);
        expect(stepMs(run)).toBeLessThan(6_000 + WRAP_UP_MS);
        const taskId = run.outputs.task_id!;
        const message = errorMessage(run);
        expect(message).toContain(taskId);
        expect(message).toContain('queued_weird');
        expect(message).not.toContain('base_url');
      }));

    it('a base_url ending in /v1: a warning says so', async () =>
      withWorld(async (world) => {
        const run = await world.run({
          ...video('v1'),
          base_url: `${world.kling.url}/v1`,
          timeout_seconds: '5',
        });

        const warnings = run.stdout.split('\n').filter((line) => line.startsWith('::warning'));
        expect(warnings.some((line) => /base_url/.test(line) && /\/v1/.test(line))).toBe(true);
      }));
  });
});
