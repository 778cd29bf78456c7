/**
 * The step, top to bottom: inputs → the task → deliveries → outputs → summary.
 * Everything that touches the outside world arrives in `StepDependencies`, so the step runs in tests
 * without a runner, and several steps can run side by side in one process.
 */
import { describeFailure, versionHint } from './advice.ts';
import { Inputs } from './constants.ts';
import { ArtifactsUnsupportedError, uploadResults, type ArtifactStore } from './deliver/artifact.ts';
import { InputError, isLoopback, readInputs, type ActionInputs, type GetInput } from './inputs.ts';
import { bearerAuthorizer, jwtAuthorizer } from './kling/auth.ts';
import { KlingClient, type CreateTaskRequest } from './kling/client.ts';
import { routesFor } from './kling/routes.ts';
import type { FetchLike } from './net/http.ts';
import type { RetryContext } from './net/retry.ts';
import { policy } from './policy.ts';
import { TaskReport, type Ending, type OutputSink } from './report/task-report.ts';
import { abandonOnAbort, type Clock, type Log, type Sleep } from './runtime.ts';
import { deriveExternalTaskId, type RunIdentity } from './task/external-id.ts';
import { safeFileStem, type DownloadedFile } from './task/files.ts';
import { runTask } from './task/run-task.ts';
import type { TaskContext, TaskOutcome, TaskSpec } from './task/task.ts';

export interface RunContext extends RunIdentity {
  serverUrl: string;
  workspace: string;
}

