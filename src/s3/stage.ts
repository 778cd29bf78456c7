/**
 * One local file put where an API can fetch it: content-addressed under the prefix
 * (`<prefix>/<sha256>.<ext>`), uploaded unless an object of that name and size is there already (a
 * re-run, or the same file twice), and a presigned GET for it.
 */
import { stat } from 'node:fs/promises';
import type { PresignedUrl, S3Client } from './client.ts';
import { objectKey } from './location.ts';

export interface FileToStage {
  path: string;
  /** SHA-256 of the file's bytes (hex): names the object and is signed with the upload. */
  sha256: string;
  /** Without the dot: `mp4`, `mov`. */
  extension: string;
  contentType: string;
}

export interface StagedFile extends PresignedUrl {
  key: string;
  /** False when the object was there already and nothing was sent. */
  uploaded: boolean;
}

export async function stageFile(
  client: S3Client,
  prefix: string,
  file: FileToStage,
  options: { lifetimeMs: number; deadlineMs: number },
): Promise<StagedFile> {
  const key = objectKey(prefix, `${file.sha256}.${file.extension.toLowerCase()}`);
  const [{ size }, existing] = await Promise.all([
    stat(file.path),
    client.headObject(key, options.deadlineMs),
  ]);
  const uploaded = typeof existing !== 'object' || existing.size !== size;
  if (uploaded) await client.putObject(key, file, options.deadlineMs);
  // A refused look-up may mean no s3:GetObject, and then the API's fetch fails after the task is paid.
  if (existing === 'refused') await client.checkReadable(key, options.deadlineMs);
  return { key, uploaded, ...(await client.presignGet(key, options.lifetimeMs)) };
}
