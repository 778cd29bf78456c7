/**
 * The step's tasks: one per entry (entries with the same video and request share one), through the
 * pool, so at most `max_concurrency` are in flight and as many files download at once. A cached
 * result stands in for a task; a source its check refused gets none.
 */
import { Inputs } from '../constants.ts';
import type { CreateTaskRequest, KlingClient } from '../kling/client.ts';
import { KlingApiError } from '../kling/errors.ts';
import type { Task } from '../kling/responses.ts';
import { quoteExternal } from '../net/external-text.ts';
import type { FetchLike } from '../net/http.ts';
import type { RetryContext } from '../net/retry.ts';
import { policy } from '../policy.ts';
import type { StepReport } from '../report/step-report.ts';
import { Gate, type Log } from '../runtime.ts';
import { describeSource, type Entry } from '../sources/source.ts';
import { deriveExternalTaskId, type RunIdentity } from '../task/external-id.ts';
import type { AudioFormat } from '../task/files.ts';
import { runTask } from '../task/run-task.ts';
import type { TaskContext, TaskHolders, TaskObserver, TaskOutcome, TaskSpec } from '../task/task.ts';
import type { Staging } from '../sources/stage.ts';
import type { ResultCache } from './cache.ts';
import { runPool, type Place } from './pool.ts';

/** The inputs the tasks are made of. */
export interface TaskSettings {
  entries: readonly Entry[];
  batch: boolean;
  maxConcurrency: number;
  callbackUrl?: string;
  externalTaskId?: string;
  wait: boolean;
  pollIntervalSeconds: number;
  audioFormat: AudioFormat;
  includeVideo: boolean;
  outputDir: string;
}

export interface TasksContext extends RetryContext {
  signal: AbortSignal;
  client: KlingClient;
  /** For result files: the API client has its own. */
  fetch: FetchLike;
  /** GITHUB_RUN_ATTEMPT: 1 on a run's first attempt; undefined when unknown. */
  run: RunIdentity & { attempt?: number };
  startedMs: number;
  deadlineMs: number;
  allowHttpResults: boolean;
  report: StepReport;
  cache: ResultCache;
  /** Files on the runner, staged for the API to fetch. */
  staging: Staging;
  /** Per entry: why its check refused it (no task then). */
  refused: readonly (Error | undefined)[];
}

