/**
 * runAction's default workspaces, file-command files and runner directories live in one scratch
 * directory per process, which goes when the process ends, however it ends, so that tests leave
 * nothing in the system temp folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './run-action.ts';

let temp: string; // the children's TMPDIR
let script: string;

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'scratch-dir-test-'));
  script = join(temp, 'child.mjs');
  const runAction = pathToFileURL(join(REPO_ROOT, 'test/support/run-action.ts')).href;
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const { scratchDir } = await import(${JSON.stringify(runAction)});
const dir = scratchDir('workspace-');
writeFileSync(join(dir, 'file'), 'x');
console.log(dir);
if (process.argv[2] === 'wait') setInterval(() => {}, 1000);
`,
  );
});

afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs the child with TMPDIR=temp; `signal` is sent once it has printed its scratch directory. */
function child(signal?: NodeJS.Signals) {
  return new Promise<{ dir: string; code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      const proc = spawn(process.execPath, [script, signal ? 'wait' : 'exit'], {
        env: { PATH: process.env['PATH'] ?? '', TMPDIR: temp },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (signal && stdout.includes('\n')) proc.kill(signal);
      });
      proc.on('error', reject);
      proc.on('close', (code, killedBy) => resolve({ dir: stdout.trim(), code, signal: killedBy }));
    },
  );
}

const scratchRoots = () => readdirSync(temp).filter((name) => name.startsWith('action-runs-'));

describe('scratchDir', () => {
  it('is removed when the process exits', async () => {
    const run = await child();
    expect(run.code).toBe(0);
    expect(dirname(dirname(run.dir))).toBe(temp);
    expect(existsSync(dirname(run.dir))).toBe(false);
    expect(scratchRoots()).toEqual([]);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'is removed on %s, and the process still ends by that signal',
    async (name) => {
      const run = await child(name);
      expect(run.signal).toBe(name);
      expect(run.dir).not.toBe('');
      expect(existsSync(dirname(run.dir))).toBe(false);
    },
  );

  it("after a SIGKILL, is removed by the next process's first scratchDir", async () => {
    const killed = await child('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(killed.dir, 'file'))).toBe(true);
    const next = await child();
    expect(existsSync(dirname(killed.dir))).toBe(false);
    expect(existsSync(dirname(next.dir))).toBe(false);
    expect(scratchRoots()).toEqual([]);
  });
});
