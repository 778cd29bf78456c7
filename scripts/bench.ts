// Benchmarks (not tests: this machine is noisy). Usage: npm run bench
//  1. downloadFile streams a large result to disk: throughput, and peak RSS stays flat (no buffering).
//  2. The built action end to end against the emulator: wall time per run (startup + poll + upload).
//  3. Batch mode (videos + max_concurrency) end to end: makespan against ⌈N/C⌉·T + 3 s, with the
//     emulator's exact peak concurrency and 1303 refusals; and the step's peak RSS as N grows.
//  4. Cold start: spawn → first request of the built action against a bare Node fetch (bench/cold-start.ts).
//  5. A 200 / 400 MiB result video through download and artifact upload: peak RSS and throughput
//     against a 1 MiB one (bench/large-result.ts).
//  6. Staging a 95 MB local file to an S3-compatible store: putObject against a plain streamed PUT
//     of the same file to the same server, and the uploader's peak RSS (bench/staging.ts).
//  7. A batch of 20 local files: makespan against ⌈N/C⌉·T + 3 s plus one file's staging time, and
//     whether staging ran ahead of the tasks (bench/staging-batch.ts).
//  8. mux: a 95 MB, 20 s source with the generated soundtrack, against fs.copyFile of the same file;
//     peak RSS of a child muxing it (bench/mux.ts).
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import type { FetchLike } from '../src/net/http.ts';
import { policy } from '../src/policy.ts';
import { downloadFile } from '../src/task/download.ts';
import { pollDelayMs } from '../src/net/backoff.ts';
import { abortableSleep, systemClock } from '../src/runtime.ts';
import { silentLog } from '../test/support/silent-log.ts';
import { KlingEmulator } from '../test/emulator/kling-emulator.ts';
import { ResultsService } from '../test/emulator/results-service.ts';
import { REPO_ROOT, runAction, type ActionRun } from '../test/support/run-action.ts';
import { benchColdStart } from './bench/cold-start.ts';
import { benchLargeResult } from './bench/large-result.ts';
import { benchStaging, printStaging } from './bench/staging.ts';
import { benchStagingBatch, printStagingBatch } from './bench/staging-batch.ts';
import { benchMux, describeMuxBench } from './bench/mux.ts';

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
        // undici's fetch, as the action uses (src/action.ts).
        fetch: undiciFetch as unknown as FetchLike,
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

interface BatchCase {
  /** Entries in `videos`. */
  n: number;
  /** max_concurrency. */
  c: number;
  /** The emulator account's concurrency limit. */
  account: number;
  /** Task time on the emulator: submittedMs + processingMs. */
  taskMs: number;
  /** Seconds of audio per result (128 kbps mp3: 16 KB a second). */
  audioSeconds?: number;
  /** The action's entry file; default dist/index.js. */
  entry?: string;
  /** Serves the mp3 results instead of the emulator (the wav and mp4 stay the emulator's). */
  files?: ResultFileServer;
}

interface BatchRun {
  run: ActionRun;
  peakConcurrency: number;
  refusals: number;
  /** Bytes of result files the step downloaded into the workspace. */
  downloadedBytes: number;
}

// A short first poll; later intervals follow the action's own schedule (policy.poll).
const BATCH_POLL_MS = 200;

/** When the action's poll schedule, without jitter (which only shortens), first sees a task of `taskMs` done. */
function seenAtMs(taskMs: number): number {
  const schedule = { ...policy.poll, initialMs: BATCH_POLL_MS };
  let at = 0;
  while (at < taskMs) at += pollDelayMs(at, schedule, () => 0);
  return at;
}

