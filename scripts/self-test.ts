// The self-test (.github/workflows/self-test.yml): the action against the Kling emulator and a host of
// real MP4s on 127.0.0.1, for one video, a batch, a source that must fail, and a re-run that resumes.
//
//   npm run self-test -- start   the workflow's first step: start the servers in the background
//   npm run self-test -- check   its last step: stop them, then check every step (STEPS = toJSON(steps))
//   npm run self-test            on a workstation: run the workflow's steps from `id: servers` on, as
//                                written there, the way the runner does (`uses: ./` runs dist/index.js
//                                with the step's inputs; `run:` goes to bash), then the same check
//
// Locally the artifact goes to the emulator's results-service fake instead of the run's storage.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import type { EmulatorReport } from './emulator.ts';
import { parseFileCommands, runAction, scratchDir } from '../test/support/run-action.ts';
import { runnerLog } from '../test/support/runner-log.ts';

const root = path.resolve(import.meta.dirname, '..');
const WORKFLOW = '.github/workflows/self-test.yml';
/** The emulator accepts this key and no other. */
const API_KEY = 'self-test-key';
const RESUMED_ID = 'self-test-resume';

interface StepResult {
  outputs: Record<string, string>;
  outcome: 'success' | 'failure' | 'skipped';
  conclusion: 'success' | 'failure' | 'skipped';
}
type Steps = Record<string, StepResult>;

const command = process.argv[2] ?? 'local';
if (command === 'start') start();
else if (command === 'check') process.exitCode = await check(JSON.parse(process.env.STEPS ?? '{}') as Steps);
else if (command === 'local') process.exitCode = await runLocally();
else {
  console.error('Usage: npm run self-test [-- start | check]');
  process.exitCode = 2;
}

/** The emulator, the artifact fake and the video host, in the background; their addresses as step outputs. */
function start(): void {
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/emulator.ts'), '--api-key', API_KEY, '--account-concurrency', '2'],
    { stdio: 'inherit' },
  );
}

// ---- The checks ----

interface Check {
  step: string;
  what: string;
  ok: boolean;
  detail?: string;
}

