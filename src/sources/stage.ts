/**
 * Files on the runner, staged where the API can fetch them: `<prefix>/<sha256>.<ext>` in the user's
 * bucket, uploaded once per content, and handed to the API as a presigned GET that lasts the rest of
 * the step plus a margin. The object is deleted when the last task that uses it ends; what is left
 * (a cancelled job, a step that died) is in the step's state for the post step to delete.
 */
import path from 'node:path';
import { Inputs, State } from '../constants.ts';
import { DeadlineError, type FetchLike } from '../net/http.ts';
import type { RetryContext } from '../net/retry.ts';
import { policy } from '../policy.ts';
import { S3Client } from '../s3/client.ts';
import { readCredentials, type Environment } from '../s3/credentials.ts';
import { StoreError } from '../s3/errors.ts';
import { objectName, type StoreAddress } from '../s3/location.ts';
import { stageFile } from '../s3/stage.ts';
import { CancelledError, Gate } from '../runtime.ts';
import type { LocalFile } from './source.ts';

/** Where files go (the inputs' staging_url, staging_endpoint, staging_region). */
export interface StagingSettings {
  bucket: string;
  prefix: string;
  /** An S3-compatible store's origin; undefined: Amazon S3 for the region. */
  endpoint?: string;
  region: string;
}

export interface StagingContext extends RetryContext {
  signal: AbortSignal;
  fetch: FetchLike;
  env: Environment;
  /** Masks (and redacts) a secret: the presigned URLs, the credentials. */
  mask: (secret: string) => void;
  /** core.saveState: what is staged and not deleted yet, for the post step. */
  saveState: (name: string, value: string) => void;
  userAgent: string;
  deadlineMs: number;
}

/** An object the step put in the bucket, as the post step needs it to delete it. */
export interface StagedObject extends StoreAddress {
  key: string;
}

/** The file could not be staged: no task was created for it. */
export class StagingError extends Error {
  constructor(file: LocalFile, reason: string) {
    super(`The video ${file.path} could not be staged for the API to fetch: ${reason} No task was created.`);
    this.name = 'StagingError';
  }
}

const CONTENT_TYPES: Record<string, string> = { mp4: 'video/mp4', mov: 'video/quicktime', m4v: 'video/mp4' };

export class Staging {
  readonly #settings: StagingSettings | undefined;
  readonly #context: StagingContext;
  readonly #uploads = new Gate(policy.staging.uploadConcurrency);
  /** One staging per content: the same file twice is uploaded once. */
  readonly #staged = new Map<string, Promise<{ key: string; url: string }>>();
  /** Entries still to end, per content: the object goes when none is left. */
  readonly #users = new Map<string, number>();
  /** Objects in the bucket (or being put there), by content. */
  readonly #objects = new Map<string, StagedObject>();
  readonly #deletes: Promise<void>[] = [];
  #client: S3Client | undefined;

  constructor(settings: StagingSettings | undefined, context: StagingContext) {
    this.#settings = settings;
    this.#context = context;
  }

  /** Counts an entry that will use the file, so the object stays until that entry ends. */
  use(file: LocalFile): void {
    this.#users.set(file.sha256, (this.#users.get(file.sha256) ?? 0) + 1);
  }

  /** The create's video_url for the file: staged first (once per content). Rejects with a StagingError. */
  videoUrl(file: LocalFile): Promise<{ video_url: string }> {
    let staged = this.#staged.get(file.sha256);
    if (!staged) {
      staged = this.#stage(file);
      this.#staged.set(file.sha256, staged);
    }
    return staged.then(({ url }) => ({ video_url: url }));
  }

