/**
 * The finished video: the source's picture with the generated soundtrack, no ffmpeg. The source's
 * container is kept (MP4 stays MP4, MOV stays MOV); every video packet is copied as it is (bytes,
 * presentation times, key frames, codec configuration, matrix) into a file written with moov before
 * mdat (faststart); the one audio track is the generated audio, lasting as long as the picture.
 * Streamed from disk to disk: memory does not grow with the file.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { EncodedPacket, Input, InputVideoTrack } from 'mediabunny';
import { formatBytes } from '../runtime.ts';
import { readLayout } from './layout.ts';
import { loadMediabunny, type Mediabunny } from './library.ts';
import { withTurns } from './packets.ts';
import { MediaProblem, named, reasonOf } from './problems.ts';
import {
  maximumPackets,
  openSoundtrack,
  packetsUntil,
  type Soundtrack,
  type SoundtrackCodec,
} from './soundtrack.ts';

export interface MuxLimits {
  /** The generated audio may end this long after the picture (codec frames, an encoder's rounding); longer is the wrong source. */
  maxAudioOverrunSeconds: number;
  /** A file with more top-level boxes than this is refused before it is read. */
  maxTopLevelBoxes: number;
  /** A file whose moov is larger is refused before it is read: the reader holds moov whole. */
  maxMoovBytes: number;
  /** A track with more packets is refused: a sample table a few bytes long may declare billions. */
  maxTrackPackets: number;
  /** Bytes of the source the reader keeps in memory. */
  readCacheBytes: number;
}

export interface MuxRequest {
  /** The source video on disk: MP4 or MOV. */
  source: string;
  /** The generated audio, best first: Kling's result video (its AAC track is copied), then the mp3. */
  audio: readonly string[];
  /**
   * Where the muxed file goes, or how to name it once the source's container is known
   * (`(c) => \`out/clip.${c}\``). Written beside it as `<out>.partial`, then renamed.
   */
  out: string | ((container: Container) => string);
  limits: MuxLimits;
  /** How messages name the source (the path as the user wrote it, a URL's file name). Default: `source`. */
  sourceLabel?: string;
  signal?: AbortSignal;
}

export type Container = 'mp4' | 'mov';

export interface MuxedFile {
  path: string;
  container: Container;
  bytes: number;
  /** Where the picture ends (and so the audio), in seconds. */
  seconds: number;
  audio: {
    /** The file it came from (one of `audio`) and its codec, copied without re-encoding. */
    from: string;
    codec: SoundtrackCodec;
    /** How much of it was cut at the end, and how much silence was added, in seconds. */
    trimmedSeconds: number;
    paddedSeconds: number;
  };
}

export async function muxSoundtrack(request: MuxRequest): Promise<MuxedFile> {
  const { signal } = request;
  signal?.throwIfAborted();
  const library = await loadMediabunny();
  const label = request.sourceLabel ?? request.source;
  const inputs: Input[] = [];
  let partial: string | undefined;
  try {
    const source = await openSource(library, request.source, label, request.limits, inputs);
    const out = typeof request.out === 'string' ? request.out : request.out(source.container);
    partial = `${out}.partial`;
    const picture = await describePicture(library, source.track, label, request.limits, signal);
    const soundtrack = await openSoundtrack(library, request.audio, inputs, request.limits, signal);
    checkLengths(soundtrack, picture.endSeconds, label, request.limits);
    signal?.throwIfAborted();
    const audioEnd = await writeMuxed(library, { source, picture, soundtrack, label, path: partial, signal });
    await rename(partial, out);
    return {
      path: out,
      container: source.container,
      bytes: (await stat(out)).size,
      seconds: picture.endSeconds,
      audio: {
        from: soundtrack.file,
        codec: soundtrack.codec,
        trimmedSeconds: Math.max(0, soundtrack.endSeconds - picture.endSeconds),
        paddedSeconds: Math.max(0, audioEnd - Math.min(soundtrack.endSeconds, picture.endSeconds)),
      },
    };
  } catch (error) {
    if (partial) await rm(partial, { force: true });
    throw signal?.aborted ? signal.reason : error;
  } finally {
    for (const input of inputs) input.dispose();
  }
}

interface Muxing {
  source: SourceVideo;
  picture: Picture;
  soundtrack: Soundtrack;
  label: string;
  path: string;
  signal: AbortSignal | undefined;
}