/** Runs the built action once with N videos against a fresh emulator; throws unless every entry succeeded. */
async function runBatch(batch: BatchCase): Promise<BatchRun> {
  const submittedMs = Math.round(batch.taskMs / 4);
  const files = batch.files;
  const kling = await KlingEmulator.start({
    apiKeys: ['bench-key'],
    accountConcurrency: batch.account,
    timeline: { submittedMs, processingMs: batch.taskMs - submittedMs, outcome: 'succeed' },
    audioSeconds: batch.audioSeconds ?? 5,
    ...(files ? { resultUrls: (taskId, own) => ({ ...own, mp3: files.urlFor(taskId) }) } : {}),
  });
  files?.serveFrom(kling);
  const results = await ResultsService.start();
  const workspace = mkdtempSync(path.join(tmpdir(), 'bench-batch-'));
  try {
    const videos = Array.from({ length: batch.n }, (_, i) => `https://example.com/batch/${i}.mp4`).join('\n');
    const run = await runAction({
      inputs: {
        api_key: 'bench-key',
        base_url: kling.url,
        videos,
        max_concurrency: String(batch.c),
        poll_interval_seconds: String(BATCH_POLL_MS / 1000),
      },
      env: results.env(),
      workspace,
      ...(batch.entry ? { entry: batch.entry } : {}),
      timeoutMs: 120_000,
    });
    if (run.code !== 0) throw new Error(`batch run failed (code ${run.code})\n${run.stdout}\n${run.stderr}`);
    const entries = JSON.parse(run.outputs['results'] ?? '[]') as {
      task_status?: string;
      audio_path?: string;
    }[];
    const succeeded = entries.filter((e) => e.task_status === 'succeed' && e.audio_path).length;
    if (entries.length !== batch.n || succeeded !== batch.n || kling.tasks.size !== batch.n)
      throw new Error(
        `expected ${batch.n} succeeded entries and tasks, got ${succeeded}/${entries.length} entries, ${kling.tasks.size} tasks`,
      );
    const downloadedBytes = entries.reduce(
      (sum, e) => sum + statSync(path.resolve(workspace, e.audio_path!)).size,
      0,
    );
    return {
      run,
      peakConcurrency: kling.peakConcurrency,
      refusals: kling.concurrencyRefusals,
      downloadedBytes,
    };
  } finally {
    await Promise.all([kling.close(), results.close()]);
    rmSync(workspace, { recursive: true, force: true });
  }
}

/**
 * Serves each task's mp3 (the emulator's bytes) at a throttled rate, so downloads last long enough to
 * overlap, and counts how many are in flight at once.
 */
class ResultFileServer {
  readonly #server = createServer((req, res) => this.#serve(req.url ?? '', res));
  #kling: KlingEmulator | undefined;
  #inFlight = 0;
  peakInFlight = 0;
  url = '';
  readonly bytesPerSecond: number;

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  urlFor(taskId: string): string {
    return `${this.url}/${encodeURIComponent(taskId)}/audio.mp3`;
  }

  /** The emulator whose media is served; also starts a fresh peak count. */
  serveFrom(kling: KlingEmulator): void {
    this.#kling = kling;
    this.peakInFlight = 0;
  }

