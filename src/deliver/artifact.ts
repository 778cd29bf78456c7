/**
 * Upload the downloaded files as an artifact (or one per file, unzipped); a re-run that resumes the
 * same task replaces its earlier artifact.
 */
import path from 'node:path';
import { Inputs } from '../constants.ts';
import type { Log } from '../runtime.ts';

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

export interface UploadedArtifact {
  name: string;
  id: number;
  size?: number;
  digest?: string;
  url: string;
  replaced: boolean;
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
