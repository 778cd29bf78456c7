/**
 * What a file's bytes say it is: the signature of its first bytes, the top-level boxes of an MP4/MOV
 * (walked by their headers alone, so `moov` is found wherever it sits without reading `mdat`), and the
 * movie inside `moov` (movie.ts).
 */
import { formatBytes } from '../runtime.ts';

export type Container = 'mp4' | 'mov';

export type Signature =
  | { kind: 'iso'; container: Container }
  /** A format Kling does not take, named for the message: "a WebM video". */
  | { kind: 'other'; format: string }
  | { kind: 'unknown' };

/** Major brands of ISO BMFF files that hold a still image, not a movie. */
const IMAGE_BRANDS = new Set(['mif1', 'msf1', 'heic', 'heix', 'hevc', 'hevx', 'avif', 'avis']);

/** Boxes a QuickTime file written before ftyp existed may start with. */
const LEGACY_QUICKTIME = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

export function sniffSignature(head: Uint8Array): Signature {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const at = (offset: number, text: string) =>
    bytes.toString('latin1', offset, offset + text.length) === text;
  if (at(4, 'ftyp')) {
    const brand = bytes.toString('latin1', 8, 12);
    if (IMAGE_BRANDS.has(brand)) return { kind: 'other', format: 'a HEIF/AVIF image' };
    return { kind: 'iso', container: brand === 'qt  ' ? 'mov' : 'mp4' };
  }
  if (
    bytes.length >= 8 &&
    LEGACY_QUICKTIME.has(bytes.toString('latin1', 4, 8)) &&
    bytes.readUInt32BE(0) !== 0
  )
    return { kind: 'iso', container: 'mov' };
  const other = otherFormat(bytes, at);
  return other ? { kind: 'other', format: other } : { kind: 'unknown' };
}

function otherFormat(bytes: Buffer, at: (offset: number, text: string) => boolean): string | undefined {
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x1a45dfa3)
    return bytes.subarray(0, 64).includes('webm') ? 'a WebM video' : 'a Matroska (MKV) video';
  if (at(0, 'RIFF')) {
    if (at(8, 'AVI ')) return 'an AVI video';
    if (at(8, 'WAVE')) return 'WAV audio';
    if (at(8, 'WEBP')) return 'a WebP image';
  }
  if (isTransportStream(bytes)) return 'an MPEG transport stream (.ts)';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x000001ba) return 'an MPEG program stream (.mpg)';
  if (at(0, 'FLV')) return 'an FLV video';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x3026b275) return 'an ASF/WMV video';
  if (at(0, 'OggS')) return 'an Ogg file';
  if (at(0, 'fLaC')) return 'FLAC audio';
  if (at(0, 'GIF8')) return 'a GIF image';
  if (at(0, '\x89PNG')) return 'a PNG image';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'a JPEG image';
  if (at(0, 'ID3') || (bytes.length >= 2 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xf6) === 0xf0))
    return 'MP3 or AAC audio';
  if (at(0, '%PDF')) return 'a PDF document';
  if (at(0, 'PK\x03\x04')) return 'a ZIP archive';
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'a gzip archive';
  const text = bytes
    .toString('utf8', 0, 512)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('#EXTM3U')) return 'an HLS playlist (m3u8), not a video file';
  if (/^<\?xml[\s\S]*<MPD\b/.test(text)) return 'a DASH manifest (mpd), not a video file';
  if (/^<(!doctype html|html|head|body)\b/i.test(text)) return 'an HTML page';
  if (text.startsWith('<')) return 'an XML or HTML document';
  if (text.startsWith('{') || text.startsWith('[')) return 'a JSON document';
  return undefined;
}

/** Sync bytes every 188 bytes, as many as the head holds (at least three packets). */
function isTransportStream(bytes: Buffer): boolean {
  const packets = Math.min(8, Math.floor(bytes.length / 188));
  if (packets < 3) return false;
  for (let i = 0; i < packets; i++) if (bytes[i * 188] !== 0x47) return false;
  return true;
}

export interface BoxHeader {
  type: string;
  /** File offset of the box's first byte. */
  start: number;
  headerSize: number;
  /** The whole box, header included; undefined when it runs to the end of the file (size 0). */
  size: number | undefined;
}

export type HeaderRead = { header: BoxHeader } | { short: true } | { damaged: string };

/**
 * The box header at file offset `start`, from `bytes` (which begin at file offset `base`). Sizes are
 * checked so that a damaged or hostile file cannot send the walk backwards or into a loop.
 */
