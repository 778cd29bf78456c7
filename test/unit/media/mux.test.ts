// muxSoundtrack on real files, judged by the tests' own box reader (test/support/iso-box.ts), not by
// the library that wrote them: every video sample's bytes, times and sync flag against the source's,
// the codec configuration and matrix, moov before mdat, and an audio track that is the generated one.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MediaProblem, type MediaProblemKind } from '../../../src/media/problems.ts';
import { muxSoundtrack, type MuxRequest } from '../../../src/media/mux.ts';
import { policy } from '../../../src/policy.ts';
import {
  buildMp3,
  buildMp4,
  buildVideo,
  SILENT_AAC_MONO,
  videoMovie,
  type VideoSpec,
} from '../../emulator/media.ts';
import { box, childBox, readBoxes, readMovieRecord } from '../../support/iso-box.ts';
import { QUARTER_TURN, webmHead, writeMovie } from '../../support/mp4.ts';
import {
  audioTracks as audio,
  entryChild,
  expectFaststart,
  expectPictureCopied,
  objectTypeIndication,
  playedSeconds,
  presentation,
  sampleBytes,
  videoTracks as video,
} from '../../support/muxed-oracle.ts';
import { scratchDir } from '../../support/run-action.ts';

const LIMITS = policy.mux;

/** Files in a fresh directory; returns their paths. */
async function files(named: Record<string, Buffer>): Promise<Record<string, string>> {
  const dir = scratchDir('mux-');
  const paths: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(named)) {
    paths[name] = path.join(dir, name);
    await writeFile(paths[name], bytes);
  }
  return paths;
}

async function mux(source: Buffer, audio: Record<string, Buffer>, extra: Partial<MuxRequest> = {}) {
  const sourceName = source.toString('latin1', 8, 12) === 'qt  ' ? 'source.mov' : 'source.mp4';
  const paths = await files({ [sourceName]: source, ...audio });
  const out = path.join(path.dirname(paths[sourceName]!), `muxed${path.extname(sourceName)}`);
  const result = await muxSoundtrack({
    source: paths[sourceName]!,
    audio: Object.keys(audio).map((name) => paths[name]!),
    out,
    limits: LIMITS,
    ...extra,
  });
  return { result, bytes: await readFile(out), paths, out };
}

const kling = (seconds: number) => buildMp4('860000000000000001', seconds);

describe('muxSoundtrack: the picture', () => {
  it.each<[string, VideoSpec]>([
    ['an MP4 with sound, moov first, 3 s', { seconds: 3, audio: 'silence' }],
    ['an MP4 without sound, moov last, 20 s', { seconds: 20, layout: 'moov-last' }],
    [
      'a MOV with sound, moov last, 5 s',
      { seconds: 5, audio: 'silence', brand: 'qt  ', layout: 'moov-last' },
    ],
    ['a MOV without sound, moov first, 20 s', { seconds: 20, brand: 'qt  ' }],
    [
      'a portrait phone video (rotated a quarter turn)',
      { seconds: 4, audio: 'silence', matrix: QUARTER_TURN },
    ],
  ])('%s: every sample copied, container kept, moov first', async (_name, spec) => {
    const source = buildVideo(spec);
    const { bytes, result } = await mux(source, { 'result.mp4': kling(spec.seconds) });
    expectPictureCopied(source, bytes);
    expectFaststart(bytes);
    const mov = spec.brand === 'qt  ';
    expect(result.container).toBe(mov ? 'mov' : 'mp4');
    expect(readMovieRecord(bytes).brand === 'qt  ').toBe(mov);
    expect(result.seconds).toBeCloseTo(Math.ceil(spec.seconds * 25) / 25, 6);
  });

  it('names the file once the container is known, when asked to: a MOV source gives a .mov', async () => {
    const paths = await files({
      'clip.mov': buildVideo({ seconds: 3, brand: 'qt  ' }),
      'result.mp4': kling(3),
    });
    const dir = path.dirname(paths['clip.mov']!);
    const muxed = await muxSoundtrack({
      source: paths['clip.mov']!,
      audio: [paths['result.mp4']!],
      out: (container) => path.join(dir, `clip-with-sound.${container}`),
      limits: LIMITS,
    });
    expect(muxed).toMatchObject({ path: path.join(dir, 'clip-with-sound.mov'), container: 'mov' });
    expect(readdirSync(dir).sort()).toEqual(['clip-with-sound.mov', 'clip.mov', 'result.mp4']);
  });

  it('keeps presentation times of reordered frames (B-frames) and the edit list that starts them', async () => {
    // Decode order I P B B, shown as I B B P: frame k of each four is shown at [0, 3, 1, 2][k] frames
    // after the group's start, delayed one frame (512 ticks) so no offset is negative; the edit list
    // starts the presentation at that delay, as encoders write it.
    const movie = videoMovie({ seconds: 4 });
    const track = movie.tracks[0]!;
    const shownAt = [0, 3, 1, 2];
    const source = writeMovie({
      ...movie,
      tracks: [
        {
          ...track,
          compositionOffsets: track.samples.map((_, i) => (shownAt[i % 4]! - (i % 4) + 1) * 512),
          editMediaTime: 512,
        },
      ],
    }).bytes;
    const shown = presentation(video(source)[0]!);
    expect(shown.slice(0, 4)).toEqual([0, 0.12, 0.04, 0.08]);
    const { bytes } = await mux(source, { 'result.mp4': kling(4) });
    expectPictureCopied(source, bytes);
  });
});

