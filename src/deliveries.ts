/**
 * Where the step hands its files on: the artifact (one, or one per file), the release's assets and
 * the pull request's comment. Each says how it went; only a failed artifact or release fails the step.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Inputs } from './constants.ts';
import { ArtifactsUnsupportedError, uploadResults, type UploadedArtifact } from './deliver/artifact.ts';
import { loadOctokit, plainUrl, type Octokit } from './deliver/github.ts';
import { commentMarker, CommentNotAllowedError, upsertComment } from './deliver/pr-comment.ts';
import {
  ReleaseAssetNotOursError,
  ReleaseImmutableError,
  ReleaseNotAllowedError,
  ReleaseNotFoundError,
  uploadReleaseAssets,
  type AssetFile,
} from './deliver/release-assets.ts';
import type { ActionInputs, Entry } from './inputs.ts';
import type { StepDependencies } from './dependencies.ts';
import { policy } from './policy.ts';
import type { StepReport } from './report/step-report.ts';
import type { Ending } from './report/task-report.ts';
import { abandonOnAbort, signalName } from './runtime.ts';
import { safeFileStem, type DownloadedFile } from './task/files.ts';
import type { TaskOutcome } from './task/task.ts';

export interface StepCache {
  /** It failed once: the rest of the step does without it. */
  broken: boolean;
  /** Entries whose result came from it (nothing to save again). */
  restored: Set<number>;
  /** One restore per key, shared by the entries that have it. */
  restores: Map<string, Promise<TaskOutcome | undefined>>;
  saved: Set<string>;
}

/** What the deliveries share: the step's inputs and world, its report, and its deadline. */
export interface Step {
  inputs: ActionInputs;
  deps: StepDependencies;
  report: StepReport;
  deadlineMs: number;
  abandonedWork: boolean;
  /** The cache's state for this step (cache: true). */
  cache: StepCache;
}

/** Every delivery asked for; the step's ending when one of them ends it, else undefined. */
export async function deliver(
  outcomes: readonly TaskOutcome[],
  endings: readonly Ending[],
  step: Step,
): Promise<Ending | undefined> {
  const { inputs, deps, report } = step;
  if (deps.signal.aborted) return cancelled(step);
  const files = outcomes.flatMap((o) => o.files);
  let ending: Ending | undefined;
  if (files.length > 0 && inputs.uploadArtifact)
    ending = await uploadArtifacts(files, artifactName(outcomes, step), step);
  else if (files.length > 0) report.artifactSkipped(`not uploaded (${Inputs.UploadArtifact}: false)`);
  if (!ending && inputs.releaseTag && files.length > 0)
    ending = await releaseAssets(outcomes, inputs.releaseTag, step);
  if (inputs.prComment && !deps.signal.aborted) await comment(endings, ending, step);
  return ending;
}

function cancelled({ deps }: Step): Ending {
  return { kind: 'cancelled', signal: signalName(deps.signal) };
}

/** A re-run that resumes the same tasks must find (and replace) the same artifact. */
function artifactName(outcomes: readonly TaskOutcome[], { inputs }: Step): string {
  if (inputs.artifactName) return inputs.artifactName;
  if (!inputs.batch) return `kling-audio-${safeFileStem(outcomes[0]?.task?.taskId ?? 'task')}`;
  const ids = outcomes.map((o) => o.externalTaskId ?? '').join('\n');
  return `kling-audio-${createHash('sha256').update(ids).digest('hex').slice(0, 16)}`;
}

