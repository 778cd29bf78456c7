// The Kling emulator and the results-service (artifact) fake on 127.0.0.1, in a background process,
// for workflows that run the action itself against them (.github/workflows/self-test.yml).
//
//   node scripts/emulator.ts [--api-key KEY] [--outcome succeed|failed] [--account-concurrency N]
//
// Returns once both listen and leaves them running (the runner ends them with the job; `kill <pid>`
// stops them sooner, and they then write the requests they answered to their log). Hands on, as
// step outputs in $GITHUB_OUTPUT (and printed): kling_url, api_key, results_url, runtime_token, pid, log.
// `--foreground` serves in this process instead, until SIGINT or SIGTERM.
//
// A step that `uses:` the action cannot reach the artifact fake: the runner sets ACTIONS_RESULTS_URL
// and ACTIONS_RUNTIME_TOKEN for a JavaScript action after the step's env:, so such a step uploads to
// the run's real artifact storage. A `run:` step that starts dist/index.js itself can use the fake.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { ResultsService } from '../test/emulator/results-service.ts';

interface Ready {
  kling_url: string;
  api_key: string;
  results_url: string;
  runtime_token: string;
  pid: string;
}

const READY_TIMEOUT_MS = 30_000;

const { values: options } = parseArgs({
  options: {
    'api-key': { type: 'string', default: 'test-api-key' },
    outcome: { type: 'string', default: 'succeed' },
    'account-concurrency': { type: 'string' },
    foreground: { type: 'boolean', default: false },
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
  const log = path.join(process.env.RUNNER_TEMP || tmpdir(), `kling-emulator-${process.pid}.log`);
  const logFd = openSync(log, 'w');
  // Detached, with its output in a file: the runner waits for a step's output pipes to close, and the
  // servers must outlive this step.
  const child = spawn(process.execPath, [import.meta.filename, ...process.argv.slice(2), '--foreground'], {
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
  const ready: Ready = {
    kling_url: kling.url,
    api_key: options['api-key'],
    results_url: `${results.url}/`,
    runtime_token: results.runtimeToken,
    pid: String(process.pid),
  };
  console.log(`Kling emulator on ${kling.url}, artifact fake on ${results.url} (pid ${process.pid})`);
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
    await Promise.all([kling.close(), results.close()]);
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void stop(signal)).once('SIGTERM', (signal) => void stop(signal));
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
