/**
 * Small MP4/MOV files made in code for the preflight tests: a real ISO BMFF structure (ftyp, moov with
 * mvhd and one trak with tkhd, mdhd, hdlr and a complete sample table, mdat) with the duration,
 * resolution, brand and layout a test asks for. The samples are zeros: the container is what is checked.
 * Also the first bytes of the formats Kling refuses (WebM, AVI, MPEG-TS, an HTML page).
 */
import { ascii, box, fullBox, IDENTITY_MATRIX, uint16, uint32 } from './iso-box.ts';

export interface Mp4Spec {
  /** The movie's duration (mvhd, tkhd and mdhd agree). Default 5. */
  seconds?: number;
  /** The video track's size (tkhd and the sample entry). Default 1280×720. */
  width?: number;
  height?: number;
  /** ftyp's major brand: `qt  ` makes a MOV. Default `isom`. */
  brand?: string;
  /** false: no ftyp at all, as in QuickTime files written before ftyp existed. */
  ftyp?: boolean;
  /** `moov-last`: ftyp, mdat, moov, as cameras and most encoders write before a faststart pass. */
  layout?: 'moov-first' | 'moov-last';
  /** Bytes of sample data in mdat. Default 4096. */
  mdatBytes?: number;
  /** mdat's header uses the 64-bit largesize field. */
  largeMdat?: boolean;
  /** A `free` box of this many bytes between mdat and moov (moov-last) or before mdat (moov-first). */
  freeBytes?: number;
  /** `audio`: one AAC track and no video, as an .m4a. Default `video`. */
  track?: 'video' | 'audio';
  /** Samples per second. Default 2. */
  rate?: number;
  /** mvhd and mdhd timescale. Default 1000. */
  timescale?: number;
  /** tkhd's matrix turns the picture a quarter turn, as phones record portrait video. */
  rotated?: boolean;
}

export interface Mp4Layout {
  bytes: Buffer;
  /** Where moov starts and how long it is, so a test can tell which ranges were asked for. */
  moovOffset: number;
  moovSize: number;
}

export function makeMp4(spec: Mp4Spec = {}): Buffer {
  return layoutMp4(spec).bytes;
}

export function layoutMp4(spec: Mp4Spec = {}): Mp4Layout {
  const mdatBytes = spec.mdatBytes ?? 4096;
  const ftyp = spec.ftyp === false ? Buffer.alloc(0) : ftypBox(spec.brand ?? 'isom');
  const free = spec.freeBytes ? box('free', Buffer.alloc(spec.freeBytes - 8)) : Buffer.alloc(0);
  const mdatHeader = spec.largeMdat ? 16 : 8;
  const mdat = (payload: Buffer) =>
    spec.largeMdat
      ? Buffer.concat([uint32(1), ascii('mdat'), uint64(16 + payload.length), payload])
      : box('mdat', payload);
  const payload = Buffer.alloc(mdatBytes);
  // stco's offsets are fixed-width, so moov's size does not depend on where the samples are.
  const moovSize = movie(spec, 0, mdatBytes).length;
  if (spec.layout === 'moov-last') {
    const dataStart = ftyp.length + mdatHeader;
    const moov = movie(spec, dataStart, mdatBytes);
    const bytes = Buffer.concat([ftyp, mdat(payload), free, moov]);
    return { bytes, moovOffset: bytes.length - moovSize, moovSize };
  }
  const dataStart = ftyp.length + moovSize + free.length + mdatHeader;
  const moov = movie(spec, dataStart, mdatBytes);
  return { bytes: Buffer.concat([ftyp, moov, free, mdat(payload)]), moovOffset: ftyp.length, moovSize };
}

/** The first `length` bytes of a file, as a download cut short leaves it. */
export function truncated(file: Buffer, length: number): Buffer {
  return Buffer.from(file.subarray(0, length));
}

/** The start of a WebM file: an EBML header with DocType `webm`, then a Segment of unknown size. */
export function webmHead(length = 4096): Buffer {
  const docType = Buffer.concat([Buffer.from([0x42, 0x82, 0x84]), ascii('webm')]);
  const header = Buffer.concat([Buffer.from([0x42, 0x86, 0x81, 0x01]), docType]);
  const ebml = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length]), header]);
  const segment = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  return pad(Buffer.concat([ebml, segment]), length);
}

/** The start of an AVI file: RIFF, a size, `AVI `, then a LIST. */
export function aviHead(length = 4096): Buffer {
  return pad(Buffer.concat([ascii('RIFF'), uint32le(length - 8), ascii('AVI LIST')]), length);
}

/** MPEG transport stream packets: 188 bytes each, every one starting with the sync byte 0x47. */
export function mpegTsHead(packets = 20): Buffer {
  const bytes = Buffer.alloc(188 * packets, 0xff);
  for (let i = 0; i < packets; i++) bytes.set([0x47, 0x40, 0x00, 0x10], i * 188);
  return bytes;
}