/** One zip of every file, or (archive: false) each file as its own artifact, so it plays in the browser. */
async function uploadArtifacts(
  files: DownloadedFile[],
  name: string,
  step: Step,
): Promise<Ending | undefined> {
  const { inputs, deps, report, deadlineMs } = step;
  const { serverUrl, repository, runId } = deps.run;
  // The client takes no signal: on cancellation or at the deadline the upload is abandoned.
  const deadline = AbortSignal.timeout(Math.max(0, deadlineMs - deps.clock.now()));
  const batches = inputs.archive ? [files] : files.map((file) => [file]);
  const uploaded: UploadedArtifact[] = [];
  try {
    for (const batch of batches) {
      const upload = uploadResults({
        store: deps.artifacts,
        name,
        files: batch.map((f) => f.path),
        rootDirectory: inputs.outputDir,
        retentionDays: inputs.retentionDays,
        compressionLevel: policy.artifact.compressionLevel,
        skipArchive: !inputs.archive,
        overwrite: inputs.overwrite,
        replaceOnConflict: inputs.artifactName === undefined || !inputs.archive,
        log: deps.log,
        urlFor: (id) => `${serverUrl}/${repository}/actions/runs/${runId}/artifacts/${id}`,
      });
      const artifact = await abandonOnAbort(upload, AbortSignal.any([deps.signal, deadline]));
      deps.log.info(`Uploaded artifact "${artifact.name}" (id ${artifact.id}): ${artifact.url}`);
      uploaded.push(artifact);
    }
    report.artifactUploaded(uploaded);
    return undefined;
  } catch (error) {
    if (uploaded.length > 0) report.artifactUploaded(uploaded);
    step.abandonedWork = deps.signal.aborted || deadline.aborted;
    if (deps.signal.aborted) return cancelled(step);
    if (deadline.aborted) return { kind: 'timeout', message: uploadTimedOut(files, inputs) };
    // An ending, not a throw: the release and the PR comment still say how the step went.
    if (!(error instanceof ArtifactsUnsupportedError))
      return { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    deps.log.warning(error.message);
    report.artifactSkipped(error.message);
    return undefined;
  }
}

function uploadTimedOut(files: DownloadedFile[], inputs: ActionInputs): string {
  return (
    `The artifact upload did not finish before the step's deadline (${Inputs.TimeoutSeconds}: ${inputs.timeoutSeconds}). ` +
    `The files are on the runner: ${files.map((f) => f.path).join(', ')}; raise ${Inputs.TimeoutSeconds} to leave the upload more time.`
  );
}

async function octokitFor(step: Step): Promise<Octokit> {
  const { deps, inputs, deadlineMs } = step;
  const deadline = AbortSignal.timeout(Math.max(0, deadlineMs - deps.clock.now()));
  return loadOctokit(inputs.githubToken, deps.github.apiUrl, AbortSignal.any([deps.signal, deadline]));
}

/** The files as assets of the release; a missing or immutable release, or a refusal, fails the step. */
async function releaseAssets(
  outcomes: readonly TaskOutcome[],
  tag: string,
  step: Step,
): Promise<Ending | undefined> {
  const { deps, inputs, report } = step;
  const run = deps.github;
  const files = assetFiles(outcomes, inputs.entries);
  try {
    const urls = await uploadReleaseAssets(
      await octokitFor(step),
      { owner: run.owner, repo: run.repo, tag },
      files,
      githubContext(step),
    );
    report.releaseAssets(urls);
    deps.log.info(`Uploaded ${urls.length} asset${urls.length === 1 ? '' : 's'} to release ${tag}.`);
    return undefined;
  } catch (error) {
    const kept = ` The files stay in ${inputs.outputDir}${inputs.uploadArtifact ? ' and in the artifact' : ''}.`;
    if (error instanceof ReleaseNotFoundError)
      return {
        kind: 'failed',
        message: `${Inputs.ReleaseTag} ${tag}: ${error.message} The action never creates one.${kept}`,
      };
    if (error instanceof ReleaseImmutableError)
      return {
        kind: 'failed',
        message: `${Inputs.ReleaseTag} ${tag}: ${error.message} Upload while the release is a draft (create it as a draft, run this step, then publish).${kept}`,
      };
    if (error instanceof ReleaseAssetNotOursError)
      return {
        kind: 'failed',
        message: `${Inputs.ReleaseTag} ${tag}: ${error.message}. Rename or remove that asset on the release page (or point ${Inputs.ReleaseTag} at another release), then re-run.${kept}`,
      };
    if (error instanceof ReleaseNotAllowedError)
      return {
        kind: 'failed',
        message: `${Inputs.ReleaseTag} ${tag}: ${error.message} ${Inputs.GithubToken} needs \`contents: write\` (set it under permissions:).${kept}`,
      };
    return {
      kind: 'failed',
      message: `${Inputs.ReleaseTag} ${tag}: ${error instanceof Error ? error.message : String(error)}.${kept}`,
    };
  }
}

const CONTENT_TYPES = { mp3: 'audio/mpeg', wav: 'audio/wav', mp4: 'video/mp4' } as const;

/** Asset names from the entry, never the task id, so a later run replaces them instead of adding more. */
export function assetFiles(outcomes: readonly TaskOutcome[], entries: readonly Entry[]): AssetFile[] {
  const used = new Set<string>();
  return outcomes.flatMap((outcome, i) => {
    let stem = assetStem(entries[i]!);
    if (used.has(stem)) stem = `${stem}-${i + 1}`;
    used.add(stem);
    return outcome.files.map((file) => ({
      path: file.path,
      name: file.role === 'video' ? `${stem}-with-sound.mp4` : `${stem}.${file.kind}`,
      contentType: CONTENT_TYPES[file.kind],
    }));
  });
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function assetStem(entry: Entry): string {
  const { source } = entry;
  const raw =
    source.kind === 'video_url'
      ? decodePath(path.posix.basename(new URL(source.videoUrl).pathname)).replace(/\.[^.]*$/, '')
      : source.kind === 'video_id'
        ? `video-${source.videoId}`
        : `task-${source.taskId}`;
  return (
    raw
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 80) || 'kling-audio'
  );
}

/** The pull request's comment; never fails the step, but says what would fix it. */
async function comment(
  endings: readonly Ending[],
  stepEnding: Ending | undefined,
  step: Step,
): Promise<void> {
  const { deps, report } = step;
  const run = deps.github;
  if (run.pullRequest === undefined) {
    deps.log.info(
      `${Inputs.PrComment}: this run is not for a pull request (event ${run.eventName || 'unknown'}); no comment written.`,
    );
    return;
  }
  const marker = commentMarker(run);
  const { serverUrl, repository, runId } = deps.run;
  const body = report.comment(endings, stepEnding, {
    // The marker and its line break go first.
    maxChars: policy.report.commentMaxChars - marker.length - 1,
    summaryUrl: plainUrl(`${serverUrl}/${repository}/actions/runs/${runId}`),
  });
  try {
    const posted = await upsertComment(
      await octokitFor(step),
      { owner: run.owner, repo: run.repo, pullRequest: run.pullRequest },
      marker,
      body,
      githubContext(step),
    );
    if (posted.url) report.commented(posted.url);
    deps.log.info(
      `${posted.created ? 'Wrote' : 'Updated'} the pull request comment${posted.url ? `: ${posted.url}` : '.'}`,
    );
  } catch (error) {
    if (error instanceof CommentNotAllowedError)
      deps.log.warning(
        `${Inputs.PrComment}: GitHub refused the comment (HTTP ${error.status}). ${Inputs.GithubToken} needs \`pull-requests: write\`; ` +
          `a pull request from a fork gets a read-only GITHUB_TOKEN, so skip ${Inputs.PrComment} there.`,
      );
    else
      deps.log.warning(
        `${Inputs.PrComment}: the comment could not be written: ${error instanceof Error ? error.message : String(error)}`,
      );
  }
}

/** What a GitHub call needs: time, the retry schedule, GitHub's limits and the step's deadline. */
function githubContext({ deps, deadlineMs }: Step) {
  const { clock, sleep, random, log, signal } = deps;
  return {
    clock,
    sleep,
    random,
    log,
    signal,
    schedule: policy.retry.schedule,
    limits: policy.github,
    deadlineMs,
    apiUrl: deps.github.apiUrl,
  };
}
