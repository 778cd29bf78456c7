/**
 * Media the emulator serves: real, playable, audible files, deterministic per task id, so a test can
 * compare what the action downloaded with what was served byte for byte, and a person running the
 * demo can play what it downloaded.
 *
 * - WAV: made here, PCM 16-bit mono at 8 kHz: a C major arpeggio transposed by the task id.
 * - MP3 and MP4: built here from loops in ./fixtures/ (made by ./fixtures/make.sh with ffmpeg, which
 *   the tests do not need), repeated for as long as asked. The MP3 is an ID3 tag naming the task,
 *   then MPEG-1 Layer III frames; the MP4 is ftyp, moov (an H.264 video track, an AAC audio track and
 *   a title naming the task), mdat.
 */
import { readFileSync } from 'node:fs';
import { ascii, uint32 } from '../support/iso-box.ts';
import {
  avc1Entry,
  mp4aEntry,
  type AacConfig,
  writeMovie,
  type MovieSpec,
  type TrackSpec,
} from '../support/mp4.ts';

export interface TaskMedia {
  mp3: Buffer;
  wav: Buffer;
  mp4: Buffer;
}

export const WAV_SAMPLE_RATE = 8000;

// MPEG-1 Layer III at 128 kbps and 48 kHz: every frame is exactly 144 * 128000 / 48000 = 384 bytes,
// so no padding bit is ever needed, and holds 1152 samples (24 ms).
const MP3_SAMPLE_RATE = 48_000;
const MP3_SAMPLES_PER_FRAME = 1152;
const MP3_FRAME_BYTES = 384;
// Sync, MPEG-1, Layer III, no CRC | 128 kbps, 48 kHz, no padding | mono, not copyrighted, original.
const MP3_FRAME_HEADER = 0xfffb94c4;

// The loops in ./fixtures/ last 0.96 s: 40 MP3 frames, 45 AAC frames of 1024 samples at 48 kHz, and
// 24 video frames at 25 fps (one closed GOP).
const LOOP_MP3_FRAMES = 40;
const AAC_SAMPLES_PER_FRAME = 1024;
const LOOP_AAC_FRAMES = 45;
const VIDEO_FPS = 25;
const LOOP_VIDEO_FRAMES = 24;
const VIDEO_TIMESCALE = 12_800; // 512 ticks a frame, as ffmpeg writes 25 fps
const VIDEO_WIDTH = 192;
const VIDEO_HEIGHT = 108;

export function buildTaskMedia(taskId: string, seconds: number): TaskMedia {
  return { mp3: buildMp3(taskId, seconds), wav: buildWav(taskId, seconds), mp4: buildMp4(taskId, seconds) };
}

// ---- WAV ----

/** The arpeggio's notes, in semitones above C5 (523.25 Hz); each lasts 0.24 s. */
const ARPEGGIO = [0, 4, 7, 12];

