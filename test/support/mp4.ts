/**
 * MP4 and MOV files made in code, the one writer for every test: a real ISO BMFF structure (ftyp,
 * moov with mvhd and a trak per track, each with a complete sample table, mdat) with the tracks,
 * samples, timing, layout and brand a test asks for. `writeMovie` takes the samples themselves (the
 * emulator's playable media, the muxer's sources); `makeMp4` fills a movie with zeros for the checks
 * that only read the container. Also the first bytes of the formats Kling refuses.
 */
import { ascii, box, fullBox, IDENTITY_MATRIX, uint16, uint32, uint64 } from './iso-box.ts';

export interface TrackSpec {
  handler: 'vide' | 'soun';
  /** The media timescale (mdhd): ticks per second. */
  timescale: number;
  /** The whole sample entry box (avc1, mp4a, …): see `avc1Entry`, `mp4aEntry`. */
  sampleEntry: Buffer;
  /** Each sample's bytes, in decode order. */
  samples: Buffer[];
  /** stts: one duration (in ticks) for every sample, or one per sample. */
  durations: number | number[];
  /** ctts: presentation minus decode time of each sample (in ticks); none when left out. */
  compositionOffsets?: number[];
  /** stss: the 1-based numbers of the sync samples; every sample is one when left out. */
  syncSamples?: number[];
  /** Samples per chunk (chunks of the tracks are interleaved in mdat). Default: one chunk. */
  chunkSamples?: number;
  /** The picture's size (tkhd, and the sample entry's when `avc1Entry` made it). */
  width?: number;
  height?: number;
  /** tkhd's matrix, 36 bytes (QUARTER_TURN for a portrait phone video). Default: identity. */
  matrix?: Buffer;
  /** An edit list of one edit: presentation starts at this media time (in ticks). */
  editMediaTime?: number;
  /** mdhd's duration when a test wants it to disagree with the samples'. */
  mediaDuration?: number;
}

export interface MovieSpec {
  tracks: TrackSpec[];
  /** ftyp's major brand: `qt  ` makes a MOV. Default `isom`. */
  brand?: string;
  /** false: no ftyp at all, as in QuickTime files written before ftyp existed. */
  ftyp?: boolean;
  /** `moov-last`: ftyp, mdat, moov, as cameras and most encoders write before a faststart pass. */
  layout?: 'moov-first' | 'moov-last';
  /** mdat's header uses the 64-bit largesize field. */
  largeMdat?: boolean;
  /** A `free` box of this many bytes between mdat and moov (moov-last) or before mdat (moov-first). */
  freeBytes?: number;
  /** mvhd's timescale. Default 1000. */
  movieTimescale?: number;
  /** mvhd's duration (movie ticks) when a test wants it to disagree with the tracks'. */
  movieDuration?: number;
  /** A `©nam` title in moov's user data (ffprobe shows it as `title`). */
  title?: string;
  /** Bytes at the end of mdat that no sample points at. */
  trailingBytes?: number;
  /**
   * A fragmented MP4: moov declares the tracks (mvex) with empty sample tables, and each chunk is a
   * moof + mdat of its own. `layout`, `largeMdat` and `freeBytes` do not apply.
   */
  fragmented?: boolean;
}

export interface Mp4Layout {
  bytes: Buffer;
  /** Where moov starts and how long it is, so a test can tell which ranges were asked for. */
  moovOffset: number;
  moovSize: number;
}

const LANGUAGE_UND = 0x55c4; // ISO 639-2 "und", packed as three 5-bit letters

/** 90° clockwise: (0, 1, -1, 0), as phones record portrait video. */
export const QUARTER_TURN = Buffer.concat([0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].map(uint32));

