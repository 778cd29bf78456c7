/**
 * The step, top to bottom: inputs → the task → deliveries → outputs → summary.
 * Everything that touches the outside world arrives in `StepDependencies`, so the step runs in tests
 * without a runner, and several steps can run side by side in one process.
 */
import { describeFailure, versionHint } from './advice.ts';
import { Inputs } from './constants.ts';
import type { RunContext, StepDependencies } from './dependencies.ts';
import { deliver, type Step } from './deliveries.ts';
import { cacheKey, restoreResult, saveResult, type CacheContext } from './cache.ts';
import type { SourceInfo } from './preflight/check-source.ts';
import { checkSources } from './sources.ts';
import { InputError, isLoopback, readInputs, sourceText, type ActionInputs, type Entry } from './inputs.ts';
import { bearerAuthorizer, jwtAuthorizer } from './kling/auth.ts';
import { KlingClient, type CreateTaskRequest } from './kling/client.ts';
import { routesFor } from './kling/routes.ts';
import type { RetryContext } from './net/retry.ts';
import { policy } from './policy.ts';
import { StepReport, type EntryLabel } from './report/step-report.ts';
import type { Ending } from './report/task-report.ts';
import { Gate, runPool, type Place } from './pool.ts';
import { KlingApiError } from './kling/errors.ts';
import type { Task } from './kling/responses.ts';
import { quoteExternal } from './net/external-text.ts';
import { signalName, type Log } from './runtime.ts';
import { deriveExternalTaskId } from './task/external-id.ts';
import { runTask } from './task/run-task.ts';
import { guardSecrets } from './secrets.ts';
import type { TaskContext, TaskHolders, TaskObserver, TaskOutcome, TaskSpec } from './task/task.ts';

export type { RunContext, StepDependencies } from './dependencies.ts';

export interface StepResult {
  /** Work was given up but may still run (an upload the client cannot cancel): exit, do not wait for it. */
  abandonedWork: boolean;
}

export async function runStep(world: StepDependencies): Promise<StepResult> {
  // From here on every text the step writes goes through the redactor that `mask` feeds.
  const { deps, redactor } = guardSecrets(world);
  maskCredentials(deps);
  let inputs: ActionInputs;
  try {
    inputs = readInputs(deps.getInput, deps.run.workspace);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    deps.fail(error.message);
    return { abandonedWork: false };
  }
  warnAboutInputs(inputs, deps.log);
  const sharing = sharedTasks(inputs, deps.log);

  const startedMs = deps.clock.now();
  const deadlineMs = startedMs + inputs.timeoutSeconds * 1000;
  const report = new StepReport(deps.outputs, inputs.entries.map(labelOf), inputs.batch, {
    provider: inputs.provider,
    allowHttpResults: isLoopback(inputs.baseUrl),
    audioFormat: inputs.audioFormat,
    clock: deps.clock,
    startedMs,
    workspace: deps.run.workspace,
    redact: (text) => redactor.redact(text),
  });
  const step: Step = {
    inputs,
    deps,
    report,
    deadlineMs,
    abandonedWork: false,
    cache: { broken: false, restored: new Set(), restores: new Map(), saved: new Set() },
  };
  const redactOutcome = (outcome: TaskOutcome): TaskOutcome => ({
    ...outcome,
    task: redactor.redactData(outcome.task),
    files: outcome.files.map((file) => ({ ...file, url: redactor.redact(file.url) })),
  });
  // With the cache on, every entry says whether its result came from it.
  if (inputs.cache) for (const entry of report.entries) entry.cacheHit(false);
  for (const [i, lead] of sharing.entries()) if (lead !== i) report.shareTask(i, lead);

  let endings: Ending[] = inputs.entries.map(() => ({ kind: 'failed', message: 'the step ended early' }));
  let stepEnding: Ending | undefined;
  try {
    const checks = await checkSources(inputs, deps, deadlineMs);
    const keys = cacheKeys(
      inputs,
      checks.map((c) => c.info),
      deps,
    );
    const outcomes = await runEntries(
      step,
      startedMs,
      checks.map((c) => c.refusal),
      keys,
      (text) => redactor.redact(text),
      sharing,
    );
    // The cache keeps a manifest of the task as the API described it: a file like any other.
    await saveNewResults(outcomes.map(redactOutcome), keys, step);
    endings = outcomes.map((outcome, i) => endingOf(outcome, inputs.entries[i]!, step));
    stepEnding = await deliver(outcomes, endings, step);
  } catch (error) {
    stepEnding = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  } finally {
    report.publishResults(endings);
    const ok = (e: Ending | undefined) => !e || e.kind === 'succeeded' || e.kind === 'submitted';
    if (!ok(stepEnding) || !endings.every(ok)) deps.fail(report.failureMessage(endings, stepEnding));
    await deps.writeSummary(report.summary(endings, stepEnding)).catch((error: unknown) => {
      deps.log.warning(`Could not write the job summary: ${(error as Error).message}`);
    });
  }
  return { abandonedWork: step.abandonedWork };
}

