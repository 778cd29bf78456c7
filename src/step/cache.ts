/**
 * Results of earlier runs reused across runs (`cache: true`): keyed by the source's identity and
 * every input that changes the result, kept in the Actions cache with a manifest beside the files.
 * A cache that fails or is slow costs a warning, never the step.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Inputs } from '../constants.ts';
import type { ProviderName } from '../kling/routes.ts';
import type { Task } from '../kling/responses.ts';
import { quoteExternal } from '../net/external-text.ts';
import { policy } from '../policy.ts';
import type { SourceInfo } from '../preflight/check-source.ts';
import { abandonOnAbort, formatDuration, Gate, type Clock, type Log } from '../runtime.ts';
import { describeSource, type Entry } from '../sources/source.ts';
import type { AudioFormat, ResultFile } from '../task/files.ts';
import { safeFileStem } from '../task/files.ts';
import type { TaskOutcome } from '../task/task.ts';

/** The slice of @actions/cache the step uses, so tests can stand in for it. */
export interface CacheStore {
  /** The key that matched, or undefined on a miss. */
  restore(paths: string[], key: string): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<unknown>;
}

export interface CacheContext {
  store: CacheStore;
  log: Log;
  signal: AbortSignal;
  /** Where the cache's folders live while they are restored or saved (the workspace). */
  workspace: string;
  /** Set when a cache call was given up but may still run: the process should not wait for it. */
  onAbandoned: () => void;
  /** A restore or save given up after this long. */
  timeoutMs: number;
  /** The service failed once: later calls of the step are skipped (each would fail the same way, slowly). */
  onFailure: () => void;
  /**
   * The entry under this key is not a result this version can trust (a file that is not what was
   * saved, or a manifest without digests). Keys never change hands, so it must not be saved again.
   */
  onUnusable: (key: string) => void;
}

/**
 * What a cached result holds besides its files: enough to set the outputs the original run set, and
 * each file's sha256, so a restored file is the one saved. Version 1 had no digests.
 */
const MANIFEST_VERSION = 2;
interface Manifest {
  version: typeof MANIFEST_VERSION;
  task: Pick<Task, 'taskId' | 'audios' | 'videos' | 'billing'>;
  externalTaskId?: string;
  files: {
    role: ResultFile['role'];
    kind: ResultFile['kind'];
    /** Where it was downloaded from; none for a file made on the runner (the muxed video). */
    url?: string;
    name: string;
    bytes: number;
    /** Hex sha256 of the file as saved. */
    sha256: string;
  }[];
}

/** The inputs that change a result, besides the entry's own. */
export interface CacheSettings {
  cache: boolean;
  preflight: boolean;
  provider: ProviderName;
  baseUrl: string;
  audioFormat: AudioFormat;
  includeVideo: boolean;
  /** The source video with the soundtrack is part of the result. */
  mux: boolean;
  /** Absolute: where a hit's files are restored. */
  outputDir: string;
}

/**
 * The entry's key, or undefined when its source cannot be told apart from a changed one: a URL needs
 * the ETag and size the preflight read (the same URL may serve other bytes tomorrow).
 */
export function cacheKey(
  entry: Entry,
  info: SourceInfo | undefined,
  inputs: CacheSettings,
): string | undefined {
  const identity = sourceIdentity(entry, info);
  if (!identity) return undefined;
  const request = [
    inputs.provider,
    // A staging or test API never shares results with production.
    inputs.baseUrl,
    entry.soundEffectPrompt ?? '',
    entry.bgmPrompt ?? '',
    String(entry.asmrMode),
    inputs.audioFormat,
    String(inputs.includeVideo),
    // Only when on, so that keys saved before mux existed are found again.
    ...(inputs.mux ? ['mux'] : []),
  ];
  // The manifest's version is part of the key: an entry an older version saved is never found again.
  const digest = createHash('sha256')
    .update(JSON.stringify([MANIFEST_VERSION, identity, request]))
    .digest('hex');
  return `kling-video-to-audio-${digest.slice(0, 40)}`;
}

/** What tells this video apart from any other, or undefined when nothing does. */
function sourceIdentity(entry: Entry, info: SourceInfo | undefined): string[] | undefined {
  const { video, file } = describeSource(entry.source);
  // A file on the runner is its bytes, wherever it lies and whatever it is called.
  if (file) return ['video_path', file.sha256];
  if (video && 'video_id' in video) return ['video_id', video.video_id];
  if (video && info?.etag && info.bytes !== undefined)
    return ['video_url', video.video_url, info.etag, String(info.bytes)];
  return undefined;
}

