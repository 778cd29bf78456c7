// Staging a 95 MB file: S3Client.putObject (SigV4 through aws4fetch, undici's fetch as the action
// uses, the one retry discipline) against a plain streamed PUT of the same file (node:http piping the
// file to a presigned URL) to the same object-store emulator, in one run, alternating. Each upload
// runs in a child process of its own, which reports its wall time and its peak RSS (VmHWM: Linux
// carries getrusage's maxRSS over from the spawning process, VmHWM is the child's own).
//
//   node scripts/bench/staging.ts            the bench on its own (npm run bench runs it too)
//   node scripts/bench/staging.ts --child …  one upload (used by the bench)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FetchLike } from '../../src/net/http.ts';

const MIB = 1024 * 1024;
const SELF = fileURLToPath(import.meta.url);

type Mode = 'plain' | 'unsigned' | 'signed' | 'idle';

const LABELS: Record<Mode, string> = {
  plain: 'plain streamed PUT (node:http, presigned URL)',
  unsigned: 'putObject, UNSIGNED-PAYLOAD',
  signed: 'putObject, sha256 signed (the store hashes the body)',
  idle: 'client loaded, nothing uploaded',
};

export interface StagingRow {
  mode: Mode;
  label: string;
  bytes: number;
  /** Best of the runs. */
  mibPerSecond: number;
  /** Highest VmHWM of the runs. */
  peakMiB: number;
}

export interface StagingBench {
  bytes: number;
  runs: number;
  rows: StagingRow[];
}

interface Case {
  mode: Mode;
  bytes: number;
}

interface ChildArgs {
  mode: Mode;
  file: string;
  /** plain: a presigned PUT URL; otherwise the store's endpoint. */
  target: string;
  sha256: string;
}

interface ChildResult {
  ms: number;
  peakKiB: number;
}

function peakKiB(): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
}

/** One upload in this (child) process; prints its time and peak RSS as JSON. */
async function child(args: ChildArgs): Promise<void> {
  const upload = args.mode === 'plain' ? undefined : await s3Upload(args);
  const started = performance.now();
  if (args.mode !== 'idle') await (upload ? upload() : plainPut(args.target, args.file));
  const result: ChildResult = { ms: performance.now() - started, peakKiB: peakKiB() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function plainPut(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Length': statSync(file).size, 'Content-Type': 'video/mp4' };
    const put = request(url, { method: 'PUT', headers });
    put.on('response', (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200 ? resolve() : reject(new Error(`plain PUT: HTTP ${response.statusCode}`)),
      );
    });
    put.on('error', reject);
    createReadStream(file).pipe(put);
  });
}

/**
 * The action's own S3 client against a store on loopback, with the emulator's test key. Its modules
 * load here: the plain child does not pay for them.
 */
export async function benchS3Client(endpoint: string, readChunkBytes?: number) {
  const { fetch } = await import('undici');
  const { S3Client } = await import('../../src/s3/client.ts');
  const { policy } = await import('../../src/policy.ts');
  const { abortableSleep, systemClock } = await import('../../src/runtime.ts');
  const { silentLog } = await import('../../test/support/silent-log.ts');
  const { TEST_KEY } = await import('../../test/emulator/object-store.ts');
  return new S3Client({
    fetch: fetch as unknown as FetchLike,
    address: { bucket: 'staging', region: 'us-east-1', endpoint },
    credentials: TEST_KEY,
    mask: () => {},
    userAgent: 'bench',
    limits: { ...policy.staging, readChunkBytes: readChunkBytes ?? policy.staging.readChunkBytes },
    clock: systemClock,
    sleep: abortableSleep,
    random: Math.random,
    log: silentLog,
    schedule: policy.retry.schedule,
  });
}

/** The client made ahead of the clock, as the step makes it before staging; the upload to time. */
async function s3Upload(args: ChildArgs): Promise<() => Promise<unknown>> {
  const chunk = process.env.BENCH_CHUNK;
  const client = await benchS3Client(args.target, chunk ? Number(chunk) : undefined);
  const file = {
    path: args.file,
    contentType: 'video/mp4',
    ...(args.mode === 'signed' ? { sha256: args.sha256 } : {}),
  };
  return () => client.putObject('bench/video.mp4', file, Date.now() + 600_000);
}

