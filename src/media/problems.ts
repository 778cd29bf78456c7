/**
 * Why a file cannot be muxed: each names the file (as the caller labels it) and what to do.
 * The step reports it for that entry and still delivers the audio and the other files.
 */
import { quoteExternal } from '../net/external-text.ts';

export type MediaProblemKind =
  /** Missing, unreadable, or damaged past reading. */
  | 'unreadable'
  /** Not MP4 or MOV. */
  | 'unsupported-container'
  | 'truncated'
  | 'fragmented'
  | 'no-video'
  | 'unsupported-codec'
  /** No generated audio that can go into the file. */
  | 'no-audio'
  /** The generated audio runs past the picture by more than the tolerance: not this video's soundtrack. */
  | 'audio-longer-than-video';

export class MediaProblem extends Error {
  readonly kind: MediaProblemKind;
  /** The file, as the caller named it. */
  readonly file: string;
  constructor(kind: MediaProblemKind, file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaProblem';
    this.kind = kind;
    this.file = file;
  }
}

/** A file's name for a message: one printable line (paths may come from outside). */
export function named(file: string): string {
  return quoteExternal(file, 200);
}

/** A library's or the system's error text, for a message; a system error without the path it repeats. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && message.startsWith(`${code}:`))
    return quoteExternal(message.split(',')[0]!, 200);
  return quoteExternal(message, 200);
}
