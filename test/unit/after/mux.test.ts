// The stage after the task (mux: true): which source and which audio each succeeded entry is muxed
// from, what it delivers, and how an entry whose mux fails ends, on real files judged by the tests'
// own box reader.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { muxResults, type MuxContext, type MuxSettings } from '../../../src/after/mux.ts';
import { CancelledError, formatBytes } from '../../../src/runtime.ts';
import type { Entry, LocalFile } from '../../../src/sources/source.ts';
import type { ResultFile } from '../../../src/task/files.ts';
import type { TaskOutcome } from '../../../src/task/task.ts';
import { buildMp3, buildMp4, buildVideo, videoMovie } from '../../emulator/media.ts';
import { fakeRetryContext, succeededTask } from '../../support/fakes.ts';
import { writeMovie } from '../../support/mp4.ts';
import { expectMuxed } from '../../support/muxed-oracle.ts';
import { scratchDir } from '../../support/run-action.ts';

const RESULT_VIDEO = 'https://cdn.example.com/t1/video.mp4';

/** A CDN that serves `files` (URL → bytes) and answers 404 for the rest; it records every URL asked for. */
function cdn(files: Record<string, Buffer>) {
  const asked: string[] = [];
  const fetch = (url: string) => {
    asked.push(url);
    const body = files[url];
    return Promise.resolve(
      body
        ? new Response(new Uint8Array(body), {
            headers: { 'Content-Type': 'video/mp4', 'Content-Length': String(body.length) },
          })
        : new Response('Not Found', { status: 404, headers: { 'Content-Type': 'text/plain' } }),
    );
  };
  return { fetch, asked };
}

interface Fixture {
  dir: string;
  outputDir: string;
  tempDir: string;
  /** The task's mp3 in output_dir, as the task downloaded it. */
  mp3: ResultFile;
  mp3Bytes: Buffer;
  resultVideo: Buffer;
}

async function fixture(seconds: number): Promise<Fixture> {
  const dir = scratchDir('after-mux-');
  const outputDir = path.join(dir, 'kling-audio');
  const tempDir = path.join(dir, 'tmp');
  await mkdir(outputDir, { recursive: true });
  await mkdir(tempDir);
  const mp3Bytes = buildMp3('t1', seconds);
  const mp3Path = path.join(outputDir, 't1.mp3');
  await writeFile(mp3Path, mp3Bytes);
  return {
    dir,
    outputDir,
    tempDir,
    mp3Bytes,
    mp3: {
      role: 'audio',
      kind: 'mp3',
      url: 'https://cdn.example.com/t1/a.mp3',
      path: mp3Path,
      bytes: mp3Bytes.length,
    },
    resultVideo: buildMp4('t1', seconds),
  };
}

/** A video on the runner, as the inputs make one for `video_path`. */
async function localFile(f: Fixture, name: string, bytes: Buffer): Promise<LocalFile> {
  const absolute = path.join(f.dir, 'renders', name);
  await mkdir(path.dirname(absolute), { recursive: true });
  await writeFile(absolute, bytes);
  return {
    kind: 'video_path',
    path: `renders/${name}`,
    absolute,
    sha256: 'ab'.repeat(32),
    bytes: bytes.length,
  };
}

const entry = (source: Entry['source'], name = 'clip'): Entry => ({ source, name, asmrMode: false });

const succeeded = (f: Fixture, files: ResultFile[] = [f.mp3], taskId = 't1'): TaskOutcome => ({
  ending: 'succeeded',
  task: succeededTask({ taskId, video: { id: 'v1', url: RESULT_VIDEO } }),
  resumed: false,
  files,
});

function harness(f: Fixture, fetch: ReturnType<typeof cdn>['fetch'], extra: Partial<MuxContext> = {}) {
  const told: ResultFile[][] = [[], [], []];
  const retry = fakeRetryContext();
  const context: MuxContext = {
    ...retry,
    signal: new AbortController().signal,
    fetch,
    deadlineMs: retry.clock.now() + 60_000,
    allowHttpResults: false,
    reports: told.map((files) => ({ downloaded: (file: ResultFile) => files.push(file) })),
    tempDir: f.tempDir,
    ...extra,
  };
  return { context, told, log: retry.log };
}

