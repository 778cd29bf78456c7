// Benchmarks (not tests: this machine is noisy). Usage: npm run bench
//  1. downloadFile streams a large result to disk: throughput, and peak RSS stays flat (no buffering).
//  2. The built action end to end against the emulator: wall time per run (startup + poll + upload).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { policy } from '../src/policy.ts';
import { downloadFile } from '../src/task/download.ts';
import { abortableSleep, silentLog, systemClock } from '../src/runtime.ts';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { ResultsService } from '../test/emulator/results-service.ts';
import { runAction } from '../test/support/run-action.ts';

const MIB = 1024 * 1024;

async function benchDownload(sizeMiB: number): Promise<void> {
  const chunk = Buffer.alloc(MIB, 7);
  chunk.write('\0\0\0\x20ftypisom', 0, 'latin1');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(sizeMiB * MIB) });
    let sent = 0;
    const pump = () => {
      while (sent < sizeMiB && res.write(chunk)) sent++;
      if (sent >= sizeMiB) res.end();
      else res.once('drain', () => (sent++, pump()));
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-download-'));
  try {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const file = await downloadFile(
      { role: 'video', kind: 'mp4', url: `http://127.0.0.1:${port}/v.mp4`, path: path.join(dir, 'v.mp4') },
      {
        fetch: (url, init) => fetch(url, init),
        deadlineMs: systemClock.now() + policy.download.attemptTimeoutMs,
        // The local server is plain http on loopback, as the emulator is in the tests.
        allowHttp: true,
        // The action's limits (stall, redirects, per-attempt timeout), with room for the largest file
        // and no retry: a retry would hide a slow attempt inside the figure.
        limits: { ...policy.download, maxBytes: 2048 * MIB, attempts: 1 },
        clock: systemClock,
        sleep: abortableSleep,
        random: Math.random,
        log: silentLog,
        schedule: policy.retry.schedule,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (statSync(file.path).size !== sizeMiB * MIB) throw new Error('size mismatch');
    console.log(
      `download ${sizeMiB} MiB: ${(sizeMiB / seconds).toFixed(0)} MiB/s, ` +
        `RSS before ${(rssBefore / MIB).toFixed(0)} MiB, peak ${(peak / MIB).toFixed(0)} MiB ` +
        `(+${((peak - rssBefore) / MIB).toFixed(0)} MiB for a ${sizeMiB} MiB file)`,
    );
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchAction(runs: number): Promise<void> {
  const kling = await KlingEmulator.start({
    apiKeys: ['bench-key'],
    timeline: { submittedMs: 0, processingMs: 0 },
  });
  const results = await ResultsService.start();
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Our own workspace, removed after the run (runAction leaves its default one for tests to inspect).
      const workspace = mkdtempSync(path.join(tmpdir(), 'bench-workspace-'));
      try {
        const run = await runAction({
          inputs: {
            api_key: 'bench-key',
            base_url: kling.url,
            video_url: `https://example.com/${i}.mp4`,
            poll_interval_seconds: '0.01',
          },
          env: results.env(),
          workspace,
        });
        if (run.code !== 0) throw new Error(`${run.stdout}\n${run.stderr}`);
        times.push(run.durationMs);
      } finally {
        rmSync(workspace, { recursive: true, force: true });
      }
    }
    times.sort((a, b) => a - b);
    console.log(
      `action end to end (${runs} runs, instant task): median ${times[Math.floor(runs / 2)]!.toFixed(0)} ms, ` +
        `min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms`,
    );
  } finally {
    await Promise.all([kling.close(), results.close()]);
  }
}

await benchDownload(Number(process.env.BENCH_DOWNLOAD_MIB ?? 256));
await benchAction(Number(process.env.BENCH_ACTION_RUNS ?? 7));