describe('muxSoundtrack: the sound', () => {
  it("replaces the source's own audio with the AAC of Kling's video, copied, as long as the picture", async () => {
    const source = buildVideo({ seconds: 5, audio: 'silence' });
    const result = kling(5);
    const { bytes, result: muxed } = await mux(source, { 'result.mp4': result });
    const tracks = audio(bytes);
    expect(tracks).toHaveLength(1);
    const [track] = tracks;
    const [generated] = audio(result);
    expect(track!.sampleEntryType).toBe('mp4a');
    expect(objectTypeIndication(entryChild(track!.sampleEntry, 'esds'))).toBe(0x40);
    // The decoder configuration (AudioSpecificConfig 11 88: AAC-LC, 48 kHz, mono) is the result's.
    expect(entryChild(track!.sampleEntry, 'esds').includes(Buffer.from([0x05, 0x02, 0x11, 0x88]))).toBe(true);
    const copied = sampleBytes(bytes, track!);
    const original = sampleBytes(result, generated!);
    copied.forEach((frame, i) => expect(frame.equals(original[i]!), `frame ${i}`).toBe(true));
    expect(copied.some((frame) => frame.equals(SILENT_AAC_MONO))).toBe(false); // not the source's old track
    // 5 s of picture: the result's 235 frames (5.013 s) cut to 5.000 s.
    expect(playedSeconds(track!)).toBeCloseTo(5, 4);
    expect(muxed.audio).toMatchObject({ codec: 'aac', paddedSeconds: 0 });
    expect(muxed.audio.trimmedSeconds).toBeCloseTo(235 * (1024 / 48_000) - 5, 6);
  });

  it('pads with frames of silence when the generated audio ends before the picture, never longer', async () => {
    const source = buildVideo({ seconds: 6 });
    const result = kling(5);
    const { bytes, result: muxed } = await mux(source, { 'result.mp4': result });
    const [track] = audio(bytes);
    const frames = sampleBytes(bytes, track!);
    const original = sampleBytes(result, audio(result)[0]!);
    original.forEach((frame, i) => expect(frames[i]!.equals(frame)).toBe(true));
    const padding = frames.slice(original.length);
    expect(padding.length).toBeGreaterThan(40); // about 0.99 s of 21.3 ms frames
    for (const frame of padding) expect(frame.equals(SILENT_AAC_MONO)).toBe(true);
    expect(playedSeconds(track!)).toBeCloseTo(6, 4);
    expect(muxed.audio.paddedSeconds).toBeCloseTo(6 - 235 * (1024 / 48_000), 4);
  });

  it("falls back to the mp3 when Kling's video cannot serve: MP3 frames copied into the MP4", async () => {
    const source = buildVideo({ seconds: 5, audio: 'silence' });
    const mp3 = buildMp3('860000000000000001', 5);
    const { bytes, result } = await mux(source, {
      'result.mp4': buildVideo({ seconds: 5 }), // a result video without sound
      'audio.mp3': mp3,
    });
    expect(result.audio).toMatchObject({ codec: 'mp3', from: expect.stringMatching(/audio\.mp3$/) });
    const [track] = audio(bytes);
    // mp4a with objectTypeIndication 0x6B: MPEG-1 audio (MP3) in MP4.
    expect(track!.sampleEntryType).toBe('mp4a');
    expect(objectTypeIndication(entryChild(track!.sampleEntry, 'esds'))).toBe(0x6b);
    const frames = sampleBytes(bytes, track!);
    const tagSize = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
    frames.forEach((frame, i) => {
      const at = tagSize + i * 384;
      expect(frame.equals(mp3.subarray(at, at + 384)), `frame ${i}`).toBe(true);
    });
    expect(playedSeconds(track!)).toBeCloseTo(5, 4);
    expectPictureCopied(source, bytes);
  });
});