/** RIFF/WAVE, PCM 16-bit mono at 8 kHz: the arpeggio, transposed -5..+6 semitones by the task id. */
export function buildWav(taskId: string, seconds: number): Buffer {
  const samples = Math.round(seconds * WAV_SAMPLE_RATE);
  const dataBytes = samples * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  wav.writeUInt32LE(WAV_SAMPLE_RATE * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  const transpose = (taskHash(taskId) % 12) - 5;
  const noteSamples = 0.24 * WAV_SAMPLE_RATE;
  for (let i = 0; i < samples; i++) {
    const semitones = ARPEGGIO[Math.floor(i / noteSamples) % ARPEGGIO.length]! + transpose;
    const hertz = 523.2511 * 2 ** (semitones / 12);
    const t = (i % noteSamples) / WAV_SAMPLE_RATE; // seconds into the note
    // 5 ms attack, exponential decay, 20 ms release: no clicks between notes.
    const envelope = Math.min(1, t / 0.005) * Math.exp(-7 * t) * Math.min(1, (0.24 - t) / 0.02);
    const tone = 0.8 * Math.sin(2 * Math.PI * hertz * t) + 0.2 * Math.sin(4 * Math.PI * hertz * t);
    wav.writeInt16LE(Math.round(0.6 * 32767 * envelope * tone), 44 + i * 2);
  }
  return wav;
}

// ---- MP3 ----

/** An ID3v2.3 tag naming the task, then the MP3 loop's frames, repeated to cover at least `seconds`. */
export function buildMp3(taskId: string, seconds: number): Buffer {
  const loop = fixtures().mp3Frames;
  const frames = Array.from({ length: mp3FrameCount(seconds) }, (_, i) => loop[i % loop.length]!);
  return Buffer.concat([id3v2Tag(`Kling emulator ${taskId}`), ...frames]);
}

/** Seconds of audio in the MP3 that buildMp3 makes: whole frames, so slightly more than asked. */
export function mp3DurationSeconds(seconds: number): number {
  return (mp3FrameCount(seconds) * MP3_SAMPLES_PER_FRAME) / MP3_SAMPLE_RATE;
}

function mp3FrameCount(seconds: number): number {
  return Math.max(1, Math.ceil((seconds * MP3_SAMPLE_RATE) / MP3_SAMPLES_PER_FRAME));
}

function id3v2Tag(title: string): Buffer {
  const text = Buffer.concat([Buffer.from([0]), Buffer.from(title, 'latin1')]); // 0: ISO-8859-1
  const frame = Buffer.concat([ascii('TIT2'), uint32(text.length), Buffer.alloc(2), text]);
  const header = Buffer.concat([ascii('ID3'), Buffer.from([3, 0, 0]), syncsafe(frame.length)]);
  return Buffer.concat([header, frame]);
}

/** ID3v2 tag sizes use 7 bits per byte so that no byte of the size looks like an MPEG sync. */
function syncsafe(value: number): Buffer {
  return Buffer.from([(value >> 21) & 0x7f, (value >> 14) & 0x7f, (value >> 7) & 0x7f, value & 0x7f]);
}

// ---- MP4 ----

/**
 * ftyp, moov, mdat with moov first (plays while downloading): an H.264 192x108 25 fps track and an
 * AAC-LC 48 kHz mono track, each at least `seconds` long, interleaved in 0.96 s chunks, and a
 * `©nam` title naming the task.
 */
export function buildMp4(taskId: string, seconds: number): Buffer {
  return buildVideo({ seconds, audio: 'music', title: `Kling emulator video for task ${taskId}` });
}

export interface VideoSpec {
  /** At least this long: whole frames of 40 ms. */
  seconds: number;
  /** Its sound: the arpeggio (as Kling's result video), digital silence, or no audio track. Default none. */
  audio?: 'music' | 'silence' | 'none';
  /** `qt  ` makes a MOV. Default `isom`. */
  brand?: string;
  layout?: 'moov-first' | 'moov-last';
  /** tkhd's matrix of the video track (QUARTER_TURN for portrait). */
  matrix?: Buffer;
  title?: string;
  /**
   * Each video frame grows to about this many bytes with an H.264 filler-data NAL unit, which
   * decoders skip: a large file that still plays.
   */
  frameBytes?: number;
}

/** A playable video made of the fixture loops: the emulator's result video, and the muxer's sources. */
export function buildVideo(spec: VideoSpec): Buffer {
  return writeMovie(videoMovie(spec)).bytes;
}

export function videoMovie(spec: VideoSpec): MovieSpec {
  const { aacFrames, videoFrames, parameterSets } = fixtures();
  const frameCount = Math.max(1, Math.ceil(spec.seconds * VIDEO_FPS));
  const video = Array.from({ length: frameCount }, (_, i) =>
    withFiller(videoFrames[i % videoFrames.length]!, spec.frameBytes),
  );
  const videoTrack: TrackSpec = {
    handler: 'vide',
    timescale: VIDEO_TIMESCALE,
    durations: VIDEO_TIMESCALE / VIDEO_FPS,
    sampleEntry: avc1Entry(VIDEO_WIDTH, VIDEO_HEIGHT, parameterSets),
    samples: video,
    chunkSamples: LOOP_VIDEO_FRAMES,
    syncSamples: video.flatMap((_, i) => (i % LOOP_VIDEO_FRAMES === 0 ? [i + 1] : [])),
    width: VIDEO_WIDTH,
    height: VIDEO_HEIGHT,
    matrix: spec.matrix,
  };
  const tracks = [videoTrack];
  if (spec.audio === 'music' || spec.audio === 'silence') {
    const count = Math.max(1, Math.ceil((spec.seconds * aacFrames.sampleRate) / AAC_SAMPLES_PER_FRAME));
    tracks.push({
      handler: 'soun',
      timescale: aacFrames.sampleRate,
      durations: AAC_SAMPLES_PER_FRAME,
      sampleEntry: mp4aEntry(aacFrames),
      samples: Array.from({ length: count }, (_, i) =>
        spec.audio === 'music' ? aacFrames.frames[i % aacFrames.frames.length]! : SILENT_AAC_MONO,
      ),
      chunkSamples: LOOP_AAC_FRAMES,
    });
  }
  return { tracks, brand: spec.brand, layout: spec.layout, title: spec.title };
}

/**
 * One AAC-LC frame of digital silence, mono: a single channel element with max_sfb 1 coded by the
 * zero codebook (global_gain 100), then END, byte-aligned.
 */
export const SILENT_AAC_MONO = Buffer.from([0x00, 0xc8, 0x00, 0x80, 0x23, 0x80]);

/** The frame, then a filler-data NAL unit (type 12: 0xFF bytes and the stop bit) up to `bytes`. */
function withFiller(frame: Buffer, bytes: number | undefined): Buffer {
  const fill = (bytes ?? 0) - frame.length - 6; // its length prefix, header and stop byte
  if (fill <= 0) return frame;
  const nal = Buffer.concat([Buffer.from([0x0c]), Buffer.alloc(fill, 0xff), Buffer.from([0x80])]);
  return Buffer.concat([frame, uint32(nal.length), nal]);
}

// ---- The fixture loops ----

interface AacFrames extends AacConfig {
  /** Raw AAC frames, ADTS headers removed. */
  frames: Buffer[];
  sampleRate: number;
  channels: number;
  audioSpecificConfig: Buffer;
  maxBitrate: number;
  averageBitrate: number;
}

interface Fixtures {
  mp3Frames: Buffer[];
  aacFrames: AacFrames;
  /** Each frame as an MP4 sample: its NAL units, each after its 4-byte length. */
  videoFrames: Buffer[];
  parameterSets: { sps: Buffer; pps: Buffer };
}

let loaded: Fixtures | undefined;

function fixtures(): Fixtures {
  if (!loaded) {
    const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
    const video = splitAnnexB(read('loop.h264'));
    loaded = {
      mp3Frames: splitMp3(read('loop.mp3')),
      aacFrames: splitAdts(read('loop.aac')),
      videoFrames: video.frames,
      parameterSets: video.parameterSets,
    };
  }
  return loaded;
}

function splitMp3(loop: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < loop.length; offset += MP3_FRAME_BYTES) {
    if (loop.readUInt32BE(offset) !== MP3_FRAME_HEADER)
      throw new Error(`fixtures/loop.mp3: no 128 kbps 48 kHz mono frame header at byte ${offset}`);
    frames.push(loop.subarray(offset, offset + MP3_FRAME_BYTES));
  }
  if (frames.length !== LOOP_MP3_FRAMES || loop.length % MP3_FRAME_BYTES !== 0)
    throw new Error(`fixtures/loop.mp3: expected ${LOOP_MP3_FRAMES} frames of ${MP3_FRAME_BYTES} bytes`);
  return frames;
}

