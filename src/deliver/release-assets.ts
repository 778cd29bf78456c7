/**
 * The step's files as assets of a release, under names that stay the same from run to run: an
 * asset of the same name is replaced, never duplicated, and only when this action's token uploaded
 * it. A replacement is uploaded under a temporary name first, then swapped in, so a failed upload
 * never costs the release the asset it had. The file is streamed, not read whole.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { quoteExternal } from '../net/external-text.ts';
import { withRetries, type RetryContext } from '../net/retry.ts';
import {
  classifyGithub,
  findInPages,
  isGithubError,
  plainUrl,
  type GithubLimits,
  type Octokit,
} from './github.ts';

export interface ReleaseTarget {
  owner: string;
  repo: string;
  tag: string;
}

export interface AssetFile {
  path: string;
  /** Stable across runs: derived from the entry, never from the task id. */
  name: string;
  contentType: string;
}

export class ReleaseNotFoundError extends Error {
  override name = 'ReleaseNotFoundError';
}

/** GitHub refuses assets on an immutable release once it is published. */
export class ReleaseImmutableError extends Error {
  override name = 'ReleaseImmutableError';
}

/** The token may not write to the release (contents: write is missing). */
export class ReleaseNotAllowedError extends Error {
  override name = 'ReleaseNotAllowedError';
}

/** An asset of the same name that someone else uploaded: never deleted or replaced. */
export class ReleaseAssetNotOursError extends Error {
  override name = 'ReleaseAssetNotOursError';
}

/** A replacement that did not go through: the message says what the release holds now. */
class ReleaseAssetReplaceError extends Error {
  override name = 'ReleaseAssetReplaceError';
}

type Context = RetryContext & { deadlineMs: number; limits: GithubLimits; apiUrl: string };

/** Uploads every file; returns the download URLs in the files' order. */
export async function uploadReleaseAssets(
  octokit: Octokit,
  target: ReleaseTarget,
  files: readonly AssetFile[],
  context: Context,
): Promise<string[]> {
  try {
    const found = await findRelease(octokit, target, context);
    uploadHostProblem(found.upload_url, context.apiUrl);
    const release: Session = {
      octokit,
      target,
      release: found,
      context,
      existing: await listAssets(octokit, target, found, context),
    };
    const urls: string[] = [];
    for (const file of files) urls.push(await deliverAsset(release, file));
    return urls;
  } catch (error) {
    throw explain(error, target);
  }
}

interface Release {
  id: number;
  upload_url: string;
  draft: boolean;
}

/** Who an asset's uploader is, as GitHub names them. */
interface Uploader {
  login?: string;
  id?: number;
}

interface Asset {
  id: number;
  name: string;
  uploader?: Uploader | null;
  browser_download_url?: unknown;
}

/** One release's upload: what it held when the step began, and who this token is once known. */
interface Session {
  octokit: Octokit;
  target: ReleaseTarget;
  release: Release;
  context: Context;
  existing: Asset[];
  /** The token's identity, from the answer to this step's first upload (its `uploader`). */
  me?: Uploader;
}

/** By tag, or through the list, which alone shows drafts. */
async function findRelease(octokit: Octokit, target: ReleaseTarget, context: Context): Promise<Release> {
  const { owner, repo, tag } = target;
  try {
    const { data } = await call(context, `Finding release ${tag}`, () =>
      octokit.rest.repos.getReleaseByTag({ owner, repo, tag }),
    );
    return data;
  } catch (error) {
    if (!isGithubError(error) || error.status !== 404) throw error;
  }
  const found = await call(context, 'Listing releases', () =>
    findInPages(
      octokit.paginate.iterator(octokit.rest.repos.listReleases, {
        owner,
        repo,
        per_page: context.limits.perPage,
      }),
      (release) => release.tag_name === tag,
      context.limits.maxPages,
    ),
  );
  if (!found)
    throw new ReleaseNotFoundError(
      `No release has the tag ${tag} (drafts included): create the release first.`,
    );
  return found;
}

async function listAssets(
  octokit: Octokit,
  target: ReleaseTarget,
  release: Release,
  context: Context,
): Promise<Asset[]> {
  const assets: Asset[] = [];
  await call(context, 'Listing release assets', async () => {
    assets.length = 0;
    const pages = octokit.paginate.iterator(octokit.rest.repos.listReleaseAssets, {
      owner: target.owner,
      repo: target.repo,
      release_id: release.id,
      per_page: context.limits.perPage,
    });
    return findInPages<Asset>(pages, (asset) => (assets.push(asset), false), context.limits.maxPages);
  });
  return assets;
}

