// The container checks on their own: signatures, the top-level box walk, and the movie read by Mediabunny.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findMoov, readBoxHeader, sniffSignature, type ReadAt } from '../../../src/preflight/container.ts';
import { readMovie } from '../../../src/preflight/movie.ts';
import {
  aviHead,
  htmlPage,
  layoutMp4,
  makeMp4,
  mpegTsHead,
  truncated,
  webmHead,
  type Mp4Spec,
} from '../../support/mp4.ts';

const ascii = (text: string) => Buffer.from(text, 'latin1');
const box = (type: string, size: number, payload = Buffer.alloc(0)) => {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
};

/** A ReadAt over a whole file in memory, recording what was asked for. */
function readerOf(file: Buffer): ReadAt & { asked: Array<[number, number]> } {
  const asked: Array<[number, number]> = [];
  const read = (offset: number, length: number) => {
    asked.push([offset, length]);
    return Promise.resolve(new Uint8Array(file.subarray(offset, offset + length)));
  };
  return Object.assign(read, { asked });
}

const MOOV_LIMITS = { windowBytes: 4096, maxMoovBytes: 1024 * 1024, maxJumps: 4 };

describe('sniffSignature', () => {
  it.each([
    ['an isom MP4', makeMp4(), { kind: 'iso', container: 'mp4' }],
    ['a qt MOV', makeMp4({ brand: 'qt  ' }), { kind: 'iso', container: 'mov' }],
    ['a QuickTime file without ftyp', makeMp4({ ftyp: false }), { kind: 'iso', container: 'mov' }],
    ['WebM', webmHead(), { kind: 'other', format: 'a WebM video' }],
    ['AVI', aviHead(), { kind: 'other', format: 'an AVI video' }],
    ['MPEG-TS', mpegTsHead(), { kind: 'other', format: 'an MPEG transport stream (.ts)' }],
    ['an HTML page', htmlPage(), { kind: 'other', format: 'an HTML page' }],
    ['JSON', ascii('  {"error":"not found"}'), { kind: 'other', format: 'a JSON document' }],
    [
      'an HLS playlist',
      ascii('#EXTM3U\n#EXT-X-VERSION:3\n'),
      { kind: 'other', format: 'an HLS playlist (m3u8), not a video file' },
    ],
    [
      'HEIC',
      Buffer.concat([box('ftyp', 16, ascii('heic\0\0\0\0'))]),
      { kind: 'other', format: 'a HEIF/AVIF image' },
    ],
    [
      'PNG',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      { kind: 'other', format: 'a PNG image' },
    ],
    ['JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), { kind: 'other', format: 'a JPEG image' }],
    ['MP3', ascii('ID3\x04\0\0\0\0\0\0'), { kind: 'other', format: 'MP3 or AAC audio' }],
    [
      'Matroska',
      Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x84, 0x42, 0x82, 0x88, ...ascii('matroska')]),
      { kind: 'other', format: 'a Matroska (MKV) video' },
    ],
    ['noise', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), { kind: 'unknown' }],
  ])('%s', (_, head, expected) => {
    expect(sniffSignature(head)).toEqual(expected);
  });
});

describe('readBoxHeader', () => {
  it('reads 32-bit, 64-bit and to-the-end sizes, at a file offset', () => {
    const large = Buffer.concat([box('mdat', 1), Buffer.from([0, 0, 0, 1, 0, 0, 0, 0x10])]);
    expect(readBoxHeader(box('moov', 100), 0, 0)).toEqual({
      header: { type: 'moov', start: 0, headerSize: 8, size: 100 },
    });
    expect(readBoxHeader(large, 1000, 1000)).toEqual({
      header: { type: 'mdat', start: 1000, headerSize: 16, size: 0x100000010 },
    });
    expect(readBoxHeader(box('mdat', 0), 0, 0)).toEqual({
      header: { type: 'mdat', start: 0, headerSize: 8, size: undefined },
    });
  });

  it('says when the header is not in the bytes, and refuses impossible sizes', () => {
    expect(readBoxHeader(box('moov', 100), 0, 4)).toEqual({ short: true });
    expect(readBoxHeader(box('mdat', 1), 0, 0)).toEqual({ short: true });
    expect(readBoxHeader(box('free', 3), 0, 0)).toEqual({
      damaged: 'a box at byte 0 declares a size of 3 bytes',
    });
    const tiny = Buffer.concat([box('mdat', 1), Buffer.alloc(8)]);
    expect(readBoxHeader(tiny, 0, 0)).toMatchObject({ damaged: expect.stringContaining('64-bit size') });
  });
});

