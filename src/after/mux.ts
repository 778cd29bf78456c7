/**
 * After the tasks (`mux: true`): each entry's source video with the generated audio as its
 * soundtrack, the picture copied bit for bit. The sound is the AAC track of Kling's result video,
 * copied (fetched for this even when `include_video` leaves it undelivered), else the mp3. A video
 * that cannot be muxed fails its entry, never the others, and its audio is delivered all the same.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Inputs } from '../constants.ts';
import { muxSoundtrack, type MuxedFile } from '../media/mux.ts';
import { MediaProblem } from '../media/problems.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import type { RetryContext } from '../net/retry.ts';
import { policy } from '../policy.ts';
import { formatBytes, Gate } from '../runtime.ts';
import { describeSource, type Entry } from '../sources/source.ts';
import { downloadFile, DownloadError } from '../task/download.ts';
import { safeFileStem, type MuxedVideoFile, type ResultFile } from '../task/files.ts';
import type { TaskOutcome } from '../task/task.ts';

export interface MuxSettings {
  mux: boolean;
  entries: readonly Entry[];
  /** Absolute: where the muxed files go, beside the audio. */
  outputDir: string;
  /** Entries muxed at once (their downloads too): as many as the tasks ran. */
  maxConcurrency: number;
  timeoutSeconds: number;
}

export interface MuxContext extends RetryContext {
  signal: AbortSignal;
  fetch: FetchLike;
  deadlineMs: number;
  /** Result files may come over http (the API itself is on loopback). */
  allowHttpResults: boolean;
  /** Each entry's report, in input order: told of its muxed file. */
  reports: readonly { downloaded(file: ResultFile): void }[];
  /** Where source and result videos are downloaded for the mux; each entry's folder is removed after. */
  tempDir: string;
}

/** A mux that did not happen, in the step's words: what went wrong, and that the audio is delivered. */
export class MuxFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MuxFailedError';
  }
}

/** The outcomes with each muxed file added; an entry whose mux failed ends failed (or timed out, or cancelled). */
export async function muxResults(
  outcomes: readonly TaskOutcome[],
  settings: MuxSettings,
  context: MuxContext,
): Promise<TaskOutcome[]> {
  const result = [...outcomes];
  if (!settings.mux) return result;
  const places = new Gate(settings.maxConcurrency);
  await Promise.all(
    sharedTasks(outcomes).map(async (group) => {
      const lead = group[0]!;
      const outcome = outcomes[lead]!;
      // A result restored from the cache holds its muxed file already.
      if (outcome.files.some((file) => file.role === 'muxed')) return;
      const release = await places.acquire(context.signal).catch(() => undefined);
      try {
        if (!release) throw context.signal.reason;
        const file = await muxEntry(outcome, settings.entries[lead]!, settings, context);
        result[lead] = { ...outcome, files: [...outcome.files, file] };
        for (const i of group) context.reports[i]!.downloaded(file);
      } catch (error) {
        for (const i of group) result[i] = failed(outcomes[i]!, error, settings, context);
      } finally {
        release?.();
      }
    }),
  );
  return result;
}

/**
 * The succeeded entries grouped by task, first entry first: entries that share a task (the same
 * video and request) share its muxed file too, made once, listed with the first.
 */
function sharedTasks(outcomes: readonly TaskOutcome[]): number[][] {
  const groups = new Map<string, number[]>();
  outcomes.forEach((outcome, i) => {
    if (outcome.ending !== 'succeeded' || !outcome.task) return;
    const group = groups.get(outcome.task.taskId);
    if (group) group.push(i);
    else groups.set(outcome.task.taskId, [i]);
  });
  return [...groups.values()];
}

async function muxEntry(
  outcome: TaskOutcome,
  entry: Entry,
  settings: MuxSettings,
  context: MuxContext,
): Promise<MuxedVideoFile> {
  const deadline = deadlineSignal(context);
  let work: string | undefined;
  try {
    work = await mkdtemp(path.join(context.tempDir, 'kling-mux-'));
    const source = await sourceVideo(entry, work, context);
    const audio = await soundtracks(outcome, work, context);
    const stem = safeFileStem(outcome.task!.taskId);
    await mkdir(settings.outputDir, { recursive: true });
    const muxed = await muxSoundtrack({
      source: source.path,
      audio,
      out: (container) => path.join(settings.outputDir, `${stem}-muxed.${container}`),
      limits: policy.mux,
      sourceLabel: source.label,
      signal: deadline.signal,
    });
    context.log.info(describeMuxed(entry, muxed));
    return { role: 'muxed', kind: muxed.container, path: muxed.path, bytes: muxed.bytes };
  } finally {
    deadline.done();
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** The step's deadline passed while the muxer read or wrote. */
class MuxDeadlineError extends Error {}

/** Aborted on cancellation (with its reason) or at the step's deadline (MuxDeadlineError), as every download stops. */
function deadlineSignal(context: MuxContext): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new MuxDeadlineError("the step's deadline passed")),
    Math.max(0, context.deadlineMs - context.clock.now()),
  );
  return { signal: AbortSignal.any([context.signal, controller.signal]), done: () => clearTimeout(timer) };
}