export interface StepDependencies {
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

export async function runStep(deps: StepDependencies): Promise<void> {
  maskCredentials(deps);
  let inputs: ActionInputs;
  try {
    inputs = readInputs(deps.getInput, deps.run.workspace);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    deps.fail(error.message);
    return;
  }
  warnAboutInputs(inputs, deps.log);

  const startedMs = deps.clock.now();
  const deadlineMs = startedMs + inputs.timeoutSeconds * 1000;
  const retry: RetryContext = { ...deps, schedule: policy.retry.schedule };
  const spec = taskSpec(inputs, deps.run);
  const report = new TaskReport(deps.outputs, {
    provider: inputs.provider,
    allowHttpResults: isLoopback(inputs.baseUrl),
    source: describeSource(inputs),
    audioFormat: inputs.audioFormat,
    clock: deps.clock,
    startedMs,
    workspace: deps.run.workspace,
  });

  let ending: Ending = { kind: 'failed', message: 'the step ended early' };
  try {
    const outcome = await runTask(spec, taskContext(inputs, deps, retry, startedMs, deadlineMs), report);
    ending = await deliver(outcome, { inputs, deps, report, deadlineMs });
  } catch (error) {
    ending = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
  } finally {
    if (ending.kind !== 'succeeded' && ending.kind !== 'submitted') deps.fail(report.failureMessage(ending));
    await deps.writeSummary(report.summary(ending)).catch((error: unknown) => {
      deps.log.warning(`Could not write the job summary: ${(error as Error).message}`);
    });
  }
}

/** Runs before anything can log: the runner then masks these in every line after. */
function maskCredentials(deps: StepDependencies): void {
  for (const name of [Inputs.ApiKey, Inputs.AccessKey, Inputs.SecretKey]) {
    const value = deps.getInput(name).trim();
    if (value) deps.mask(value);
  }
}

function taskSpec(inputs: ActionInputs, run: RunIdentity): TaskSpec {
  const request = createRequest(inputs);
  return {
    source: inputs.source,
    request,
    externalTaskId: inputs.externalTaskId ?? deriveExternalTaskId(run, request),
    derivedExternalId: !inputs.externalTaskId,
    wait: inputs.wait,
    pollIntervalMs: inputs.pollIntervalSeconds * 1000,
    audioFormat: inputs.audioFormat,
    includeVideo: inputs.includeVideo,
    outputDir: inputs.outputDir,
  };
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

function taskContext(
  inputs: ActionInputs,
  deps: StepDependencies,
  retry: RetryContext,
  startedMs: number,
  deadlineMs: number,
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
    },
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

/** What the deliveries share: the step's inputs and world, its report, and its deadline. */
interface Step {
  inputs: ActionInputs;
  deps: StepDependencies;
  report: TaskReport;
  deadlineMs: number;
}

/** Hands the files on (the artifact) and says how the step ends. */
async function deliver(outcome: TaskOutcome, step: Step): Promise<Ending> {
  const { inputs, deps, report } = step;
  if (outcome.ending === 'cancelled') return { kind: 'cancelled', signal: signalName(deps.signal) };
  if (outcome.ending === 'submitted') return { kind: 'submitted' };
  if (outcome.ending !== 'succeeded') {
    const message = describeFailure(outcome, inputs);
    return outcome.ending === 'timeout' ? { kind: 'timeout', message } : { kind: 'failed', message };
  }
  if (!inputs.uploadArtifact) {
    report.artifactSkipped(`not uploaded (${Inputs.UploadArtifact}: false)`);
    return { kind: 'succeeded' };
  }
  return uploadArtifact(outcome, step);
}

async function uploadArtifact(
  outcome: TaskOutcome,
  { inputs, deps, report, deadlineMs }: Step,
): Promise<Ending> {
  const { serverUrl, repository, runId } = deps.run;
  const files = outcome.files;
  // The client takes no signal: on cancellation or at the deadline the upload is abandoned.
  const deadline = AbortSignal.timeout(Math.max(0, deadlineMs - deps.clock.now()));
  try {
    const upload = uploadResults({
      store: deps.artifacts,
      name: inputs.artifactName ?? `kling-audio-${safeFileStem(outcome.task?.taskId ?? 'task')}`,
      files: files.map((f) => f.path),
      rootDirectory: inputs.outputDir,
      retentionDays: inputs.retentionDays,
      replaceOnConflict: inputs.artifactName === undefined,
      log: deps.log,
      urlFor: (id) => `${serverUrl}/${repository}/actions/runs/${runId}/artifacts/${id}`,
    });
    const artifact = await abandonOnAbort(upload, AbortSignal.any([deps.signal, deadline]));
    report.artifactUploaded(artifact);
    deps.log.info(`Uploaded artifact "${artifact.name}" (id ${artifact.id}): ${artifact.url}`);
    return { kind: 'succeeded' };
  } catch (error) {
    if (deps.signal.aborted) return { kind: 'cancelled', signal: signalName(deps.signal) };
    if (deadline.aborted) return { kind: 'timeout', message: uploadTimedOut(files, inputs) };
    if (!(error instanceof ArtifactsUnsupportedError)) throw error;
    deps.log.warning(error.message);
    report.artifactSkipped(error.message);
    return { kind: 'succeeded' };
  }
}

function uploadTimedOut(files: DownloadedFile[], inputs: ActionInputs): string {
  return (
    `The artifact upload did not finish before the step's deadline (${Inputs.TimeoutSeconds}: ${inputs.timeoutSeconds}). ` +
    `The files are on the runner: ${files.map((f) => f.path).join(', ')}; raise ${Inputs.TimeoutSeconds} to leave the upload more time.`
  );
}

function signalName(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error && 'signalName' in reason ? String(reason.signalName) : 'cancellation';
}

function describeSource(inputs: ActionInputs): string {
  const { source } = inputs;
  if (source.kind === 'video_url') return source.videoUrl;
  if (source.kind === 'video_id') return `video ${source.videoId}`;
  return `existing task ${source.taskId}`;
}

function warnAboutInputs(inputs: ActionInputs, log: Log): void {
  const hint = versionHint(inputs.baseUrl);
  if (hint) log.warning(`${Inputs.BaseUrl} is ${inputs.baseUrl}.${hint}`);
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