describe('muxSoundtrack: bad input', () => {
  async function problem(
    source: Buffer | undefined,
    audioFiles: Record<string, Buffer> = { 'result.mp4': kling(5) },
  ): Promise<MediaProblem> {
    const paths = await files({ ...(source ? { 'clip.mp4': source } : {}), ...audioFiles });
    const dir = path.dirname(Object.values(paths)[0]!);
    const error = await muxSoundtrack({
      source: path.join(dir, 'clip.mp4'),
      sourceLabel: 'renders/clip.mp4',
      audio: Object.keys(audioFiles).map((name) => paths[name]!),
      out: path.join(dir, 'muxed.mp4'),
      limits: LIMITS,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MediaProblem);
    expect(readdirSync(dir).filter((name) => name.startsWith('muxed'))).toEqual([]); // nothing half-written
    return error as MediaProblem;
  }

  it.each<[string, () => Buffer | undefined, MediaProblemKind, RegExp]>([
    [
      'a missing file',
      () => undefined,
      'unreadable',
      /renders\/clip\.mp4 cannot be read \(ENOENT: no such file or directory\)$/,
    ],
    ['a WebM video', () => webmHead(), 'unsupported-container', /renders\/clip\.mp4 is .*MP4 or MOV/],
    [
      'a text file',
      () => Buffer.from('hello\n'.repeat(100)),
      'unsupported-container',
      /not an MP4 or MOV file/,
    ],
    [
      'a file cut short in its mdat',
      () => buildVideo({ seconds: 5, layout: 'moov-last' }).subarray(0, 3000),
      'truncated',
      /ends inside its mdat box .*truncated: render or download it again/,
    ],
    [
      'a fragmented MP4',
      () => writeMovie({ ...videoMovie({ seconds: 5 }), fragmented: true }).bytes,
      'fragmented',
      /is a fragmented MP4 .*-movflags \+faststart/,
    ],
    [
      'an audio-only file',
      () => writeMovie({ tracks: videoMovie({ seconds: 5, audio: 'music' }).tracks.slice(1) }).bytes,
      'no-video',
      /has no video track/,
    ],
    [
      'MPEG-4 Part 2 video',
      () => {
        const movie = videoMovie({ seconds: 5 });
        const entry = Buffer.from(movie.tracks[0]!.sampleEntry);
        entry.write('mp4v', 4, 'latin1');
        return writeMovie({ ...movie, tracks: [{ ...movie.tracks[0]!, sampleEntry: entry }] }).bytes;
      },
      'unsupported-codec',
      /cannot be copied into the muxed file .*re-encode it to H\.264/,
    ],
  ])('%s', async (_name, source, kind, message) => {
    const error = await problem(source());
    expect(error.kind).toBe(kind);
    expect(error.file).toBe('renders/clip.mp4');
    expect(error.message).toMatch(message);
  });

  it('refuses a directory as the source', async () => {
    const dir = scratchDir('mux-');
    await mkdir(path.join(dir, 'clip.mp4'));
    const error = await muxSoundtrack({
      source: path.join(dir, 'clip.mp4'),
      audio: [],
      out: path.join(dir, 'muxed.mp4'),
      limits: LIMITS,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      kind: 'unreadable',
      message: expect.stringMatching(/is a directory, not a video file$/),
    });
  });

  it('refuses audio that runs well past the picture: the wrong source', async () => {
    const error = await problem(buildVideo({ seconds: 3 }), { 'result.mp4': kling(5) });
    expect(error.kind).toBe('audio-longer-than-video');
    expect(error.message).toMatch(
      /^the generated audio \(5\.01 s\) is longer than the picture of renders\/clip\.mp4 \(3\.00 s\) by 2\.01 s/,
    );
  });

  it('refuses when no audio file holds AAC or MP3, saying why for each', async () => {
    const error = await problem(buildVideo({ seconds: 3 }), {
      'result.mp4': buildVideo({ seconds: 3 }),
      'audio.wav': Buffer.from('RIFF'),
    });
    expect(error.kind).toBe('no-audio');
    expect(error.message).toMatch(/result\.mp4: it has no audio track; .*audio\.wav: it could not be read/);
  });

  it('names a hostile file name as one printable line', async () => {
    const paths = await files({ 'clip.mp4': webmHead() });
    const error = (await muxSoundtrack({
      source: paths['clip.mp4']!,
      sourceLabel: 'a\n::error::b.mp4',
      audio: [],
      out: `${paths['clip.mp4']!}.out.mp4`,
      limits: LIMITS,
    }).catch((caught: unknown) => caught)) as MediaProblem;
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain('a\\n::error::b.mp4');
  });
});

/**
 * `file` (moov last) with one track's sample table rewritten to declare `count` samples of `delta`
 * ticks, all in its first chunk: a few bytes that a reader expands into `count` packets.
 */
function declaringSamples(file: Buffer, track: number, count: number, delta: number): Buffer {
  const moov = readBoxes(file).find((b) => b.type === 'moov')!;
  const trak = readBoxes(moov.body, moov.start + 8).filter((b) => b.type === 'trak')[track]!;
  const out = Buffer.from(file);
  const at = (type: string) => childBox(trak, `mdia/minf/stbl/${type}`).start + 12;
  [1, count, delta].forEach((value, i) => out.writeUInt32BE(value, at('stts') + 4 * i));
  [10, count].forEach((value, i) => out.writeUInt32BE(value, at('stsz') + 4 * i));
  [1, 1, count, 1].forEach((value, i) => out.writeUInt32BE(value, at('stsc') + 4 * i));
  return out;
}

/** `file` (moov last) with its moov grown by a `free` box of `bytes`. */
function withLargeMoov(file: Buffer, bytes: number): Buffer {
  const moov = readBoxes(file).find((b) => b.type === 'moov')!;
  const out = Buffer.concat([file, box('free', Buffer.alloc(bytes - 8))]);
  out.writeUInt32BE(moov.end - moov.start + bytes, moov.start);
  return out;
}

describe('muxSoundtrack: hostile files', () => {
  const small = { ...LIMITS, maxMoovBytes: 256 * 1024, maxTrackPackets: 2000 };
  const resultVideo = (seconds: number) => buildVideo({ seconds, audio: 'music', layout: 'moov-last' });

  it('refuses a result video whose moov is larger than the muxer reads, and copies the mp3 instead', async () => {
    const source = buildVideo({ seconds: 5 });
    const { result } = await mux(
      source,
      {
        'result.mp4': withLargeMoov(resultVideo(5), 300 * 1024),
        'audio.mp3': buildMp3('860000000000000001', 5),
      },
      { limits: small },
    );
    expect(result.audio).toMatchObject({ codec: 'mp3', from: expect.stringMatching(/audio\.mp3$/) });
  });

  it('refuses a source whose moov is larger than the muxer reads, naming the file', async () => {
    const error = await muxSoundtrack({
      ...(await sourceAndResult(withLargeMoov(buildVideo({ seconds: 5, layout: 'moov-last' }), 300 * 1024))),
      limits: small,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      kind: 'unreadable',
      message: expect.stringMatching(
        /^renders\/clip\.mp4 has a moov box \(its index of samples\) of 30\d\.\d KiB, more than the 256\.0 KiB the muxer reads/,
      ),
    });
  });

  it('refuses a result video whose sample table declares millions of packets, and copies the mp3 instead', async () => {
    const { result } = await mux(
      buildVideo({ seconds: 5 }),
      {
        'result.mp4': declaringSamples(resultVideo(5), 1, 10_000_000, 1024),
        'audio.mp3': buildMp3('860000000000000001', 5),
      },
      { limits: small },
    );
    expect(result.audio.codec).toBe('mp3');
  });

  it('refuses a source whose sample table declares millions of frames', async () => {
    const source = declaringSamples(buildVideo({ seconds: 5, layout: 'moov-last' }), 0, 10_000_000, 512);
    const error = await muxSoundtrack({ ...(await sourceAndResult(source)), limits: small }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      kind: 'unreadable',
      message:
        'renders/clip.mp4 has more than 2000 video frames; a video of 20 s has far fewer: re-encode it to H.264 first',
    });
  });

  it('refuses generated audio whose frames are so short that padding it would take millions', async () => {
    // 235 frames of one tick each: 5 ms of audio, and 5 s of picture to pad frame by frame.
    const error = await muxSoundtrack({
      ...(await sourceAndResult(buildVideo({ seconds: 5 }), declaringSamples(resultVideo(5), 1, 235, 1))),
      limits: small,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      kind: 'no-audio',
      message: expect.stringMatching(
        /^the generated audio result\.mp4 has frames of 0\.021 ms: more than 2000/,
      ),
    });
  });

  it('hears a cancellation while it walks a sample table of millions of packets', async () => {
    const source = declaringSamples(buildVideo({ seconds: 5, layout: 'moov-last' }), 0, 50_000_000, 512);
    const controller = new AbortController();
    const reason = new Error('cancelled by the runner');
    const running = muxSoundtrack({
      ...(await sourceAndResult(source)),
      limits: { ...LIMITS, maxTrackPackets: Number.MAX_SAFE_INTEGER },
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 100);
    await expect(running).rejects.toBe(reason);
  });
});

/** A source as `renders/clip.mp4` and a result video, ready for muxSoundtrack. */
async function sourceAndResult(source: Buffer, result = kling(5)) {
  const paths = await files({ 'clip.mp4': source, 'result.mp4': result });
  const dir = path.dirname(paths['clip.mp4']!);
  return {
    source: paths['clip.mp4']!,
    sourceLabel: 'renders/clip.mp4',
    audio: [paths['result.mp4']!],
    out: path.join(dir, 'muxed.mp4'),
  };
}

describe('muxSoundtrack: cancellation', () => {
  it('stops when the signal aborts, with its reason, and leaves no file behind', async () => {
    const paths = await files({ 'source.mp4': buildVideo({ seconds: 20 }), 'result.mp4': kling(20) });
    const out = path.join(path.dirname(paths['source.mp4']!), 'muxed.mp4');
    const controller = new AbortController();
    const reason = new Error('cancelled by the runner');
    const running = muxSoundtrack({
      source: paths['source.mp4']!,
      audio: [paths['result.mp4']!],
      out,
      limits: LIMITS,
      signal: controller.signal,
    });
    setImmediate(() => controller.abort(reason));
    await expect(running).rejects.toBe(reason);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(path.dirname(out)).filter((name) => name.startsWith('muxed'))).toEqual([]);
  });

  it('does not start when the signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(
      muxSoundtrack({ source: 'x.mp4', audio: [], out: 'y.mp4', limits: LIMITS, signal: controller.signal }),
    ).rejects.toThrow('gone');
  });
});

describe('the oracle', () => {
  it('reads what the test writer wrote: a sample table that accounts for every sample', () => {
    const file = buildVideo({ seconds: 2, audio: 'music', layout: 'moov-last' });
    const record = readMovieRecord(file);
    expect(record.top).toEqual(['ftyp', 'mdat', 'moov']);
    const [picture] = video(file);
    expect(picture!.samples).toHaveLength(50);
    expect(picture!.samples.filter((s) => s.sync)).toHaveLength(3); // frames 1, 25, 49
    expect(file[picture!.samples[0]!.offset + 4]! & 0x1f).toBe(5); // an IDR slice first
    const moov = readBoxes(file).find((b) => b.type === 'moov')!;
    expect(childBox(moov, 'mvhd').body.readUInt32BE(12)).toBe(1000);
  });
});