  /** An entry that used the file ended (its task's final status, or no task at all). */
  release(file: LocalFile): void {
    const left = (this.#users.get(file.sha256) ?? 1) - 1;
    this.#users.set(file.sha256, left);
    if (left <= 0) this.#deletes.push(this.#delete(file.sha256));
  }

  /**
   * The step's end: objects still there are deleted, unless `keep` (tasks not waited for, which may
   * still fetch them: the bucket's lifecycle rule removes them, and the presigned URL's expiry bounds
   * who can read them).
   */
  async finish(keep: boolean): Promise<void> {
    // Cancelled: the step exits at once; the post step deletes what is left.
    if (this.#context.signal.aborted) return;
    await Promise.allSettled(this.#staged.values());
    if (keep && this.#objects.size > 0) {
      this.#context.log.info(
        `${[...this.#objects.values()].map((o) => objectName(o.bucket, o.key)).join(', ')} ${this.#objects.size === 1 ? 'stays' : 'stay'} in the bucket: ` +
          `with ${Inputs.Wait}: false the step does not see the tasks end. The bucket's lifecycle rule removes staged objects; the presigned URLs expire after the step's timeout and a margin.`,
      );
      // Nor may the post step delete them at the job's end: the API may not have fetched them yet.
      this.#objects.clear();
      this.#saveState();
    } else for (const sha256 of [...this.#objects.keys()]) this.#deletes.push(this.#delete(sha256));
    await Promise.all(this.#deletes);
  }

  async #stage(file: LocalFile): Promise<{ key: string; url: string }> {
    const client = this.#connect(file);
    const settings = this.#settings!;
    const extension = path.extname(file.absolute).slice(1).toLowerCase() || 'mp4';
    const key = [settings.prefix, `${file.sha256}.${extension}`].filter(Boolean).join('/');
    // Known before the first byte goes: a step that dies mid-upload leaves the post step a name.
    this.#objects.set(file.sha256, { ...this.#address(), key });
    this.#saveState();
    const release = await this.#uploads.acquire(this.#context.signal);
    try {
      const { clock, deadlineMs } = this.#context;
      const staged = await stageFile(
        client,
        settings.prefix,
        {
          path: file.absolute,
          sha256: file.sha256,
          extension,
          contentType: CONTENT_TYPES[extension] ?? 'video/mp4',
        },
        { lifetimeMs: deadlineMs - clock.now() + policy.staging.presignMarginMs, deadlineMs },
      );
      this.#context.log.info(
        `${staged.uploaded ? 'Staged' : 'Found already staged'} ${file.path} as ${client.name(staged.key)}; the API gets a link that lasts ${Math.round(staged.lifetimeSeconds / 60)} min${staged.limitedBy === 'credentials' ? ' (as long as the credentials do)' : ''}.`,
      );
      return { key: staged.key, url: staged.url };
    } catch (error) {
      if (this.#context.signal.aborted) throw error;
      throw new StagingError(file, this.#explain(error));
    } finally {
      release();
    }
  }

  /** The store's client, made once; without staging_url or credentials, why not. */
  #connect(file: LocalFile): S3Client {
    if (!this.#settings)
      throw new StagingError(
        file,
        `it is a file on the runner, and ${Inputs.StagingUrl} is not set. Set ${Inputs.StagingUrl} to s3://bucket/prefix (Amazon S3, or an S3-compatible store with ${Inputs.StagingEndpoint}), with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the step's environment.`,
      );
    if (this.#client) return this.#client;
    const now = this.#context.clock.now();
    const credentials = readCredentials(this.#context.env, now);
    if (!credentials.ok) throw new StagingError(file, `${credentials.problem}.`);
    const { expiresAtMs } = credentials.credentials;
    if (expiresAtMs !== undefined && expiresAtMs - now < policy.staging.minCredentialsLeftMs)
      throw new StagingError(
        file,
        `the credentials expire at ${new Date(expiresAtMs).toISOString()} (AWS_CREDENTIAL_EXPIRATION), in ${Math.round((expiresAtMs - now) / 1000)} s: ` +
          'a presigned URL dies with them, before the API could fetch the video. Get credentials that last the step (configure-aws-credentials: a longer role-duration-seconds, or run it right before this step).',
      );
    this.#client = new S3Client({
      ...this.#context,
      address: this.#address(),
      credentials: credentials.credentials,
      limits: policy.staging,
    });
    return this.#client;
  }

  #address(): StoreAddress {
    const { bucket, region, endpoint } = this.#settings!;
    return { bucket, region, ...(endpoint ? { endpoint } : {}) };
  }

  /** The store's answer with advice that names the input to change. */
  #explain(error: unknown): string {
    if (error instanceof DeadlineError)
      return `${error.message}. Raise ${Inputs.TimeoutSeconds}, or check that the store${this.#settings?.endpoint ? ` at ${Inputs.StagingEndpoint}` : ''} answers.`;
    if (!(error instanceof StoreError)) return `${error instanceof Error ? error.message : String(error)}.`;
    if (error.kind === 'wrong-region' && error.rightRegion)
      return error.withAdvice(`Set ${Inputs.StagingRegion}: ${error.rightRegion}.`);
    if (error.kind === 'no-such-bucket')
      return error.withAdvice(
        `Check the bucket in ${Inputs.StagingUrl}${this.#settings?.endpoint ? ` and ${Inputs.StagingEndpoint}` : ''}, or create the bucket.`,
      );
    return error.message;
  }

  /** Deletes the object of that content; a failure is a warning naming it and the permission. */
  async #delete(sha256: string): Promise<void> {
    const object = this.#objects.get(sha256);
    // Cancelled: the step exits at once; the post step deletes what the saved state lists.
    if (!object || !this.#client || this.#context.signal.aborted) return;
    this.#objects.delete(sha256);
    const { clock, deadlineMs } = this.#context;
    const left = await deleteStaged([object], {
      ...this.#context,
      client: this.#client,
      deadlineMs: Math.max(deadlineMs, clock.now() + policy.staging.deleteGraceMs),
    });
    for (const kept of left) this.#objects.set(sha256, kept);
    this.#saveState();
  }

  #saveState(): void {
    this.#context.saveState(State.Staged, JSON.stringify([...this.#objects.values()]));
  }
}

/**
 * Deletes staged objects; each failure is a warning (never a failed step) naming it and s3:DeleteObject.
 * Returns those a cancellation stopped, for the post step.
 */
export async function deleteStaged(
  objects: readonly StagedObject[],
  context: { client: S3Client; deadlineMs: number; log: RetryContext['log'] },
): Promise<StagedObject[]> {
  const left: StagedObject[] = [];
  for (const object of objects) {
    const name = objectName(object.bucket, object.key);
    try {
      await context.client.deleteObject(object.key, context.deadlineMs);
      context.log.info(`Deleted the staged ${name}.`);
    } catch (error) {
      if (error instanceof CancelledError) {
        left.push(object);
        continue;
      }
      context.log.warning(
        `Could not delete the staged ${name}: ${error instanceof Error ? error.message : String(error)} ` +
          `Delete it by hand, and allow s3:DeleteObject on it; a lifecycle rule on the prefix removes what is left.`,
      );
    }
  }
  return left;
}

/**
 * The post step: deletes what the main step left staged (a cancelled job, a step that died), as its
 * saved state lists it. Bounded in time; every failure is a warning.
 */
export async function removeLeftovers(
  state: string,
  context: Omit<StagingContext, 'saveState' | 'deadlineMs'>,
): Promise<void> {
  const objects = parseStaged(state);
  if (objects.length === 0) return;
  const credentials = readCredentials(context.env, context.clock.now());
  if (!credentials.ok) {
    context.log.warning(
      `Could not delete ${objects.map((o) => objectName(o.bucket, o.key)).join(', ')}: ${credentials.problem}. A lifecycle rule on the prefix removes what is left.`,
    );
    return;
  }
  const deadlineMs = context.clock.now() + policy.staging.postStepTimeoutMs;
  const byStore = new Map<string, StagedObject[]>();
  for (const object of objects) {
    const store = JSON.stringify([object.bucket, object.region, object.endpoint ?? '']);
    byStore.set(store, [...(byStore.get(store) ?? []), object]);
  }
  for (const group of byStore.values()) {
    const { bucket, region, endpoint } = group[0]!;
    const client = new S3Client({
      ...context,
      address: { bucket, region, ...(endpoint ? { endpoint } : {}) },
      credentials: credentials.credentials,
      limits: policy.staging,
    });
    await deleteStaged(group, { client, deadlineMs, log: context.log });
  }
}

/** The saved list, keeping only well-formed entries (the state file is the runner's, but still input). */
function parseStaged(state: string): StagedObject[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(state || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const text = (value: unknown): value is string => typeof value === 'string' && value !== '';
  return parsed.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { bucket, key, region, endpoint } = item as Record<string, unknown>;
    if (!text(bucket) || !text(key) || !text(region) || (endpoint !== undefined && !text(endpoint)))
      return [];
    return [{ bucket, key, region, ...(endpoint ? { endpoint } : {}) }];
  });
}
