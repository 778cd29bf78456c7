/**
 * The movie in a `moov` box, read with Mediabunny (the library the mux uses, src/media/): duration and
 * the first video track's size. Loaded on first use, so steps that never check a source never load it.
 */
import { loadMediabunny } from '../media/library.ts';
import { readBoxHeader } from './container.ts';

export interface MovieFacts {
  /** undefined when moov does not say (a fragmented file, whose tracks are empty in moov). */
  durationSeconds: number | undefined;
  /** The first video track as displayed (rotation applied); undefined when there is no video track. */
  video: { width: number; height: number; codec: string } | undefined;
}

export type MovieRead = { ok: true; movie: MovieFacts } | { ok: false; reason: string };

/** A stand-in ftyp for QuickTime files older than ftyp: the reader recognises a file by it. */
const QUICKTIME_FTYP = Buffer.from('\0\0\0\x14ftypqt  \0\0\0\0qt  ', 'latin1');

export async function readMovie(ftyp: Uint8Array | undefined, moov: Uint8Array): Promise<MovieRead> {
  // The reader passes over boxes it cannot make sense of; a moov whose boxes do not add up is damaged.
  const damage = childrenDamage(moov);
  if (damage) return { ok: false, reason: damage };
  const library = await loadMediabunny();
  // Only the boxes that describe the movie: sample data is never read (metadata only).
  const bytes = Buffer.concat([ftyp ?? QUICKTIME_FTYP, moov]);
  const input = new library.Input({
    source: new library.BufferSource(bytes),
    formats: [library.MP4, library.QTFF],
  });
  try {
    const tracks = await input.getTracks();
    const [video] = await input.getVideoTracks();
    const duration = await input.getDurationFromMetadata(tracks);
    const facts: MovieFacts = { durationSeconds: duration ?? undefined, video: undefined };
    if (!video) return { ok: true, movie: facts };
    const [width, height, codec] = await Promise.all([
      video.getDisplayWidth(),
      video.getDisplayHeight(),
      video.getCodecParameterString(),
    ]);
    return { ok: true, movie: { ...facts, video: { width, height, codec: codec ?? 'unknown' } } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    input.dispose();
  }
}

/** Why moov's child boxes do not fill it exactly, one after the other; undefined when they do. */
function childrenDamage(moov: Uint8Array): string | undefined {
  const moovHeader = readBoxHeader(moov, 0, 0);
  if (!('header' in moovHeader)) return 'moov has no box header';
  const end = moovHeader.header.size ?? moov.length;
  if (end > moov.length) return `moov declares ${end} bytes, ${moov.length} were read`;
  let position = moovHeader.header.headerSize;
  let children = 0;
  while (position < end) {
    const child = readBoxHeader(moov.subarray(0, end), 0, position);
    if ('damaged' in child) return child.damaged;
    if ('short' in child) return `moov ends inside the header of a box at byte ${position}`;
    const size = child.header.size ?? end - position;
    if (position + size > end) return `a box at byte ${position} runs past the end of moov`;
    position += size;
    children++;
  }
  return children === 0 ? 'moov is empty' : undefined;
}