const folderFor = (workspace: string, key: string) => path.join(workspace, '.kling-audio-cache', key);
/** The cache's version hashes the path as given: the same relative path in every run. */
const cachePath = (key: string) => path.join('.kling-audio-cache', key);

/** A cached result restored into output_dir, as the outcome of a task that succeeded; undefined on a miss. */
export async function restoreResult(
  key: string,
  outputDir: string,
  context: CacheContext,
): Promise<TaskOutcome | undefined> {
  const folder = folderFor(context.workspace, key);
  try {
    const hit = await bounded(context.store.restore([cachePath(key)], key), context);
    if (!hit) return undefined;
    const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8')) as Manifest;
    const problem = await unusable(manifest, folder);
    if (problem) {
      context.onUnusable(key);
      context.log.warning(
        `cache: the result saved as ${key} cannot be used (${problem}); generating it again. The cache keeps ` +
          `an entry under its key until it expires or is deleted (gh cache delete ${key}), so this run saves none.`,
      );
      return undefined;
    }
    await mkdir(outputDir, { recursive: true });
    const files: ResultFile[] = [];
    for (const file of manifest.files) {
      const to = path.join(outputDir, safeFileStem(file.name));
      await copyFile(path.join(folder, safeFileStem(file.name)), to);
      const { role, kind, url, bytes } = file;
      files.push(
        (role === 'muxed'
          ? { role, kind, path: to, bytes }
          : { role, kind, url: url ?? '', path: to, bytes }) as ResultFile,
      );
    }
    const task: Task = { ...manifest.task, status: 'succeed' };
    return { ending: 'succeeded', task, externalTaskId: manifest.externalTaskId, resumed: true, files };
  } catch (error) {
    if (context.signal.aborted) return undefined;
    context.onFailure();
    context.log.warning(
      `cache: could not restore ${key} (${quoteExternal(errorText(error))}); generating instead.`,
    );
    return undefined;
  } finally {
    await removeFolder(folder);
  }
}

/**
 * Why the restored files are not the result that was saved, or undefined when each has the size
 * and sha256 the manifest recorded: the size alone lets a same-size corruption through.
 */
async function unusable(manifest: Manifest, folder: string): Promise<string | undefined> {
  if (manifest.version !== MANIFEST_VERSION || !Array.isArray(manifest.files))
    return `its manifest is version ${quoteExternal(String(manifest.version), 20)}, not ${MANIFEST_VERSION}`;
  for (const file of manifest.files) {
    const name = quoteExternal(String(file.name), 100);
    if (typeof file.sha256 !== 'string') return `${name} has no digest`;
    const from = path.join(folder, safeFileStem(file.name));
    const size = await stat(from).then(
      (stats) => stats.size,
      () => undefined,
    );
    if (size === undefined) return `${name} is missing`;
    if (size !== file.bytes) return `${name} is not the size that was saved`;
    if ((await sha256Of(from)) !== file.sha256) return `${name} does not match the sha256 saved with it`;
  }
  return undefined;
}

/** Hex sha256 of a file, streamed: results may be videos of hundreds of MiB. */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Keeps a successful result for later runs; a failure is a warning. */
export async function saveResult(key: string, outcome: TaskOutcome, context: CacheContext): Promise<void> {
  if (!outcome.task || outcome.files.length === 0) return;
  const folder = folderFor(context.workspace, key);
  try {
    await mkdir(folder, { recursive: true });
    const files: Manifest['files'] = [];
    for (const file of outcome.files) {
      const name = path.basename(file.path);
      const saved = path.join(folder, name);
      await copyFile(file.path, saved);
      files.push({
        role: file.role,
        kind: file.kind,
        ...('url' in file ? { url: file.url } : {}),
        name,
        bytes: file.bytes,
        sha256: await sha256Of(saved),
      });
    }
    const { taskId, audios, videos, billing } = outcome.task;
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      task: { taskId, audios, videos, billing },
      externalTaskId: outcome.externalTaskId,
      files,
    };
    await writeFile(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
    const id = await bounded(context.store.save([cachePath(key)], key), context);
    // @actions/cache answers -1 instead of throwing when the service did not take the entry.
    if (typeof id === 'number' && id <= 0)
      throw new Error('the cache service did not take it (another job may be saving the same key)');
    context.log.info(`cache: saved the result of task ${taskId} as ${key}.`);
  } catch (error) {
    if (context.signal.aborted) return;
    context.onFailure();
    context.log.warning(
      `cache: could not save ${key} (${quoteExternal(errorText(error))}); the next run generates again.`,
    );
  } finally {
    await removeFolder(folder);
  }
}

