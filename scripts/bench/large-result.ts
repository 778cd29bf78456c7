// The built action with a large result video (include_video): the step's peak RSS through the download
// and the artifact upload, against the same step with a 1 MiB video; download and upload throughput.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { KlingEmulator } from '../../test/emulator/kling-emulator.ts';
import { ResultsService } from '../../test/emulator/results-service.ts';
import { REPO_ROOT, runAction } from '../../test/support/run-action.ts';

const MIB = 1024 * 1024;

export interface LargeResultRow {
  sizeMiB: number;
  /** VmHWM of the step's process when the artifact upload begins (every download done), and at exit. */
  peakBeforeUploadMiB: number;
  peakMiB: number;
  downloadMiBps: number;
  uploadMiBps: number;
}

/**
 * An entry that reports the child's own peak RSS (VmHWM: Linux carries getrusage's maxRSS over from
 * the spawning process) when the upload begins and at exit, and when @actions/artifact's upload of the
 * zip to blob storage begins and ends, then runs dist/index.js.
 */
function writeShim(dir: string): string {
  const entry = path.join(dir, 'shim.mjs');
  const dist = pathToFileURL(path.join(REPO_ROOT, 'dist', 'index.js')).href;
  writeFileSync(
    entry,
    [
      `import { readFileSync } from 'node:fs';`,
      `const peak = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);`,
      `const marks = {};`,
      `const write = process.stdout.write.bind(process.stdout);`,
      `process.stdout.write = (chunk, ...rest) => {`,
      `  const text = String(chunk);`,
      `  if (marks.uploadStart === undefined && /Beginning upload of artifact content/.test(text)) { marks.uploadStart = performance.now(); marks.peakBeforeUpload = peak(); }`,
      `  if (marks.uploadEnd === undefined && /Finished uploading artifact content/.test(text)) marks.uploadEnd = performance.now();`,
      `  return write(chunk, ...rest);`,
      `};`,
      `process.on('exit', () => process.stderr.write('bench-marks ' + JSON.stringify({ ...marks, peak: peak() }) + '\\n'));`,
      `await import(${JSON.stringify(dist)});`,
    ].join('\n'),
  );
  return entry;
}

/** Serves `sizeMiB` of video from memory, one 1 MiB chunk written again and again with backpressure. */
async function videoServer(sizeMiB: number) {
  const chunk = Buffer.alloc(MIB, 7);
  chunk.write('\0\0\0\x20ftypisom', 0, 'latin1');
  let servedMs = 0;
  const server = createServer((_req, res) => {
    const started = performance.now();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(sizeMiB * MIB) });
    let sent = 0;
    const pump = () => {
      while (sent < sizeMiB && res.write(chunk)) sent++;
      if (sent >= sizeMiB) res.end(() => (servedMs = performance.now() - started));
      else res.once('drain', () => (sent++, pump()));
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/video.mp4`,
    servedMs: () => servedMs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One run of the built action whose result video is `sizeMiB`; the largest peaks of `runs` runs. */
async function measure(entry: string, sizeMiB: number, runs: number): Promise<LargeResultRow> {
  const row: LargeResultRow = {
    sizeMiB,
    peakBeforeUploadMiB: 0,
    peakMiB: 0,
    downloadMiBps: 0,
    uploadMiBps: 0,
  };
  for (let i = 0; i < runs; i++) {
    const video = await videoServer(sizeMiB);
    const kling = await KlingEmulator.start({
      apiKeys: ['bench-key'],
      timeline: { submittedMs: 0, processingMs: 0 },
      resultUrls: (_taskId, own) => ({ ...own, mp4: video.url }),
    });
    const results = await ResultsService.start();
    const workspace = mkdtempSync(path.join(tmpdir(), 'bench-large-'));
    try {
      const run = await runAction({
        inputs: {
          api_key: 'bench-key',
          base_url: kling.url,
          video_url: 'https://example.com/large.mp4',
          include_video: 'true',
          poll_interval_seconds: '0.01',
          timeout_seconds: '600',
        },
        env: results.env(),
        workspace,
        entry,
        timeoutMs: 600_000,
      });
      if (run.code !== 0) throw new Error(`run failed (code ${run.code})\n${run.stdout}\n${run.stderr}`);
      const marks = JSON.parse(/bench-marks (.*)/.exec(run.stderr)?.[1] ?? 'null') as {
        uploadStart?: number;
        uploadEnd?: number;
        peakBeforeUpload?: number;
        peak: number;
      } | null;
      if (!marks?.uploadStart || !marks.uploadEnd || !marks.peakBeforeUpload)
        throw new Error(`no upload marks from the shim\n${run.stdout}\n${run.stderr}`);
      // The zip is stored, not deflated: about the video's size (the mp3 beside it is a few KiB).
      const zipMiB = sizeMiB;
      row.peakBeforeUploadMiB = Math.max(row.peakBeforeUploadMiB, marks.peakBeforeUpload / 1024);
      row.peakMiB = Math.max(row.peakMiB, marks.peak / 1024);
      row.downloadMiBps = Math.max(row.downloadMiBps, sizeMiB / (video.servedMs() / 1000));
      row.uploadMiBps = Math.max(row.uploadMiBps, zipMiB / ((marks.uploadEnd - marks.uploadStart) / 1000));
    } finally {
      await Promise.all([kling.close(), results.close(), video.close()]);
      rmSync(workspace, { recursive: true, force: true });
    }
  }
  return row;
}

/** Rows for each size; the first size is the baseline the others are compared with. */
export async function benchLargeResult(sizesMiB: number[], runs: number): Promise<LargeResultRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-large-shim-'));
  try {
    const entry = writeShim(dir);
    const rows: LargeResultRow[] = [];
    for (const size of sizesMiB) rows.push(await measure(entry, size, runs));
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