export function writeMovie(spec: MovieSpec): Mp4Layout {
  if (spec.fragmented) return writeFragmented(spec);
  const ftyp = spec.ftyp === false ? Buffer.alloc(0) : ftypBox(spec.brand ?? 'isom');
  const free = spec.freeBytes ? box('free', Buffer.alloc(spec.freeBytes - 8)) : Buffer.alloc(0);
  const { payload, chunkOffsets } = interleave(spec.tracks);
  const mdatBody = [...payload, Buffer.alloc(spec.trailingBytes ?? 0)];
  const mdatLength = mdatBody.reduce((sum, part) => sum + part.length, 0);
  const mdatHeader = spec.largeMdat
    ? Buffer.concat([uint32(1), ascii('mdat'), uint64(16 + mdatLength)])
    : Buffer.concat([uint32(8 + mdatLength), ascii('mdat')]);
  // Chunk offsets are 32-bit fields (or 64-bit for every file past 4 GiB), so moov's size does not
  // depend on where the samples are.
  const moovAt = (dataStart: number) =>
    movie(
      spec,
      chunkOffsets.map((offsets) => offsets.map((offset) => dataStart + offset)),
    );
  const moovSize = moovAt(0).length;
  if (spec.layout === 'moov-last') {
    const moov = moovAt(ftyp.length + mdatHeader.length);
    const bytes = Buffer.concat([ftyp, mdatHeader, ...mdatBody, free, moov]);
    return { bytes, moovOffset: bytes.length - moovSize, moovSize };
  }
  const moov = moovAt(ftyp.length + moovSize + free.length + mdatHeader.length);
  return {
    bytes: Buffer.concat([ftyp, moov, free, mdatHeader, ...mdatBody]),
    moovOffset: ftyp.length,
    moovSize,
  };
}

/** mdat's payload: chunk k of each track in turn, for each k; chunk offsets relative to the payload. */
function interleave(tracks: TrackSpec[]): { payload: Buffer[]; chunkOffsets: number[][] } {
  const chunks = tracks.map((track) => chunked(track.samples, track.chunkSamples));
  const payload: Buffer[] = [];
  const chunkOffsets: number[][] = tracks.map(() => []);
  let position = 0;
  for (let k = 0; k < Math.max(0, ...chunks.map((c) => c.length)); k++)
    chunks.forEach((trackChunks, t) => {
      const samples = trackChunks[k];
      if (!samples) return;
      chunkOffsets[t]!.push(position);
      for (const sample of samples) {
        payload.push(sample);
        position += sample.length;
      }
    });
  return { payload, chunkOffsets };
}

function chunked<T>(items: T[], size = items.length): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size))
    chunks.push(items.slice(i, i + Math.max(1, size)));
  return chunks;
}

function durationsOf(track: TrackSpec): number[] {
  const { durations } = track;
  return typeof durations === 'number' ? track.samples.map(() => durations) : durations;
}

function mediaDurationOf(track: TrackSpec): number {
  return track.mediaDuration ?? durationsOf(track).reduce((a, b) => a + b, 0);
}

function movie(spec: MovieSpec, chunkOffsets: number[][], extra: Buffer[] = []): Buffer {
  const movieTimescale = spec.movieTimescale ?? 1000;
  const trackDurations = spec.tracks.map((track) =>
    Math.ceil(((mediaDurationOf(track) - (track.editMediaTime ?? 0)) * movieTimescale) / track.timescale),
  );
  const duration = spec.movieDuration ?? Math.max(0, ...trackDurations);
  const traks = spec.tracks.map((track, t) =>
    trak(track, t + 1, spec.movieDuration ?? trackDurations[t]!, chunkOffsets[t]!),
  );
  const title = spec.title === undefined ? undefined : Buffer.from(spec.title, 'utf8');
  const udta = title
    ? [box('udta', box('\u00a9nam', uint16(title.length), uint16(LANGUAGE_UND), title))]
    : [];
  return box(
    'moov',
    movieHeader(movieTimescale, duration, spec.tracks.length + 1),
    ...traks,
    ...extra,
    ...udta,
  );
}