  #serve(url: string, res: ServerResponse): void {
    const taskId = decodeURIComponent(url.split('/')[1] ?? '');
    const bytes = this.#kling!.media(taskId).mp3;
    this.peakInFlight = Math.max(this.peakInFlight, ++this.#inFlight);
    res.on('close', () => this.#inFlight--);
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(bytes.length) });
    const chunkBytes = 64 * 1024;
    const chunkEveryMs = (chunkBytes / this.bytesPerSecond) * 1000;
    let offset = 0;
    const pump = () => {
      if (res.destroyed) return;
      res.write(bytes.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
      if (offset >= bytes.length) res.end();
      else setTimeout(pump, chunkEveryMs);
    };
    pump();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/**
 * Makespan of N entries of task time T at concurrency C (the smaller of max_concurrency and the
 * account), against ⌈N/C⌉·T + 3 s; each case run `runs` times, the slowest run compared.
 */
async function benchBatchMakespan(cases: BatchCase[], runs: number): Promise<void> {
  const rows: string[][] = [];
  let worst = 0;
  for (const batch of cases) {
    const walls: number[] = [];
    const peaks = new Set<number>();
    const refusals: number[] = [];
    for (let i = 0; i < runs; i++) {
      const result = await runBatch(batch);
      walls.push(result.run.durationMs);
      peaks.add(result.peakConcurrency);
      refusals.push(result.refusals);
    }
    const waves = Math.ceil(batch.n / Math.min(batch.c, batch.account));
    const boundMs = waves * batch.taskMs + 3000;
    const slowest = Math.max(...walls);
    worst = Math.max(worst, slowest / boundMs);
    rows.push([
      String(batch.n),
      String(batch.c),
      String(batch.account),
      String(batch.taskMs),
      String(seenAtMs(batch.taskMs)),
      `${Math.min(...walls)}–${slowest}`,
      String(boundMs),
      (slowest / boundMs).toFixed(2),
      [...peaks].join('/'),
      refusals.join('/'),
    ]);
  }
  console.log(
    `batch makespan (${runs} runs each; poll_interval_seconds ${BATCH_POLL_MS / 1000}; ` +
      `bound ⌈N/min(C, account)⌉·T + 3 s; T seen: when the poll schedule, unjittered, first sees a task done):`,
  );
  printTable(
    ['N', 'C', 'account', 'T ms', 'T seen ms', 'wall ms', 'bound ms', 'slowest/bound', 'peak', '1303s'],
    rows,
  );
  console.log(
    `worst slowest/bound ${worst.toFixed(2)}${worst <= 1 ? ' (within bound)' : ' (BOUND EXCEEDED)'}`,
  );
}

/**
 * The step's own peak RSS (VmHWM, read in the child as it exits) as N grows at a fixed C,
 * with throttled mp3 downloads so they overlap; and the most downloads seen in flight at once.
 */
async function benchBatchRss(
  ns: number[],
  c: number,
  taskMs: number,
  audioSeconds: number,
  runs: number,
): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-shim-'));
  const files = new ResultFileServer(8 * MIB);
  await files.start();
  try {
    const entry = path.join(dir, 'shim.mjs');
    const dist = pathToFileURL(path.join(REPO_ROOT, 'dist', 'index.js')).href;
    // Peak RSS so far when @actions/artifact starts (every download done), and at exit. Linux keeps
    // getrusage's maxRSS across fork and exec, so a child spawned by this (larger, growing) process
    // would start at our size; VmHWM belongs to the child's own image. maxRSS where there is no /proc.
    writeFileSync(
      entry,
      [
        `import { readFileSync } from 'node:fs';`,
        `const peak = () => {`,
        `  try { return Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]); }`,
        `  catch { return process.resourceUsage().maxRSS; }`,
        `};`,
        `let beforeUpload;`,
        `const write = process.stdout.write.bind(process.stdout);`,
        `process.stdout.write = (chunk, ...rest) => {`,
        `  if (beforeUpload === undefined && /Artifact name is valid|Uploading artifact/.test(String(chunk))) beforeUpload = peak();`,
        `  return write(chunk, ...rest);`,
        `};`,
        `process.on('exit', () => process.stderr.write('peak-rss-kib ' + peak() + ' ' + beforeUpload + '\\n'));`,
        `await import(${JSON.stringify(dist)});`,
      ].join('\n'),
    );
    const rows: string[][] = [];
    let baseline: { peak: number; beforeUpload: number } | undefined;
    for (const n of ns) {
      // The peak depends on when the GC runs: the largest of `runs` runs is kept.
      let peakMiB = 0;
      let beforeUploadMiB = 0;
      let wallMs = 0;
      let tasksPeak = 0;
      let downloadsPeak = 0;
      let downloadedBytes = 0;
      for (let i = 0; i < runs; i++) {
        const result = await runBatch({ n, c, account: c, taskMs, audioSeconds, entry, files });
        const match = /peak-rss-kib (\d+) (\d+)/.exec(result.run.stderr);
        if (!match) throw new Error(`no peak-rss-kib line from the shim\n${result.run.stderr}`);
        peakMiB = Math.max(peakMiB, Number(match[1]) / 1024);
        beforeUploadMiB = Math.max(beforeUploadMiB, Number(match[2]) / 1024);
        wallMs = Math.max(wallMs, result.run.durationMs);
        tasksPeak = Math.max(tasksPeak, result.peakConcurrency);
        downloadsPeak = Math.max(downloadsPeak, files.peakInFlight);
        downloadedBytes = result.downloadedBytes;
      }
      baseline ??= { peak: peakMiB, beforeUpload: beforeUploadMiB };
      rows.push([
        String(n),
        String(c),
        (downloadedBytes / MIB).toFixed(1),
        wallMs.toFixed(0),
        String(tasksPeak),
        String(downloadsPeak),
        `${beforeUploadMiB.toFixed(0)} (${(beforeUploadMiB / baseline.beforeUpload).toFixed(2)})`,
        `${peakMiB.toFixed(0)} (${(peakMiB / baseline.peak).toFixed(2)})`,
      ]);
    }
    console.log(
      `batch peak RSS of the step's process (largest of ${runs} runs; task ${taskMs} ms, ` +
        `${audioSeconds} s mp3 per entry served at ${files.bytesPerSecond / MIB} MiB/s):`,
    );
    printTable(
      [
        'N',
        'C',
        'downloaded MiB',
        'wall ms',
        'tasks peak',
        'downloads peak',
        `RSS before upload MiB (vs N=${ns[0]})`,
        `RSS at exit MiB (vs N=${ns[0]})`,
      ],
      rows,
    );
  } finally {
    await files.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How late a task that finishes at T is noticed, and how many queries that took, on a virtual clock
 * with the default poll_interval_seconds (5 s): the action's schedule (10 % of elapsed, cap 30 s),
 * next to a fixed 5 s poller and the ×1.5 backoff it replaced. Jitter off (it only shortens).
 */
function benchPolling(): void {
  const fixed = () => 5_000;
  const backoff = (n: number) => Math.min(30_000, 5_000 * 1.5 ** n);
  const schedule = { ...policy.poll, initialMs: 5_000 };
  const proportional = (_n: number, elapsedMs: number) => pollDelayMs(elapsedMs, schedule, () => 0);
  const follow = (finishMs: number, next: (n: number, elapsedMs: number) => number) => {
    let at = 0;
    let queries = 0;
    while (at < finishMs) at += next(queries++, at);
    return { lateMs: at - finishMs, queries };
  };
  console.log('\nPolling on a virtual clock (poll_interval_seconds 5): notice delay / queries');
  const rows = [12_000, 45_000, 180_000, 900_000].map((finishMs) => {
    const [now, flat, old] = [proportional, fixed, backoff].map((next) => follow(finishMs, next));
    const target = Math.max(5_000, finishMs * 0.1);
    return [
      `${finishMs / 1000} s`,
      `${(now!.lateMs / 1000).toFixed(1)} s / ${now!.queries}`,
      `${(target / 1000).toFixed(1)} s`,
      `${(flat!.lateMs / 1000).toFixed(1)} s / ${flat!.queries}`,
      `${(old!.lateMs / 1000).toFixed(1)} s / ${old!.queries}`,
      `${(flat!.queries / now!.queries).toFixed(2)}×`,
    ];
  });
  printTable(
    ['T', 'action (now)', 'target', 'fixed 5 s', '×1.5 backoff (before)', 'fewer queries vs fixed'],
    rows,
  );
}

async function printColdStart(pairs: number): Promise<void> {
  const cold = await benchColdStart(pairs);
  console.log(
    `\ncold start, spawn → first request (median of ${cold.pairs} alternating pairs): ` +
      `bare node fetch ${cold.bareMs.toFixed(1)} ms, action ${cold.actionMs.toFixed(1)} ms = ` +
      `${cold.ratio.toFixed(2)}× (target ≤ 1.5×); main bundle ${(cold.mainBundleBytes / 1e6).toFixed(2)} MB`,
  );
}

async function printLargeResult(sizesMiB: number[], runs: number): Promise<void> {
  const rows = await benchLargeResult(sizesMiB, runs);
  const [base] = rows;
  console.log(
    `\nlarge result video (include_video), download + stored zip + artifact upload, largest of ${runs} runs; ` +
      `peak RSS is the step's VmHWM:`,
  );
  printTable(
    [
      'video MiB',
      'download MiB/s',
      'upload MiB/s',
      'RSS before upload MiB',
      'RSS at exit MiB',
      `vs ${base!.sizeMiB} MiB`,
      'vs previous',
    ],
    rows.map((row, i) => [
      String(row.sizeMiB),
      row.downloadMiBps.toFixed(0),
      row.uploadMiBps.toFixed(0),
      row.peakBeforeUploadMiB.toFixed(0),
      row.peakMiB.toFixed(0),
      `${(row.peakMiB / base!.peakMiB).toFixed(2)}×`,
      i === 0 ? '' : `${(row.peakMiB / rows[i - 1]!.peakMiB).toFixed(2)}×`,
    ]),
  );
}

const batchRuns = Number(process.env.BENCH_BATCH_RUNS ?? 2);
benchPolling();
// First, while this process is small: the large-result bench's artifact fake holds uploads in memory.
await benchDownload(Number(process.env.BENCH_DOWNLOAD_MIB ?? 256));
await printColdStart(Number(process.env.BENCH_COLD_PAIRS ?? 15));
console.log(`\n${describeMuxBench(await benchMux(Number(process.env.BENCH_MUX_PAIRS ?? 7)))}`);
await printLargeResult([1, 200, 400], Number(process.env.BENCH_LARGE_RUNS ?? 2));
printStaging(await benchStaging(95 * 1000 * 1000, Number(process.env.BENCH_STAGING_RUNS ?? 3)));
printStagingBatch(
  await benchStagingBatch(20, 4, 2000, 10, Number(process.env.BENCH_STAGING_BATCH_RUNS ?? 2)),
);
await benchAction(Number(process.env.BENCH_ACTION_RUNS ?? 7));
await benchBatchMakespan(
  [
    { n: 6, c: 2, account: 2, taskMs: 2000 },
    { n: 12, c: 4, account: 4, taskMs: 2000 },
    { n: 20, c: 5, account: 5, taskMs: 1500 },
    // Five waves: the time each wave loses to the poll backoff adds up.
    { n: 10, c: 2, account: 2, taskMs: 2000 },
    // The account holds fewer than max_concurrency: creates are refused (1303) and the pool lowers itself.
    { n: 8, c: 4, account: 2, taskMs: 2000 },
  ],
  batchRuns,
);
await benchBatchRss([1, 5, 10, 50], 5, 500, 60, batchRuns);