function runChild(args: ChildArgs): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SELF, '--child', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`${args.mode} child failed (${code})\n${out}\n${err}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/**
 * `runs` rounds, each case once per round in turn: the plain PUT and putObject (both payload modes)
 * of `bytes`, putObject of a fifth of it (memory flat in file size), and the client loaded with
 * nothing uploaded (the child's own floor). Best throughput and highest peak per case.
 */
export async function benchStaging(bytes: number, runs: number): Promise<StagingBench> {
  const { ObjectStore } = await import('../../test/emulator/object-store.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-staging-'));
  const store = await ObjectStore.start();
  try {
    const small = Math.round(bytes / 5);
    const files = new Map([bytes, small].map((size) => [size, writeVideo(dir, size)]));
    const cases: Case[] = [
      { mode: 'plain', bytes },
      { mode: 'unsigned', bytes },
      { mode: 'signed', bytes },
      { mode: 'unsigned', bytes: small },
      { mode: 'idle', bytes },
    ];
    const results = cases.map(() => [] as ChildResult[]);
    for (let round = 0; round < runs; round++) {
      for (const [i, { mode, bytes: size }] of cases.entries()) {
        const target =
          mode === 'plain'
            ? store.presign({ method: 'PUT', bucket: 'staging', key: 'bench/plain.mp4', expiresSeconds: 600 })
            : store.url;
        const { file, sha256 } = files.get(size)!;
        results[i]!.push(await runChild({ mode, file, target, sha256 }));
        const stored = store.object('staging', mode === 'plain' ? 'bench/plain.mp4' : 'bench/video.mp4');
        if (mode !== 'idle' && stored?.body.length !== size)
          throw new Error(`${mode}: the object is incomplete`);
      }
    }
    const rows = cases.map(({ mode, bytes: size }, i): StagingRow => {
      const all = results[i]!;
      return {
        mode,
        label: LABELS[mode],
        bytes: size,
        mibPerSecond: Math.max(...all.map((r) => size / MIB / (r.ms / 1000))),
        peakMiB: Math.max(...all.map((r) => r.peakKiB / 1024)),
      };
    });
    return { bytes, runs, rows };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An MP4-looking file of `size` bytes, and its digest. */
function writeVideo(dir: string, size: number): { file: string; sha256: string } {
  const file = path.join(dir, `video-${size}.mp4`);
  const body = Buffer.alloc(size, 7);
  body.write('\0\0\0\x20ftypisom', 0, 'latin1');
  writeFileSync(file, body);
  return { file, sha256: createHash('sha256').update(body).digest('hex') };
}

export function printStaging(result: StagingBench): void {
  const plain = result.rows.find((r) => r.mode === 'plain')!;
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  console.log(
    `\nstaging a ${mb(result.bytes)} file to the object-store emulator: best throughput and highest peak RSS ` +
      `(VmHWM) of ${result.runs} alternating runs, each upload in a child process of its own:`,
  );
  for (const row of result.rows) {
    const speed =
      row.mode === 'idle'
        ? ''
        : `${row.mibPerSecond.toFixed(0)} MiB/s` +
          (row.mode === 'plain' || row.bytes !== plain.bytes
            ? ''
            : `, ${(row.mibPerSecond / plain.mibPerSecond).toFixed(2)}× plain (target ≥ 0.8×)`) +
          '; ';
    const target = row.mode === 'unsigned' || row.mode === 'signed' ? ' (target < 200 MiB)' : '';
    console.log(`  ${row.label}, ${mb(row.bytes)}: ${speed}peak RSS ${row.peakMiB.toFixed(0)} MiB${target}`);
  }
}

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]!) as ChildArgs);
} else if (process.argv[1] === SELF) {
  printStaging(await benchStaging(95 * 1000 * 1000, Number(process.env.BENCH_STAGING_RUNS ?? 3)));
}