export async function runTasks(settings: TaskSettings, context: TasksContext): Promise<TaskOutcome[]> {
  const { report } = context;
  const sharing = sharedTasks(settings, context.log);
  for (const [i, lead] of sharing.entries()) if (lead !== i) report.shareTask(i, lead);
  const holders = taskHolders();
  const taskContext: TaskContext = {
    ...context,
    limits: {
      createAttempts: policy.retry.createAttempts,
      maxSuperseded: policy.submit.maxSuperseded,
      poll: policy.poll,
      download: policy.download,
    },
    downloads: new Gate(settings.maxConcurrency),
    holders,
  };
  const specs = settings.entries.map((entry, i) => taskSpec(entry, i, settings, context.run));
  const leads = sharing.flatMap((lead, i) => (lead === i ? [i] : []));
  const group = (lead: number) => sharing.flatMap((l, i) => (l === lead ? [i] : []));
  // Earlier results first: a hit needs no task, and no file staged for one.
  const restored = await Promise.all(
    settings.entries.map((_, i) =>
      context.refused[i] || sharing[i] !== i ? Promise.resolve(undefined) : context.cache.restore(i),
    ),
  );
  // Files are staged ahead, so the next one is there when a place frees; a create waits for its own.
  const videos = settings.entries.map((entry, i) => {
    const { file } = describeSource(entry.source);
    if (!file || context.refused[i] || restored[i]?.task || sharing[i] !== i) return undefined;
    context.staging.use(file);
    const video = context.staging.videoUrl(file);
    video.catch(() => {});
    return video;
  });
  const outcomes = await runPool<TaskOutcome>(
    {
      count: leads.length,
      slots: new Gate(settings.maxConcurrency),
      attempt: async (n, place) => {
        const i = leads[n]!;
        // A source its check refused gets no task, and no place is held for it.
        const refusal = context.refused[i];
        if (refusal)
          return {
            accountFull: false,
            result: { ending: 'failed', resumed: false, files: [], error: refusal },
          };
        const observer = everyOf(group(i).map((j) => report.entries[j]!));
        const cached = restored[i];
        if (cached?.task) {
          // Its files are in output_dir now: no other entry's answer may name that task.
          holders.claim(cached.task.taskId, specs[i]!);
          reportRestored(cached, group(i), context, settings.entries[i]!);
          return { accountFull: false, result: cached };
        }
        const staged = videos[i] && (await stagedSpec(specs[i]!, videos[i]));
        if (staged && 'ending' in staged) return { accountFull: false, result: staged };
        // The staged object goes once the task has no more use for it: at its final status.
        const { file } = describeSource(settings.entries[i]!.source);
        const ended = file ? once(() => context.staging.release(file)) : () => {};
        const outcome = await runTask(staged ?? specs[i]!, taskContext, holdingPlace(observer, place, ended));
        if (!outcome.task && !isAccountFull(outcome)) ended();
        const accountFull = isAccountFull(outcome);
        const retryAfterMs = accountFull ? (outcome.error as KlingApiError).retryAfterMs : undefined;
        return { accountFull, retryAfterMs, result: outcome };
      },
      notStarted: () => ({ ending: 'cancelled', resumed: false, files: [] }),
    },
    { ...context, raiseAfterQuietMs: policy.pool.raiseAfterQuietMs },
  );
  // Entries that share a task see it as it goes; its files are the first one's, listed once.
  return sharing.map((lead, i) => {
    const outcome = outcomes[leads.indexOf(lead)]!;
    return lead === i ? outcome : { ...outcome, files: [] };
  });
}

function reportRestored(
  outcome: TaskOutcome,
  indices: readonly number[],
  context: TasksContext,
  entry: Entry,
) {
  for (const index of indices) {
    const report = context.report.entries[index]!;
    report.cacheHit(true);
    report.taskKnown(outcome.task!, outcome.externalTaskId, false);
    for (const file of outcome.files) report.downloaded(file);
  }
  context.log.info(
    `cache: restored the result of task ${outcome.task!.taskId} for ${entry.name}; no task created.`,
  );
}

/**
 * For each entry, the first entry with the same video and the same request: they share its task,
 * paid once. The step says which entries share one.
 */
function sharedTasks(settings: TaskSettings, log: Log): number[] {
  const first = new Map<string, number>();
  const sharing = settings.entries.map((entry, i) => {
    const { identity } = describeSource(entry.source);
    const key = JSON.stringify([identity, createRequest(entry, settings, {})]);
    if (identity === undefined || !first.has(key)) first.set(key, i);
    return first.get(key)!;
  });
  for (const lead of new Set(sharing)) {
    const group = sharing.flatMap((l, i) => (l === lead ? [i + 1] : []));
    if (group.length > 1)
      log.warning(
        `${Inputs.Videos}: entries ${listed(group.map(String))} (${quoteExternal(settings.entries[lead]!.name, 200)}) ` +
          'are the same video with the same request: they share one task, paid for once, and each row reports it.',
      );
  }
  return sharing;
}