const ADTS_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];

function splitAdts(stream: Buffer): AacFrames {
  const frames: Buffer[] = [];
  let audioSpecificConfig: Buffer | undefined;
  let sampleRate = 0;
  let channels = 0;
  for (let offset = 0; offset < stream.length;) {
    if (stream[offset] !== 0xff || (stream[offset + 1]! & 0xf6) !== 0xf0)
      throw new Error(`fixtures/loop.aac: no ADTS sync at byte ${offset}`);
    const headerBytes = stream[offset + 1]! & 1 ? 7 : 9; // protection_absent, else a CRC follows
    const profile = stream[offset + 2]! >> 6; // audio object type - 1
    const rateIndex = (stream[offset + 2]! >> 2) & 0xf;
    const channelConfig = ((stream[offset + 2]! & 1) << 2) | (stream[offset + 3]! >> 6);
    const length =
      ((stream[offset + 3]! & 3) << 11) | (stream[offset + 4]! << 3) | (stream[offset + 5]! >> 5);
    if (!audioSpecificConfig) {
      sampleRate = ADTS_SAMPLE_RATES[rateIndex]!;
      channels = channelConfig;
      // 5 bits object type, 4 bits sampling frequency index, 4 bits channel configuration, 3 bits 0.
      const config = ((profile + 1) << 11) | (rateIndex << 7) | (channelConfig << 3);
      audioSpecificConfig = Buffer.from([config >> 8, config & 0xff]);
    }
    frames.push(stream.subarray(offset + headerBytes, offset + length));
    offset += length;
  }
  if (frames.length !== LOOP_AAC_FRAMES || sampleRate !== 48_000)
    throw new Error(`fixtures/loop.aac: expected ${LOOP_AAC_FRAMES} frames at 48 kHz`);
  const bitsPerFrame = frames.map((frame) => frame.length * 8);
  const framesPerSecond = sampleRate / AAC_SAMPLES_PER_FRAME;
  return {
    frames,
    sampleRate,
    channels,
    audioSpecificConfig: audioSpecificConfig!,
    maxBitrate: Math.round(Math.max(...bitsPerFrame) * framesPerSecond),
    averageBitrate: Math.round((bitsPerFrame.reduce((a, b) => a + b, 0) / frames.length) * framesPerSecond),
  };
}