interface SourceVideo {
  path: string;
  /** How messages name it: the path as written, or the URL's file name. */
  label: string;
}

/** A file on the runner is muxed where it lies; a URL is downloaded in full, under the caps of every download. */
async function sourceVideo(entry: Entry, work: string, context: MuxContext): Promise<SourceVideo> {
  const { file, remoteUrl } = describeSource(entry.source);
  if (file) return { path: file.absolute, label: file.path };
  // The inputs refuse mux for a source with neither.
  const url = remoteUrl!;
  const name = shortName(safeFileStem(urlFileName(url) || 'source.mp4'));
  const downloaded = await downloadFile(
    { role: 'source', kind: 'mp4', url, path: path.join(work, 'source', name) },
    // Kling took the video, so it is within Kling's size cap; its host is the user's, as in the preflight.
    { ...context, allowHttp: true, limits: { ...policy.download, maxBytes: policy.preflight.maxBytes } },
  );
  context.log.info(`Downloaded the source video ${name} (${formatBytes(downloaded.bytes)}) to mux it.`);
  return { path: downloaded.path, label: name };
}

/**
 * The generated audio, best first: Kling's result video (its AAC is copied), delivered or fetched
 * for this alone; then the mp3. A result video that cannot be fetched leaves the mp3.
 */
async function soundtracks(outcome: TaskOutcome, work: string, context: MuxContext): Promise<string[]> {
  const mp3 = outcome.files.filter((f) => f.role === 'audio' && f.kind === 'mp3').map((f) => f.path);
  const delivered = outcome.files.find((f) => f.role === 'video');
  if (delivered) return [delivered.path, ...mp3];
  const task = outcome.task!;
  const video = task.videos[0];
  if (!video) return mp3;
  try {
    const fetched = await downloadFile(
      {
        role: 'video',
        kind: 'mp4',
        url: video.url,
        path: path.join(work, `${safeFileStem(task.taskId)}.mp4`),
      },
      { ...context, allowHttp: context.allowHttpResults, limits: policy.download },
    );
    return [fetched.path, ...mp3];
  } catch (error) {
    if (context.signal.aborted || !(error instanceof DownloadError) || error.deadline || mp3.length === 0)
      throw error;
    context.log.warning(`${error.message}; the soundtrack comes from the mp3 instead.`);
    return mp3;
  }
}

/** The last path segment of a URL, decoded: `clip.mov` of `https://host/a/clip.mov?sig=…`. */
function urlFileName(url: string): string {
  const segment = path.posix.basename(new URL(url).pathname);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** At most 100 characters, the extension kept: a URL's last segment may be longer than a file name can be. */
function shortName(name: string): string {
  if (name.length <= 100) return name;
  const extension = path.extname(name).slice(0, 10);
  return name.slice(0, 100 - extension.length) + extension;
}

function describeMuxed(entry: Entry, muxed: MuxedFile): string {
  const { audio } = muxed;
  // The result video may have been fetched for this alone, into a folder that is gone by now.
  const from = audio.from.endsWith('.mp4') ? "Kling's result video" : path.basename(audio.from);
  const fitted = [
    audio.trimmedSeconds >= 0.05 ? `cut by ${audio.trimmedSeconds.toFixed(2)} s` : '',
    audio.paddedSeconds >= 0.05 ? `padded with ${audio.paddedSeconds.toFixed(2)} s of silence` : '',
  ].filter(Boolean);
  return (
    `Muxed ${quoteExternal(entry.name, 200)} into ${path.basename(muxed.path)} (${muxed.container.toUpperCase()}, ` +
    `${muxed.seconds.toFixed(2)} s, ${formatBytes(muxed.bytes)}): the picture copied as it is, the sound ` +
    `${audio.codec.toUpperCase()} copied from ${from}${fitted.length > 0 ? ` (${fitted.join(', ')})` : ''}.`
  );
}

/** The entry keeps its files (the audio is delivered); its ending says why there is no muxed video. */
function failed(
  outcome: TaskOutcome,
  error: unknown,
  settings: MuxSettings,
  context: MuxContext,
): TaskOutcome {
  if (context.signal.aborted) return { ...outcome, ending: 'cancelled', error };
  const audio = outcome.files.filter((f) => f.role === 'audio').map((f) => path.basename(f.path));
  const kept = audio.length > 0 ? ` The audio (${audio.join(', ')}) is delivered all the same.` : '';
  if (error instanceof MuxDeadlineError || (error instanceof DownloadError && error.deadline))
    return {
      ...outcome,
      ending: 'timeout',
      error: new MuxFailedError(
        `The step's deadline, ${Inputs.TimeoutSeconds} (${settings.timeoutSeconds} s), passed before the video with ` +
          `sound (${Inputs.Mux}) was made.${kept} Raise ${Inputs.TimeoutSeconds}.`,
        { cause: error },
      ),
    };
  const reason =
    error instanceof MediaProblem || error instanceof DownloadError
      ? error.message
      : quoteExternal(error instanceof Error ? error.message : String(error), 200);
  return {
    ...outcome,
    ending: 'failed',
    error: new MuxFailedError(`${Inputs.Mux}: the video with sound could not be made: ${reason}.${kept}`, {
      cause: error,
    }),
  };
}
