// A batch of local files (issue 17): does staging overlap the waiting? The built action runs N files
// of `videos: renders/*.mp4` against the Kling emulator (which fetches each presigned URL) and the
// S3-compatible store, and its makespan is held against ⌈N/C⌉·T + 3 s plus one file's staging time,
// measured in the same run by staging one such file alone.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchS3Client } from './staging.ts';
import { KlingEmulator } from '../../test/emulator/kling-emulator.ts';
import { ObjectStore } from '../../test/emulator/object-store.ts';
import { ResultsService } from '../../test/emulator/results-service.ts';
import { makeMp4 } from '../../test/support/mp4.ts';
import { runAction } from '../../test/support/run-action.ts';

const MIB = 1024 * 1024;

export interface StagingBatchFigures {
  n: number;
  c: number;
  taskMs: number;
  fileBytes: number;
  oneFileMs: number;
  makespansMs: number[];
  boundMs: number;
  /** When the last upload was answered, and when the first task reached its final status (ms from start). */
  lastUploadMs: number;
  firstTaskDoneMs: number;
}

export async function benchStagingBatch(
  n: number,
  c: number,
  taskMs: number,
  fileMiB: number,
  runs: number,
): Promise<StagingBatchFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-staging-batch-'));
  const makespansMs: number[] = [];
  let oneFileMs = 0;
  let lastUploadMs = 0;
  let firstTaskDoneMs = 0;
  try {
    // Each file its own bytes (its own length), so each is staged and paid for once.
    const files = Array.from({ length: n }, (_, i) =>
      makeMp4({ seconds: 5 + i / 10, mdatBytes: fileMiB * MIB }),
    );
    for (let r = 0; r < runs; r++) {
      oneFileMs = Math.max(oneFileMs, await stageOne(files[0]!, dir));
      const batch = await runOnce(files, c, taskMs, dir);
      makespansMs.push(batch.makespanMs);
      lastUploadMs = Math.max(lastUploadMs, batch.lastUploadMs);
      firstTaskDoneMs = batch.firstTaskDoneMs;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const boundMs = Math.ceil(n / c) * taskMs + 3000 + oneFileMs;
  return {
    n,
    c,
    taskMs,
    fileBytes: fileMiB * MIB,
    oneFileMs,
    makespansMs,
    boundMs,
    lastUploadMs,
    firstTaskDoneMs,
  };
}

async function runOnce(files: Buffer[], c: number, taskMs: number, dir: string) {
  const submittedMs = Math.round(taskMs / 4);
  const kling = await KlingEmulator.start({
    apiKeys: ['bench-key'],
    timeline: { submittedMs, processingMs: taskMs - submittedMs, outcome: 'succeed' },
  });
  const results = await ResultsService.start();
  const store = await ObjectStore.start();
  const workspace = mkdtempSync(path.join(dir, 'ws-'));
  mkdirSync(path.join(workspace, 'renders'));
  files.forEach((bytes, i) =>
    writeFileSync(path.join(workspace, 'renders', `${String(i).padStart(2, '0')}.mp4`), bytes),
  );
  try {
    const started = performance.now();
    const run = await runAction({
      inputs: {
        api_key: 'bench-key',
        base_url: kling.url,
        videos: 'renders/*.mp4',
        staging_url: 's3://staging/bench',
        staging_endpoint: store.url,
        max_concurrency: String(c),
        poll_interval_seconds: '0.1',
        upload_artifact: 'false',
      },
      env: { ...results.env(), ...store.env() },
      workspace,
      timeoutMs: 300_000,
    });
    if (run.code !== 0) throw new Error(`staging batch failed (code ${run.code})\n${run.stdout}`);
    const puts = store.requests.filter((r) => r.operation === 'put');
    const deletes = store.requests.filter((r) => r.operation === 'delete');
    return {
      makespanMs: Math.round(run.durationMs),
      // A delete follows each task's final status: the first one tells when the first task ended.
      firstTaskDoneMs: Math.round(Math.min(...deletes.map((r) => r.atMs)) - started),
      lastUploadMs: Math.round(Math.max(...puts.map((r) => r.atMs)) - started),
    };
  } finally {
    await Promise.all([kling.close(), results.close(), store.close()]);
  }
}

/** One file staged alone through the action's own client (HEAD, PUT, presign), to the same kind of store. */
async function stageOne(bytes: Buffer, dir: string): Promise<number> {
  const { stageFile } = await import('../../src/s3/stage.ts');
  const store = await ObjectStore.start();
  const file = path.join(dir, 'one.mp4');
  writeFileSync(file, bytes);
  try {
    const client = await benchS3Client(store.url);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const started = performance.now();
    await stageFile(
      client,
      'bench',
      { path: file, sha256, extension: 'mp4', contentType: 'video/mp4' },
      {
        lifetimeMs: 3_600_000,
        deadlineMs: Date.now() + 600_000,
      },
    );
    return Math.round(performance.now() - started);
  } finally {
    await store.close();
  }
}

export function printStagingBatch(f: StagingBatchFigures): void {
  const slowest = Math.max(...f.makespansMs);
  console.log(
    `\nstaging a batch: N ${f.n} local files of ${(f.fileBytes / MIB).toFixed(0)} MiB, C ${f.c}, T ${f.taskMs} ms; ` +
      `one file's staging ${f.oneFileMs} ms (measured alone, this run)`,
  );
  console.log(
    `  makespan ${f.makespansMs.join(' / ')} ms; bound ⌈N/C⌉·T + 3 s + one file's staging = ${f.boundMs} ms → slowest/bound ${(slowest / f.boundMs).toFixed(2)}`,
  );
  console.log(
    `  last upload began at ${f.lastUploadMs} ms, the first task ended at ${f.firstTaskDoneMs} ms: ` +
      (f.lastUploadMs < f.firstTaskDoneMs * Math.ceil(f.n / f.c)
        ? 'staging ran ahead of the tasks, not one after each'
        : 'STAGING DID NOT OVERLAP THE WAITING'),
  );
}