function ftypBox(brand: string): Buffer {
  const compatible = brand === 'qt  ' ? ['qt  '] : [brand, 'iso2', 'avc1', 'mp41'];
  return box('ftyp', ascii(brand), uint32(brand === 'qt  ' ? 0x20050300 : 0x200), ...compatible.map(ascii));
}

function movieHeader(timescale: number, duration: number, nextTrackId: number): Buffer {
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
    uint32(nextTrackId),
  );
}

function trak(track: TrackSpec, id: number, movieDuration: number, chunkOffsets: number[]): Buffer {
  const video = track.handler === 'vide';
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    uint32(0),
    uint32(0),
    uint32(id),
    uint32(0),
    uint32(movieDuration),
    Buffer.alloc(8),
    uint16(0), // layer
    uint16(0), // alternate group
    uint16(video ? 0 : 0x0100), // volume
    uint16(0),
    track.matrix ?? IDENTITY_MATRIX,
    uint32((video ? (track.width ?? 0) : 0) * 0x10000),
    uint32((video ? (track.height ?? 0) : 0) * 0x10000),
  );
  const edts =
    track.editMediaTime === undefined
      ? []
      : [
          box(
            'edts',
            fullBox(
              'elst',
              0,
              0,
              uint32(1),
              uint32(movieDuration),
              uint32(track.editMediaTime),
              uint32(0x10000),
            ),
          ),
        ];
  const mdhd = fullBox(
    'mdhd',
    0,
    0,
    uint32(0),
    uint32(0),
    uint32(track.timescale),
    uint32(mediaDurationOf(track)),
    uint16(LANGUAGE_UND),
    uint16(0),
  );
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    uint32(0),
    ascii(track.handler),
    Buffer.alloc(12),
    ascii(video ? 'VideoHandler\0' : 'SoundHandler\0'),
  );
  const mediaHeader = video
    ? fullBox('vmhd', 0, 1, Buffer.alloc(8)) // graphics mode copy, opcolor 0
    : fullBox('smhd', 0, 0, Buffer.alloc(4)); // balance 0
  const dinf = box('dinf', fullBox('dref', 0, 0, uint32(1), fullBox('url ', 0, 1))); // 1: in this file
  const minf = box('minf', mediaHeader, dinf, sampleTable(track, chunkOffsets));
  return box('trak', tkhd, ...edts, box('mdia', mdhd, hdlr, minf));
}

/** Run-length tables (stts, ctts): equal neighbours share an entry. */
function runs(values: number[]): Buffer[] {
  const entries: [number, number][] = [];
  for (const value of values) {
    const last = entries.at(-1);
    if (last && last[1] === value) last[0]++;
    else entries.push([1, value]);
  }
  return [uint32(entries.length), ...entries.flat().map(uint32)];
}

function sampleTable(track: TrackSpec, chunkOffsets: number[]): Buffer {
  const { samples } = track;
  const perChunk = chunked(samples, track.chunkSamples).map((chunk) => chunk.length);
  // stsc: a run of chunks with the same sample count is one entry.
  const stsc = perChunk.flatMap((count, i) =>
    i === 0 || perChunk[i - 1] !== count ? [[i + 1, count, 1]] : [],
  );
  const sizes = samples.map((sample) => sample.length);
  const sameSize = sizes.length > 0 && sizes.every((size) => size === sizes[0]);
  const large = chunkOffsets.some((offset) => offset > 0xffffffff);
  return box(
    'stbl',
    fullBox('stsd', 0, 0, uint32(1), track.sampleEntry),
    fullBox('stts', 0, 0, ...runs(durationsOf(track))),
    ...(track.compositionOffsets ? [fullBox('ctts', 0, 0, ...runs(track.compositionOffsets))] : []),
    ...(track.syncSamples
      ? [fullBox('stss', 0, 0, uint32(track.syncSamples.length), ...track.syncSamples.map(uint32))]
      : []),
    fullBox('stsc', 0, 0, uint32(stsc.length), ...stsc.flat().map(uint32)),
    sameSize
      ? fullBox('stsz', 0, 0, uint32(sizes[0]!), uint32(sizes.length))
      : fullBox('stsz', 0, 0, uint32(0), uint32(sizes.length), ...sizes.map(uint32)),
    large
      ? fullBox('co64', 0, 0, uint32(chunkOffsets.length), ...chunkOffsets.map(uint64))
      : fullBox('stco', 0, 0, uint32(chunkOffsets.length), ...chunkOffsets.map(uint32)),
  );
}