/** The file under its name: uploaded as it is when the name is free, else swapped in for our earlier one. */
async function deliverAsset(session: Session, file: AssetFile): Promise<string> {
  let earlier = session.existing.find((asset) => asset.name === file.name);
  if (!earlier) {
    try {
      return downloadUrl(learn(session, await upload(session, file, file.name)), file);
    } catch (error) {
      if (!isNameTaken(error)) throw error;
      // Taken since the list was read: by this upload's own lost first try (a starter, say), or by someone else.
      earlier = (await listAssets(session.octokit, session.target, session.release, session.context)).find(
        (asset) => asset.name === file.name,
      );
      if (!earlier) throw error;
    }
  }
  return replaceAsset(session, earlier, file);
}

/**
 * Upload under a temporary name, then delete the earlier asset and rename the new one: until the
 * delete, the release keeps what it had. The upload's answer names this token's identity, which
 * must be the earlier asset's uploader: an asset someone else put there is never touched.
 */
async function replaceAsset(session: Session, earlier: Asset, file: AssetFile): Promise<string> {
  const { octokit, context } = session;
  const { owner, repo } = session.target;
  if (session.me && !uploadedBy(earlier, session.me)) throw notOurs(session, earlier, file);
  const temporary = `${file.name}.${randomBytes(4).toString('hex')}.new`;
  let fresh: Asset;
  try {
    fresh = learn(session, await uploadOurs(session, file, temporary));
  } catch (error) {
    if (isRefusal(error)) throw error;
    const left = await discard(session, temporary);
    throw new ReleaseAssetReplaceError(
      `uploading the new ${file.name} failed (${describe(error)}); the release keeps its earlier ${file.name}${left}`,
      { cause: error },
    );
  }
  if (!session.me || !uploadedBy(earlier, session.me)) {
    const left = await discard(session, temporary, fresh);
    throw notOurs(session, earlier, file, left);
  }
  try {
    await call(context, `Deleting the earlier ${file.name}`, () =>
      octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: earlier.id }),
    );
  } catch (error) {
    if (!isGithubError(error) || error.status !== 404) {
      const left = await discard(session, temporary, fresh);
      if (isRefusal(error)) throw error;
      throw new ReleaseAssetReplaceError(
        `the earlier ${file.name} could not be deleted (${describe(error)}); the release keeps it as it was${left}`,
        { cause: error },
      );
    }
  }
  try {
    const { data } = await call(context, `Renaming the new ${file.name}`, () =>
      octokit.rest.repos.updateReleaseAsset({ owner, repo, asset_id: fresh.id, name: file.name }),
    );
    return downloadUrl(data, file);
  } catch (error) {
    throw new ReleaseAssetReplaceError(
      `the earlier ${file.name} was deleted and the new one is on the release as ${temporary}, but renaming it ` +
        `failed (${describe(error)}): rename ${temporary} to ${file.name} on the release page (or delete it and re-run)`,
      { cause: error },
    );
  }
}

/** An upload under a name only this step uses: one taken by its own lost first try is replaced once. */
async function uploadOurs(session: Session, file: AssetFile, name: string): Promise<Asset> {
  try {
    return await upload(session, file, name);
  } catch (error) {
    if (!isNameTaken(error)) throw error;
    await discard(session, name);
    return upload(session, file, name);
  }
}

/**
 * Deletes this step's temporary asset (one whose upload failed may linger as a `starter`); returns
 * what to add to a message when it could not.
 */
async function discard(session: Session, name: string, known?: Asset): Promise<string> {
  const { octokit, context, target } = session;
  try {
    const asset =
      known ??
      (await listAssets(octokit, target, session.release, context)).find(
        (candidate) => candidate.name === name,
      );
    if (!asset) return '';
    await call(context, `Deleting the temporary ${name}`, () =>
      octokit.rest.repos.deleteReleaseAsset({ owner: target.owner, repo: target.repo, asset_id: asset.id }),
    );
    return '';
  } catch (error) {
    return `; the temporary asset ${name} could not be deleted (${describe(error)}): delete it on the release page`;
  }
}

