// Spawn → first request: the built action, as the runner starts it, against a bare Node fetch to the
// same emulator with the same Node binary. Run in pairs, in alternating order, so that a noisy moment
// of the machine lands on both sides; the ratio of the two medians is the figure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KlingEmulator } from '../../test/emulator/kling-emulator.ts';
import { REPO_ROOT } from '../../test/support/run-action.ts';

export interface ColdStart {
  pairs: number;
  bareMs: number;
  actionMs: number;
  ratio: number;
  mainBundleBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Spawns node with `args`; resolves with the ms from spawn to the emulator's first new request. */
async function firstRequestMs(kling: KlingEmulator, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const before = kling.requests.length;
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  while (kling.requests.length === before) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`node ${args.join(' ')} ended before any request`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const ms = kling.requests[before]!.atMs - spawnedAt;
  await exited;
  return ms;
}

export async function benchColdStart(pairs: number): Promise<ColdStart> {
  const kling = await KlingEmulator.start({ apiKeys: ['bench-key'] });
  const workspace = mkdtempSync(path.join(tmpdir(), 'bench-cold-'));
  try {
    const base = { PATH: process.env.PATH ?? '' };
    const bare = [
      '--input-type=module',
      '-e',
      `await fetch(${JSON.stringify(`${kling.url}/kling/v1/audio/video-to-audio/x`)}).catch(() => {})`,
    ];
    const action = [path.join(REPO_ROOT, 'dist', 'index.js')];
    // The first request is the look-up of an earlier attempt's task (resume), before the create.
    // preflight off: with it on, the first request is the source check, to the video's host.
    const actionEnv = {
      ...base,
      GITHUB_WORKSPACE: workspace,
      INPUT_API_KEY: 'bench-key',
      INPUT_BASE_URL: kling.url,
      INPUT_VIDEO_URL: 'https://example.com/cold.mp4',
      INPUT_PREFLIGHT: 'false',
      INPUT_UPLOAD_ARTIFACT: 'false',
      INPUT_POLL_INTERVAL_SECONDS: '0.05',
    };
    const bareMs: number[] = [];
    const actionMs: number[] = [];
    // One unmeasured pair warms the file cache for both.
    for (let i = -1; i < pairs; i++) {
      const order = i % 2 === 0 ? (['bare', 'action'] as const) : (['action', 'bare'] as const);
      for (const side of order) {
        const ms =
          side === 'bare'
            ? await firstRequestMs(kling, bare, base)
            : await firstRequestMs(kling, action, actionEnv);
        if (i >= 0) (side === 'bare' ? bareMs : actionMs).push(ms);
      }
    }
    return {
      pairs,
      bareMs: median(bareMs),
      actionMs: median(actionMs),
      ratio: median(actionMs) / median(bareMs),
      mainBundleBytes: statSync(path.join(REPO_ROOT, 'dist', 'index.js')).size,
    };
  } finally {
    await kling.close();
    rmSync(workspace, { recursive: true, force: true });
  }
}