/** ftyp, moov (with mvex and empty sample tables), then a moof and mdat for each chunk. */
function writeFragmented(spec: MovieSpec): Mp4Layout {
  const ftyp = ftypBox(spec.brand ?? 'iso6');
  const empty = spec.tracks.map((track) => ({
    ...track,
    samples: [],
    durations: [],
    syncSamples: undefined,
  }));
  const mvex = box(
    'mvex',
    ...spec.tracks.map((_, t) =>
      fullBox('trex', 0, 0, uint32(t + 1), uint32(1), uint32(0), uint32(0), uint32(0)),
    ),
  );
  const moov = movie(
    { ...spec, tracks: empty, movieDuration: 0 },
    spec.tracks.map(() => []),
    [mvex],
  );
  const fragments: Buffer[] = [];
  let sequence = 1;
  spec.tracks.forEach((track, t) => {
    const durations = durationsOf(track);
    let decodeTime = 0;
    chunked(track.samples, track.chunkSamples).forEach((samples, k) => {
      const first = k * (track.chunkSamples ?? track.samples.length);
      const entries = samples.map((sample, i) => {
        const sync = !track.syncSamples || track.syncSamples.includes(first + i + 1);
        return [durations[first + i]!, sample.length, sync ? 0x02000000 : 0x00010000];
      });
      const trun = (dataOffset: number) =>
        fullBox(
          'trun',
          0,
          0x000701,
          uint32(samples.length),
          uint32(dataOffset),
          ...entries.flat().map(uint32),
        );
      const traf = (dataOffset: number) =>
        box(
          'traf',
          fullBox('tfhd', 0, 0x020000, uint32(t + 1)), // default-base-is-moof
          fullBox('tfdt', 0, 0, uint32(decodeTime)),
          trun(dataOffset),
        );
      const moofOf = (dataOffset: number) =>
        box('moof', fullBox('mfhd', 0, 0, uint32(sequence)), traf(dataOffset));
      const moofSize = moofOf(0).length;
      fragments.push(moofOf(moofSize + 8), box('mdat', ...samples));
      decodeTime += entries.reduce((sum, entry) => sum + entry[0]!, 0);
      sequence++;
    });
  });
  return { bytes: Buffer.concat([ftyp, moov, ...fragments]), moovOffset: ftyp.length, moovSize: moov.length };
}

// ---- Sample entries

/**
 * An avc1 sample entry. Without parameter sets, the avcC is just enough for a parser to name the
 * codec (avc1.42c01e); with them, a decoder can play the samples.
 */
export function avc1Entry(
  width: number,
  height: number,
  parameterSets?: { sps: Buffer; pps: Buffer },
  type = 'avc1',
): Buffer {
  const avcC = parameterSets
    ? box(
        'avcC',
        // version, profile, compatibility, level, 4-byte NAL lengths, 1 SPS
        Buffer.from([1, parameterSets.sps[1]!, parameterSets.sps[2]!, parameterSets.sps[3]!, 0xff, 0xe1]),
        uint16(parameterSets.sps.length),
        parameterSets.sps,
        Buffer.from([1]), // 1 PPS
        uint16(parameterSets.pps.length),
        parameterSets.pps,
      )
    : box('avcC', Buffer.from([1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0x00]));
  return box(
    type,
    Buffer.alloc(6), // reserved
    uint16(1), // data reference index
    Buffer.alloc(16), // pre_defined, reserved
    uint16(width),
    uint16(height),
    uint32(0x00480000), // 72 dpi
    uint32(0x00480000),
    uint32(0), // reserved
    uint16(1), // frames per sample
    Buffer.alloc(32), // compressor name (none)
    uint16(0x0018), // depth: colour
    uint16(0xffff), // pre_defined -1
    avcC,
  );
}