const settings = (f: Fixture, entries: Entry[], extra: Partial<MuxSettings> = {}): MuxSettings => ({
  mux: true,
  entries,
  outputDir: f.outputDir,
  maxConcurrency: 2,
  timeoutSeconds: 900,
  ...extra,
});

describe('muxResults', () => {
  it("muxes a file on the runner where it lies, with the AAC of Kling's video fetched for it alone", async () => {
    const f = await fixture(4);
    const sourceBytes = buildVideo({ seconds: 4, audio: 'silence', brand: 'qt  ' });
    const source = await localFile(f, 'intro.mov', sourceBytes);
    const { fetch, asked } = cdn({ [RESULT_VIDEO]: f.resultVideo });
    const h = harness(f, fetch);
    const [outcome] = await muxResults([succeeded(f)], settings(f, [entry(source)]), h.context);
    const muxed = outcome!.files[1]!;
    expect(outcome!.ending).toBe('succeeded');
    expect(muxed).toMatchObject({ role: 'muxed', kind: 'mov', path: path.join(f.outputDir, 't1-muxed.mov') });
    expect(outcome!.files).toEqual([f.mp3, muxed]);
    expect(h.told[0]).toEqual([muxed]);
    expectMuxed(await readFile(muxed.path), sourceBytes, { codec: 'aac', resultVideo: f.resultVideo });
    expect(asked).toEqual([RESULT_VIDEO]);
    // Kling's video served the mux only: it is neither delivered nor left anywhere.
    expect(readdirSync(f.outputDir).sort()).toEqual(['t1-muxed.mov', 't1.mp3']);
    expect(readdirSync(f.tempDir)).toEqual([]);
    expect(h.log.at('info')).toContainEqual(
      expect.stringMatching(
        /^Muxed clip into t1-muxed\.mov \(MOV, 4\.00 s, .*\): the picture copied as it is, the sound AAC copied from Kling's result video\.$/,
      ),
    );
  });

  it('downloads a URL source in full into a temporary folder, removed after', async () => {
    const f = await fixture(5);
    const url = 'https://videos.example.com/cuts/trailer%20final.mp4?sig=abc';
    const sourceBytes = buildVideo({ seconds: 5, layout: 'moov-last' });
    const { fetch, asked } = cdn({ [url]: sourceBytes, [RESULT_VIDEO]: f.resultVideo });
    const h = harness(f, fetch);
    const [outcome] = await muxResults(
      [succeeded(f)],
      settings(f, [entry({ kind: 'video_url', videoUrl: url })]),
      h.context,
    );
    expect(asked.sort()).toEqual([RESULT_VIDEO, url].sort());
    expectMuxed(await readFile(outcome!.files[1]!.path), sourceBytes, {
      codec: 'aac',
      resultVideo: f.resultVideo,
    });
    expect(h.log.at('info')).toContainEqual(
      `Downloaded the source video trailer_final.mp4 (${formatBytes(sourceBytes.length)}) to mux it.`,
    );
    expect(readdirSync(f.tempDir)).toEqual([]);
  });

  it('downloads a URL source whose file name is longer than a file system allows', async () => {
    const f = await fixture(4);
    const url = `https://videos.example.com/cuts/${'a'.repeat(300)}.mp4`;
    const sourceBytes = buildVideo({ seconds: 4 });
    const h = harness(f, cdn({ [url]: sourceBytes, [RESULT_VIDEO]: f.resultVideo }).fetch);
    const [outcome] = await muxResults(
      [succeeded(f)],
      settings(f, [entry({ kind: 'video_url', videoUrl: url })]),
      h.context,
    );
    expect(outcome!.ending).toBe('succeeded');
    expectMuxed(await readFile(outcome!.files[1]!.path), sourceBytes, {
      codec: 'aac',
      resultVideo: f.resultVideo,
    });
    expect(readdirSync(f.tempDir)).toEqual([]);
  });

  it('uses the result video include_video delivered, fetching nothing more', async () => {
    const f = await fixture(4);
    const videoPath = path.join(f.outputDir, 't1.mp4');
    await writeFile(videoPath, f.resultVideo);
    const video: ResultFile = {
      role: 'video',
      kind: 'mp4',
      url: RESULT_VIDEO,
      path: videoPath,
      bytes: f.resultVideo.length,
    };
    const sourceBytes = buildVideo({ seconds: 4 });
    const source = await localFile(f, 'a.mp4', sourceBytes);
    const { fetch, asked } = cdn({});
    const [outcome] = await muxResults(
      [succeeded(f, [f.mp3, video])],
      settings(f, [entry(source)]),
      harness(f, fetch).context,
    );
    expect(asked).toEqual([]);
    expect(outcome!.files.map((file) => file.role)).toEqual(['audio', 'video', 'muxed']);
    expectMuxed(await readFile(outcome!.files[2]!.path), sourceBytes, {
      codec: 'aac',
      resultVideo: f.resultVideo,
    });
  });

  it("copies the mp3 when Kling's video cannot be fetched, with a warning", async () => {
    const f = await fixture(4);
    const sourceBytes = buildVideo({ seconds: 4, audio: 'silence' });
    const source = await localFile(f, 'a.mp4', sourceBytes);
    const h = harness(f, cdn({}).fetch);
    const [outcome] = await muxResults([succeeded(f)], settings(f, [entry(source)]), h.context);
    expect(outcome!.ending).toBe('succeeded');
    expect(h.log.at('warning')).toEqual([
      'Download of the mp4 file for t1.mp4 failed: the server answered HTTP 404 (Kling clears result files after 30 days); the soundtrack comes from the mp3 instead.',
    ]);
    expectMuxed(await readFile(outcome!.files[1]!.path), sourceBytes, { codec: 'mp3', mp3: f.mp3Bytes });
  });

  it.each<[string, () => Buffer, RegExp]>([
    [
      'a fragmented MP4',
      () => writeMovie({ ...videoMovie({ seconds: 4 }), fragmented: true }).bytes,
      /^mux: the video with sound could not be made: renders\/live\.mp4 is a fragmented MP4 .*-movflags \+faststart out\.mp4`\. The audio \(t1\.mp3\) is delivered all the same\.$/,
    ],
    [
      'an audio-only file',
      () => writeMovie({ tracks: videoMovie({ seconds: 4, audio: 'music' }).tracks.slice(1) }).bytes,
      /^mux: the video with sound could not be made: renders\/live\.mp4 has no video track \(audio only\?\): give the video itself\. The audio \(t1\.mp3\) is delivered all the same\.$/,
    ],
    [
      'a source shorter than the audio',
      () => buildVideo({ seconds: 3 }),
      /the generated audio \(4\.01 s\) is longer than the picture of renders\/live\.mp4 \(3\.00 s\)/,
    ],
  ])('fails the entry for %s, naming the file; its files stay', async (_name, bytes, message) => {
    const f = await fixture(4);
    const source = await localFile(f, 'live.mp4', bytes());
    const h = harness(f, cdn({ [RESULT_VIDEO]: f.resultVideo }).fetch);
    const [outcome] = await muxResults([succeeded(f)], settings(f, [entry(source)]), h.context);
    expect(outcome!.ending).toBe('failed');
    expect(outcome!.files).toEqual([f.mp3]);
    expect((outcome!.error as Error).message).toMatch(message);
    expect(h.told[0]).toEqual([]);
    expect(readdirSync(f.outputDir)).toEqual(['t1.mp3']);
    expect(readdirSync(f.tempDir)).toEqual([]);
  });

  it('fails the entry when its URL source cannot be downloaded, without the result-file hint', async () => {
    const f = await fixture(4);
    const h = harness(f, cdn({ [RESULT_VIDEO]: f.resultVideo }).fetch);
    const [outcome] = await muxResults(
      [succeeded(f)],
      settings(f, [entry({ kind: 'video_url', videoUrl: 'https://videos.example.com/gone.mp4' })]),
      h.context,
    );
    expect(outcome!.ending).toBe('failed');
    expect((outcome!.error as Error).message).toBe(
      'mux: the video with sound could not be made: Download of the source video gone.mp4 failed: the server answered HTTP 404. The audio (t1.mp3) is delivered all the same.',
    );
  });

  it('muxes a shared task once: its file listed with the first entry, every entry told', async () => {
    const f = await fixture(4);
    const source = await localFile(f, 'a.mp4', buildVideo({ seconds: 4 }));
    const { fetch, asked } = cdn({ [RESULT_VIDEO]: f.resultVideo });
    const h = harness(f, fetch);
    const lead = succeeded(f);
    const outcomes = await muxResults(
      [lead, { ...lead, files: [] }, { ending: 'failed', resumed: false, files: [], error: new Error('x') }],
      settings(f, [entry(source), entry(source), entry(source)]),
      h.context,
    );
    expect(asked).toEqual([RESULT_VIDEO]);
    const muxed = outcomes[0]!.files[1]!;
    expect(outcomes[1]!.files).toEqual([]);
    expect(h.told).toEqual([[muxed], [muxed], []]);
    expect(outcomes[2]!.ending).toBe('failed');
  });

  it('leaves a result restored from the cache (its muxed file with it), and everything when mux is off', async () => {
    const f = await fixture(4);
    const source = await localFile(f, 'a.mp4', buildVideo({ seconds: 4 }));
    const { fetch, asked } = cdn({});
    const restored = succeeded(f, [
      f.mp3,
      { role: 'muxed', kind: 'mp4', path: '/cache/t1-muxed.mp4', bytes: 1 },
    ]);
    const h = harness(f, fetch);
    expect(await muxResults([restored], settings(f, [entry(source)]), h.context)).toEqual([restored]);
    const plain = succeeded(f);
    expect(await muxResults([plain], settings(f, [entry(source)], { mux: false }), h.context)).toEqual([
      plain,
    ]);
    expect(asked).toEqual([]);
    expect(h.told[0]).toEqual([]);
  });

  it("ends the entry timed out at the step's deadline, and cancelled on cancellation; no file is left", async () => {
    const f = await fixture(4);
    const videoPath = path.join(f.outputDir, 't1.mp4');
    await writeFile(videoPath, f.resultVideo);
    const video: ResultFile = { role: 'video', kind: 'mp4', url: RESULT_VIDEO, path: videoPath, bytes: 1 };
    const source = await localFile(f, 'a.mp4', buildVideo({ seconds: 4 }));
    const h = harness(f, cdn({}).fetch);
    // No time left: the muxer is stopped at its first read.
    h.context.deadlineMs = h.context.clock.now();
    const [late] = await muxResults([succeeded(f, [f.mp3, video])], settings(f, [entry(source)]), h.context);
    expect(late!.ending).toBe('timeout');
    expect((late!.error as Error).message).toBe(
      "The step's deadline, timeout_seconds (900 s), passed before the video with sound (mux) was made. The audio (t1.mp3) is delivered all the same. Raise timeout_seconds.",
    );

    const controller = new AbortController();
    controller.abort(new CancelledError('SIGINT'));
    const cancelled = harness(f, cdn({}).fetch, { signal: controller.signal });
    const [stopped] = await muxResults(
      [succeeded(f, [f.mp3, video])],
      settings(f, [entry(source)]),
      cancelled.context,
    );
    expect(stopped!.ending).toBe('cancelled');
    expect(readdirSync(f.outputDir).sort()).toEqual(['t1.mp3', 't1.mp4']);
    expect(existsSync(f.tempDir) && readdirSync(f.tempDir)).toEqual([]);
  });
});