/** Writes the file (moov first, in space reserved for it); resolves with where the audio ends. */
async function writeMuxed(library: Mediabunny, muxing: Muxing): Promise<number> {
  const { source, picture, soundtrack, label } = muxing;
  const output = new library.Output({
    format:
      source.container === 'mov'
        ? new library.MovOutputFormat({ fastStart: 'reserve' })
        : new library.Mp4OutputFormat({ fastStart: 'reserve' }),
    // Unchunked: each interleaved chunk is written as it is finished, not gathered into 16 MiB first.
    target: new library.FilePathTarget(muxing.path, { chunked: false }),
  });
  try {
    const video = new library.EncodedVideoPacketSource(picture.codec);
    output.addVideoTrack(video, {
      // The muxer's timescale is the one this yields: the source's own, so every time stays exact.
      frameRate: picture.timescale,
      transformationMatrix: await source.track.getTransformationMatrix(),
      languageCode: source.track.languageCode,
      maximumPacketCount: picture.packetCount,
      decoderConfig: picture.decoderConfig,
    });
    const audio = new library.EncodedAudioPacketSource(soundtrack.codec);
    output.addAudioTrack(audio, {
      maximumPacketCount: maximumPackets(soundtrack, picture.endSeconds),
      decoderConfig: soundtrack.decoderConfig,
    });
    await output.start();
    const audioEnd = await copyInterleaved(
      readingFrom(new library.EncodedPacketSink(source.track).packets(), label),
      readingFrom(packetsUntil(library, soundtrack, picture.endSeconds), basename(soundtrack.file)),
      (packet) => addTo(() => video.add(packet), label),
      (packet) => audio.add(packet),
      muxing.signal,
    );
    video.close();
    audio.close();
    await output.finalize();
    return audioEnd;
  } catch (error) {
    await output.cancel().catch(() => {});
    throw error;
  }
}

interface SourceVideo {
  container: Container;
  track: InputVideoTrack;
}

async function openSource(
  library: Mediabunny,
  file: string,
  label: string,
  limits: MuxLimits,
  inputs: Input[],
): Promise<SourceVideo> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new MediaProblem('unreadable', label, `${named(label)} cannot be read (${reasonOf(error)})`, {
      cause: error,
    });
  });
  try {
    if ((await handle.stat()).isDirectory())
      throw new MediaProblem('unreadable', label, `${named(label)} is a directory, not a video file`);
    const input = new library.Input({
      source: new library.FilePathSource(file, {
        maxCacheSize: limits.readCacheBytes,
        handleUnhandledError: ignore,
      }),
      formats: library.ALL_FORMATS,
    });
    inputs.push(input);
    const format = await input.getFormat().catch(() => undefined);
    const container =
      format instanceof library.QuickTimeInputFormat
        ? 'mov'
        : format instanceof library.Mp4InputFormat
          ? 'mp4'
          : undefined;
    if (!container)
      throw new MediaProblem(
        'unsupported-container',
        label,
        `${named(label)} is ${format ? `a ${format.name} file` : 'not an MP4 or MOV file'}; ` +
          "the muxed video keeps the source's container, so the source must be MP4 or MOV: convert it first",
      );
    const read = await readLayout(handle, limits.maxTopLevelBoxes);
    if (!read.ok)
      throw new MediaProblem(
        read.truncated ? 'truncated' : 'unreadable',
        label,
        `${named(label)} cannot be read: ${read.reason}${read.truncated ? '; it is truncated: render or download it again' : ''}`,
      );
    if (read.layout.fragmented)
      throw new MediaProblem(
        'fragmented',
        label,
        `${named(label)} is a fragmented MP4 (its samples are indexed in moof boxes, as live recorders and ` +
          'streaming packagers write); write it as a regular MP4 first, e.g. ' +
          '`ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4`',
      );
    if (read.layout.moovBytes > limits.maxMoovBytes)
      throw new MediaProblem(
        'unreadable',
        label,
        `${named(label)} has a moov box (its index of samples) of ${formatBytes(read.layout.moovBytes)}, more ` +
          `than the ${formatBytes(limits.maxMoovBytes)} the muxer reads; a video of 20 s needs far less: ` +
          'write it again, e.g. `ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4`',
      );
    const track = await input.getPrimaryVideoTrack().catch((error: unknown) => {
      throw new MediaProblem('unreadable', label, `${named(label)} cannot be read (${reasonOf(error)})`, {
        cause: error,
      });
    });
    if (!track)
      throw new MediaProblem(
        'no-video',
        label,
        `${named(label)} has no video track (audio only?): give the video itself`,
      );
    return { container, track };
  } finally {
    await handle.close();
  }
}

interface Picture {
  codec: NonNullable<Awaited<ReturnType<InputVideoTrack['getCodec']>>>;
  decoderConfig: NonNullable<Awaited<ReturnType<InputVideoTrack['getDecoderConfig']>>>;
  timescale: number;
  packetCount: number;
  /** Where the last frame ends on screen, in seconds. */
  endSeconds: number;
}

const COPYABLE = new Set(['avc', 'hevc', 'av1', 'vp9', 'vp8', 'prores']);

