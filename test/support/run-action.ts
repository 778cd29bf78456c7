/**
 * Runs the built action the way the GitHub runner does: `node <main>` in the workspace, with a clean
 * environment of runner variables, INPUT_* for every declared input (defaults from action.yml), and
 * fresh file-command files (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY, GITHUB_ENV, GITHUB_PATH)
 * that are parsed afterwards as the runner parses them.
 */
import { parse as parseYaml } from 'yaml';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * How long a test that runs the action may take: each run is a process, and a loaded machine can
 * slow one down tenfold. Nothing such a test asserts is about speed (the benchmarks measure that),
 * so the e2e files give their tests this instead of vitest's 30 s, with `vi.setConfig`.
 */
export const ACTION_TEST_TIMEOUT_MS = 120_000;

export interface RunActionOptions {
  /** Input name (as in action.yml) → value; declared inputs left out get their action.yml default. */
  inputs: Record<string, string>;
  /** Extra environment (e.g. ResultsService.env(), GITHUB_* context overrides). */
  env?: Record<string, string>;
  /**
   * GITHUB_WORKSPACE and cwd. By default a fresh directory in this process's scratch directory
   * (see scratchDir), there for the caller to inspect until the process ends. Pass your own to keep
   * it longer; it is never removed here.
   */
  workspace?: string;
  /** Default <repo>/dist/index.js. */
  entry?: string;
  /**
   * Send `name` once: when stdout first matches `afterStdout`, or `afterMs` after start. With both,
   * `afterMs` counts from the match. With `escalate`, follow up like the runner on cancellation:
   * SIGTERM 7.5 s after the signal, SIGKILL 2.5 s after that, while the process is still running
   * (pass shorter delays to keep a test fast).
   */
  signal?: {
    name: NodeJS.Signals;
    afterStdout?: RegExp;
    afterMs?: number;
    escalate?: boolean | { sigtermAfterMs: number; sigkillAfterMs: number };
  };
  /** Kill (SIGKILL) and reject after this; default 60000. */
  timeoutMs?: number;
}

export interface ActionRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process was spawned, as performance.now() here: the clock emulators stamp requests with. */
  startedAtMs: number;
  /** From spawn to exit, Node's start-up and the bundle's loading included. */
  durationMs: number;
  /**
   * When the first byte of output (stdout or stderr) arrived, in ms from spawn; undefined when there
   * was none. The action's first line (an `::add-mask::` for the key) comes before its deadline starts.
   */
  firstOutputMs?: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** Variables the action exported through GITHUB_ENV (core.exportVariable). */
  exportedEnv: Record<string, string>;
  workspace: string;
  /** When options.signal was sent, in ms from start. */
  signalSentAtMs?: number;
  /** Every signal sent, including escalation, in order. */
  signalsSent: { name: NodeJS.Signals; atMs: number }[];
}

// The runner's cancellation timeline (docs: workflow cancellation reference).
const ESCALATE_TO_SIGTERM_MS = 7500;
const ESCALATE_TO_SIGKILL_MS = 2500;

export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const workspace = options.workspace ?? scratchDir('workspace-');
  const commandDir = scratchDir('files-');
  const files = {
    GITHUB_OUTPUT: join(commandDir, 'set_output'),
    GITHUB_STATE: join(commandDir, 'save_state'),
    GITHUB_STEP_SUMMARY: join(commandDir, 'step_summary'),
    GITHUB_ENV: join(commandDir, 'set_env'),
    GITHUB_PATH: join(commandDir, 'add_path'),
  };
  for (const file of Object.values(files)) await writeFile(file, '');
  const base = baseRunnerEnv(workspace);
  try {
    const env = {
      ...inheritedEnv(),
      ...base,
      ...files,
      ...options.env,
      ...inputEnv(options.inputs, actionDefaults()),
    };
    const child = await runChild(
      options.entry ?? join(REPO_ROOT, 'dist', 'index.js'),
      workspace,
      env,
      options,
    );
    return {
      ...child,
      outputs: parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8'), 'GITHUB_OUTPUT'),
      state: parseFileCommands(await readFile(files.GITHUB_STATE, 'utf8'), 'GITHUB_STATE'),
      exportedEnv: parseFileCommands(await readFile(files.GITHUB_ENV, 'utf8'), 'GITHUB_ENV'),
      summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
      workspace,
    };
  } finally {
    // The runner empties RUNNER_TEMP after the job and owns the file-command files; so do we.
    await rm(commandDir, { recursive: true, force: true });
    await rm(dirname(base['RUNNER_TEMP']!), { recursive: true, force: true });
  }
}

/**
 * How long the action's own code ran: from its first output to its exit. Node's start-up and the
 * loading of the bundle, which a loaded machine stretches the most, are left out. The action masks
 * its credentials first thing, before its deadline starts, so a run with a key always has output.
 */
export function stepMs(run: ActionRun): number {
  if (run.firstOutputMs === undefined) throw new Error('the action printed nothing to time its step by');
  return run.durationMs - run.firstOutputMs;
}

// ---- Scratch directories ----