/**
 * Every task through the pool: at most max_concurrency in flight, and as many downloads. Entries that
 * share a task (`sharing`) see it as it goes; the files are the first one's, listed once.
 */
async function runEntries(
  step: Step,
  startedMs: number,
  refused: readonly (Error | undefined)[],
  keys: readonly (string | undefined)[],
  redact: (text: string) => string,
  sharing: readonly number[],
): Promise<TaskOutcome[]> {
  const { inputs, deps, report, deadlineMs } = step;
  // Only what requests need: the task and API layers never hold the step's inputs or outputs.
  const { clock, sleep, random, log, signal } = deps;
  const retry: RetryContext = { clock, sleep, random, log, signal, schedule: policy.retry.schedule };
  const holders = taskHolders();
  const context: TaskContext = {
    ...taskContext(inputs, deps, retry, startedMs, deadlineMs, redact),
    downloads: new Gate(inputs.maxConcurrency),
    holders,
  };
  const specs = inputs.entries.map((entry, i) => taskSpec(entry, i, inputs, deps.run));
  const leads = sharing.flatMap((lead, i) => (lead === i ? [i] : []));
  const group = (lead: number) => sharing.flatMap((l, i) => (l === lead ? [i] : []));
  const outcomes = await runPool<TaskOutcome>(
    {
      count: leads.length,
      slots: new Gate(inputs.maxConcurrency),
      attempt: async (n, place) => {
        const i = leads[n]!;
        // A source its check refused gets no task, and no place is held for it.
        const refusal = refused[i];
        if (refusal)
          return {
            accountFull: false,
            result: { ending: 'failed', resumed: false, files: [], error: refusal },
          };
        const cached = await restoreCached(group(i), keys[i], step);
        if (cached) {
          // Its files are in output_dir now: no other entry's answer may name that task.
          if (cached.task) holders.claim(cached.task.taskId, specs[i]!);
          return { accountFull: false, result: cached };
        }
        const observer = everyOf(group(i).map((j) => report.entries[j]!));
        const outcome = await runTask(specs[i]!, context, holdingPlace(observer, place));
        const accountFull = isAccountFull(outcome);
        const retryAfterMs = accountFull ? (outcome.error as KlingApiError).retryAfterMs : undefined;
        return { accountFull, retryAfterMs, result: outcome };
      },
      notStarted: () => ({ ending: 'cancelled', resumed: false, files: [] }),
    },
    { ...retry, signal: deps.signal, deadlineMs, raiseAfterQuietMs: policy.pool.raiseAfterQuietMs },
  );
  return sharing.map((lead, i) => {
    const outcome = outcomes[leads.indexOf(lead)]!;
    return lead === i ? outcome : { ...outcome, files: [] };
  });
}

/**
 * For each entry, the first entry with the same source and the same request: they share its task,
 * paid once. The step says which entries share one.
 */
function sharedTasks(inputs: ActionInputs, log: Log): number[] {
  const first = new Map<string, number>();
  const sharing = inputs.entries.map((entry, i) => {
    const request = createRequest(entry, inputs);
    const key = JSON.stringify({ ...request, video_url: request.video_url && sameUrl(request.video_url) });
    if (entry.source.kind === 'task_id' || !first.has(key)) first.set(key, i);
    return first.get(key)!;
  });
  for (const lead of new Set(sharing)) {
    const group = sharing.flatMap((l, i) => (l === lead ? [i + 1] : []));
    if (group.length > 1)
      log.warning(
        `${Inputs.Videos}: entries ${listed(group.map(String))} (${quoteExternal(inputs.entries[lead]!.name, 200)}) ` +
          'are the same video with the same request: they share one task, paid for once, and each row reports it.',
      );
  }
  return sharing;
}

/** One URL however it is spelled: host case, default port, dot segments. */
function sameUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
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

