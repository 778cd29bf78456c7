// The Kling emulator, the results-service (artifact) fake and a host of real source videos, on
// 127.0.0.1 in a background process, for runs of the action against them (scripts/self-test.ts).
//
//   npm run emulator -- [--api-key KEY] [--outcome succeed|failed] [--account-concurrency N] [--foreground]
//
// Returns once all three listen and leaves them running (the runner ends them with the job; `kill <pid>`
// stops them sooner). Hands on, as step outputs in $GITHUB_OUTPUT (and printed): kling_url, api_key,
// results_url, runtime_token, videos_url (GET <videos_url>/<name>-<seconds>s.mp4 is a real MP4 of that
// length), pid, log, and report: the JSON file where, once stopped, they write what they answered
// (every Kling request with its external_task_id, the tasks, the artifacts, the video requests).
// `--foreground` serves in this process instead, until SIGINT or SIGTERM.
//
// A step that `uses:` the action cannot reach the artifact fake: the runner sets ACTIONS_RESULTS_URL
// and ACTIONS_RUNTIME_TOKEN for a JavaScript action after the step's env:, so such a step uploads to
// the run's real artifact storage. A `run:` step that starts dist/index.js itself can use the fake.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { ResultsService } from '../test/emulator/results-service.ts';
import { VideoHost } from '../test/emulator/video-host.ts';

interface Ready {
  kling_url: string;
  api_key: string;
  results_url: string;
  runtime_token: string;
  videos_url: string;
  pid: string;
  report: string;
}

const READY_TIMEOUT_MS = 30_000;

const { values: options } = parseArgs({
  options: {
    'api-key': { type: 'string', default: 'test-api-key' },
    outcome: { type: 'string', default: 'succeed' },
    'account-concurrency': { type: 'string' },
    foreground: { type: 'boolean', default: false },
    report: { type: 'string' },
  },
  strict: true,
});
const outcome = options.outcome;
if (outcome !== 'succeed' && outcome !== 'failed')
  fail(`--outcome must be succeed or failed, not ${outcome}`);
const accountConcurrency =
  options['account-concurrency'] === undefined ? undefined : Number(options['account-concurrency']);
if (accountConcurrency !== undefined && !(Number.isInteger(accountConcurrency) && accountConcurrency >= 1))
  fail(`--account-concurrency must be a whole number from 1, not ${options['account-concurrency']}`);

if (options.foreground) await serve();
else await startInBackground();

/** Starts this script with --foreground, detached, and returns once it reports its addresses. */
async function startInBackground(): Promise<void> {
  const base = path.join(process.env.RUNNER_TEMP || tmpdir(), `kling-emulator-${process.pid}`);
  const log = `${base}.log`;
  const logFd = openSync(log, 'w');
  // Detached, with its output in a file: the runner waits for a step's output pipes to close, and the
  // servers must outlive this step.
  const args = [...process.argv.slice(2), '--foreground', '--report', `${base}.json`];
  const child = spawn(process.execPath, [import.meta.filename, ...args], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer from the emulator in ${READY_TIMEOUT_MS} ms; see ${log}`)),
      READY_TIMEOUT_MS,
    );
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as Ready);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code ?? signal}) before it listened; see ${log}`));
    });
  }).catch((error: unknown) => {
    child.kill();
    fail(error instanceof Error ? error.message : String(error));
  });
  child.removeAllListeners('exit');
  child.disconnect();
  child.unref();

  const lines = Object.entries({ ...ready, log }).map(([name, value]) => `${name}=${value}`);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
}

/** Serves until SIGINT or SIGTERM, then writes what it answered and exits. */
async function serve(): Promise<void> {
  const kling = await KlingEmulator.start({
    apiKeys: [options['api-key']],
    timeline: { submittedMs: 300, processingMs: 1000, outcome: outcome as 'succeed' | 'failed' },
    accountConcurrency,
  });
  const results = await ResultsService.start();
  const videos = await VideoHost.start();
  const report = options.report ?? path.join(tmpdir(), `kling-emulator-${process.pid}.json`);
  const ready: Ready = {
    kling_url: kling.url,
    api_key: options['api-key'],
    results_url: `${results.url}/`,
    runtime_token: results.runtimeToken,
    videos_url: videos.url,
    pid: String(process.pid),
    report,
  };
  console.log(
    `Kling emulator on ${kling.url}, artifact fake on ${results.url}, videos on ${videos.url} (pid ${process.pid})`,
  );
  if (process.send) {
    process.send(ready);
    // The parent exits after reading this; the servers go on.
    process.on('disconnect', () => undefined);
  } else {
    for (const [name, value] of Object.entries(ready)) console.log(`${name}=${value}`);
  }

  const stop = async (signal: NodeJS.Signals) => {
    console.log(`\n${signal}: the Kling emulator answered ${kling.requests.length} request(s):`);
    for (const request of kling.requests)
      console.log(`  ${request.method} ${request.path} → ${request.status}`);
    console.log(`The artifact fake answered ${results.calls.length} call(s):`);
    for (const call of results.calls) console.log(`  ${call.method} → ${call.status}`);
    for (const artifact of results.artifacts)
      console.log(`  artifact ${artifact.name}: ${artifact.size} bytes`);
    console.log(`The video host answered ${videos.requests.length} request(s):`);
    for (const request of videos.requests)
      console.log(`  ${request.method} ${request.path} → ${request.status}`);
    writeFileSync(report, JSON.stringify(whatTheyAnswered(kling, results, videos), null, 2));
    await Promise.all([kling.close(), results.close(), videos.close()]);
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void stop(signal)).once('SIGTERM', (signal) => void stop(signal));
}

export type EmulatorReport = ReturnType<typeof whatTheyAnswered>;

/** The report's contents: what a check of the runs needs to know about the requests they made. */
function whatTheyAnswered(kling: KlingEmulator, results: ResultsService, videos: VideoHost) {
  const field = (body: unknown, name: string) =>
    body && typeof body === 'object' && name in body
      ? String((body as Record<string, unknown>)[name])
      : undefined;
  return {
    kling: kling.requests.map((request) => ({
      method: request.method,
      path: request.path,
      route: request.route,
      status: request.status,
      external_task_id: field(request.body, 'external_task_id'),
      video_url: field(request.body, 'video_url'),
    })),
    tasks: [...kling.tasks.values()].map((task) => ({
      task_id: task.task_id,
      external_task_id: task.external_task_id,
    })),
    refusals: kling.concurrencyRefusals,
    peak_concurrency: kling.peakConcurrency,
    artifacts: results.artifacts.map((artifact) => ({ name: artifact.name, size: artifact.size })),
    videos: videos.requests,
  };
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
