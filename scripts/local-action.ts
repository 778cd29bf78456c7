// `npm run local-action`: GitHub's @github/local-action runs src/action.ts (through tsx, with its stubs
// for @actions/core, artifact, github and cache) offline, against the Kling emulator and the
// results-service fake on 127.0.0.1, with the environment in .env.example. Exits non-zero when the
// action failed. KLING_EMULATOR_OUTCOME=failed makes the emulator's task fail (to see a failed run).
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv, stripVTControlCharacters } from 'node:util';
import { KlingEmulator, type Timeline } from '../test/emulator/kling-emulator.ts';
import { ResultsService } from '../test/emulator/results-service.ts';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'node_modules/@github/local-action/bin/local-action.js');
const ENTRYPOINT = 'src/action.ts';
// local-action prints this banner once run() has returned (src/commands/run.ts).
const COMPLETED_BANNER = /^\s*Action Outputs\s*$/m;
// core.setFailed: local-action's stub logs `::error::<message>` and, unlike the real core, leaves the
// exit code at 0; the real core logs the same and sets process.exitCode. The action itself never calls
// core.error, so an error line means the step failed.
const ERROR_LINE = /^::error(?: [^:]*)?::(.*)$/m;
// Variables a runner (or a surrounding workflow) sets, which must not leak into the offline run, and
// proxies, which must not see the requests to 127.0.0.1.
const NOT_INHERITED = /^(INPUT_|GITHUB_|ACTIONS_|RUNNER_|STATE_|LOCAL_ACTION_)|^(https?|no|all)_proxy$/i;

const outcome = process.env.KLING_EMULATOR_OUTCOME ?? 'succeed';
if (outcome !== 'succeed' && outcome !== 'failed') {
  console.error(`KLING_EMULATOR_OUTCOME must be succeed or failed, not ${JSON.stringify(outcome)}.`);
  process.exit(2);
}
const example = parseEnv(readFileSync(path.join(root, '.env.example'), 'utf8'));

const temp = mkdtempSync(path.join(tmpdir(), 'local-action-'));
const dirs = {
  workspace: path.join(temp, 'workspace'),
  artifacts: path.join(temp, 'artifacts'),
  runnerTemp: path.join(temp, 'runner-temp'),
  // The child's TMPDIR, so that what tsx and npm leave in the temp folder goes away with the rest.
  tmp: path.join(temp, 'tmp'),
};
for (const dir of Object.values(dirs)) mkdirSync(dir);
const summaryFile = path.join(temp, 'step-summary.md');
writeFileSync(summaryFile, '');

let kling: KlingEmulator | undefined;
let results: ResultsService | undefined;
let status = 1;
try {
  kling = await KlingEmulator.start({
    apiKeys: [example.INPUT_API_KEY || 'local-action-api-key'],
    timeline: { submittedMs: 300, processingMs: 1000, outcome: outcome satisfies Timeline['outcome'] },
  });
  results = await ResultsService.start();
  const dotenv = {
    ...example,
    INPUT_BASE_URL: kling.url,
    GITHUB_WORKSPACE: dirs.workspace,
    LOCAL_ACTION_WORKSPACE: dirs.workspace,
    LOCAL_ACTION_ARTIFACT_PATH: dirs.artifacts,
    RUNNER_TEMP: dirs.runnerTemp,
    GITHUB_STEP_SUMMARY: summaryFile,
    ...results.env(),
  };
  const dotenvFile = path.join(temp, '.env');
  writeFileSync(dotenvFile, serializeEnv(dotenv));

  heading(`local-action ${ENTRYPOINT}, against the emulator at ${kling.url} (task outcome: ${outcome})`);
  const run = await runLocalAction(dotenvFile);

  heading('Job summary (GITHUB_STEP_SUMMARY)');
  console.log(readFileSync(summaryFile, 'utf8').trimEnd() || '(empty)');
  heading('Downloaded files (workspace)');
  printFiles(dirs.workspace);
  heading("Artifacts (local-action's store, LOCAL_ACTION_ARTIFACT_PATH)");
  printFiles(dirs.artifacts);
  if (results.artifacts.length > 0) {
    heading('Artifacts the results-service fake received (the real @actions/artifact client ran)');
    for (const artifact of results.artifacts) console.log(`${artifact.name} (${artifact.size} bytes)`);
  }

  const failure = ERROR_LINE.exec(run.output)?.[1];
  if (run.code !== 0) {
    status = run.code ?? 1;
    heading(`local-action exited with ${run.code ?? run.signal}: the action failed`);
  } else if (failure !== undefined) {
    heading(`The action failed (core.setFailed: ${failure})`);
  } else if (!COMPLETED_BANNER.test(run.output)) {
    heading('local-action exited before the action finished: treated as a failure');
  } else {
    status = 0;
    heading('The action succeeded');
  }
} finally {
  await Promise.all([kling?.close(), results?.close()]);
  rmSync(temp, { recursive: true, force: true });
}
process.exitCode = status;

interface LocalActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they arrived, without colours. */
  output: string;
}

/** Runs local-action with the project's node, streaming its output, and keeps a copy to inspect. */
function runLocalAction(dotenvFile: string): Promise<LocalActionRun> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !NOT_INHERITED.test(key)),
  );
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    // The bin starts tsx through `npm exec`, whose `#!/usr/bin/env node` must find this node (24).
    PATH: [path.dirname(process.execPath), process.env.PATH].join(path.delimiter),
    TMPDIR: dirs.tmp,
    TMP: dirs.tmp,
    TEMP: dirs.tmp,
    // Colours only when a person is watching; the copy that is inspected is stripped of them.
    FORCE_COLOR: process.stdout.isTTY ? '1' : '0',
  };
  const child = spawn(process.execPath, [bin, 'run', root, ENTRYPOINT, dotenvFile], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Ctrl-C reaches the child from the terminal too; staying alive lets the cleanup above run.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    output += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve({ code, signal, output: stripVTControlCharacters(output) });
    });
  });
}

/** A dotenv file: each value quoted with a quote it does not contain, so `#` and spaces stay literal. */
function serializeEnv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      const quote = ["'", '"', '`'].find((q) => !value.includes(q));
      if (quote === undefined || /[\r\n]/.test(value))
        throw new Error(`${key}: this value cannot go in a .env file`);
      return `${key}=${quote}${value}${quote}\n`;
    })
    .join('');
}

function printFiles(dir: string): void {
  const files = existsSync(dir) ? listFiles(dir) : [];
  if (files.length === 0) console.log('(none)');
  for (const file of files)
    console.log(`${String(statSync(file).size).padStart(9)}  ${path.relative(dir, file)}`);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}

function heading(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}