/** The cache's key for each entry (cache: true); undefined where the source cannot be told apart. */
function cacheKeys(inputs: ActionInputs, infos: readonly (SourceInfo | undefined)[], deps: StepDependencies) {
  if (!inputs.cache) return inputs.entries.map(() => undefined);
  return inputs.entries.map((entry, i) => {
    const key = cacheKey(entry, infos[i], inputs);
    if (!key && entry.source.kind === 'video_url')
      deps.log.info(
        `cache: ${entry.name} is not cached: its host gave no ETag and size${inputs.preflight ? '' : ` (${Inputs.Preflight} is off)`}, so a changed video could not be told apart.`,
      );
    return key;
  });
}

function cacheContext(step: Step): CacheContext {
  const { deps } = step;
  return {
    store: deps.cache,
    log: deps.log,
    signal: deps.signal,
    workspace: deps.run.workspace,
    onAbandoned: () => {
      step.abandonedWork = true;
    },
    // Never past the step's deadline: the cache only ever saves time.
    timeoutMs: Math.max(0, Math.min(policy.cache.timeoutMs, step.deadlineMs - deps.clock.now())),
    onFailure: () => {
      step.cache.broken = true;
    },
    onUnusable: (key) => {
      step.cache.saved.add(key);
    },
  };
}

/** An earlier run's result for these entries (one task), restored and reported; undefined on a miss. */
async function restoreCached(
  indices: readonly number[],
  key: string | undefined,
  step: Step,
): Promise<TaskOutcome | undefined> {
  if (!key || step.cache.broken) return undefined;
  // Two entries with one key share one restore: the same files, the same task.
  let restore = step.cache.restores.get(key);
  if (!restore) {
    restore = restoreResult(key, step.inputs.outputDir, cacheContext(step));
    step.cache.restores.set(key, restore);
  }
  const outcome = await restore;
  if (!outcome?.task) return undefined;
  for (const index of indices) {
    const report = step.report.entries[index]!;
    report.cacheHit(true);
    step.cache.restored.add(index);
    report.taskKnown(outcome.task, outcome.externalTaskId, false);
    for (const file of outcome.files) report.downloaded(file);
  }
  step.deps.log.info(
    `cache: restored the result of task ${outcome.task.taskId} for ${step.inputs.entries[indices[0]!]!.name}; no task created.`,
  );
  return outcome;
}

/** Results generated by this run, kept for later runs. */
async function saveNewResults(
  outcomes: readonly TaskOutcome[],
  keys: readonly (string | undefined)[],
  step: Step,
) {
  for (const [i, outcome] of outcomes.entries()) {
    const key = keys[i];
    if (!key || outcome.ending !== 'succeeded' || step.cache.restored.has(i) || step.deps.signal.aborted)
      continue;
    if (step.cache.broken || step.cache.saved.has(key)) continue;
    step.cache.saved.add(key);
    await saveResult(key, outcome, cacheContext(step));
  }
}

