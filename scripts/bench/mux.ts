// mux: true on a 95 MB, 20 s source (moov last, with its own sound) and Kling's 20 s result video:
// muxSoundtrack's time against fs.copyFile of the same file (the kernel copies it), and against a
// copy through JavaScript (1 MiB reads and writes: the floor for anything that reads the samples),
// in rotating order in one child process, each once untimed first so all three start warm, each
// output deleted untimed after its run (the median of each, after a first, cold mux also shown; and
// the CPU time of each, steadier than wall time when other work shares the machine); and the peak
// RSS (VmHWM) of a child that muxes once against one that only copies the file.
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildMp4, buildVideo } from '../../test/emulator/media.ts';
import { REPO_ROOT } from '../../test/support/run-action.ts';

export interface MuxBench {
  sourceBytes: number;
  pairs: number;
  /** The first mux in a fresh process (library loaded before, not counted). */
  coldMuxMs: number;
  muxMs: number;
  copyMs: number;
  /** The same bytes read and written through JavaScript, 1 MiB at a time. */
  streamMs: number;
  /** Medians of the process's CPU time (all threads, user and system) during each. */
  muxCpuMs: number;
  copyCpuMs: number;
  streamCpuMs: number;
  /** The machine's 1-minute load average before and after the rounds. */
  load: [number, number];
  /** VmHWM of a child that muxes once, and of one that copies the file once. */
  muxPeakMiB: number;
  copyPeakMiB: number;
}

/** The child: `pairs <n>` prints timings as JSON; `mux` or `copy` does it once and prints VmHWM. */
function childScript(dir: string): string {
  const script = path.join(dir, 'child.ts');
  const mux = pathToFileURL(path.join(REPO_ROOT, 'src/media/mux.ts')).href;
  const library = pathToFileURL(path.join(REPO_ROOT, 'src/media/library.ts')).href;
  const policy = pathToFileURL(path.join(REPO_ROOT, 'src/policy.ts')).href;
  writeFileSync(
    script,
    `import { copyFile, open, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { muxSoundtrack } from ${JSON.stringify(mux)};
import { loadMediabunny } from ${JSON.stringify(library)};
import { policy } from ${JSON.stringify(policy)};
const [mode, count] = process.argv.slice(2);
const dir = ${JSON.stringify(dir)};
const source = dir + '/source.mp4';
const mux = () => muxSoundtrack({ source, audio: [dir + '/result.mp4'], out: dir + '/out.mp4', limits: policy.mux });
const copy = () => copyFile(source, dir + '/out.mp4');
const stream = async () => {
  const from = await open(source), to = await open(dir + '/out.mp4', 'w');
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (let at = 0; ; ) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    await to.write(buffer, 0, bytesRead, at);
    at += bytesRead;
  }
  await from.close();
  await to.close();
};
const runs = { mux, copy, stream };
// Each writes out.mp4 afresh; deleting it (untimed) keeps an unlink of the last one out of the next run.
const timed = async (run) => {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  await rm(dir + '/out.mp4', { force: true });
  return [ms, (used.user + used.system) / 1000];
};
await loadMediabunny();
if (mode === 'pairs') {
  const times = { cold: (await timed(mux))[0], mux: [], copy: [], stream: [] };
  const order = ['mux', 'copy', 'stream'];
  for (const side of order.slice(1)) await timed(runs[side]); // all three warm before the rounds
  for (let i = 0; i < Number(count); i++) {
    // Rotating order, so a noisy moment of the machine lands on each.
    for (let k = 0; k < 3; k++) {
      const side = order[(i + k) % 3];
      times[side].push(await timed(runs[side]));
    }
  }
  console.log(JSON.stringify(times));
} else {
  await (mode === 'mux' ? mux() : copy());
  console.log(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
}
`,
  );
  return script;
}

function runChild(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`)),
    );
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchMux(pairs: number): Promise<MuxBench> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-mux-'));
  try {
    // 500 frames of about 190 kB (the fixture's H.264 frames grown with filler data): 95 MB that plays.
    const source = path.join(dir, 'source.mp4');
    writeFileSync(
      source,
      buildVideo({ seconds: 20, audio: 'silence', layout: 'moov-last', frameBytes: 190_000 }),
    );
    // On disk before the rounds, so its write-back does not land on one of them.
    const fd = openSync(source, 'r');
    fsyncSync(fd);
    closeSync(fd);
    writeFileSync(path.join(dir, 'result.mp4'), buildMp4('bench', 20));
    const script = childScript(dir);
    const loadBefore = loadavg()[0]!;
    type Run = [ms: number, cpuMs: number];
    const times = JSON.parse(await runChild(script, ['pairs', String(pairs)])) as {
      cold: number;
      mux: Run[];
      copy: Run[];
      stream: Run[];
    };
    const load: [number, number] = [loadBefore, loadavg()[0]!];
    const wall = (runs: Run[]) => median(runs.map(([ms]) => ms));
    const cpu = (runs: Run[]) => median(runs.map(([, cpuMs]) => cpuMs));
    const peak = async (mode: string) => Number(await runChild(script, [mode])) / 1024;
    return {
      sourceBytes: statSync(source).size,
      pairs,
      coldMuxMs: times.cold,
      muxMs: wall(times.mux),
      copyMs: wall(times.copy),
      streamMs: wall(times.stream),
      muxCpuMs: cpu(times.mux),
      copyCpuMs: cpu(times.copy),
      streamCpuMs: cpu(times.stream),
      load,
      muxPeakMiB: await peak('mux'),
      copyPeakMiB: await peak('copy'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeMuxBench(bench: MuxBench): string {
  return (
    `mux of a ${(bench.sourceBytes / 1e6).toFixed(0)} MB, 20 s source (medians of ${bench.pairs} rounds): ` +
    `muxSoundtrack ${bench.muxMs.toFixed(0)} ms = ${(bench.muxMs / bench.copyMs).toFixed(2)}× fs.copyFile ` +
    `(${bench.copyMs.toFixed(0)} ms; target ≤ 2×), ${(bench.muxMs / bench.streamMs).toFixed(2)}× a copy through ` +
    `JavaScript (${bench.streamMs.toFixed(0)} ms); first mux in the process ${bench.coldMuxMs.toFixed(0)} ms. ` +
    `CPU time ${bench.muxCpuMs.toFixed(0)} ms = ${(bench.muxCpuMs / bench.copyCpuMs).toFixed(2)}× copyFile's ` +
    `(${bench.copyCpuMs.toFixed(0)} ms), ${(bench.muxCpuMs / bench.streamCpuMs).toFixed(2)}× the JavaScript copy's ` +
    `(${bench.streamCpuMs.toFixed(0)} ms); load average ${bench.load[0].toFixed(2)} before, ${bench.load[1].toFixed(2)} after. ` +
    `Peak RSS of a child muxing once ${bench.muxPeakMiB.toFixed(0)} MiB (target < 200 MiB), of one only copying ` +
    `${bench.copyPeakMiB.toFixed(0)} MiB`
  );
}
