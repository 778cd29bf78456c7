/**
 * The generated audio as it goes into the muxed file: the packets of an encoded track (the AAC of
 * Kling's result video, or the mp3), copied as they are, cut where the picture ends and padded with
 * frames of silence up to it.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { EncodedPacket, EncodedPacketSink, Input, InputAudioTrack } from 'mediabunny';
import { formatBytes } from '../runtime.ts';
import { readLayout } from './layout.ts';
import type { Mediabunny } from './library.ts';
import { withTurns } from './packets.ts';
import { MediaProblem, named, reasonOf } from './problems.ts';
import { silentAacFrame, silentMp3Frame } from './silence.ts';

export type SoundtrackCodec = 'aac' | 'mp3';

type AudioConfig = NonNullable<Awaited<ReturnType<InputAudioTrack['getDecoderConfig']>>>;

export interface Soundtrack {
  file: string;
  codec: SoundtrackCodec;
  track: InputAudioTrack;
  decoderConfig: AudioConfig;
  /** Where the audio's packets end, in seconds. */
  endSeconds: number;
  packetCount: number;
  /** One packet's duration, in seconds: the step of the padding. */
  frameSeconds: number;
  /** A frame of silence in the same codec and configuration; undefined where none can be made. */
  silence: Uint8Array | undefined;
}

export interface SoundtrackLimits {
  maxTopLevelBoxes: number;
  maxMoovBytes: number;
  maxTrackPackets: number;
}

/** The first of `files` that holds AAC or MP3 audio, else a problem listing why each could not serve. */
export async function openSoundtrack(
  library: Mediabunny,
  files: readonly string[],
  inputs: Input[],
  limits: SoundtrackLimits,
  signal?: AbortSignal,
): Promise<Soundtrack> {
  const refusals: string[] = [];
  for (const file of files) {
    try {
      const input = new library.Input({
        source: new library.FilePathSource(file, { handleUnhandledError: () => {} }),
        formats: library.ALL_FORMATS,
      });
      inputs.push(input);
      const opened = await soundtrackOf(library, file, input, limits, signal);
      if ('refused' in opened) refusals.push(`${named(basename(file))}: ${opened.refused}`);
      else return opened;
    } catch (error) {
      if (signal?.aborted) throw error;
      refusals.push(`${named(basename(file))}: it could not be read (${reasonOf(error)})`);
    }
  }
  throw new MediaProblem(
    'no-audio',
    files[0] ?? '',
    files.length === 0
      ? 'no generated audio was given to put into the video'
      : `none of the generated audio can go into the video without re-encoding (${refusals.join('; ')}): ` +
          'the task result should carry AAC (its video) or MP3 audio',
  );
}

async function soundtrackOf(
  library: Mediabunny,
  file: string,
  input: Input,
  limits: SoundtrackLimits,
  signal: AbortSignal | undefined,
): Promise<Soundtrack | { refused: string }> {
  // The API's video is read no more trustingly than a source: the reader holds its moov whole.
  if ((await input.getFormat()) instanceof library.IsobmffInputFormat) {
    const refused = await layoutRefusal(file, limits);
    if (refused) return { refused };
  }
  const track = await input.getPrimaryAudioTrack();
  if (!track) return { refused: 'it has no audio track' };
  const codec = await track.getCodec();
  if (codec !== 'aac' && codec !== 'mp3')
    return { refused: `its audio is ${codec ?? 'in a codec not known here'}` };
  const decoderConfig = await track.getDecoderConfig();
  if (!decoderConfig) return { refused: 'its audio has no decoder configuration' };
  const sink = new library.EncodedPacketSink(track);
  let endSeconds = 0;
  let packetCount = 0;
  let frameSeconds = 0;
  for await (const packet of withTurns(sink.packets(undefined, undefined, { metadataOnly: true }), signal)) {
    if (++packetCount > limits.maxTrackPackets)
      return { refused: `its audio has more than ${limits.maxTrackPackets} frames` };
    endSeconds = Math.max(endSeconds, packet.timestamp + packet.duration);
    frameSeconds = Math.max(frameSeconds, packet.duration);
  }
  if (packetCount === 0) return { refused: 'its audio track is empty' };
  const silence =
    codec === 'aac'
      ? silentAacFrame(bytesOf(decoderConfig.description))
      : silentMp3Frame((await sink.getFirstPacket())?.data ?? new Uint8Array());
  return { file, codec, track, decoderConfig, endSeconds, packetCount, frameSeconds, silence };
}

/** Why an MP4/MOV's boxes are not read at all, or undefined. */
async function layoutRefusal(file: string, limits: SoundtrackLimits): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const read = await readLayout(handle, limits.maxTopLevelBoxes);
    if (!read.ok) return `it cannot be read: ${read.reason}`;
    if (read.layout.moovBytes > limits.maxMoovBytes)
      return `its moov box is ${formatBytes(read.layout.moovBytes)}, more than the ${formatBytes(limits.maxMoovBytes)} the muxer reads`;
    return undefined;
  } finally {
    await handle.close();
  }
}

/** At most this many packets come out of `packetsUntil` for a picture ending at `endSeconds`. */
export function maximumPackets(soundtrack: Soundtrack, endSeconds: number): number {
  return (
    soundtrack.packetCount +
    Math.ceil(Math.max(0, endSeconds - soundtrack.endSeconds) / soundtrack.frameSeconds) +
    1
  );
}

/**
 * The packets, in order, up to `endSeconds`: the one that crosses it shortened (players stop at the
 * track's end), then silence to fill a gap of at least one sample.
 */
export async function* packetsUntil(
  library: Mediabunny,
  soundtrack: Soundtrack,
  endSeconds: number,
): AsyncGenerator<EncodedPacket> {
  const sink: EncodedPacketSink = new library.EncodedPacketSink(soundtrack.track);
  const tick = 1 / soundtrack.decoderConfig.sampleRate;
  let reached = 0; // where silence would start if no packet came before the end
  for await (const packet of sink.packets()) {
    if (packet.timestamp >= endSeconds - tick / 2) break;
    const end = packet.timestamp + packet.duration;
    yield end > endSeconds ? packet.clone({ duration: endSeconds - packet.timestamp }) : packet;
    reached = Math.min(end, endSeconds);
  }
  if (!soundtrack.silence) return;
  for (let at = reached; at < endSeconds - tick / 2; at += soundtrack.frameSeconds)
    yield new library.EncodedPacket(
      soundtrack.silence,
      'key',
      at,
      Math.min(soundtrack.frameSeconds, endSeconds - at),
    );
}

/** The decoder description (AAC's AudioSpecificConfig) as bytes, whichever buffer type holds it. */
function bytesOf(description: unknown): Uint8Array {
  if (ArrayBuffer.isView(description))
    return new Uint8Array(description.buffer, description.byteOffset, description.byteLength);
  if (description instanceof ArrayBuffer) return new Uint8Array(description);
  return new Uint8Array();
}