async function upload(session: Session, file: AssetFile, name: string): Promise<Asset> {
  const size = (await stat(file.path)).size;
  const { data } = await call<{ data: unknown }>(session.context, `Uploading ${name}`, () =>
    session.octokit.request({
      method: 'POST',
      url: session.release.upload_url,
      name,
      // A fresh stream each try: a retried upload starts from the first byte.
      data: Readable.toWeb(createReadStream(file.path)) as unknown as string,
      headers: { 'content-type': file.contentType, 'content-length': size },
    }),
  );
  return data as Asset;
}

/** The token's identity is whoever GitHub says uploaded what it just uploaded. */
function learn(session: Session, asset: Asset): Asset {
  const uploader = asset.uploader;
  if (!session.me && uploader && (uploader.login || uploader.id !== undefined)) session.me = uploader;
  return asset;
}

function uploadedBy(asset: Asset, me: Uploader): boolean {
  const them = asset.uploader;
  if (!them) return false;
  if (typeof them.id === 'number' && typeof me.id === 'number') return them.id === me.id;
  return !!them.login && !!me.login && them.login.toLowerCase() === me.login.toLowerCase();
}

function notOurs(session: Session, earlier: Asset, file: AssetFile, left = ''): ReleaseAssetNotOursError {
  const who = (uploader: Uploader | null | undefined) =>
    uploader?.login ? quoteExternal(uploader.login, 60) : 'an unknown account';
  return new ReleaseAssetNotOursError(
    `an asset named ${file.name} is already on the release, uploaded by ${who(earlier.uploader)}, ` +
      `not by this token (${who(session.me)}): it was left as it is${left}`,
  );
}

function downloadUrl(asset: Asset, file: AssetFile): string {
  const url = plainUrl(asset.browser_download_url);
  if (!url) throw new Error(`GitHub's answer for ${file.name} holds no plain download link`);
  return url;
}

function isNameTaken(error: unknown): boolean {
  return (
    isGithubError(error) &&
    error.status === 422 &&
    /already_exists/.test(JSON.stringify(error.response?.data ?? ''))
  );
}

/** Refusals that explain() turns into their own messages: no replacement can get past them. */
function isRefusal(error: unknown): boolean {
  return (
    isGithubError(error) &&
    (error.status === 401 ||
      error.status === 403 ||
      (error.status === 422 && /immutable/i.test(JSON.stringify(error.response?.data ?? error.message))))
  );
}

function describe(error: unknown): string {
  if (isGithubError(error)) return quoteExternal(`HTTP ${error.status}: ${error.message}`, 200);
  return quoteExternal(error instanceof Error ? error.message : String(error), 200);
}

/**
 * The token goes with the upload: only to GitHub's own upload host (the API's host, or uploads.<host>
 * beside api.<host>), never to wherever an answer's upload_url points.
 */
export function uploadHostProblem(uploadUrl: string, apiUrl: string): void {
  let upload: URL;
  try {
    upload = new URL(uploadUrl.replace(/\{[^}]*\}/g, ''));
  } catch {
    throw new Error('the release answer holds no upload URL');
  }
  const api = new URL(apiUrl);
  const allowed = [api.hostname, api.hostname.replace(/^api\./, 'uploads.')];
  if (!allowed.includes(upload.hostname) || upload.protocol !== api.protocol)
    throw new Error(
      `the release's upload URL points at ${upload.protocol}//${upload.hostname}, not GitHub's upload host; the token is not sent there`,
    );
}

function call<T>(context: Context, operation: string, work: () => Promise<T>): Promise<T> {
  return withRetries(
    {
      operation,
      classify: classifyGithub(() => context.clock.now(), context.limits),
      deadlineMs: context.deadlineMs,
    },
    work,
    context,
  );
}

function explain(error: unknown, target: ReleaseTarget): unknown {
  if (!isGithubError(error)) return error;
  const said = JSON.stringify(error.response?.data ?? error.message);
  if (error.status === 422 && /immutable/i.test(said))
    return new ReleaseImmutableError(
      `Release ${target.tag} is immutable: GitHub takes no more assets once it is published.`,
    );
  if (error.status === 401 || error.status === 403)
    return new ReleaseNotAllowedError(
      `GitHub refused the upload to release ${target.tag} (HTTP ${error.status}).`,
    );
  return error;
}