export function readBoxHeader(bytes: Uint8Array, base: number, start: number): HeaderRead {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = start - base;
  if (at < 0 || at + 8 > view.length) return { short: true };
  const size32 = view.readUInt32BE(at);
  const type = view.toString('latin1', at + 4, at + 8);
  if (size32 === 0) return { header: { type, start, headerSize: 8, size: undefined } };
  if (size32 === 1) {
    if (at + 16 > view.length) return { short: true };
    const large = view.readBigUInt64BE(at + 8);
    if (large < 16n || large > BigInt(Number.MAX_SAFE_INTEGER))
      return { damaged: `a box at byte ${start} declares an impossible 64-bit size (${large})` };
    return { header: { type, start, headerSize: 16, size: Number(large) } };
  }
  if (size32 < 8) return { damaged: `a box at byte ${start} declares a size of ${size32} bytes` };
  return { header: { type, start, headerSize: 8, size: size32 } };
}

/** Reads up to `length` bytes from file offset `offset`; fewer (or none) at the end of the file. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

export interface MoovLimits {
  /** Bytes asked for at once when looking for the next box header. */
  windowBytes: number;
  maxMoovBytes: number;
  /** Box headers past the head that may be looked up, each a request. */
  maxJumps: number;
}

export type MoovSearch =
  | { found: true; ftyp: Uint8Array | undefined; moov: Uint8Array; moovOffset: number }
  /** The file is definitely unusable: no moov, or a damaged box structure. */
  | { found: false; definite: true; reason: string }
  /** The check could not get at it (too far, too large): nothing is known. */
  | { found: false; definite: false; reason: string };

interface Window {
  base: number;
  bytes: Uint8Array;
}

/**
 * Walks the top-level boxes from the start of the file to `moov`, reading only box headers past the
 * head (one window per jump) and then moov itself. `total` is the file's length when the host said.
 */
export async function findMoov(
  head: Uint8Array,
  total: number | undefined,
  read: ReadAt,
  limits: MoovLimits,
): Promise<MoovSearch> {
  let window: Window = { base: 0, bytes: head };
  let ftyp: Uint8Array | undefined;
  let jumps = 0;
  let position = 0;
  for (;;) {
    if (total !== undefined && position >= total) return noMoov(total);
    let next = readBoxHeader(window.bytes, window.base, position);
    if ('short' in next) {
      if (++jumps > limits.maxJumps)
        return unknown(
          `moov was not found after looking up ${limits.maxJumps} boxes past the head of the file`,
        );
      window = { base: position, bytes: await read(position, limits.windowBytes) };
      if (window.bytes.length === 0) return noMoov(position);
      next = readBoxHeader(window.bytes, window.base, position);
      if ('short' in next) return damaged(`the file ends inside the header of a box at byte ${position}`);
    }
    if ('damaged' in next) return damaged(next.damaged);
    const { header } = next;
    const size = header.size ?? (total !== undefined ? total - position : undefined);
    if (header.type === 'moov') return takeMoov(header, size, window, ftyp, read, limits);
    if (header.type === 'ftyp' && size !== undefined && size <= 4096)
      ftyp = slice(window, position, size) ?? ftyp;
    // A box that runs to the end of the file leaves no room for moov after it.
    if (size === undefined) return noMoov(undefined);
    position += size;
  }
}

async function takeMoov(
  header: BoxHeader,
  size: number | undefined,
  window: Window,
  ftyp: Uint8Array | undefined,
  read: ReadAt,
  limits: MoovLimits,
): Promise<MoovSearch> {
  if (size !== undefined && size > limits.maxMoovBytes)
    return unknown(
      `its moov box is ${formatBytes(size)}, more than the ${formatBytes(limits.maxMoovBytes)} the check reads`,
    );
  const wanted = size ?? limits.maxMoovBytes;
  let moov = slice(window, header.start, wanted);
  if (!moov) {
    const bytes = await read(header.start, wanted);
    // A size-0 moov (to the end of a file of unknown length) is whatever the read returned.
    if (size !== undefined && bytes.length < size)
      return damaged(`the file ends inside its moov box (${bytes.length} of ${size} bytes): it is truncated`);
    moov = bytes;
  }
  return { found: true, ftyp, moov, moovOffset: header.start };
}

/** The bytes [start, start + length) when the window holds all of them. */
function slice(window: Window, start: number, length: number): Uint8Array | undefined {
  const from = start - window.base;
  if (from < 0 || from + length > window.bytes.length) return undefined;
  return window.bytes.subarray(from, from + length);
}

function noMoov(at: number | undefined): MoovSearch {
  const where = at === undefined ? '' : ` (the boxes end at byte ${at})`;
  return damaged(
    `it has no moov box${where}, the index a player needs: the file is truncated, or was still being written`,
  );
}

function damaged(reason: string): MoovSearch {
  return { found: false, definite: true, reason };
}

function unknown(reason: string): MoovSearch {
  return { found: false, definite: false, reason };
}
