/**
 * What a muxed video must be, judged by the tests' own box reader (./iso-box.ts), never by the library
 * that wrote it: the source's picture sample for sample and byte for byte, moov before mdat, the
 * source's container, and one audio track that is the generated audio (not the source's old one),
 * as long as the picture.
 */
import { expect } from 'vitest';
import { box, readBoxes, readMovieRecord, type TrackRecord } from './iso-box.ts';

export const videoTracks = (file: Buffer) => readMovieRecord(file).tracks.filter((t) => t.handler === 'vide');
export const audioTracks = (file: Buffer) => readMovieRecord(file).tracks.filter((t) => t.handler === 'soun');

export const sampleBytes = (file: Buffer, track: TrackRecord) =>
  track.samples.map((s) => file.subarray(s.offset, s.offset + s.size));

/** Presentation times in seconds: composition time less the edit list's start. */
export function presentation(track: TrackRecord): number[] {
  const start = track.edits.find(([, mediaTime]) => mediaTime >= 0)?.[1] ?? 0;
  return track.samples.map((s) => (s.cts - start) / track.timescale);
}

/** Seconds a track plays: its media duration less where its edit list starts. */
export function playedSeconds(track: TrackRecord): number {
  const start = track.edits.find(([, mediaTime]) => mediaTime >= 0)?.[1] ?? 0;
  return (track.mediaDuration - start) / track.timescale;
}

/**
 * A child box's bytes within a sample entry (avcC, esds), found past the entry's fixed fields: a
 * QuickTime sound description (MOV) has 16 or 36 more of them in versions 1 and 2, and may hold esds
 * in a `wave` box.
 */
export function entryChild(entry: Buffer, type: string): Buffer {
  const kind = entry.toString('latin1', 4, 8);
  const soundVersion = kind === 'mp4a' ? entry.readUInt16BE(16) : 0;
  const skip = kind === 'avc1' ? 86 : kind === 'mp4a' ? 36 + ([0, 16, 36][soundVersion] ?? 0) : 8;
  const children = readBoxes(entry.subarray(skip));
  const found =
    children.find((b) => b.type === type) ??
    readBoxes(children.find((b) => b.type === 'wave')?.body ?? Buffer.alloc(0)).find((b) => b.type === type);
  if (!found) throw new Error(`no ${type} in the ${kind} sample entry`);
  return box(type, found.body);
}

/** The esds box's DecoderConfigDescriptor's objectTypeIndication: 0x40 AAC, 0x6B MP3. */
export function objectTypeIndication(esds: Buffer): number {
  let at = 12; // box header, version and flags
  const skipLength = () => {
    while (esds[at++]! & 0x80);
  };
  expect(esds[at++]).toBe(0x03); // ES_Descriptor
  skipLength();
  const flags = esds[at + 2]!;
  at += 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x40 ? 1 + esds[at + 3]! : 0) + (flags & 0x20 ? 2 : 0);
  expect(esds[at++]).toBe(0x04); // DecoderConfigDescriptor
  skipLength();
  return esds[at]!;
}

/** The picture is the source's: every sample's bytes, times and sync flag, its configuration and matrix. */
export function expectPictureCopied(source: Buffer, muxed: Buffer): void {
  const [from] = videoTracks(source);
  const to = videoTracks(muxed);
  expect(to).toHaveLength(1);
  const track = to[0]!;
  expect(track.timescale).toBe(from!.timescale);
  expect(track.samples).toHaveLength(from!.samples.length);
  const fromBytes = sampleBytes(source, from!);
  sampleBytes(muxed, track).forEach((bytes, i) =>
    expect(bytes.equals(fromBytes[i]!), `video sample ${i}`).toBe(true),
  );
  expect(presentation(track)).toEqual(presentation(from!));
  expect(track.samples.map((s) => s.sync)).toEqual(from!.samples.map((s) => s.sync));
  // Decode times are the muxer's to derive (from presentation times and order); these sources keep them.
  expect(track.samples.map((s) => s.dts)).toEqual(from!.samples.map((s) => s.dts));
  expect(track.mediaDuration).toBe(from!.mediaDuration);
  expect(track.sampleEntryType).toBe(from!.sampleEntryType);
  expect(entryChild(track.sampleEntry, 'avcC').equals(entryChild(from!.sampleEntry, 'avcC'))).toBe(true);
  expect(track.sampleEntry.readUInt32BE(32)).toBe(from!.sampleEntry.readUInt32BE(32)); // coded width, height
  expect(track.matrix.equals(from!.matrix)).toBe(true);
  expect([track.width, track.height]).toEqual([from!.width, from!.height]);
}

/** Faststart: moov before mdat, so a player can start while the file downloads. */
export function expectFaststart(muxed: Buffer): void {
  const top = readMovieRecord(muxed).top;
  expect(top.indexOf('moov')).toBeGreaterThan(-1);
  expect(top.indexOf('moov'), 'moov before mdat (faststart)').toBeLessThan(top.indexOf('mdat'));
}

/** The generated audio a muxed file must carry: Kling's result video (its AAC) or the mp3. */
export type Generated = { codec: 'aac'; resultVideo: Buffer } | { codec: 'mp3'; mp3: Buffer };

/** The MP3's frames after its ID3 tag (the emulator's are all 384 bytes). */
function mp3Frames(mp3: Buffer): Buffer[] {
  const tagSize = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
  const frames: Buffer[] = [];
  for (let at = tagSize; at + 384 <= mp3.length; at += 384) frames.push(mp3.subarray(at, at + 384));
  return frames;
}

/**
 * The whole judgement: the picture copied, moov first, the container kept, and one audio track holding
 * the generated frames, copied, lasting as long as the picture, and none of the source's own.
 */
export function expectMuxed(muxed: Buffer, source: Buffer, generated: Generated): void {
  expectPictureCopied(source, muxed);
  expectFaststart(muxed);
  const movie = readMovieRecord(muxed);
  expect(movie.brand === 'qt  ', 'the container is kept').toBe(readMovieRecord(source).brand === 'qt  ');

  const tracks = audioTracks(muxed);
  expect(tracks, 'one audio track').toHaveLength(1);
  const track = tracks[0]!;
  expect(track.sampleEntryType).toBe('mp4a');
  expect(objectTypeIndication(entryChild(track.sampleEntry, 'esds'))).toBe(
    generated.codec === 'aac' ? 0x40 : 0x6b,
  );
  const frames = sampleBytes(muxed, track);
  const expected =
    generated.codec === 'aac'
      ? sampleBytes(generated.resultVideo, audioTracks(generated.resultVideo)[0]!)
      : mp3Frames(generated.mp3);
  expect(frames.length).toBeGreaterThan(0);
  frames.forEach((frame, i) =>
    expect(frame.equals(expected[i]!), `audio frame ${i} is the generated one`).toBe(true),
  );
  const old = audioTracks(source)[0];
  if (old) {
    const oldFrames = sampleBytes(source, old);
    expect(frames.some((frame, i) => !frame.equals(oldFrames[i] ?? Buffer.alloc(0)))).toBe(true);
    expect(new Set(frames.map((f) => f.toString('hex'))).has(oldFrames[0]!.toString('hex'))).toBe(false);
  }
  const [picture] = videoTracks(muxed);
  expect(playedSeconds(track), 'the audio lasts as long as the picture').toBeCloseTo(
    playedSeconds(picture!),
    3,
  );
}
