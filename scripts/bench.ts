// Benchmarks (not tests: this machine is noisy). Usage: npm run bench
//  1. downloadFile streams a large result to disk: throughput, and peak RSS stays flat (no buffering).
//  2. The built action end to end against the emulator: wall time per run (startup + poll + upload).
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEFAULT_RETRY_SCHEDULE } from '../src/backoff.ts';
import { downloadFile } from '../src/download.ts';
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
        maxBytes: 2048 * MIB,
        maxAttempts: 1,
        attemptTimeoutMs: 600_000,
        clock: systemClock,
        sleep: abortableSleep,
        random: Math.random,
        log: silentLog,
        schedule: DEFAULT_RETRY_SCHEDULE,
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
      const run = await runAction({
        inputs: {
          api_key: 'bench-key',
          base_url: kling.url,
          video_url: `https://example.com/${i}.mp4`,
          poll_interval_seconds: '0.01',
        },
        env: results.env(),
      });
      if (run.code !== 0) throw new Error(run.stdout);
      times.push(run.durationMs);
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