export function htmlPage(): Buffer {
  return Buffer.from(
    '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in to see this video</body></html>\n',
  );
}

// ---- the boxes

function movie(spec: Mp4Spec, dataStart: number, mdatBytes: number): Buffer {
  const timescale = spec.timescale ?? 1000;
  const duration = Math.round((spec.seconds ?? 5) * timescale);
  return box(
    'moov',
    movieHeader(timescale, duration),
    track(spec, timescale, duration, dataStart, mdatBytes),
  );
}

function ftypBox(brand: string): Buffer {
  const compatible = brand === 'qt  ' ? ['qt  '] : [brand, 'iso2', 'avc1', 'mp41'];
  return box('ftyp', ascii(brand), uint32(brand === 'qt  ' ? 0x20050300 : 0x200), ...compatible.map(ascii));
}

function movieHeader(timescale: number, duration: number): Buffer {
  return fullBox(
    'mvhd',
    0,
    0,
    uint32(0), // creation time
    uint32(0), // modification time
    uint32(timescale),
    uint32(duration),
    uint32(0x00010000), // rate 1.0
    uint16(0x0100), // volume 1.0
    Buffer.alloc(10),
    IDENTITY_MATRIX,
    Buffer.alloc(24),
    uint32(2), // next track id
  );
}

function track(spec: Mp4Spec, timescale: number, duration: number, dataStart: number, mdatBytes: number) {
  const video = (spec.track ?? 'video') === 'video';
  const width = video ? (spec.width ?? 1280) : 0;
  const height = video ? (spec.height ?? 720) : 0;
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    uint32(0),
    uint32(0),
    uint32(1), // track id
    uint32(0),
    uint32(duration),
    Buffer.alloc(8),
    uint16(0), // layer
    uint16(0), // alternate group
    uint16(video ? 0 : 0x0100), // volume
    uint16(0),
    spec.rotated ? QUARTER_TURN : IDENTITY_MATRIX,
    uint32(width * 0x10000),
    uint32(height * 0x10000),
  );
  const mdhd = fullBox(
    'mdhd',
    0,
    0,
    uint32(0),
    uint32(0),
    uint32(timescale),
    uint32(duration),
    uint16(0x55c4), // 'und'
    uint16(0),
  );
  const handler = video ? 'vide' : 'soun';
  const hdlr = fullBox('hdlr', 0, 0, uint32(0), ascii(handler), Buffer.alloc(12), ascii(`${handler}\0`));
  const mediaHeader = video
    ? fullBox('vmhd', 0, 1, uint16(0), Buffer.alloc(6))
    : fullBox('smhd', 0, 0, uint16(0), uint16(0));
  const dinf = box('dinf', fullBox('dref', 0, 0, uint32(1), fullBox('url ', 0, 1)));
  const stbl = sampleTable(
    spec,
    duration,
    dataStart,
    mdatBytes,
    video ? videoEntry(width, height) : audioEntry(),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

/** Evenly spaced samples of equal size, all in one chunk at the start of mdat's payload. */
function sampleTable(
  spec: Mp4Spec,
  duration: number,
  dataStart: number,
  mdatBytes: number,
  entry: Buffer,
): Buffer {
  const count = Math.max(1, Math.round((spec.seconds ?? 5) * (spec.rate ?? 2)));
  const delta = Math.max(1, Math.floor(duration / count));
  const size = Math.max(1, Math.floor(mdatBytes / count));
  return box(
    'stbl',
    fullBox('stsd', 0, 0, uint32(1), entry),
    fullBox('stts', 0, 0, uint32(1), uint32(count), uint32(delta)),
    fullBox('stsc', 0, 0, uint32(1), uint32(1), uint32(count), uint32(1)),
    fullBox('stsz', 0, 0, uint32(size), uint32(count)),
    fullBox('stco', 0, 0, uint32(1), uint32(dataStart)),
  );
}

function videoEntry(width: number, height: number): Buffer {
  // avcC with no parameter sets: enough for a parser to name the codec (avc1.42c01e).
  const avcC = box('avcC', Buffer.from([1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0x00]));
  return box(
    'avc1',
    Buffer.alloc(6),
    uint16(1), // data reference index
    Buffer.alloc(16),
    uint16(width),
    uint16(height),
    uint32(0x00480000), // 72 dpi
    uint32(0x00480000),
    uint32(0),
    uint16(1), // frames per sample
    Buffer.alloc(32), // compressor name
    uint16(0x0018), // depth
    uint16(0xffff),
    avcC,
  );
}

function audioEntry(): Buffer {
  return box(
    'mp4a',
    Buffer.alloc(6),
    uint16(1),
    Buffer.alloc(8),
    uint16(2), // channels
    uint16(16), // bits per sample
    uint32(0),
    uint32(44100 * 0x10000),
  );
}

/** 90° clockwise: (0, 1, -1, 0). */
const QUARTER_TURN = Buffer.concat([0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].map(uint32));

function uint32le(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function uint64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

function pad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([bytes, Buffer.alloc(length - bytes.length)]);
}
