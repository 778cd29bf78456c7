/**
 * Fixture media the emulator serves: small, valid files, deterministic per task id, so a test can
 * compare what the action downloaded with what was served byte for byte.
 */

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
const MP3_FRAME_HEADER = [0xff, 0xfb, 0x94, 0xc4];

export function buildTaskMedia(taskId: string, seconds: number): TaskMedia {
  return { mp3: buildMp3(taskId, seconds), wav: buildWav(taskId, seconds), mp4: buildMp4(taskId, seconds) };
}

/** RIFF/WAVE, PCM 16-bit mono at 8 kHz: a sine whose pitch depends on the task id. */
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
  const hertz = toneHertz(taskId);
  for (let i = 0; i < samples; i++) {
    const value = Math.round(0.25 * 32767 * Math.sin((2 * Math.PI * hertz * i) / WAV_SAMPLE_RATE));
    wav.writeInt16LE(value, 44 + i * 2);
  }
  return wav;
}

/** An ID3v2.3 tag naming the task, then silent MPEG-1 Layer III frames covering at least `seconds`. */
export function buildMp3(taskId: string, seconds: number): Buffer {
  const frames = mp3FrameCount(seconds);
  // An all-zero side info (part2_3_length 0, big_values 0) and main data decode as silence.
  const frame = Buffer.alloc(MP3_FRAME_BYTES);
  frame.set(MP3_FRAME_HEADER);
  return Buffer.concat([id3v2Tag(`Kling emulator ${taskId}`), ...Array<Buffer>(frames).fill(frame)]);
}

/** Seconds of audio in the MP3 that buildMp3 makes: whole frames, so slightly more than asked. */
export function mp3DurationSeconds(seconds: number): number {
  return (mp3FrameCount(seconds) * MP3_SAMPLES_PER_FRAME) / MP3_SAMPLE_RATE;
}

function mp3FrameCount(seconds: number): number {
  return Math.max(1, Math.ceil((seconds * MP3_SAMPLE_RATE) / MP3_SAMPLES_PER_FRAME));
}

/** `ftyp`, `moov` (just an `mvhd` with the duration) and an `mdat` naming the task: well formed, not playable. */
export function buildMp4(taskId: string, seconds: number): Buffer {
  const ftyp = box('ftyp', Buffer.concat([ascii('isom'), uint32(0x200), ascii('isomiso2mp41')]));
  const moov = box('moov', box('mvhd', movieHeader(Math.round(seconds * 1000))));
  const mdat = box('mdat', ascii(`Kling emulator video for task ${taskId}`));
  return Buffer.concat([ftyp, moov, mdat]);
}

function movieHeader(durationMs: number): Buffer {
  const identityMatrix = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
  return Buffer.concat([
    uint32(0), // version 0, no flags
    uint32(0), // creation time
    uint32(0), // modification time
    uint32(1000), // timescale: milliseconds
    uint32(durationMs),
    uint32(0x10000), // rate 1.0
    Buffer.from([0x01, 0x00]), // volume 1.0
    Buffer.alloc(10), // reserved
    ...identityMatrix.map(uint32),
    Buffer.alloc(24), // pre_defined
    uint32(1), // next track id
  ]);
}

function box(type: string, payload: Buffer): Buffer {
  return Buffer.concat([uint32(8 + payload.length), ascii(type), payload]);
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

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

function ascii(text: string): Buffer {
  return Buffer.from(text, 'ascii');
}

/** 300–1490 Hz in 10 Hz steps, from an FNV-1a hash of the task id. */
function toneHertz(taskId: string): number {
  let hash = 0x811c9dc5;
  for (const char of taskId) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return 300 + (hash % 120) * 10;
}
