/**
 * Preflight of a video file on the runner, before it is staged or paid for: the same checks, limits
 * and wording as a URL's (check-source.ts), read from the file itself. A file on disk always answers,
 * so the verdict is `ok` or `unworkable`, and `unknown` only where the check itself cannot read far
 * enough (a moov larger than it reads).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { quoteExternal } from '../net/external-text.ts';
import { checkSize, inspectContainer, type PreflightLimits, type SourceVerdict } from './check-source.ts';
import type { ReadAt } from './container.ts';
import { SourceProblem } from './remote.ts';

export type LocalLimits = Pick<
  PreflightLimits,
  'maxBytes' | 'minSeconds' | 'maxSeconds' | 'headBytes' | 'maxMoovBytes' | 'maxJumps'
>;

export async function checkLocalFile(
  path: string,
  limits: LocalLimits,
  signal?: AbortSignal,
): Promise<SourceVerdict> {
  let file: FileHandle | undefined;
  try {
    signal?.throwIfAborted();
    file = await open(path, 'r');
    const stat = await file.stat();
    if (stat.isDirectory()) throw new SourceProblem('it is a directory, not a video file', true);
    if (stat.size === 0) throw new SourceProblem('the file is empty', true);
    checkSize(stat.size, limits);
    const readAt = reader(file, signal);
    const head = await readAt(0, limits.headBytes);
    const movie = await inspectContainer(head, stat.size, readAt, limits);
    return { kind: 'ok', info: { ...movie, bytes: stat.size } };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof SourceProblem)
      return { kind: error.definite ? 'unworkable' : 'unknown', reason: error.message };
    return { kind: 'unworkable', reason: `it cannot be read (${systemReason(error)})` };
  } finally {
    await file?.close();
  }
}

function reader(file: FileHandle, signal: AbortSignal | undefined): ReadAt {
  return async (offset, length) => {
    signal?.throwIfAborted();
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await file.read(bytes, 0, length, offset);
    return bytes.subarray(0, bytesRead);
  };
}

/** `ENOENT`, `EACCES`, …: the code says it; the message would repeat the path. */
function systemReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return quoteExternal(code, 40);
  return quoteExternal(error instanceof Error ? error.message : String(error), 200);
}