async function describePicture(
  library: Mediabunny,
  track: InputVideoTrack,
  label: string,
  limits: MuxLimits,
  signal: AbortSignal | undefined,
): Promise<Picture> {
  const codec = await track.getCodec();
  const decoderConfig = await track.getDecoderConfig().catch(() => null);
  if (!codec || !COPYABLE.has(codec) || !decoderConfig)
    throw new MediaProblem(
      'unsupported-codec',
      label,
      `${named(label)} has its picture in ${codec ? `${codec}, in a form` : 'a codec'} that cannot be copied ` +
        'into the muxed file (H.264, HEVC, AV1, VP9 and VP8 can be, and ProRes in a MOV): ' +
        're-encode it to H.264 first',
    );
  try {
    const sink = new library.EncodedPacketSink(track);
    let packetCount = 0;
    let endSeconds = 0;
    for await (const packet of withTurns(
      sink.packets(undefined, undefined, { metadataOnly: true }),
      signal,
    )) {
      if (++packetCount > limits.maxTrackPackets)
        throw new MediaProblem(
          'unreadable',
          label,
          `${named(label)} has more than ${limits.maxTrackPackets} video frames; a video of 20 s has far ` +
            'fewer: re-encode it to H.264 first',
        );
      endSeconds = Math.max(endSeconds, packet.timestamp + packet.duration);
    }
    if (packetCount === 0)
      throw new MediaProblem(
        'no-video',
        label,
        `${named(label)} has a video track without frames: give the video itself`,
      );
    return { codec, decoderConfig, timescale: await track.getTimeResolution(), packetCount, endSeconds };
  } catch (error) {
    if (error instanceof MediaProblem || signal?.aborted) throw error;
    throw new MediaProblem('unreadable', label, `${named(label)} cannot be read (${reasonOf(error)})`, {
      cause: error,
    });
  }
}

function checkLengths(
  soundtrack: Soundtrack,
  pictureSeconds: number,
  label: string,
  limits: MuxLimits,
): void {
  const overrun = soundtrack.endSeconds - pictureSeconds;
  if (overrun > limits.maxAudioOverrunSeconds)
    throw new MediaProblem(
      'audio-longer-than-video',
      label,
      `the generated audio (${soundtrack.endSeconds.toFixed(2)} s) is longer than the picture of ${named(label)} ` +
        `(${pictureSeconds.toFixed(2)} s) by ${overrun.toFixed(2)} s: it was made for another video; ` +
        'give the source the task was created from',
    );
  // Padding goes frame by frame: frames a hostile track declares tiny would be millions.
  if (maximumPackets(soundtrack, pictureSeconds) > limits.maxTrackPackets)
    throw new MediaProblem(
      'no-audio',
      soundtrack.file,
      `the generated audio ${named(basename(soundtrack.file))} has frames of ` +
        `${(soundtrack.frameSeconds * 1000).toFixed(3)} ms: more than ${limits.maxTrackPackets} would fill ` +
        `the ${pictureSeconds.toFixed(2)} s of ${named(label)}; the task's result is damaged: create the task again`,
    );
}

/** Video and audio packets, each in decode order, merged by time so that mdat interleaves them; resolves with where the audio ends. */
async function copyInterleaved(
  video: AsyncIterator<EncodedPacket>,
  audio: AsyncIterator<EncodedPacket>,
  addVideo: (packet: EncodedPacket) => Promise<void>,
  addAudio: (packet: EncodedPacket) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<number> {
  let nextVideo = await video.next();
  let nextAudio = await audio.next();
  let audioEnd = 0;
  while (!nextVideo.done || !nextAudio.done) {
    signal?.throwIfAborted();
    if (!nextVideo.done && (nextAudio.done || nextVideo.value.timestamp <= nextAudio.value.timestamp)) {
      await addVideo(nextVideo.value);
      nextVideo = await video.next();
    } else if (!nextAudio.done) {
      await addAudio(nextAudio.value);
      audioEnd = nextAudio.value.timestamp + nextAudio.value.duration;
      nextAudio = await audio.next();
    }
  }
  return audioEnd;
}

/** A read that fails while none is pending (a preload) fails again when the packet is asked for. */
function ignore(): void {}

/** Read errors of a file's packets as that file's problem. */
async function* readingFrom(
  packets: AsyncIterable<EncodedPacket>,
  label: string,
): AsyncGenerator<EncodedPacket> {
  try {
    yield* packets;
  } catch (error) {
    throw new MediaProblem(
      'unreadable',
      label,
      `${named(label)} cannot be read to the end (${reasonOf(error)})`,
      {
        cause: error,
      },
    );
  }
}

/** The muxer refuses packets whose order or timing it cannot store: the source's problem. */
async function addTo(add: () => Promise<void>, label: string): Promise<void> {
  try {
    await add();
  } catch (error) {
    throw new MediaProblem(
      'unsupported-codec',
      label,
      `the frames of ${named(label)} cannot be copied as they are (${reasonOf(error)}): re-encode it to H.264 first`,
      { cause: error },
    );
  }
}
