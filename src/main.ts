/**
 * The flow of one task, top to bottom:
 * read inputs → submit or resume → wait → download → upload → report.
 * Everything that touches the outside world arrives in `Dependencies`, so the flow runs in tests
 * without a runner, and several flows can run side by side in one process.
 */
import { Inputs } from './constants.ts';
import { ArtifactsUnsupportedError, uploadResults, type ArtifactStore } from './artifact.ts';
import { DEFAULT_POLL_SCHEDULE, DEFAULT_RETRY_SCHEDULE } from './backoff.ts';
import { downloadFile, planDownloads, type DownloadedFile } from './download.ts';
import { deriveExternalTaskId, type RunIdentity } from './external-id.ts';
import { InputError, readInputs, type ActionInputs, type GetInput } from './inputs.ts';
import { bearerAuthorizer, jwtAuthorizer } from './kling/auth.ts';
import { KlingClient, type CreateTaskRequest } from './kling/client.ts';
import type { Task } from './kling/responses.ts';
import { routesFor } from './kling/routes.ts';
import type { FetchLike } from './kling/transport.ts';
import { TaskReport, type Ending, type OutputSink } from './report.ts';
import type { RetryContext } from './retry.ts';
import { abandonOnAbort, CancelledError, type Clock, type Log, type Sleep } from './runtime.ts';
import { submitOrResume } from './submit.ts';
import { TaskTimeoutError, waitForTask } from './wait.ts';

export interface RunContext extends RunIdentity {
  serverUrl: string;
  workspace: string;
}

