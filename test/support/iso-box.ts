/**
 * ISO BMFF (MP4/MOV) boxes: writing, shared by the test media, and reading, the tests' own oracle for
 * what a muxer wrote (independent of the library that wrote it): every track's sample table resolved
 * to each sample's place in the file, its decode and presentation time and whether it is a sync sample.
 */

/** A box; the type is Latin-1 (`©nam` is A9 6E 61 6D). */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([uint32(8 + body.length), ascii(type), body]);
}

export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, uint32(((version << 24) | flags) >>> 0), ...payload);
}

export function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

/** Negative values wrap (two's complement), as matrices need. */
export function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

export function uint64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

/** The identity matrix of mvhd and tkhd, in 16.16 and 2.30 fixed point. */
export const IDENTITY_MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(uint32));

// ---- Reading

export interface Box {
  type: string;
  /** File offsets of the box's first byte and of the byte after it. */
  start: number;
  end: number;
  /** The payload, after the header. */
  body: Buffer;
}

/** The boxes laid end to end in `data` (a file or a box's payload), `base` being data's file offset. */
export function readBoxes(data: Buffer, base = 0): Box[] {
  const found: Box[] = [];
  for (let offset = 0; offset + 8 <= data.length;) {
    let size = data.readUInt32BE(offset);
    let header = 8;
    if (size === 1) {
      size = Number(data.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) size = data.length - offset;
    if (size < header || offset + size > data.length)
      throw new Error(`a box at byte ${base + offset} declares ${size} bytes, past its parent's end`);
    found.push({
      type: data.toString('latin1', offset + 4, offset + 8),
      start: base + offset,
      end: base + offset + size,
      body: data.subarray(offset + header, offset + size),
    });
    offset += size;
  }
  return found;
}

/** Fixed fields before the child boxes of container boxes that have them. */
const CHILDREN_AFTER: Record<string, number> = { stsd: 8, avc1: 78, hvc1: 78, hev1: 78, mp4a: 28, meta: 4 };

/** The box at `path` (`mdia/minf/stbl`) below `parent`, or undefined. */
export function findBox(parent: Box, path: string): Box | undefined {
  let found: Box | undefined = parent;
  for (const type of path.split('/')) {
    if (!found) return undefined;
    const skip: number = CHILDREN_AFTER[found.type] ?? 0;
    found = readBoxes(found.body.subarray(skip), found.start + 8 + skip).find((b) => b.type === type);
  }
  return found;
}

export function childBox(parent: Box, path: string): Box {
  const found = findBox(parent, path);
  if (!found) throw new Error(`no ${path} in ${parent.type}`);
  return found;
}

export interface SampleRecord {
  /** File offset and size of the sample's bytes. */
  offset: number;
  size: number;
  /** Decode and presentation time, in the track's timescale (presentation before the edit list). */
  dts: number;
  cts: number;
  sync: boolean;
}

export interface TrackRecord {
  id: number;
  handler: string;
  timescale: number;
  /** mdhd's duration, in the track's timescale. */
  mediaDuration: number;
  /** tkhd's duration, in the movie's timescale. */
  duration: number;
  /** The sample entry, whole (type, fields and child boxes such as avcC). */
  sampleEntry: Buffer;
  sampleEntryType: string;
  /** tkhd's 36-byte matrix and the picture's size (16.16 fixed point, as written). */
  matrix: Buffer;
  width: number;
  height: number;
  /** The edit list: [segment duration in movie ticks, media time in track ticks]. */
  edits: [number, number][];
  samples: SampleRecord[];
}

export interface MovieRecord {
  /** The top-level boxes' types, in order. */
  top: string[];
  brand: string | undefined;
  timescale: number;
  duration: number;
  tracks: TrackRecord[];
}

/** Reads a whole MP4/MOV (not fragmented) from its bytes. */
export function readMovieRecord(file: Buffer): MovieRecord {
  const top = readBoxes(file);
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('no moov box');
  const ftyp = top.find((b) => b.type === 'ftyp');
  const mvhd = childBox(moov, 'mvhd').body;
  const wide = mvhd[0] === 1;
  return {
    top: top.map((b) => b.type),
    brand: ftyp?.body.toString('latin1', 0, 4),
    timescale: mvhd.readUInt32BE(wide ? 20 : 12),
    duration: wide ? Number(mvhd.readBigUInt64BE(24)) : mvhd.readUInt32BE(16),
    tracks: readBoxes(moov.body, moov.start + 8)
      .filter((b) => b.type === 'trak')
      .map(readTrack),
  };
}

function readTrack(trak: Box): TrackRecord {
  const tkhd = childBox(trak, 'tkhd').body;
  const wideTkhd = tkhd[0] === 1;
  const at = wideTkhd ? 12 : 0; // the 64-bit times and duration
  const mdhd = childBox(trak, 'mdia/mdhd').body;
  const wideMdhd = mdhd[0] === 1;
  const stbl = childBox(trak, 'mdia/minf/stbl');
  const stsd = childBox(stbl, 'stsd');
  const entry = readBoxes(stsd.body.subarray(8), stsd.start + 16)[0]!;
  const elst = findBox(trak, 'edts/elst')?.body;
  const edits: [number, number][] = [];
  if (elst) {
    const wide = elst[0] === 1;
    for (let i = 0, p = 8; i < elst.readUInt32BE(4); i++, p += wide ? 20 : 12)
      edits.push(
        wide
          ? [Number(elst.readBigUInt64BE(p)), Number(elst.readBigInt64BE(p + 8))]
          : [elst.readUInt32BE(p), elst.readInt32BE(p + 4)],
      );
  }
  return {
    id: tkhd.readUInt32BE(12 + at),
    handler: childBox(trak, 'mdia/hdlr').body.toString('latin1', 8, 12),
    timescale: mdhd.readUInt32BE(wideMdhd ? 20 : 12),
    mediaDuration: wideMdhd ? Number(mdhd.readBigUInt64BE(24)) : mdhd.readUInt32BE(16),
    duration: wideTkhd ? Number(tkhd.readBigUInt64BE(28)) : tkhd.readUInt32BE(20),
    sampleEntry: Buffer.concat([Buffer.from(uint32(entry.end - entry.start)), ascii(entry.type), entry.body]),
    sampleEntryType: entry.type,
    matrix: tkhd.subarray(40 + at, 76 + at),
    width: tkhd.readUInt32BE(76 + at),
    height: tkhd.readUInt32BE(80 + at),
    edits,
    samples: readSamples(stbl),
  };
}

const table = (entries: Buffer, width: number, count: number, skip = 0) =>
  Array.from({ length: count }, (_, i) =>
    Array.from({ length: width }, (_, j) => entries.readUInt32BE(skip + (i * width + j) * 4)),
  );

function readSamples(stbl: Box): SampleRecord[] {
  const stsz = childBox(stbl, 'stsz').body;
  const count = stsz.readUInt32BE(8);
  const sizes = stsz.readUInt32BE(4)
    ? Array.from({ length: count }, () => stsz.readUInt32BE(4))
    : Array.from({ length: count }, (_, i) => stsz.readUInt32BE(12 + i * 4));
  const stco = findBox(stbl, 'stco')?.body;
  const co64 = findBox(stbl, 'co64')?.body;
  const chunkOffsets = stco
    ? Array.from({ length: stco.readUInt32BE(4) }, (_, i) => stco.readUInt32BE(8 + i * 4))
    : Array.from({ length: co64!.readUInt32BE(4) }, (_, i) => Number(co64!.readBigUInt64BE(8 + i * 8)));
  const stsc = childBox(stbl, 'stsc').body;
  const stscRows = table(stsc, 3, stsc.readUInt32BE(4), 8);
  const stts = childBox(stbl, 'stts').body;
  const deltas = table(stts, 2, stts.readUInt32BE(4), 8).flatMap(([n, delta]) =>
    Array<number>(n!).fill(delta!),
  );
  const ctts = findBox(stbl, 'ctts')?.body;
  // Version 1 offsets are signed; version 0 ones are unsigned but written signed by some muxers.
  const offsets = ctts
    ? Array.from({ length: ctts.readUInt32BE(4) }, (_, i) => [
        ctts.readUInt32BE(8 + i * 8),
        ctts.readInt32BE(12 + i * 8),
      ]).flatMap(([n, offset]) => Array<number>(n!).fill(offset!))
    : undefined;
  const stss = findBox(stbl, 'stss')?.body;
  const syncs = stss ? new Set(table(stss, 1, stss.readUInt32BE(4), 8).map(([n]) => n! - 1)) : undefined;
  const samples: SampleRecord[] = [];
  let dts = 0;
  chunkOffsets.forEach((chunkOffset, chunk) => {
    const row = stscRows.filter((r) => r[0]! - 1 <= chunk).at(-1)!;
    let offset = chunkOffset;
    for (let i = 0; i < row[1]! && samples.length < count; i++) {
      const n = samples.length;
      samples.push({
        offset,
        size: sizes[n]!,
        dts,
        cts: dts + (offsets?.[n] ?? 0),
        sync: syncs ? syncs.has(n) : true,
      });
      offset += sizes[n]!;
      dts += deltas[n]!;
    }
  });
  if (samples.length !== count || deltas.length !== count)
    throw new Error(`the sample table accounts for ${samples.length} of ${count} samples`);
  return samples;
}
