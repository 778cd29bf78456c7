/**
 * Upload the downloaded files as an artifact (or one per file, unzipped); a re-run that resumes the
 * same task replaces its earlier artifact.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Inputs } from '../constants.ts';
import { policy } from '../policy.ts';
import type { UploadedArtifact } from '../report/task-report.ts';
import { abandonOnAbort, signalName, type Log } from '../runtime.ts';
import { safeFileStem, type ResultFile } from '../task/files.ts';
import type { TaskOutcome } from '../task/task.ts';
import type { Delivery, DeliveryContext } from './delivery.ts';

/** The slice of @actions/artifact this action uses, so tests can stand in for it. */
export interface ArtifactStore {
  uploadArtifact(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number; compressionLevel?: number; skipArchive?: boolean },
  ): Promise<{ id?: number; size?: number; digest?: string }>;
  deleteArtifact(name: string): Promise<{ id: number }>;
}

export interface UploadRequest {
  store: ArtifactStore;
  name: string;
  files: string[];
  rootDirectory: string;
  retentionDays?: number;
  /** Media does not compress: zipping it harder only costs time. */
  compressionLevel: number;
  /** One file, uploaded as it is (the artifact takes the file's name), so it plays in the browser. */
  skipArchive: boolean;
  /** Delete an artifact of the same name first, as upload-artifact's `overwrite`. */
  overwrite: boolean;
  /**
   * The default name belongs to one task, so a conflict is an earlier attempt (or a matrix leg with the
   * same request) holding the same files: replace it. A chosen name may belong to another job: never.
   */
  replaceOnConflict: boolean;
  log: Log;
  /** Built like actions/upload-artifact: {server}/{owner}/{repo}/actions/runs/{run}/artifacts/{id}. */
  urlFor: (id: number) => string;
}

export class ArtifactUploadError extends Error {
  constructor(name: string, files: string[], cause: unknown) {
    super(
      `Uploading artifact "${name}" failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        `The files are still on the runner: ${files.join(', ')}.`,
      { cause },
    );
    this.name = 'ArtifactUploadError';
  }
}

/** GitHub Enterprise Server has no artifact v4 service: the files stay in output_dir instead. */
export class ArtifactsUnsupportedError extends Error {
  override name = 'ArtifactsUnsupportedError';
}

export async function uploadResults(request: UploadRequest): Promise<UploadedArtifact> {
  const { store, files, rootDirectory, retentionDays, log } = request;
  // Unarchived, the client names the artifact after the file.
  const name = request.skipArchive ? path.basename(files[0] ?? request.name) : request.name;
  const options = {
    ...(retentionDays !== undefined ? { retentionDays } : {}),
    ...(request.skipArchive ? { skipArchive: true } : { compressionLevel: request.compressionLevel }),
  };
  let replaced = false;
  let result;
  try {
    if (request.overwrite) replaced = await deleteIfThere(store, name);
    try {
      result = await store.uploadArtifact(name, files, rootDirectory, options);
    } catch (error) {
      if (!isNameConflict(error)) throw error;
      if (!request.replaceOnConflict)
        throw new Error(
          `an artifact named "${name}" already exists in this run (another job, a matrix leg, or an earlier attempt). ` +
            `If it is this job's, from an earlier attempt, set ${Inputs.Overwrite}: true to replace it; otherwise make ` +
            `${Inputs.ArtifactName} unique, e.g. with \${{ matrix.<key> }} or \${{ github.run_attempt }}, or leave it ` +
            'empty for the default kling-audio-<task_id>, which a re-run replaces',
          { cause: error },
        );
      // A re-run resumed the task an earlier attempt already uploaded: replace that artifact.
      log.info(`Artifact "${name}" exists from an earlier attempt of this run; replacing it.`);
      await store.deleteArtifact(name);
      replaced = true;
      result = await store.uploadArtifact(name, files, rootDirectory, options);
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'GHESNotSupportedError')
      throw new ArtifactsUnsupportedError(
        `Artifacts are not available on GitHub Enterprise Server; the files stay in ${rootDirectory}.`,
        { cause: error },
      );
    throw new ArtifactUploadError(name, files, error);
  }
  if (result.id === undefined)
    throw new ArtifactUploadError(name, files, new Error('the service returned no artifact id'));
  return {
    name,
    id: result.id,
    size: result.size,
    digest: result.digest,
    url: request.urlFor(result.id),
    replaced,
  };
}