function listed(items: readonly string[]): string {
  return items.length <= 2 ? items.join(' and ') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Every observer hears every fact: entries that share a task report it alike. */
function everyOf(observers: readonly TaskObserver[]): TaskObserver {
  return {
    creating: (id) => observers.forEach((o) => o.creating(id)),
    taskKnown: (task, id, resumed) => observers.forEach((o) => o.taskKnown(task, id, resumed)),
    status: (task) => observers.forEach((o) => o.status(task)),
    downloaded: (file) => observers.forEach((o) => o.downloaded(file)),
  };
}

/**
 * Tells the pool when the task exists and when it stops counting against the account (a final
 * status), and `ended` when it reaches that status.
 */
function holdingPlace(observer: TaskObserver, place: Place, ended: () => void = () => {}): TaskObserver {
  const check = (task: Task) => {
    place.taskStarted();
    if (task.status !== 'succeed' && task.status !== 'failed') return;
    place.release();
    ended();
  };
  return {
    creating: (id) => {
      observer.creating(id);
      place.creating();
    },
    taskKnown: (task, id, resumed) => {
      observer.taskKnown(task, id, resumed);
      check(task);
    },
    status: (task) => {
      observer.status(task);
      check(task);
    },
    downloaded: (file) => observer.downloaded(file),
  };
}

/** The spec with the staged file's URL in its request; or the outcome of an entry whose file could not be staged. */
async function stagedSpec(
  spec: TaskSpec,
  video: Promise<{ video_url: string }>,
): Promise<TaskSpec | TaskOutcome> {
  try {
    return { ...spec, request: { ...spec.request, ...(await video) } };
  } catch (error) {
    return { ending: 'failed', resumed: false, files: [], error };
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (!done) action();
    done = true;
  };
}

/** The create was refused because the account runs as many tasks as it may (1303): nothing was made. */
function isAccountFull(outcome: TaskOutcome): boolean {
  return (
    outcome.ending === 'failed' &&
    outcome.task === undefined &&
    outcome.error instanceof KlingApiError &&
    outcome.error.classification.kind === 'concurrency'
  );
}

function taskSpec(entry: Entry, index: number, settings: TaskSettings, run: TasksContext['run']): TaskSpec {
  const facts = describeSource(entry.source);
  const request = createRequest(entry, settings, facts.video ?? {});
  const chosen =
    settings.externalTaskId &&
    (settings.batch ? `${settings.externalTaskId}-${index + 1}` : settings.externalTaskId);
  // A staged file's URL changes every run: its bytes are what a re-run must find the task by.
  const stable = facts.file ? { ...request, video_url: facts.identity } : request;
  return {
    ...(facts.taskId !== undefined ? { attachTo: facts.taskId } : {}),
    request,
    externalTaskId: chosen || deriveExternalTaskId(run, stable, settings.batch ? index : undefined),
    derivedExternalId: !chosen,
    // A derived id is new on a run's first attempt: a look-up could find nothing (an unknown attempt looks).
    lookUpFirst: Boolean(chosen) || run.attempt !== 1,
    wait: settings.wait,
    pollIntervalMs: settings.pollIntervalSeconds * 1000,
    audioFormat: settings.audioFormat,
    includeVideo: settings.includeVideo,
    outputDir: settings.outputDir,
  };
}

function createRequest(
  entry: Entry,
  settings: TaskSettings,
  video: Pick<CreateTaskRequest, 'video_url' | 'video_id'>,
): Omit<CreateTaskRequest, 'external_task_id'> {
  return {
    ...video,
    ...(entry.soundEffectPrompt ? { sound_effect_prompt: entry.soundEffectPrompt } : {}),
    ...(entry.bgmPrompt ? { bgm_prompt: entry.bgmPrompt } : {}),
    ...(entry.asmrMode ? { asmr_mode: true } : {}),
    ...(settings.callbackUrl ? { callback_url: settings.callbackUrl } : {}),
  };
}

/** Each task id an answer names belongs to one entry: another entry's answer naming it is a bad one. */
function taskHolders(): TaskHolders {
  const held = new Map<string, object>();
  return {
    claim(taskId, holder) {
      const current = held.get(taskId);
      if (current !== undefined && current !== holder) return false;
      held.set(taskId, holder);
      return true;
    },
  };
}
