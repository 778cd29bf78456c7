/**
 * The movie in a `moov` box, read with MP4Box.js (GPAC's parser): duration and the first video
 * track's size. Loaded on first use, so steps that never check a source never load it.
 */
import type { Log as Mp4BoxLog, Movie } from 'mp4box';

export interface MovieFacts {
  /** undefined when moov does not say (a fragmented file without mehd). */
  durationSeconds: number | undefined;
  /** The first video track as displayed (rotation applied); undefined when there is no video track. */
  video: { width: number; height: number; codec: string } | undefined;
}

export type MovieRead = { ok: true; movie: MovieFacts } | { ok: false; reason: string };

/** A stand-in ftyp for QuickTime files older than ftyp: MP4Box.js expects one before moov. */
const QUICKTIME_FTYP = Buffer.from('\0\0\0\x14ftypqt  \0\0\0\0qt  ', 'latin1');

export async function readMovie(ftyp: Uint8Array | undefined, moov: Uint8Array): Promise<MovieRead> {
  const { createFile, Log, MP4BoxBuffer } = await import('mp4box');
  // Only the boxes that describe the movie: offsets inside moov (stco) are not followed.
  const bytes = Buffer.concat([ftyp ?? QUICKTIME_FTYP, moov]);
  const buffer = MP4BoxBuffer.fromArrayBuffer(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    0,
  );
  const file = createFile();
  const problems: string[] = [];
  let info: Movie | undefined;
  file.onError = (module, message) => problems.push(`${module}: ${message}`);
  file.onReady = (movie) => (info = movie);
  try {
    withParserErrorsCaptured(Log, problems, () => {
      file.appendBuffer(buffer, true);
      file.flush();
    });
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (!info?.hasMoov)
    return { ok: false, reason: problems[0] ?? 'the parser found no movie in the moov box' };
  return { ok: true, movie: factsOf(info) };
}

/**
 * MP4Box.js writes some parse errors to the console, with box types taken from the file: a hostile
 * file must not write to the step's log (where the runner reads workflow commands). Parsing is
 * synchronous, so replacing its logger for the duration cannot catch anyone else's messages.
 */
function withParserErrorsCaptured(log: typeof Mp4BoxLog, problems: string[], parse: () => void): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as they were, never called detached
  const { error, warn } = log;
  log.error = (module: string, message?: string) => void problems.push(`${module}: ${message ?? ''}`);
  log.warn = () => {};
  try {
    parse();
  } finally {
    log.error = error;
    log.warn = warn;
  }
}

function factsOf(info: Movie): MovieFacts {
  const fragment = info.fragment_duration;
  const duration =
    info.duration > 0 && info.timescale > 0
      ? info.duration / info.timescale
      : fragment && fragment.num > 0 && fragment.den > 0
        ? fragment.num / fragment.den
        : undefined;
  const track = info.videoTracks[0];
  if (!track) return { durationSeconds: duration, video: undefined };
  let width = Math.round(track.track_width) || track.video?.width || 0;
  let height = Math.round(track.track_height) || track.video?.height || 0;
  // tkhd's matrix turns a phone's portrait video a quarter turn: b = ±1.0 in 16.16 fixed point.
  const b = track.matrix?.[1] ?? 0;
  if (Math.abs(b) === 0x10000) [width, height] = [height, width];
  return { durationSeconds: duration, video: { width, height, codec: track.codec } };
}