/** Tells the pool when the task exists and when it stops counting against the account (a final status). */
function holdingPlace(observer: TaskObserver, place: Place): TaskObserver {
  const check = (task: Task) => {
    place.taskStarted();
    if (task.status === 'succeed' || task.status === 'failed') place.release();
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

/** The create was refused because the account runs as many tasks as it may (1303): nothing was made. */
function isAccountFull(outcome: TaskOutcome): boolean {
  return (
    outcome.ending === 'failed' &&
    outcome.task === undefined &&
    outcome.error instanceof KlingApiError &&
    outcome.error.classification.kind === 'concurrency'
  );
}

function endingOf(outcome: TaskOutcome, entry: Entry, { inputs, deps }: Step): Ending {
  switch (outcome.ending) {
    case 'succeeded':
      return { kind: 'succeeded' };
    case 'submitted':
      return { kind: 'submitted' };
    case 'cancelled':
      return { kind: 'cancelled', signal: signalName(deps.signal) };
    case 'timeout':
      return { kind: 'timeout', message: describeFailure(outcome, entry, inputs) };
    case 'failed':
      return { kind: 'failed', message: describeFailure(outcome, entry, inputs) };
  }
}

/** Runs before anything can log: the runner then masks these in every line after. */
function maskCredentials(deps: StepDependencies): void {
  for (const name of [Inputs.ApiKey, Inputs.AccessKey, Inputs.SecretKey, Inputs.GithubToken]) {
    const value = deps.getInput(name).trim();
    if (value) deps.mask(value);
  }
}

function taskSpec(entry: Entry, index: number, inputs: ActionInputs, run: RunContext): TaskSpec {
  const request = createRequest(entry, inputs);
  const chosen =
    inputs.externalTaskId && (inputs.batch ? `${inputs.externalTaskId}-${index + 1}` : inputs.externalTaskId);
  return {
    source: entry.source,
    request,
    externalTaskId: chosen || deriveExternalTaskId(run, request, inputs.batch ? index : undefined),
    derivedExternalId: !chosen,
    // A derived id is new on a run's first attempt: a look-up could find nothing (an unknown attempt looks).
    lookUpFirst: Boolean(chosen) || run.attempt !== 1,
    wait: inputs.wait,
    pollIntervalMs: inputs.pollIntervalSeconds * 1000,
    audioFormat: inputs.audioFormat,
    includeVideo: inputs.includeVideo,
    outputDir: inputs.outputDir,
  };
}

function createRequest(entry: Entry, inputs: ActionInputs): Omit<CreateTaskRequest, 'external_task_id'> {
  const { source } = entry;
  return {
    ...(source.kind === 'video_url' ? { video_url: source.videoUrl } : {}),
    ...(source.kind === 'video_id' ? { video_id: source.videoId } : {}),
    ...(entry.soundEffectPrompt ? { sound_effect_prompt: entry.soundEffectPrompt } : {}),
    ...(entry.bgmPrompt ? { bgm_prompt: entry.bgmPrompt } : {}),
    ...(entry.asmrMode ? { asmr_mode: true } : {}),
    ...(inputs.callbackUrl ? { callback_url: inputs.callbackUrl } : {}),
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

function taskContext(
  inputs: ActionInputs,
  deps: StepDependencies,
  retry: RetryContext,
  startedMs: number,
  deadlineMs: number,
  redact: (text: string) => string,
): TaskContext {
  const { credentials } = inputs;
  const auth =
    credentials.kind === 'api_key'
      ? bearerAuthorizer(credentials.apiKey)
      : jwtAuthorizer({ ...credentials, ...policy.jwt, clock: deps.clock, mask: deps.mask });
  const client = new KlingClient({
    ...retry,
    routes: routesFor(inputs.provider, inputs.baseUrl),
    auth,
    fetch: deps.fetch,
    userAgent: deps.userAgent,
    limits: {
      requestTimeoutMs: policy.request.timeoutMs,
      maxAnswerBytes: policy.request.maxAnswerBytes,
      lookupMalformedAttempts: policy.retry.lookupMalformedAttempts,
      unreachableWithinMs: policy.retry.unreachableWithinMs,
      otherTaskAttempts: policy.retry.otherTaskAttempts,
    },
    redact,
  });
  return {
    ...retry,
    client,
    fetch: deps.fetch,
    startedMs,
    deadlineMs,
    allowHttpResults: isLoopback(inputs.baseUrl),
    limits: {
      createAttempts: policy.retry.createAttempts,
      maxSuperseded: policy.submit.maxSuperseded,
      poll: policy.poll,
      download: policy.download,
    },
  };
}

function labelOf(entry: Entry): EntryLabel {
  const { source } = entry;
  const written = sourceText(source);
  const description =
    source.kind === 'video_url'
      ? written
      : source.kind === 'video_id'
        ? `video ${written}`
        : `existing task ${written}`;
  return { name: entry.name, source: written, description };
}

function warnAboutInputs(inputs: ActionInputs, log: Log): void {
  const hint = versionHint(inputs.baseUrl);
  if (hint) log.warning(`${Inputs.BaseUrl} is ${inputs.baseUrl}.${hint}`);
  if (inputs.entries[0]?.source.kind !== 'task_id') return;
  const ignored = [
    inputs.soundEffectPrompt && Inputs.SoundEffectPrompt,
    inputs.bgmPrompt && Inputs.BgmPrompt,
    inputs.asmrMode && Inputs.AsmrMode,
    inputs.callbackUrl && Inputs.CallbackUrl,
    inputs.externalTaskId && Inputs.ExternalTaskId,
  ].filter(Boolean);
  if (ignored.length > 0)
    log.warning(
      `${ignored.join(', ')} ${ignored.length === 1 ? 'has' : 'have'} no effect with ${Inputs.TaskId}: the task already exists.`,
    );
}