/** True when an artifact of that name existed and is gone now; a missing one is no error. */
async function deleteIfThere(store: ArtifactStore, name: string): Promise<boolean> {
  try {
    await store.deleteArtifact(name);
    return true;
  } catch (error) {
    if (/not found|\(404\)/i.test(error instanceof Error ? error.message : String(error))) return false;
    throw error;
  }
}

function isNameConflict(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /\(409\)|already exists/i.test(message);
}

/** The inputs the artifact delivery reads. */
export interface ArtifactSettings {
  uploadArtifact: boolean;
  artifactName?: string;
  batch: boolean;
  archive: boolean;
  overwrite: boolean;
  retentionDays?: number;
  timeoutSeconds: number;
  outputDir: string;
}

export interface ArtifactWorld {
  store: ArtifactStore;
  /** Where the run's page is: the artifact's link is built from it. */
  run: { serverUrl: string; repository: string; runId: string };
}

/** One zip of every file, or (archive: false) each file as its own artifact, so it plays in the browser. */
export function artifactDelivery(settings: ArtifactSettings, world: ArtifactWorld): Delivery {
  return {
    tells: false,
    async deliver(context) {
      const { files, report } = context;
      if (files.length === 0) return undefined;
      if (!settings.uploadArtifact) {
        report.artifactSkipped(`not uploaded (${Inputs.UploadArtifact}: false)`);
        return undefined;
      }
      return uploadAll(artifactName(context.outcomes, settings), settings, world, context);
    },
  };
}

/** A re-run that resumes the same tasks must find (and replace) the same artifact. */
function artifactName(outcomes: readonly TaskOutcome[], settings: ArtifactSettings): string {
  if (settings.artifactName) return settings.artifactName;
  if (!settings.batch) return `kling-audio-${safeFileStem(outcomes[0]?.task?.taskId ?? 'task')}`;
  const ids = outcomes.map((o) => o.externalTaskId ?? '').join('\n');
  return `kling-audio-${createHash('sha256').update(ids).digest('hex').slice(0, 16)}`;
}

async function uploadAll(
  name: string,
  settings: ArtifactSettings,
  world: ArtifactWorld,
  context: DeliveryContext,
) {
  const { files, report, log, signal } = context;
  const { serverUrl, repository, runId } = world.run;
  // The client takes no signal: on cancellation or at the deadline the upload is abandoned.
  const deadline = AbortSignal.timeout(Math.max(0, context.deadlineMs - context.clock.now()));
  const batches = settings.archive ? [files] : files.map((file) => [file]);
  const uploaded: UploadedArtifact[] = [];
  try {
    for (const batch of batches) {
      const upload = uploadResults({
        store: world.store,
        name,
        files: batch.map((f) => f.path),
        rootDirectory: settings.outputDir,
        retentionDays: settings.retentionDays,
        compressionLevel: policy.artifact.compressionLevel,
        skipArchive: !settings.archive,
        overwrite: settings.overwrite,
        replaceOnConflict: settings.artifactName === undefined || !settings.archive,
        log,
        urlFor: (id) => `${serverUrl}/${repository}/actions/runs/${runId}/artifacts/${id}`,
      });
      const artifact = await abandonOnAbort(upload, AbortSignal.any([signal, deadline]));
      log.info(`Uploaded artifact "${artifact.name}" (id ${artifact.id}): ${artifact.url}`);
      uploaded.push(artifact);
    }
    report.artifactUploaded(uploaded);
    return undefined;
  } catch (error) {
    if (uploaded.length > 0) report.artifactUploaded(uploaded);
    if (signal.aborted || deadline.aborted) context.onAbandoned();
    if (signal.aborted) return { kind: 'cancelled', signal: signalName(signal) } as const;
    if (deadline.aborted) return { kind: 'timeout', message: uploadTimedOut(files, settings) } as const;
    // An ending, not a throw: the release and the PR comment still say how the step went.
    if (!(error instanceof ArtifactsUnsupportedError))
      return { kind: 'failed', message: error instanceof Error ? error.message : String(error) } as const;
    log.warning(error.message);
    report.artifactSkipped(error.message);
    return undefined;
  }
}

function uploadTimedOut(files: readonly ResultFile[], settings: ArtifactSettings): string {
  return (
    `The artifact upload did not finish before the step's deadline (${Inputs.TimeoutSeconds}: ${settings.timeoutSeconds}). ` +
    `The files are on the runner: ${files.map((f) => f.path).join(', ')}; raise ${Inputs.TimeoutSeconds} to leave the upload more time.`
  );
}
