// `npm run local-action`: GitHub's @github/local-action runs src/action.ts against the emulator, and the
// script's exit status says whether the action succeeded (local-action itself exits 0 after setFailed).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/run-action.ts';

const SCRIPT = path.join(REPO_ROOT, 'scripts/local-action.ts');
// local-action compiles the action with tsx on every run: ten seconds on a quiet machine, over a
// minute on a loaded one. Nothing here is about speed, so the script gets all the time it may need.
const KILL_AFTER_MS = 180_000;
const TEST_TIMEOUT_MS = KILL_AFTER_MS + 10_000;

interface ScriptRun {
  code: number | null;
  output: string;
  /** What the script (and local-action, tsx, npm under it) left in the temp folder it was given. */
  leftInTemp: string[];
}

/** `node scripts/local-action.ts` with its own temp folder, which must be empty when it exits. */
async function runScript(env: Record<string, string> = {}): Promise<ScriptRun> {
  const temp = mkdtempSync(path.join(tmpdir(), 'local-action-test-'));
  try {
    const child = spawn(process.execPath, [SCRIPT], {
      cwd: REPO_ROOT,
      env: { ...process.env, TMPDIR: temp, TMP: temp, TEMP: temp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    }).finally(() => clearTimeout(killer));
    return { code, output: stripVTControlCharacters(output), leftInTemp: readdirSync(temp) };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

describe('npm run local-action', () => {
  it(
    'runs the action under local-action against the emulator and exits 0 when it succeeds',
    async () => {
      const run = await runScript();
      expect(run.code, run.output).toBe(0);
      // local-action's own table of the outputs the action set.
      expect(run.output).toMatch(/Action Outputs/);
      expect(run.output).toMatch(/'task_status'\s*│\s*'succeed'/);
      expect(run.output).toMatch(/'audio_path'\s*│\s*'[^']*kling-audio[/\\]\d+\.mp3'/);
      // The file the action downloaded into the workspace, and the artifact local-action's stub stored.
      expect(run.output).toMatch(
        /== Downloaded files \(workspace\)\n\s*[1-9]\d*\s+kling-audio[/\\]\d+\.mp3\n/,
      );
      expect(run.output).toMatch(/\s[1-9]\d*\s+kling-audio-\d+\.zip\n/);
      expect(run.output).toMatch(/== The action succeeded/);
      expect(run.leftInTemp).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'exits non-zero when the task fails, although local-action itself exits 0 after setFailed',
    async () => {
      const run = await runScript({ KLING_EMULATOR_OUTCOME: 'failed' });
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(/^::error::Task \d+ failed: .*Content risk control/m);
      expect(run.output).toMatch(/'task_status'\s*│\s*'failed'/);
      expect(run.output).toMatch(/== Downloaded files \(workspace\)\n\(none\)\n/);
      // This verdict is the script's branch for local-action exiting 0 with an ::error:: line.
      expect(run.output).toMatch(/== The action failed \(core\.setFailed: Task \d+ failed/);
      expect(run.leftInTemp).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