/** The key's folder, and the cache's parent folder once it is empty: nothing is left in the workspace. */
async function removeFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
  await rmdir(path.dirname(folder)).catch(() => {});
}

/** The cache client takes no signal: past the time limit (or on cancellation) its work is abandoned. */
async function bounded<T>(work: Promise<T>, context: CacheContext): Promise<T> {
  const limit = AbortSignal.timeout(context.timeoutMs);
  try {
    return await abandonOnAbort(work, AbortSignal.any([context.signal, limit]));
  } catch (error) {
    if (limit.aborted) {
      context.onAbandoned();
      throw new Error(`the cache service did not answer within ${formatDuration(context.timeoutMs)}`, {
        cause: error,
      });
    }
    if (context.signal.aborted) context.onAbandoned();
    throw error;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface ResultCacheContext {
  store: CacheStore;
  log: Log;
  clock: Clock;
  signal: AbortSignal;
  workspace: string;
  deadlineMs: number;
  /** A cache call was given up but may still run: the process should not wait for it. */
  onAbandoned: () => void;
}

/**
 * The step's cache (`cache: true`): one key per entry, one restore per key, one save per key, and,
 * after one failure, no more calls (each would fail the same way, slowly).
 */
export class ResultCache {
  readonly #keys: readonly (string | undefined)[];
  readonly #settings: CacheSettings;
  readonly #context: ResultCacheContext;
  readonly #restores = new Map<string, Promise<TaskOutcome | undefined>>();
  /** Keys restored or saved (or unusable) in this step: nothing to save under them. */
  readonly #done = new Set<string>();
  readonly #places = new Gate(policy.cache.concurrency);
  #broken = false;

  constructor(
    entries: readonly Entry[],
    infos: readonly (SourceInfo | undefined)[],
    settings: CacheSettings,
    context: ResultCacheContext,
  ) {
    this.#settings = settings;
    this.#context = context;
    this.#keys = entries.map((entry, i) => {
      if (!settings.cache) return undefined;
      const key = cacheKey(entry, infos[i], settings);
      if (!key && describeSource(entry.source).remoteUrl !== undefined)
        context.log.info(
          `cache: ${entry.name} is not cached: its host gave no ETag and size${settings.preflight ? '' : ` (${Inputs.Preflight} is off)`}, so a changed video could not be told apart.`,
        );
      return key;
    });
  }

  /** An earlier run's result for this entry, restored into output_dir; undefined on a miss. */
  async restore(index: number): Promise<TaskOutcome | undefined> {
    const key = this.#keys[index];
    if (!key || this.#broken) return undefined;
    // Entries with one key share one restore: the same files, the same task.
    let restore = this.#restores.get(key);
    if (!restore) {
      // Restores run a few at a time, however many entries the step has.
      restore = this.#places.acquire(this.#context.signal).then(
        (release) => restoreResult(key, this.#settings.outputDir, this.#callContext()).finally(release),
        () => undefined,
      );
      this.#restores.set(key, restore);
    }
    const outcome = await restore;
    if (!outcome?.task) return undefined;
    this.#done.add(key);
    return outcome;
  }

  /** Results this run generated, kept for later runs (each key once). */
  async save(outcomes: readonly TaskOutcome[]): Promise<void> {
    for (const [i, outcome] of outcomes.entries()) {
      const key = this.#keys[i];
      if (!key || outcome.ending !== 'succeeded' || this.#context.signal.aborted) continue;
      if (this.#broken || this.#done.has(key)) continue;
      this.#done.add(key);
      await saveResult(key, outcome, this.#callContext());
    }
  }

  #callContext(): CacheContext {
    const { deadlineMs, clock } = this.#context;
    return {
      ...this.#context,
      // Never past the step's deadline: the cache only ever saves time.
      timeoutMs: Math.max(0, Math.min(policy.cache.timeoutMs, deadlineMs - clock.now())),
      onFailure: () => {
        this.#broken = true;
      },
      onUnusable: (key) => {
        this.#done.add(key);
      },
    };
  }
}
