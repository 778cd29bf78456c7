/**
 * runAction against throwaway plain-node scripts (not dist/): inputs and defaults, a clean
 * environment, file commands in both forms, and signals.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actionDefaults,
  baseRunnerEnv,
  inputEnvName,
  JOB_TOKEN,
  parseActionInputs,
  parseFileCommands,
  runAction,
  stepMs,
} from './run-action.ts';

let scripts: string;

const ECHO_SCRIPT = `
import { appendFileSync } from 'node:fs';
const env = process.env;
const inputs = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('INPUT_')));
appendFileSync(env.GITHUB_OUTPUT, 'provider=' + env.INPUT_PROVIDER + '\\n');
appendFileSync(env.GITHUB_OUTPUT, 'inputs<<ghadelimiter_x\\n' + JSON.stringify(inputs, null, 2) + '\\nghadelimiter_x\\n');
appendFileSync(env.GITHUB_OUTPUT, 'env<<ghadelimiter_y\\n' + JSON.stringify(env) + '\\nghadelimiter_y\\n');
appendFileSync(env.GITHUB_OUTPUT, 'cwd=' + process.cwd() + '\\n');
appendFileSync(env.GITHUB_OUTPUT, 'equation=a=b<<c\\n');
appendFileSync(env.GITHUB_STATE, 'started<<ghadelimiter_z\\nyes\\nghadelimiter_z\\n');
appendFileSync(env.GITHUB_STEP_SUMMARY, '# Summary\\n\\nsecond paragraph\\n');
console.log('echoed');
console.error('to stderr');
process.exitCode = 3;
`;

// Polls until cancelled, like the action: SIGINT records state and exits 1.
const WAIT_SCRIPT = `
import { appendFileSync } from 'node:fs';
process.on('SIGINT', () => {
  appendFileSync(process.env.GITHUB_OUTPUT, 'cancelled=SIGINT\\n');
  console.log('got SIGINT');
  process.exit(1);
});
console.log('task submitted; polling');
setInterval(() => {}, 1000);
`;

// Ignores SIGINT, so only the runner's escalation stops it.
const STUBBORN_SCRIPT = `
process.on('SIGINT', () => console.log('ignoring SIGINT'));
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('started');
setInterval(() => {}, 1000);
`;

// Silent for 300 ms, then a line, then 300 ms more: its step is the second part only.
const LATE_SCRIPT = `
await new Promise((resolve) => setTimeout(resolve, 300));
console.log('started');
await new Promise((resolve) => setTimeout(resolve, 300));
`;

beforeAll(async () => {
  scripts = await mkdtemp(join(tmpdir(), 'run-action-scripts-'));
  await writeFile(join(scripts, 'late.mjs'), LATE_SCRIPT);
  await writeFile(join(scripts, 'silent.mjs'), '');
  await writeFile(join(scripts, 'echo.mjs'), ECHO_SCRIPT);
  await writeFile(join(scripts, 'wait.mjs'), WAIT_SCRIPT);
  await writeFile(join(scripts, 'stubborn.mjs'), STUBBORN_SCRIPT);
});

afterAll(async () => {
  await rm(scripts, { recursive: true, force: true });
});

describe('runAction', () => {
  it('passes inputs with action.yml defaults, collects output, outputs, state and summary', async () => {
    const run = await runAction({
      entry: join(scripts, 'echo.mjs'),
      inputs: { timeout_seconds: '30', 'my input': 'spaced', 'dash-name': 'dashed' },
    });
    try {
      expect(run).toMatchObject({ code: 3, signal: null, stdout: 'echoed\n', stderr: 'to stderr\n' });
      expect(run.durationMs).toBeGreaterThan(0);
      const inputs = JSON.parse(run.outputs['inputs']!) as Record<string, string>;
      expect(inputs).toMatchObject({
        INPUT_PROVIDER: 'cometapi',
        INPUT_TIMEOUT_SECONDS: '30',
        INPUT_POLL_INTERVAL_SECONDS: '5',
        INPUT_ASMR_MODE: 'false',
        INPUT_WAIT: 'true',
        // Declared without a default: the runner still sets it, to ''.
        INPUT_VIDEO_URL: '',
        INPUT_MY_INPUT: 'spaced',
        'INPUT_DASH-NAME': 'dashed',
      });
      expect(run.outputs['provider']).toBe('cometapi');
      expect(run.outputs['cwd']).toBe(run.workspace);
      expect(run.outputs['equation']).toBe('a=b<<c');
      expect(run.state).toEqual({ started: 'yes' });
      expect(run.summary).toBe('# Summary\n\nsecond paragraph\n');
    } finally {
      await rm(run.workspace, { recursive: true, force: true });
    }
  });

  it('times the run on this process clock, and the step from the first output on', async () => {
    const before = performance.now();
    const run = await runAction({ entry: join(scripts, 'late.mjs'), inputs: {} });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.startedAtMs).toBeGreaterThanOrEqual(before);
    expect(run.startedAtMs + run.durationMs).toBeLessThanOrEqual(performance.now());
    expect(run.firstOutputMs).toBeGreaterThanOrEqual(300);
    expect(stepMs(run)).toBeGreaterThanOrEqual(290);
    expect(stepMs(run)).toBe(run.durationMs - run.firstOutputMs!);
  });

  it('cannot time the step of a run that printed nothing', async () => {
    const run = await runAction({ entry: join(scripts, 'silent.mjs'), inputs: {} });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.firstOutputMs).toBeUndefined();
    expect(() => stepMs(run)).toThrow(/printed nothing/);
  });

  it('applies the default timeout_seconds of 900 when the input is left out', async () => {
    const run = await runAction({ entry: join(scripts, 'echo.mjs'), inputs: { provider: 'kling' } });
    await rm(run.workspace, { recursive: true, force: true });
    const inputs = JSON.parse(run.outputs['inputs']!) as Record<string, string>;
    expect(inputs['INPUT_TIMEOUT_SECONDS']).toBe('900');
    expect(inputs['INPUT_PROVIDER']).toBe('kling');
    expect(run.outputs['provider']).toBe('kling');
  });

  it('gives the child only PATH, HOME, runner variables, file commands, options.env and inputs', async () => {
    const saved = { INPUT_STRAY: process.env['INPUT_STRAY'], HTTPS_PROXY: process.env['HTTPS_PROXY'] };
    process.env['INPUT_STRAY'] = 'from the parent';
    process.env['HTTPS_PROXY'] = 'http://proxy.invalid:3128';
    const workspace = await mkdtemp(join(tmpdir(), 'run-action-workspace-'));
    try {
      const run = await runAction({
        entry: join(scripts, 'echo.mjs'),
        inputs: {},
        workspace,
        env: { ACTIONS_RESULTS_URL: 'http://127.0.0.1:1/' },
      });
      const env = JSON.parse(run.outputs['env']!) as Record<string, string>;
      expect(env).not.toHaveProperty('INPUT_STRAY');
      expect(env).not.toHaveProperty('HTTPS_PROXY');
      expect(env).not.toHaveProperty('RUNNER_DEBUG');
      expect(env).toMatchObject({
        GITHUB_WORKSPACE: workspace,
        GITHUB_REPOSITORY: 'octo-org/octo-repo',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_SERVER_URL: 'https://github.com',
        ACTIONS_RESULTS_URL: 'http://127.0.0.1:1/',
      });
      const runnerEnv = baseRunnerEnv(workspace);
      await rm(dirname(runnerEnv['RUNNER_TEMP']!), { recursive: true, force: true });
      const expectedKeys = new Set([
        ...['PATH', 'HOME'].filter((key) => process.env[key] !== undefined),
        ...Object.keys(runnerEnv),
        ...['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV', 'GITHUB_PATH'],
        'ACTIONS_RESULTS_URL',
        ...Object.keys(actionDefaults()).map(inputEnvName),
      ]);
      expect(new Set(Object.keys(env))).toEqual(expectedKeys);
      expect(run.workspace).toBe(workspace);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await rm(workspace, { recursive: true, force: true });
    }
  });

  it('sends SIGINT when stdout first matches, and the child sees it', async () => {
    const run = await runAction({
      entry: join(scripts, 'wait.mjs'),
      inputs: {},
      signal: { name: 'SIGINT', afterStdout: /polling/ },
      timeoutMs: 10_000,
    });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('task submitted; polling\ngot SIGINT\n');
    expect(run.outputs).toEqual({ cancelled: 'SIGINT' });
    expect(run.signalSentAtMs).toBeGreaterThan(0);
    expect(run.signalSentAtMs).toBeLessThanOrEqual(run.durationMs);
    expect(run.signalsSent).toEqual([{ name: 'SIGINT', atMs: run.signalSentAtMs }]);
  });

  it('sends the signal a delay after stdout matches', async () => {
    // Counting from the match, not from spawn: on a loaded machine Node can take longer than the
    // delay to start, and a SIGINT before the handler exists would kill the child outright.
    const run = await runAction({
      entry: join(scripts, 'wait.mjs'),
      inputs: {},
      signal: { name: 'SIGINT', afterStdout: /polling/, afterMs: 200 },
      timeoutMs: 10_000,
    });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('task submitted; polling\ngot SIGINT\n');
    expect(run.signalSentAtMs).toBeGreaterThanOrEqual(200);
  });

  it('sends the signal a delay after spawn when no stdout is awaited', async () => {
    const run = await runAction({
      entry: join(scripts, 'wait.mjs'),
      inputs: {},
      signal: { name: 'SIGINT', afterMs: 200 },
      timeoutMs: 10_000,
    });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.signalsSent).toEqual([{ name: 'SIGINT', atMs: run.signalSentAtMs }]);
    expect(run.signalSentAtMs).toBeGreaterThanOrEqual(200);
    // Whether the child's handler was installed by then depends on how fast Node started.
    expect(run.code === 1 || run.signal === 'SIGINT').toBe(true);
  });

  it('escalates to SIGTERM and SIGKILL like the runner when the action ignores SIGINT', async () => {
    const run = await runAction({
      entry: join(scripts, 'stubborn.mjs'),
      inputs: {},
      signal: {
        name: 'SIGINT',
        afterStdout: /started/,
        escalate: { sigtermAfterMs: 150, sigkillAfterMs: 150 },
      },
      timeoutMs: 10_000,
    });
    await rm(run.workspace, { recursive: true, force: true });
    expect(run.signal).toBe('SIGKILL');
    expect(run.signalsSent.map((sent) => sent.name)).toEqual(['SIGINT', 'SIGTERM', 'SIGKILL']);
    expect(run.stdout).toBe('started\nignoring SIGINT\nignoring SIGTERM\n');
  });

  it('kills the child and rejects after timeoutMs', async () => {
    const workspace = await mkdtemp(join(tmpdir(), 'run-action-workspace-'));
    try {
      // Long enough for a loaded machine to start Node and print, so the output so far is in the error.
      await expect(
        runAction({ entry: join(scripts, 'stubborn.mjs'), inputs: {}, workspace, timeoutMs: 2_000 }),
      ).rejects.toThrow(/did not finish within 2000 ms[\s\S]*started/);
    } finally {
      await rm(workspace, { recursive: true, force: true });
    }
  });
});

describe('parseFileCommands', () => {
  it('reads NAME=VALUE lines and NAME<<DELIMITER heredocs as the runner does', () => {
    const text =
      'plain=value with = sign\n' +
      'multi<<ghadelimiter_1\nline one\nkey=not a command\n\nline four\nghadelimiter_1\n' +
      'empty<<EOF\nEOF\n' +
      'plain=overridden\r\n';
    expect(parseFileCommands(text)).toEqual({
      plain: 'overridden',
      multi: 'line one\nkey=not a command\n\nline four',
      empty: '',
    });
  });

  it('rejects a heredoc without its delimiter and lines of neither form', () => {
    expect(() => parseFileCommands('name<<EOF\nvalue\n')).toThrow(/matching delimiter not found/);
    expect(() => parseFileCommands('just text\n')).toThrow(/invalid format/);
    expect(() => parseFileCommands('=value\n')).toThrow(/name must not be empty/);
  });
});

describe('parseActionInputs', () => {
  it("reads the project's action.yml", () => {
    const defaults = actionDefaults();
    expect(defaults).toMatchObject({
      provider: 'cometapi',
      timeout_seconds: '900',
      poll_interval_seconds: '5',
      asmr_mode: 'false',
      wait: 'true',
      audio_format: 'mp3',
      output_dir: 'kling-audio',
      upload_artifact: 'true',
      video_url: '',
      retention_days: '',
    });
  });

  it('keeps defaults as strings and refuses expressions it cannot evaluate', () => {
    expect(parseActionInputs('inputs:\n  n:\n    default: 900\n  b:\n    default: True\n  e: {}\n')).toEqual({
      n: '900',
      b: 'True',
      e: '',
    });
    expect(parseActionInputs('inputs:\n  t:\n    default: ${{ github.token }}\n')).toEqual({ t: JOB_TOKEN });
    expect(() => parseActionInputs('inputs:\n  x:\n    default: ${{ github.ref }}\n')).toThrow(/expressions/);
  });
});