export interface AacConfig {
  sampleRate: number;
  channels: number;
  /** The AudioSpecificConfig (esds's decoder specific info). */
  audioSpecificConfig: Buffer;
  maxBitrate: number;
  averageBitrate: number;
}

/** An mp4a sample entry for AAC; without a config, an esds-less entry only a parser will read. */
export function mp4aEntry(aac?: AacConfig): Buffer {
  const descriptor = (tag: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([tag, body.length]), body]); // every body here is < 128 bytes
  };
  const esds = aac
    ? [
        fullBox(
          'esds',
          0,
          0,
          descriptor(
            0x03,
            uint16(0),
            Buffer.from([0]),
            descriptor(
              0x04,
              Buffer.from([0x40, 0x15]), // MPEG-4 audio; audio stream
              Buffer.from([0, 0x18, 0]), // buffer size 6144
              uint32(aac.maxBitrate),
              uint32(aac.averageBitrate),
              descriptor(0x05, aac.audioSpecificConfig),
            ),
            descriptor(0x06, Buffer.from([2])),
          ),
        ),
      ]
    : [];
  return box(
    'mp4a',
    Buffer.alloc(6), // reserved
    uint16(1), // data reference index
    Buffer.alloc(8), // reserved
    uint16(aac?.channels ?? 2),
    uint16(16), // sample size
    uint32(0), // pre_defined, reserved
    uint32((aac?.sampleRate ?? 44100) * 0x10000),
    ...esds,
  );
}

// ---- Movies of zeros, for the checks that read only the container

export interface Mp4Spec {
  /** The movie's duration (mvhd, tkhd and mdhd agree). Default 5. */
  seconds?: number;
  /** The video track's size (tkhd and the sample entry). Default 1280×720. */
  width?: number;
  height?: number;
  brand?: string;
  ftyp?: boolean;
  layout?: 'moov-first' | 'moov-last';
  /** Bytes of sample data in mdat. Default 4096. */
  mdatBytes?: number;
  largeMdat?: boolean;
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

export function makeMp4(spec: Mp4Spec = {}): Buffer {
  return layoutMp4(spec).bytes;
}

/** One track of evenly spaced, equal, all-zero samples filling mdat, in one chunk. */
export function layoutMp4(spec: Mp4Spec = {}): Mp4Layout {
  const timescale = spec.timescale ?? 1000;
  const seconds = spec.seconds ?? 5;
  const duration = Math.round(seconds * timescale);
  const mdatBytes = spec.mdatBytes ?? 4096;
  const count = Math.max(1, Math.round(seconds * (spec.rate ?? 2)));
  const size = Math.max(1, Math.floor(mdatBytes / count));
  const video = (spec.track ?? 'video') === 'video';
  const width = spec.width ?? 1280;
  const height = spec.height ?? 720;
  return writeMovie({
    brand: spec.brand,
    ftyp: spec.ftyp,
    layout: spec.layout,
    largeMdat: spec.largeMdat,
    freeBytes: spec.freeBytes,
    movieTimescale: timescale,
    movieDuration: duration,
    trailingBytes: mdatBytes - size * count,
    tracks: [
      {
        handler: video ? 'vide' : 'soun',
        timescale,
        sampleEntry: video ? avc1Entry(width, height) : mp4aEntry(),
        samples: Array.from({ length: count }, () => Buffer.alloc(size)),
        durations: Math.max(1, Math.floor(duration / count)),
        mediaDuration: duration,
        width,
        height,
        matrix: spec.rotated ? QUARTER_TURN : undefined,
      },
    ],
  });
}

// ---- Other formats

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

function uint32le(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function pad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([bytes, Buffer.alloc(length - bytes.length)]);
}