/** Annex B (start codes) to MP4 samples (length prefixes); SPS and PPS go to the avcC box instead. */
function splitAnnexB(stream: Buffer): { frames: Buffer[]; parameterSets: { sps: Buffer; pps: Buffer } } {
  const starts: { at: number; nal: number }[] = [];
  for (let i = 0; i + 2 < stream.length; i++)
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push({ at: i, nal: i + 3 });
  const units = starts.map(({ nal }, k) => {
    // A 4-byte start code's leading zero belongs to the start code, not to the unit before it.
    let end = k + 1 < starts.length ? starts[k + 1]!.at : stream.length;
    while (end > nal && stream[end - 1] === 0) end--;
    return stream.subarray(nal, end);
  });
  let sps: Buffer | undefined;
  let pps: Buffer | undefined;
  const frames: Buffer[] = [];
  for (const unit of units) {
    const type = unit[0]! & 0x1f;
    if (type === 7) sps = unit;
    else if (type === 8) pps = unit;
    else if (type === 1 || type === 5)
      frames.push(Buffer.concat([uint32(unit.length), unit])); // one slice a frame
    else throw new Error(`fixtures/loop.h264: unexpected NAL unit type ${type}`);
  }
  if (!sps || !pps || frames.length !== LOOP_VIDEO_FRAMES || (frames[0]![4]! & 0x1f) !== 5)
    throw new Error(`fixtures/loop.h264: expected an SPS, a PPS and ${LOOP_VIDEO_FRAMES} frames, IDR first`);
  return { frames, parameterSets: { sps, pps } };
}

// ---- Bytes ----

/** FNV-1a hash of the task id. */
function taskHash(taskId: string): number {
  let hash = 0x811c9dc5;
  for (const char of taskId) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}