const SCRATCH_PREFIX = 'action-runs-';
let scratchRoot: string | undefined;

/**
 * A fresh directory under one scratch directory per process, `<tmpdir>/action-runs-<pid>-*`, which
 * is removed when the process ends: on exit, and on SIGTERM, SIGINT or SIGHUP (a vitest worker
 * ends with SIGTERM, which skips exit handlers), after which the signal is raised again so the
 * process still ends as it would have. Scratch directories of processes that no longer exist (a
 * SIGKILL) are removed when the next one is made. Set KEEP_ACTION_RUNS=1 to keep them for a look.
 */
export function scratchDir(prefix: string): string {
  if (scratchRoot === undefined) {
    removeStaleScratch();
    const root = mkdtempSync(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
    scratchRoot = root;
    if (!process.env['KEEP_ACTION_RUNS']) {
      const remove = () => {
        if (scratchRoot === root) scratchRoot = undefined; // a process that lives on makes a new one
        try {
          rmSync(root, { recursive: true, force: true, maxRetries: 2 });
        } catch {
          // A child still writing into it; the next process's removeStaleScratch gets it.
        }
      };
      process.once('exit', remove);
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
        process.once(signal, () => {
          remove();
          // With no other handler, do what the signal would have done without ours.
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
      }
    }
  }
  return mkdtempSync(join(scratchRoot, prefix));
}

function removeStaleScratch(): void {
  if (process.env['KEEP_ACTION_RUNS']) return;
  for (const name of readdirSync(tmpdir())) {
    const pid = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid !== undefined && !processExists(Number(pid)))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only what a process needs to start; nothing else of the test's environment (INPUT_*, proxies) leaks. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** INPUT_<NAME> for every given input and every other declared one, as the runner names them. */
export function inputEnv(
  inputs: Record<string, string>,
  defaults: Record<string, string>,
): Record<string, string> {
  // The runner matches given inputs to declared ones case-insensitively.
  const given = new Set(Object.keys(inputs).map((name) => name.toLowerCase()));
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(defaults))
    if (!given.has(name.toLowerCase())) merged[name] = value;
  Object.assign(merged, inputs);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) env[inputEnvName(name)] = value;
  return env;
}

/** Spaces become underscores and the name is upper-cased; hyphens stay (core's getInput does the same). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * The variables a GitHub-hosted runner sets for every step of a workflow_dispatch run in
 * octo-org/octo-repo. RUNNER_TEMP (with the event payload in it) is a fresh directory; RUNNER_DEBUG
 * is left unset, as it is unless debug logging is enabled.
 */
export const baseRunnerEnv = (workspace: string): Record<string, string> => {
  const runnerRoot = scratchDir('runner-');
  const runnerTemp = join(runnerRoot, '_temp');
  const toolCache = join(runnerRoot, '_tool');
  const eventPath = join(runnerTemp, '_github_workflow', 'event.json');
  mkdirSync(dirname(eventPath), { recursive: true });
  mkdirSync(toolCache);
  const sha = 'ffac537e6cbbf934b08745a378932722df287a53';
  // @actions/github reads the payload from GITHUB_EVENT_PATH and warns when it does not exist.
  writeFileSync(
    eventPath,
    JSON.stringify({
      inputs: {},
      ref: 'refs/heads/main',
      repository: { full_name: 'octo-org/octo-repo', name: 'octo-repo', owner: { login: 'octo-org' } },
      sender: { login: 'octocat' },
      workflow: '.github/workflows/soundtrack.yml',
    }),
  );
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: 'octo-org/octo-repo',
    GITHUB_REPOSITORY_ID: '1296269',
    GITHUB_REPOSITORY_OWNER: 'octo-org',
    GITHUB_REPOSITORY_OWNER_ID: '9919',
    GITHUB_RUN_ID: '1658821493',
    GITHUB_RUN_NUMBER: '42',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'soundtrack',
    GITHUB_ACTION: 'kling',
    GITHUB_ACTION_REPOSITORY: '',
    GITHUB_ACTION_REF: '',
    GITHUB_ACTOR: 'octocat',
    GITHUB_ACTOR_ID: '583231',
    GITHUB_TRIGGERING_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_WORKFLOW: 'Soundtrack',
    GITHUB_WORKFLOW_REF: 'octo-org/octo-repo/.github/workflows/soundtrack.yml@refs/heads/main',
    GITHUB_WORKFLOW_SHA: sha,
    GITHUB_SHA: sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_REF_PROTECTED: 'false',
    GITHUB_HEAD_REF: '',
    GITHUB_BASE_REF: '',
    GITHUB_RETENTION_DAYS: '90',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'GitHub Actions 1000000001',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_WORKSPACE: dirname(workspace),
  };
};

/** What the process itself tells; the files it wrote are read afterwards. */
type ChildResult = Omit<ActionRun, 'outputs' | 'state' | 'summary' | 'exportedEnv' | 'workspace'>;