async function check(steps: Steps): Promise<number> {
  const servers = steps.servers?.outputs ?? {};
  const report = await stopServers(servers);
  const checks: Check[] = [];
  const expect = (step: string, what: string, ok: boolean, detail?: unknown) =>
    checks.push({ step, what, ok, ...(ok ? {} : { detail: JSON.stringify(detail) }) });
  const outputs = (id: string) => steps[id]?.outputs ?? {};
  const results = (id: string) => parseJson(outputs(id).results) as Record<string, string>[] | undefined;
  const isFile = (file: string | undefined) => !!file && existsSync(file) && statSync(file).size > 0;
  const onEmulator = (url: string | undefined) =>
    !!url && !!servers.kling_url && url.startsWith(`${servers.kling_url}/`);

  for (const [id, outcome] of Object.entries({
    servers: 'success',
    single: 'success',
    batch: 'success',
    refused: 'failure',
    'first-attempt': 'success',
    rerun: 'success',
  }))
    expect(id, `outcome is ${outcome}`, steps[id]?.outcome === outcome, steps[id]?.outcome ?? 'did not run');

  const single = outputs('single');
  expect('single', 'task_status is succeed', single.task_status === 'succeed', single.task_status);
  expect('single', 'task_id is an emulator task id', /^\d+$/.test(single.task_id ?? ''), single.task_id);
  expect(
    'single',
    'audio_url and video_url are the results on the emulator',
    onEmulator(single.audio_url) && onEmulator(single.video_url),
    [single.audio_url, single.video_url],
  );
  expect(
    'single',
    'audio_path is a downloaded mp3',
    !!single.audio_path?.endsWith('.mp3') && isFile(single.audio_path),
    single.audio_path,
  );
  expect('single', 'video_path is a downloaded video', isFile(single.video_path), single.video_path);
  const files = (single.files ?? '').split('\n').filter(Boolean);
  expect(
    'single',
    'files lists the mp3, the wav, the mp4 and the muxed mp4, all there',
    files.length === 4 && files.every(isFile),
    files,
  );
  const muxed = single.muxed_path;
  expect(
    'single',
    'muxed_path is the source video with its soundtrack, moov first',
    !!muxed?.endsWith('-muxed.mp4') && isFile(muxed) && faststart(muxed),
    muxed,
  );
  expect(
    'single',
    'artifact_id and artifact_digest are set',
    /^\d+$/.test(single.artifact_id ?? '') && /^[0-9a-f]{64}$/.test(single.artifact_digest ?? ''),
    [single.artifact_id, single.artifact_digest],
  );
  const singleRows = results('single');
  expect(
    'single',
    'results is one row for the task',
    singleRows?.length === 1 && singleRows[0]?.task_id === single.task_id,
    singleRows,
  );
  expect(
    'single',
    'the preflight read the source video',
    !!report?.videos.some((r) => r.path === '/trailer-6s.mp4' && r.status < 300),
    report?.videos,
  );

  const batchRows = results('batch');
  expect(
    'batch',
    'results has Intro, Tour and Outro in input order, all succeed',
    batchRows?.map((r) => `${r.name}:${r.task_status}`).join() === 'Intro:succeed,Tour:succeed,Outro:succeed',
    batchRows,
  );
  const batchIds = (outputs('batch').task_id ?? '').split('\n');
  expect(
    'batch',
    'task_id holds three distinct ids, one per line',
    batchIds.length === 3 && new Set(batchIds).size === 3 && batchIds.every((t) => /^\d+$/.test(t)),
    batchIds,
  );
  expect(
    'batch',
    'every audio_path in results is a downloaded file',
    !!batchRows?.every((r) => isFile(r.audio_path)),
    batchRows?.map((r) => r.audio_path),
  );

  const refused = outputs('refused');
  expect(
    'refused',
    'the job went on (continue-on-error)',
    steps.refused?.conclusion === 'success',
    steps.refused?.conclusion,
  );
  expect('refused', 'no task_id: nothing was paid for', !refused.task_id, refused.task_id);
  const refusal = results('refused')?.[0]?.error ?? '';
  expect('refused', 'results names the length and the limit', /2(\.0)? s.*3[–-]20 s/.test(refusal), refusal);
  expect(
    'refused',
    'the emulator received no create for it',
    !!report && !report.kling.some((r) => r.route === 'create' && r.video_url?.includes('too-short')),
    report?.kling.filter((r) => r.route === 'create'),
  );

  const first = outputs('first-attempt');
  const rerun = outputs('rerun');
  expect(
    'first-attempt',
    'a task exists, not finished',
    /^\d+$/.test(first.task_id ?? '') && first.task_status !== 'succeed',
    first,
  );
  expect('rerun', "resumed the first attempt's task", !!first.task_id && rerun.task_id === first.task_id, [
    first.task_id,
    rerun.task_id,
  ]);
  expect(
    'rerun',
    'task_status is succeed and the audio is there',
    rerun.task_status === 'succeed' && isFile(rerun.audio_path),
    [rerun.task_status, rerun.audio_path],
  );
  const creates =
    report?.kling.filter((r) => r.route === 'create' && r.external_task_id === RESUMED_ID) ?? [];
  expect(
    'rerun',
    `one create was sent for ${RESUMED_ID}, by the first attempt`,
    creates.length === 1,
    creates,
  );

  const width = Math.max(...checks.map((c) => c.step.length));
  console.log(`\nSelf-test: ${checks.filter((c) => c.ok).length} of ${checks.length} checks pass`);
  for (const c of checks) {
    console.log(`${c.ok ? '✓' : '✗'} ${c.step.padEnd(width)}  ${c.what}${c.ok ? '' : `: got ${c.detail}`}`);
    if (!c.ok && process.env.GITHUB_ACTIONS === 'true')
      console.log(`::error title=self-test ${c.step}::${c.what}`);
  }
  if (report)
    console.log(
      `\nThe emulator answered ${report.kling.length} requests and made ${report.tasks.length} tasks ` +
        `(${report.refusals} creates refused with 1303, at most ${report.peak_concurrency} running at once); ` +
        `the video host answered ${report.videos.length} requests.`,
    );
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** Ends the background servers (they then write their report and log) and reads what they saw. */
async function stopServers(servers: Record<string, string>): Promise<EmulatorReport | undefined> {
  const pid = Number(servers.pid);
  if (!Number.isInteger(pid) || pid <= 0) {
    console.log('The servers did not start: no report to read.');
    return undefined;
  }
  try {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  } catch {
    // Already gone: whatever report it wrote is read below.
  }
  if (servers.log && existsSync(servers.log)) console.log(readFileSync(servers.log, 'utf8').trimEnd());
  return servers.report && existsSync(servers.report)
    ? (JSON.parse(readFileSync(servers.report, 'utf8')) as EmulatorReport)
    : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** moov before mdat among the top-level boxes: a player can start while the file downloads. */
function faststart(file: string): boolean {
  const bytes = readFileSync(file);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    const size = bytes.readUInt32BE(at);
    types.push(bytes.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  const moov = types.indexOf('moov');
  return moov >= 0 && moov < types.indexOf('mdat');
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- The workflow's steps, run here as the runner runs them ----

interface WorkflowStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  'continue-on-error'?: boolean;
}

async function runLocally(): Promise<number> {
  const workflow = parse(readFileSync(path.join(root, WORKFLOW), 'utf8')) as {
    jobs: Record<string, { steps: WorkflowStep[] }>;
  };
  const [jobName, job] = Object.entries(workflow.jobs)[0]!;
  const from = job.steps.findIndex((step) => step.id === 'servers');
  if (from < 0) throw new Error(`${WORKFLOW} has no step with id: servers`);
  const workspace = scratchDir('workspace-');
  const steps: Steps = {};
  let jobFailed = false;
  console.log(`Running ${WORKFLOW} from the step "servers" on, in ${workspace}`);
  for (const step of job.steps.slice(from)) {
    const title = step.name ?? step.run ?? step.uses ?? '';
    const runs = step.if === undefined ? !jobFailed : evaluateIf(step.if, jobFailed);
    let result: StepResult;
    if (!runs) {
      console.log(`\n\x1b[1m── ${title}\x1b[0m (skipped)`);
      result = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
    } else {
      console.log(`\n\x1b[1m── ${title}\x1b[0m`);
      result =
        step.uses === './'
          ? await usesThisAction(step, steps, workspace, jobName)
          : runScript(step, steps, workspace);
      if (result.outcome === 'failure' && step['continue-on-error'] === true) result.conclusion = 'success';
      console.log(
        `   → ${result.outcome}${result.conclusion !== result.outcome ? ` (continue-on-error: ${result.conclusion})` : ''}`,
      );
    }
    if (step.id) steps[step.id] = result;
    if (result.conclusion === 'failure') jobFailed = true;
  }
  console.log(`\nThe job ${jobFailed ? 'failed' : 'succeeded'}.`);
  return jobFailed ? 1 : 0;
}

/** `if:` as this workflow writes it: always(). */
function evaluateIf(condition: string, jobFailed: boolean): boolean {
  const expression = condition.replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim();
  if (expression === 'always()') return true;
  if (expression === 'success()') return !jobFailed;
  throw new Error(`${WORKFLOW}: the local run does not know the condition "${condition}"`);
}

/** ${{ … }} in a value, for the expressions this workflow uses; anything else is an error, not a guess. */
function substitute(value: string, steps: Steps): string {
  return value.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_match, expression: string) => {
    if (expression === 'toJSON(steps)') return JSON.stringify(steps, null, 2);
    const property = /^steps\.([\w-]+)\.(outputs\.([\w-]+)|outcome|conclusion)$/.exec(expression);
    if (!property)
      throw new Error(`${WORKFLOW}: the local run does not know the expression \${{ ${expression} }}`);
    const step = steps[property[1]!];
    if (property[3] !== undefined) return step?.outputs[property[3]] ?? '';
    return step?.[property[2] as 'outcome' | 'conclusion'] ?? '';
  });
}

/** A `uses: ./` step: dist/index.js with the step's inputs (action.yml defaults for the rest). */
async function usesThisAction(
  step: WorkflowStep,
  steps: Steps,
  workspace: string,
  job: string,
): Promise<StepResult> {
  const inputs = Object.fromEntries(
    Object.entries(step.with ?? {}).map(([name, value]) => [name, substitute(String(value), steps)]),
  );
  const servers = steps.servers?.outputs ?? {};
  const run = await runAction({
    inputs,
    workspace,
    timeoutMs: 300_000,
    env: {
      GITHUB_JOB: job,
      GITHUB_ACTION: step.id ?? '__self',
      // The run's artifact storage, here: the emulator's results-service fake.
      ACTIONS_RESULTS_URL: servers.results_url ?? '',
      ACTIONS_RUNTIME_TOKEN: servers.runtime_token ?? '',
    },
  });
  const log = runnerLog(run.stdout);
  if (log) console.log(log.replace(/^/gm, '   '));
  if (run.stderr.trim()) console.log(run.stderr.trimEnd().replace(/^/gm, '   '));
  const outcome = run.code === 0 ? 'success' : 'failure';
  return { outputs: run.outputs, outcome, conclusion: outcome };
}

/** A `run:` step: bash, as the workflow's default shell, with the step's env and a GITHUB_OUTPUT file. */
function runScript(step: WorkflowStep, steps: Steps, workspace: string): StepResult {
  const scratch = mkdtempSync(path.join(tmpdir(), 'self-test-step-'));
  const outputFile = path.join(scratch, 'output');
  writeFileSync(outputFile, '');
  try {
    const env = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([name, value]) => [name, substitute(String(value), steps)]),
    );
    const result = spawnSync(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', substitute(step.run ?? '', steps)],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          ...env,
          GITHUB_OUTPUT: outputFile,
          GITHUB_WORKSPACE: workspace,
          RUNNER_TEMP: scratchDir('runner-temp-'),
        },
      },
    );
    const outcome = result.status === 0 ? 'success' : 'failure';
    return {
      outputs: parseFileCommands(readFileSync(outputFile, 'utf8'), 'GITHUB_OUTPUT'),
      outcome,
      conclusion: outcome,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
