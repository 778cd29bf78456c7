/**
 * The step's files as assets of a release, under names that stay the same from run to run: an
 * asset of the same name is replaced, never duplicated. The file is streamed, not read whole.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
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

type Context = RetryContext & { deadlineMs: number; limits: GithubLimits; apiUrl: string };

/** Uploads every file; returns the download URLs in the files' order. */
export async function uploadReleaseAssets(
  octokit: Octokit,
  target: ReleaseTarget,
  files: readonly AssetFile[],
  context: Context,
): Promise<string[]> {
  try {
    const release = await findRelease(octokit, target, context);
    uploadHostProblem(release.upload_url, context.apiUrl);
    const existing = await listAssets(octokit, target, release, context);
    const urls: string[] = [];
    for (const file of files)
      urls.push(await replaceAsset(octokit, target, release, existing, file, context));
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

interface Asset {
  id: number;
  name: string;
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

/** Replaces an asset of the same name; an upload whose answer was lost (422 already_exists) is redone once. */
async function replaceAsset(
  octokit: Octokit,
  target: ReleaseTarget,
  release: Release,
  existing: Asset[],
  file: AssetFile,
  context: Context,
): Promise<string> {
  const { owner, repo } = target;
  const remove = async (asset: Asset) => {
    await call(context, `Deleting the earlier ${file.name}`, () =>
      octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: asset.id }),
    );
  };
  const earlier = existing.find((asset) => asset.name === file.name);
  if (earlier) await remove(earlier);
  try {
    return await upload(octokit, release, file, context);
  } catch (error) {
    if (
      !isGithubError(error) ||
      error.status !== 422 ||
      !/already_exists/.test(JSON.stringify(error.response?.data ?? ''))
    )
      throw error;
    // A retried upload met the asset its lost first try made (or a cut-off "starter" one): replace it.
    const now = await listAssets(octokit, target, release, context);
    const taken = now.find((asset) => asset.name === file.name);
    if (taken) await remove(taken);
    return upload(octokit, release, file, context);
  }
}

async function upload(
  octokit: Octokit,
  release: Release,
  file: AssetFile,
  context: Context,
): Promise<string> {
  const size = (await stat(file.path)).size;
  const { data } = await call<{ data: unknown }>(context, `Uploading ${file.name}`, () =>
    octokit.request({
      method: 'POST',
      url: release.upload_url,
      name: file.name,
      // A fresh stream each try: a retried upload starts from the first byte.
      data: Readable.toWeb(createReadStream(file.path)) as unknown as string,
      headers: { 'content-type': file.contentType, 'content-length': size },
    }),
  );
  const url = plainUrl((data as { browser_download_url?: unknown }).browser_download_url);
  if (!url) throw new Error(`GitHub's answer for ${file.name} holds no plain download link`);
  return url;
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