describe('findMoov', () => {
  it('finds moov in the head without reading more', async () => {
    const { bytes, moovOffset, moovSize } = layoutMp4();
    const read = readerOf(bytes);
    const found = await findMoov(bytes.subarray(0, 4096), bytes.length, read, MOOV_LIMITS);
    expect(found).toMatchObject({ found: true, moovOffset });
    expect(found.found && found.moov.length).toBe(moovSize);
    expect(found.found && Buffer.from(found.ftyp!).toString('latin1', 4, 12)).toBe('ftypisom');
    expect(read.asked).toEqual([]);
  });

  it('jumps over mdat to moov with one read when moov is last', async () => {
    const { bytes, moovOffset } = layoutMp4({ layout: 'moov-last', mdatBytes: 50_000 });
    const read = readerOf(bytes);
    const found = await findMoov(bytes.subarray(0, 4096), bytes.length, read, MOOV_LIMITS);
    expect(found).toMatchObject({ found: true, moovOffset });
    expect(read.asked).toEqual([[moovOffset, 4096]]);
  });

  it('reads the rest of a moov larger than the window', async () => {
    const { bytes, moovOffset, moovSize } = layoutMp4({ layout: 'moov-last', mdatBytes: 50_000 });
    const read = readerOf(bytes);
    const found = await findMoov(bytes.subarray(0, 256), bytes.length, read, {
      ...MOOV_LIMITS,
      windowBytes: 256,
    });
    expect(found).toMatchObject({ found: true });
    expect(read.asked).toEqual([
      [moovOffset, 256],
      [moovOffset, moovSize],
    ]);
  });

  it('says a file with no moov is truncated', async () => {
    const file = truncated(makeMp4({ layout: 'moov-last', mdatBytes: 50_000 }), 30_000);
    const found = await findMoov(file.subarray(0, 4096), file.length, readerOf(file), MOOV_LIMITS);
    expect(found).toMatchObject({
      found: false,
      definite: true,
      reason: expect.stringContaining('no moov box'),
    });
  });

  it('says a file cut inside moov is truncated', async () => {
    const file = truncated(makeMp4(), 200);
    const found = await findMoov(file, file.length, readerOf(file), MOOV_LIMITS);
    expect(found).toMatchObject({
      found: false,
      definite: true,
      reason: expect.stringContaining('ends inside its moov'),
    });
  });

  it('finds the end of a file of unknown length by reading past it', async () => {
    const file = truncated(makeMp4({ layout: 'moov-last', mdatBytes: 50_000 }), 30_000);
    const found = await findMoov(file.subarray(0, 4096), undefined, readerOf(file), MOOV_LIMITS);
    expect(found).toMatchObject({
      found: false,
      definite: true,
      reason: expect.stringContaining('no moov box'),
    });
  });

  it('refuses a damaged box size instead of looping', async () => {
    const file = Buffer.concat([box('ftyp', 16, ascii('isom\0\0\0\0')), box('free', 4)]);
    const found = await findMoov(file, file.length, readerOf(file), MOOV_LIMITS);
    expect(found).toEqual({
      found: false,
      definite: true,
      reason: 'a box at byte 16 declares a size of 4 bytes',
    });
  });

  it('leaves a moov over the cap unread, and gives up after so many jumps', async () => {
    const { bytes, moovSize } = layoutMp4();
    const big = await findMoov(bytes, bytes.length, readerOf(bytes), {
      ...MOOV_LIMITS,
      maxMoovBytes: moovSize - 1,
    });
    expect(big).toMatchObject({
      found: false,
      definite: false,
      reason: expect.stringContaining('more than'),
    });
    // ftyp, then many large free boxes, each header past the last window.
    const frees = Array.from({ length: 6 }, () => box('free', 10_000, Buffer.alloc(9_992)));
    const file = Buffer.concat([box('ftyp', 16, ascii('isom\0\0\0\0')), ...frees, makeMp4().subarray(32)]);
    const read = readerOf(file);
    const far = await findMoov(file.subarray(0, 4096), file.length, read, MOOV_LIMITS);
    expect(far).toMatchObject({ found: false, definite: false });
    expect(read.asked).toHaveLength(4);
  });
});

describe('readMovie (Mediabunny) on the generated files', () => {
  afterEach(() => vi.restoreAllMocks());

  const moovOf = (spec: Mp4Spec) => {
    const { bytes, moovOffset, moovSize } = layoutMp4(spec);
    const ftyp = spec.ftyp === false ? undefined : bytes.subarray(0, bytes.readUInt32BE(0));
    return [ftyp, bytes.subarray(moovOffset, moovOffset + moovSize)] as const;
  };

  it.each([
    [{ seconds: 5, width: 1280, height: 720 }, 5, [1280, 720]],
    [{ seconds: 12.5, width: 1920, height: 1080, timescale: 90_000 }, 12.5, [1920, 1080]],
    [{ seconds: 3, width: 640, height: 480, brand: 'qt  ', layout: 'moov-last' as const }, 3, [640, 480]],
    [{ seconds: 8, ftyp: false }, 8, [1280, 720]],
    [{ seconds: 6, width: 1920, height: 1080, rotated: true }, 6, [1080, 1920]],
  ])('%j: %s s, %j', async (spec, seconds, [width, height]) => {
    const [ftyp, moov] = moovOf(spec);
    const read = await readMovie(ftyp, moov);
    expect(read).toEqual({
      ok: true,
      movie: { durationSeconds: seconds, video: { width, height, codec: 'avc1.42c01e' } },
    });
  });

  it('finds no video track in an audio-only file', async () => {
    const [ftyp, moov] = moovOf({ track: 'audio' });
    expect(await readMovie(ftyp, moov)).toMatchObject({
      ok: true,
      movie: { durationSeconds: 5, video: undefined },
    });
  });

  it('reports a damaged moov without writing to the console (box types come from the file)', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const hostile = box('moov', 24, Buffer.concat([box('\n::x', 4), Buffer.alloc(8)]));
    const read = await readMovie(undefined, hostile);
    expect(read.ok).toBe(false);
    expect(error).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });
});
