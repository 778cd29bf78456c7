/**
 * The step's files as assets of a release, under names that stay the same from run to run: an
 * asset of the same name is replaced, never duplicated. The file is streamed, not read whole.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { withRetries, type RetryContext } from '../net/retry.ts';
import { classifyGithub, isGithubError, type Octokit } from './github.ts';

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

type Context = RetryContext & { deadlineMs: number };

/** Uploads every file; returns the download URLs in the files' order. */
export async function uploadReleaseAssets(
  octokit: Octokit,
  target: ReleaseTarget,
  files: readonly AssetFile[],
  context: Context,
): Promise<string[]> {
  try {
    const release = await findRelease(octokit, target, context);
    const urls: string[] = [];
    for (const file of files) urls.push(await replaceAsset(octokit, target, release, file, context));
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
  const releases = await call(context, 'Listing releases', () =>
    octokit.paginate(octokit.rest.repos.listReleases, { owner, repo, per_page: 100 }),
  );
  const found = releases.find((release) => release.tag_name === tag);
  if (!found)
    throw new ReleaseNotFoundError(
      `No release has the tag ${tag} (drafts included): create the release first.`,
    );
  return found;
}

async function replaceAsset(
  octokit: Octokit,
  target: ReleaseTarget,
  release: Release,
  file: AssetFile,
  context: Context,
): Promise<string> {
  const { owner, repo } = target;
  const assets = await call(context, 'Listing release assets', () =>
    octokit.paginate(octokit.rest.repos.listReleaseAssets, {
      owner,
      repo,
      release_id: release.id,
      per_page: 100,
    }),
  );
  const earlier = assets.find((asset) => asset.name === file.name);
  if (earlier)
    await call(context, `Deleting the earlier ${file.name}`, () =>
      octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: earlier.id }),
    );
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
  return (data as { browser_download_url: string }).browser_download_url;
}

function call<T>(context: Context, operation: string, work: () => Promise<T>): Promise<T> {
  return withRetries(
    {
      operation,
      classify: classifyGithub(() => context.clock.now(), { name: 'github', attempts: 3 }),
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