function runChild(
  entry: string,
  cwd: string,
  env: Record<string, string>,
  options: RunActionOptions,
): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // process.execPath is the Node 24 running the tests, like the runner's bundled node24.
    const child = spawn(process.execPath, [entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timers: NodeJS.Timeout[] = [];
    const signalsSent: ChildResult['signalsSent'] = [];
    let signalSentAtMs: number | undefined;
    let firstOutputMs: number | undefined;
    let exited = false;

    const send = (name: NodeJS.Signals): number | undefined => {
      if (exited) return undefined;
      const atMs = elapsed();
      signalsSent.push({ name, atMs });
      child.kill(name);
      return atMs;
    };
    const sendRequested = () => {
      const requested = options.signal!;
      signalSentAtMs = send(requested.name);
      if (signalSentAtMs === undefined || !requested.escalate) return;
      const delays =
        requested.escalate === true
          ? { sigtermAfterMs: ESCALATE_TO_SIGTERM_MS, sigkillAfterMs: ESCALATE_TO_SIGKILL_MS }
          : requested.escalate;
      timers.push(
        setTimeout(() => {
          send('SIGTERM');
          timers.push(setTimeout(() => send('SIGKILL'), delays.sigkillAfterMs));
        }, delays.sigtermAfterMs),
      );
    };
    let signalArmed = options.signal !== undefined;
    const armSignal = () => {
      signalArmed = false;
      const delay = options.signal?.afterMs;
      if (delay === undefined) sendRequested();
      else timers.push(setTimeout(sendRequested, delay));
    };
    if (options.signal && options.signal.afterStdout === undefined) armSignal();

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    const noteOutput = () => (firstOutputMs ??= elapsed());
    child.stdout.on('data', (chunk: string) => {
      noteOutput();
      stdout += chunk;
      // Match the whole output so far: a line can arrive split across chunks.
      if (signalArmed && options.signal?.afterStdout?.test(stdout)) armSignal();
    });
    child.stderr.on('data', (chunk: string) => {
      noteOutput();
      stderr += chunk;
    });

    const timeoutMs = options.timeoutMs ?? 60_000;
    let timedOut = false;
    timers.push(
      setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs),
    );

    child.on('exit', () => (exited = true));
    child.on('error', (error) => {
      for (const timer of timers) clearTimeout(timer);
      reject(error);
    });
    // 'close' waits for stdout/stderr to drain, unlike 'exit'.
    child.on('close', (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      if (timedOut) {
        reject(
          new Error(
            `action did not finish within ${timeoutMs} ms and was killed\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
        return;
      }
      const result: ChildResult = {
        code,
        signal,
        startedAtMs: started,
        durationMs: elapsed(),
        stdout,
        stderr,
        signalsSent,
      };
      if (signalSentAtMs !== undefined) result.signalSentAtMs = signalSentAtMs;
      if (firstOutputMs !== undefined) result.firstOutputMs = firstOutputMs;
      resolvePromise(result);
    });
  });
}

/**
 * Parses a file-command file the way the runner does: `NAME=VALUE` lines and `NAME<<DELIMITER`
 * heredocs (what @actions/core writes, with a `ghadelimiter_<uuid>` delimiter). Later keys win. A
 * malformed file fails the step on a real runner, so it throws here.
 */
export function parseFileCommands(text: string, file = 'file command'): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const key = line.slice(0, equals);
      if (key === '') throw new Error(`${file}: invalid format '${line}': name must not be empty`);
      result[key] = line.slice(equals + 1);
    } else if (heredoc >= 0) {
      const key = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (key === '' || delimiter === '')
        throw new Error(`${file}: invalid format '${line}': name and delimiter must not be empty`);
      const value: string[] = [];
      for (index++; ; index++) {
        if (index >= lines.length) throw new Error(`${file}: matching delimiter not found '${delimiter}'`);
        if (lines[index] === delimiter) break;
        value.push(lines[index]!);
      }
      result[key] = value.join('\n');
    } else {
      throw new Error(`${file}: invalid format '${line}'`);
    }
  }
  return result;
}

// ---- action.yml inputs ----

/** What `${{ github.token }}` evaluates to in these runs: the job's token, a secret like any other. */
export const JOB_TOKEN = 'ghs_jobtoken0123456789abcdefABCDEF0123';

/**
 * Every input declared in action.yml → the value the runner gives it when the workflow leaves it out:
 * its default, or '' when it has none (the runner still sets INPUT_<NAME>, to '').
 */
export function actionDefaults(): Record<string, string> {
  return parseActionInputs(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8'));
}

/** The failsafe schema keeps every scalar a string, as the runner reads them (`900` stays "900"). */
export function parseActionInputs(text: string): Record<string, string> {
  const action = parseYaml(text, { schema: 'failsafe' }) as { inputs?: Record<string, { default?: string }> };
  const defaults: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const raw = spec?.default ?? '';
    // The runner evaluates expressions in defaults; this harness knows the one action.yml uses.
    const value = raw.replace(/\$\{\{\s*github\.token\s*\}\}/g, JOB_TOKEN);
    if (value.includes('${{'))
      throw new Error(
        `action.yml: input ${name}: expressions in defaults other than github.token are not supported`,
      );
    defaults[name] = value;
  }
  return defaults;
}