export interface Dependencies {
  getInput: GetInput;
  /** core.setSecret: masks a value in every later log line. */
  mask: (secret: string) => void;
  outputs: OutputSink;
  writeSummary: (markdown: string) => Promise<void>;
  fail: (message: string) => void;
  log: Log;
  run: RunContext;
  fetch: FetchLike;
  artifacts: ArtifactStore;
  clock: Clock;
  sleep: Sleep;
  random: () => number;
  /** Aborted by SIGINT/SIGTERM with a CancelledError reason. */
  signal: AbortSignal;
  userAgent: string;
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_CREATE_ATTEMPTS = 5;
const DOWNLOAD_MAX_BYTES = 512 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 4;
const DOWNLOAD_ATTEMPT_TIMEOUT_MS = 10 * 60_000;

export class TaskFailedError extends Error {
  constructor(task: Task, howToRetry: string) {
    super(`Task ${task.taskId} failed: ${task.statusMessage || 'no reason given'}. ${howToRetry}`);
    this.name = 'TaskFailedError';
  }
}

export async function run(deps: Dependencies): Promise<void> {
  maskCredentials(deps);

  let inputs: ActionInputs;
  try {
    inputs = readInputs(deps.getInput, deps.run.workspace);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    deps.fail(error.message);
    return;
  }
  warnAboutIgnoredInputs(inputs, deps.log);

  const startedMs = deps.clock.now();
  const deadlineMs = startedMs + inputs.timeoutSeconds * 1000;
  const retry: RetryContext = { ...deps, schedule: DEFAULT_RETRY_SCHEDULE };
  const client = createClient(inputs, deps, retry);
  const report = new TaskReport(deps.outputs, {
    provider: inputs.provider,
    source: describeSource(inputs),
    audioFormat: inputs.audioFormat,
    clock: deps.clock,
    startedMs,
    workspace: deps.run.workspace,
  });

  let ending: Ending = { kind: 'succeeded' };
  try {
    let task = await obtainTask(inputs, deps, client, retry, report, deadlineMs);
    if (!inputs.wait) {
      ending = { kind: 'submitted' };
      deps.log.info(`Not waiting (wait: false). Task ${task.taskId} is ${task.status}.`);
      return;
    }

    task = await waitForTask(task, {
      ...retry,
      client,
      pollSchedule: { ...DEFAULT_POLL_SCHEDULE, initialMs: inputs.pollIntervalSeconds * 1000 },
      deadlineMs,
      startedMs,
      onStatus: (t) => report.status(t),
    });
    if (task.status === 'failed') throw new TaskFailedError(task, howToRetry(inputs));

    const files = await downloadResults(task, inputs, deps, retry);
    report.downloaded(files);

    if (inputs.uploadArtifact) await uploadArtifact(task, files, inputs, deps, report);
    else report.artifactSkipped('not uploaded (upload_artifact: false)');
  } catch (error) {
    ending = endingFor(error, deps.signal);
    deps.fail(report.failureMessage(ending));
  } finally {
    await deps.writeSummary(report.summary(ending)).catch((error: unknown) => {
      deps.log.warning(`Could not write the job summary: ${(error as Error).message}`);
    });
  }
}

/** Runs before anything can log: the runner then masks these in every line after. */
function maskCredentials(deps: Dependencies): void {
  for (const name of [Inputs.ApiKey, Inputs.AccessKey, Inputs.SecretKey]) {
    const value = deps.getInput(name).trim();
    if (value) deps.mask(value);
  }
}

function createClient(inputs: ActionInputs, deps: Dependencies, retry: RetryContext): KlingClient {
  const { credentials } = inputs;
  const auth =
    credentials.kind === 'api_key'
      ? bearerAuthorizer(credentials.apiKey)
      : jwtAuthorizer({ ...credentials, clock: deps.clock, mask: deps.mask });
  return new KlingClient({
    ...retry,
    routes: routesFor(inputs.provider, inputs.baseUrl),
    auth,
    fetch: deps.fetch,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    userAgent: deps.userAgent,
  });
}

/** Attach to task_id, or submit (resuming whatever an earlier attempt already paid for). */
async function obtainTask(
  inputs: ActionInputs,
  deps: Dependencies,
  client: KlingClient,
  retry: RetryContext,
  report: TaskReport,
  deadlineMs: number,
): Promise<Task> {
  if (inputs.source.kind === 'task_id') {
    const task = await client.getTask(inputs.source.taskId, {
      maxAttempts: Number.POSITIVE_INFINITY,
      deadlineMs,
    });
    report.taskKnown(task, undefined, true);
    deps.log.info(`Attached to task ${task.taskId} (${task.status}).`);
    return task;
  }
  const request = createRequest(inputs);
  const derived = !inputs.externalTaskId;
  const externalTaskId = inputs.externalTaskId ?? deriveExternalTaskId(deps.run, request);
  const submission = await submitOrResume({
    ...retry,
    client,
    request,
    externalTaskId,
    derived,
    deadlineMs,
    maxCreateAttempts: MAX_CREATE_ATTEMPTS,
    onCreating: (externalId) => report.submitting(externalId),
    onTaskKnown: (task, externalId, resumed) => report.taskKnown(task, externalId, resumed),
  });
  return submission.task;
}

function createRequest(inputs: ActionInputs): Omit<CreateTaskRequest, 'external_task_id'> {
  const { source } = inputs;
  return {
    ...(source.kind === 'video_url' ? { video_url: source.videoUrl } : {}),
    ...(source.kind === 'video_id' ? { video_id: source.videoId } : {}),
    ...(inputs.soundEffectPrompt ? { sound_effect_prompt: inputs.soundEffectPrompt } : {}),
    ...(inputs.bgmPrompt ? { bgm_prompt: inputs.bgmPrompt } : {}),
    ...(inputs.asmrMode ? { asmr_mode: true } : {}),
    ...(inputs.callbackUrl ? { callback_url: inputs.callbackUrl } : {}),
  };
}

async function downloadResults(
  task: Task,
  inputs: ActionInputs,
  deps: Dependencies,
  retry: RetryContext,
): Promise<DownloadedFile[]> {
  const files: DownloadedFile[] = [];
  for (const planned of planDownloads(task, inputs.audioFormat, inputs.includeVideo, inputs.outputDir)) {
    const file = await downloadFile(planned, {
      ...retry,
      fetch: deps.fetch,
      maxBytes: DOWNLOAD_MAX_BYTES,
      maxAttempts: DOWNLOAD_ATTEMPTS,
      attemptTimeoutMs: DOWNLOAD_ATTEMPT_TIMEOUT_MS,
    });
    deps.log.info(`Downloaded ${file.path} (${file.bytes} bytes).`);
    files.push(file);
  }
  return files;
}

async function uploadArtifact(
  task: Task,
  files: DownloadedFile[],
  inputs: ActionInputs,
  deps: Dependencies,
  report: TaskReport,
): Promise<void> {
  const { serverUrl, repository, runId } = deps.run;
  try {
    const upload = uploadResults({
      store: deps.artifacts,
      name: inputs.artifactName ?? `kling-audio-${task.taskId}`,
      files: files.map((f) => f.path),
      rootDirectory: inputs.outputDir,
      retentionDays: inputs.retentionDays,
      replaceOnConflict: inputs.artifactName === undefined,
      log: deps.log,
      urlFor: (id) => `${serverUrl}/${repository}/actions/runs/${runId}/artifacts/${id}`,
    });
    const artifact = await abandonOnAbort(upload, deps.signal);
    report.artifactUploaded(artifact);
    deps.log.info(`Uploaded artifact "${artifact.name}" (id ${artifact.id}): ${artifact.url}`);
  } catch (error) {
    if (!(error instanceof ArtifactsUnsupportedError)) throw error;
    deps.log.warning(error.message);
    report.artifactSkipped(error.message);
  }
}

function endingFor(error: unknown, signal: AbortSignal): Ending {
  if (signal.aborted || error instanceof CancelledError) {
    const reason: unknown = signal.reason;
    return {
      kind: 'cancelled',
      signal: reason instanceof CancelledError ? reason.signalName : 'cancellation',
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof TaskTimeoutError ? { kind: 'timeout', message } : { kind: 'failed', message };
}

/** A re-run resumes whatever the external id names, so what to do next depends on who chose it. */
function howToRetry(inputs: ActionInputs): string {
  if (inputs.source.kind === 'task_id')
    return `To try again, submit a new task (${Inputs.VideoUrl} or ${Inputs.VideoId}) instead of ${Inputs.TaskId}.`;
  if (inputs.externalTaskId)
    return `A re-run would resume this failed task: set a new ${Inputs.ExternalTaskId} to submit a fresh one.`;
  return 'Change the video or prompts if the reason calls for it; a re-run submits a fresh task.';
}

function describeSource(inputs: ActionInputs): string {
  const { source } = inputs;
  if (source.kind === 'video_url') return source.videoUrl;
  if (source.kind === 'video_id') return `video ${source.videoId}`;
  return `existing task ${source.taskId}`;
}

function warnAboutIgnoredInputs(inputs: ActionInputs, log: Log): void {
  if (inputs.source.kind !== 'task_id') return;
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
