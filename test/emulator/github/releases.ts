/**
 * Releases and their assets, uploads served on the uploads origin as releases' `upload_url` says.
 * - Drafts are 404 by tag and by id, and only listed, for a token with push access (contents:
 *   write). A draft's html_url and download URLs use an `untagged-…` slug.
 * - Uploads need a Content-Length (chunked bodies → 400 "Bad Content-Length: "); a taken name →
 *   422 already_exists; a published immutable release → 422 "Cannot upload assets to an immutable
 *   release." and a delete there → 422 Validation Failed "Cannot delete asset from an immutable
 *   release". An upload cut off midway leaves an asset in state `starter` that still holds the name.
 * - An asset is renamed with PATCH /releases/assets/{id} {name}; a name taken by another asset of
 *   the release is 422 already_exists.
 * - Asset names are kept exactly as given by default; `renameAssets` approximates GitHub's renaming
 *   of names with special characters.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isObject } from '../loopback-server.ts';
import type { Exchange, Json } from './exchange.ts';
import { answerPage } from './pagination.ts';
import {
  apiRepoUrl,
  HTML_ORIGIN,
  htmlRepoUrl,
  iso,
  nodeId,
  type CreationClock,
  type Repository,
} from './repository.ts';
import type { Handler, Match } from './routes.ts';
import { canPush } from './tokens.ts';
import type { GitHubFault, GitHubRoute, GitHubUser, StoredAsset, StoredRelease } from './types.ts';
import { ACTIONS_BOT, userJson } from './users.ts';

export interface ReleaseOptions {
  tag: string;
  name?: string | null;
  body?: string | null;
  draft?: boolean;
  prerelease?: boolean;
  immutable?: boolean;
  targetCommitish?: string;
}

export interface AssetOptions {
  name: string;
  bytes?: Buffer;
  contentType?: string;
  label?: string;
  state?: 'uploaded' | 'starter';
  /** Who uploaded it; default github-actions[bot] (as if an earlier run of the job had). */
  uploader?: GitHubUser;
}

/**
 * An approximation of GitHub's asset renaming (its exact rules are not documented): each run of
 * characters other than letters, digits and `._+@-` becomes one '.', runs of dots collapse, and
 * leading and trailing dots go.
 */
export function githubAssetName(name: string): string {
  const replaced = name
    .replace(/[^A-Za-z0-9._+@-]+/g, '.')
    .replace(/\.{2,}/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return replaced === '' ? 'default' : replaced;
}

export class Releases {
  readonly #repository: Repository;
  readonly #clock: CreationClock;
  readonly #maxUploadBytes: number;
  readonly #renameAssets: boolean;
  readonly #releases = new Map<number, StoredRelease>();
  readonly #assets = new Map<number, StoredAsset>();
  #nextReleaseId = 200_000_001;
  #nextAssetId = 300_000_001;

  constructor(
    repository: Repository,
    clock: CreationClock,
    options: { maxUploadBytes: number; renameAssets: boolean },
  ) {
    this.#repository = repository;
    this.#clock = clock;
    this.#maxUploadBytes = options.maxUploadBytes;
    this.#renameAssets = options.renameAssets;
  }

  create(options: ReleaseOptions): StoredRelease {
    const now = this.#clock.now();
    const draft = options.draft ?? false;
    const release: StoredRelease = {
      id: this.#nextReleaseId++,
      tagName: options.tag,
      name: options.name === undefined ? options.tag : options.name,
      body: options.body ?? null,
      draft,
      prerelease: options.prerelease ?? false,
      immutable: options.immutable ?? false,
      targetCommitish: options.targetCommitish ?? 'main',
      createdAt: iso(now),
      publishedAt: draft ? null : iso(now),
      untaggedSlug: `untagged-${randomBytes(10).toString('hex')}`,
    };
    this.#releases.set(release.id, release);
    return release;
  }

  publish(releaseId: number, options: { immutable?: boolean }): StoredRelease {
    const release = this.#releases.get(releaseId);
    if (!release) throw new Error(`no release ${releaseId}`);
    release.draft = false;
    release.publishedAt = iso(this.#clock.now());
    if (options.immutable !== undefined) release.immutable = options.immutable;
    return release;
  }

  all(): StoredRelease[] {
    return [...this.#releases.values()];
  }

  addAsset(releaseId: number, asset: AssetOptions): StoredAsset {
    if (!this.#releases.has(releaseId)) throw new Error(`no release ${releaseId}`);
    const now = iso(this.#clock.now());
    const bytes = asset.bytes ?? Buffer.alloc(0);
    const stored: StoredAsset = {
      id: this.#nextAssetId++,
      releaseId,
      name: asset.name,
      label: asset.label ?? '',
      contentType: asset.contentType ?? 'application/octet-stream',
      state: asset.state ?? 'uploaded',
      size: asset.state === 'starter' ? 0 : bytes.length,
      bytes,
      createdAt: now,
      updatedAt: now,
      uploader: { ...(asset.uploader ?? ACTIONS_BOT) },
    };
    this.#assets.set(stored.id, stored);
    return stored;
  }

  /** A release's assets (starter ones included), oldest first. */
  assetsOf(releaseId: number): StoredAsset[] {
    return [...this.#assets.values()].filter((asset) => asset.releaseId === releaseId);
  }

  readonly routes = {
    listReleases: (exchange, match) => this.#list(exchange, match),
    getRelease: (exchange, match) => this.#get(exchange, Number(match.params[0])),
    getLatestRelease: (exchange) => this.#getLatest(exchange),
    getReleaseByTag: (exchange, match) => this.#getByTag(exchange, match.params[0]!),
    listReleaseAssets: (exchange, match) => this.#listAssets(exchange, match, Number(match.params[0])),
    uploadReleaseAsset: (exchange, match, fault) => this.#upload(exchange, Number(match.params[0]), fault),
    getReleaseAsset: (exchange, match) => this.#getAsset(exchange, Number(match.params[0])),
    updateReleaseAsset: (exchange, match) => this.#updateAsset(exchange, Number(match.params[0])),
    deleteReleaseAsset: (exchange, match) => this.#deleteAsset(exchange, Number(match.params[0])),
    downloadAsset: (exchange, match) => this.#download(exchange, match.params[0]!),
  } satisfies Partial<Record<GitHubRoute, Handler>>;

  // ---- releases ----

  /** A release this caller can see: drafts only with push access. */
  #visible(exchange: Exchange, release: StoredRelease | undefined): release is StoredRelease {
    return release !== undefined && (!release.draft || canPush(exchange));
  }

  #releaseJson(release: StoredRelease): Json {
    const { owner, repo } = this.#repository;
    const apiRepo = apiRepoUrl(this.#repository);
    const slug = release.draft ? release.untaggedSlug : release.tagName;
    return {
      url: `${apiRepo}/releases/${release.id}`,
      assets_url: `${apiRepo}/releases/${release.id}/assets`,
      upload_url: `${this.#repository.uploadsUrl}/repos/${owner}/${repo}/releases/${release.id}/assets{?name,label}`,
      html_url: `${htmlRepoUrl(this.#repository)}/releases/tag/${encodeURIComponent(slug)}`,
      id: release.id,
      author: userJson(ACTIONS_BOT, this.#repository),
      node_id: nodeId('RE', release.id),
      tag_name: release.tagName,
      target_commitish: release.targetCommitish,
      name: release.name,
      draft: release.draft,
      immutable: release.immutable && !release.draft,
      prerelease: release.prerelease,
      created_at: release.createdAt,
      updated_at: release.createdAt,
      published_at: release.publishedAt,
      assets: this.assetsOf(release.id).map((asset) => this.#assetJson(asset)),
      tarball_url: `${apiRepo}/tarball/${encodeURIComponent(release.tagName)}`,
      zipball_url: `${apiRepo}/zipball/${encodeURIComponent(release.tagName)}`,
      body: release.body,
    };
  }

  async #list(exchange: Exchange, match: Match): Promise<void> {
    await exchange.drain();
    const visible = this.all()
      .filter((release) => this.#visible(exchange, release))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id - a.id));
    answerPage(exchange, match, this.#repository, visible, (release) => this.#releaseJson(release));
  }

  async #get(exchange: Exchange, id: number): Promise<void> {
    await exchange.drain();
    const release = this.#releases.get(id);
    if (!this.#visible(exchange, release)) return exchange.error(404, 'Not Found', 'getRelease');
    exchange.json(200, this.#releaseJson(release));
  }

  async #getLatest(exchange: Exchange): Promise<void> {
    await exchange.drain();
    const latest = this.all()
      .filter((release) => !release.draft && !release.prerelease)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
    if (!latest) return exchange.error(404, 'Not Found', 'getLatestRelease');
    exchange.json(200, this.#releaseJson(latest));
  }

  async #getByTag(exchange: Exchange, tag: string): Promise<void> {
    await exchange.drain();
    // Drafts are never found by tag, whoever asks: they are only visible through the list.
    const release = this.all().find((candidate) => !candidate.draft && candidate.tagName === tag);
    if (!release) return exchange.error(404, 'Not Found', 'getReleaseByTag');
    exchange.json(200, this.#releaseJson(release));
  }

  // ---- assets ----

  #assetJson(asset: StoredAsset): Json {
    const { owner, repo } = this.#repository;
    const release = this.#releases.get(asset.releaseId)!;
    const slug = release.draft ? release.untaggedSlug : release.tagName;
    const uploaded = asset.state === 'uploaded';
    return {
      url: `${apiRepoUrl(this.#repository)}/releases/assets/${asset.id}`,
      id: asset.id,
      node_id: nodeId('RA', asset.id),
      name: asset.name,
      label: asset.label,
      uploader: userJson(asset.uploader, this.#repository),
      content_type: asset.contentType,
      state: asset.state,
      size: asset.size,
      digest: uploaded ? `sha256:${createHash('sha256').update(asset.bytes).digest('hex')}` : null,
      download_count: 0,
      created_at: asset.createdAt,
      updated_at: asset.updatedAt,
      browser_download_url: `${HTML_ORIGIN}/${owner}/${repo}/releases/download/${encodeURIComponent(slug)}/${encodeURIComponent(asset.name)}`,
    };
  }

  /** The asset and its release, when this caller can see them. */
  #visibleAsset(exchange: Exchange, id: number): { asset: StoredAsset; release: StoredRelease } | undefined {
    const asset = this.#assets.get(id);
    const release = asset && this.#releases.get(asset.releaseId);
    return asset && this.#visible(exchange, release) ? { asset, release } : undefined;
  }

  /** A name the release's other assets do not hold. */
  #nameTaken(releaseId: number, name: string, except?: number): boolean {
    return this.assetsOf(releaseId).some((asset) => asset.id !== except && asset.name === name);
  }

  async #listAssets(exchange: Exchange, match: Match, releaseId: number): Promise<void> {
    await exchange.drain();
    if (!this.#visible(exchange, this.#releases.get(releaseId)))
      return exchange.error(404, 'Not Found', 'listReleaseAssets');
    answerPage(exchange, match, this.#repository, this.assetsOf(releaseId), (asset) =>
      this.#assetJson(asset),
    );
  }

  async #getAsset(exchange: Exchange, id: number): Promise<void> {
    await exchange.drain();
    const found = this.#visibleAsset(exchange, id);
    if (!found) return exchange.error(404, 'Not Found', 'getReleaseAsset');
    const { asset } = found;
    // Accept: application/octet-stream asks for the bytes: GitHub redirects to storage.
    if (/application\/octet-stream/i.test(exchange.request.headers.accept ?? '')) {
      if (asset.state !== 'uploaded') return exchange.error(404, 'Not Found', 'getReleaseAsset');
      return exchange.redirect(`${this.#repository.url}/_fake/downloads/${asset.id}`);
    }
    exchange.json(200, this.#assetJson(asset));
  }

  async #download(exchange: Exchange, idText: string): Promise<void> {
    await exchange.drain();
    const asset = this.#assets.get(Number(idText));
    if (!asset || asset.state !== 'uploaded') {
      return exchange.send(404, 'text/plain', Buffer.from('Not Found'), {});
    }
    exchange.send(200, asset.contentType, asset.bytes, {
      'content-disposition': `attachment; filename=${encodeURIComponent(asset.name)}`,
    });
  }

  async #updateAsset(exchange: Exchange, id: number): Promise<void> {
    const route: GitHubRoute = 'updateReleaseAsset';
    const body = await exchange.jsonBody();
    if (body === undefined) return;
    const found = this.#visibleAsset(exchange, id);
    if (!found) return exchange.error(404, 'Not Found', route);
    const { asset, release } = found;
    if (release.immutable && !release.draft) {
      return exchange.validationFailed(route, {
        resource: 'ReleaseAsset',
        code: 'custom',
        message: 'Cannot update asset on an immutable release',
      });
    }
    const fields = isObject(body) ? body : {};
    for (const field of ['name', 'label'] as const) {
      const value = fields[field];
      if (value !== undefined && typeof value !== 'string')
        return exchange.validationFailed(route, { resource: 'ReleaseAsset', code: 'invalid', field });
    }
    const rawName = fields['name'] as string | undefined;
    if (rawName !== undefined) {
      if (rawName === '')
        return exchange.validationFailed(route, {
          resource: 'ReleaseAsset',
          code: 'missing_field',
          field: 'name',
        });
      const name = this.#renameAssets ? githubAssetName(rawName) : rawName;
      if (this.#nameTaken(asset.releaseId, name, asset.id))
        return exchange.validationFailed(route, {
          resource: 'ReleaseAsset',
          code: 'already_exists',
          field: 'name',
        });
      asset.name = name;
    }
    if (typeof fields['label'] === 'string') asset.label = fields['label'];
    asset.updatedAt = iso(this.#clock.now());
    exchange.json(200, this.#assetJson(asset));
  }

  async #deleteAsset(exchange: Exchange, id: number): Promise<void> {
    await exchange.drain();
    const found = this.#visibleAsset(exchange, id);
    if (!found) return exchange.error(404, 'Not Found', 'deleteReleaseAsset');
    if (found.release.immutable && !found.release.draft) {
      return exchange.validationFailed('deleteReleaseAsset', {
        resource: 'ReleaseAsset',
        code: 'custom',
        message: 'Cannot delete asset from an immutable release',
      });
    }
    this.#assets.delete(id);
    exchange.noContent();
  }

  // ---- uploads ----

  async #upload(exchange: Exchange, releaseId: number, fault: GitHubFault | undefined): Promise<void> {
    const { request } = exchange;
    const route: GitHubRoute = 'uploadReleaseAsset';
    const lengthHeader = request.headers['content-length'];
    // GitHub refuses chunked uploads: the size must be announced.
    if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
      await exchange.drain();
      return exchange.json(400, { message: 'Bad Content-Length: ' });
    }
    const length = Number(lengthHeader);
    if (length > this.#maxUploadBytes) return this.#refuseTooLarge(exchange);
    const contentType = request.headers['content-type'];
    const rawName = exchange.url.searchParams.get('name');
    const release = this.#releases.get(releaseId);
    const problem: (() => void) | undefined = !contentType
      ? () => exchange.error(422, 'Content-Type header is required', route)
      : rawName === null || rawName === ''
        ? () =>
            exchange.validationFailed(route, {
              resource: 'ReleaseAsset',
              code: 'missing_field',
              field: 'name',
            })
        : !this.#visible(exchange, release)
          ? () => exchange.error(404, 'Not Found', route)
          : release.immutable && !release.draft
            ? () => exchange.error(422, 'Cannot upload assets to an immutable release.', route)
            : undefined;
    if (problem) {
      await exchange.drain();
      return problem();
    }
    const name = this.#renameAssets ? githubAssetName(rawName!) : rawName!;
    if (this.#nameTaken(releaseId, name)) {
      await exchange.drain();
      return exchange.validationFailed(route, {
        resource: 'ReleaseAsset',
        code: 'already_exists',
        field: 'name',
      });
    }
    // The asset exists from the first byte, as a starter; it becomes 'uploaded' once every byte is in.
    const asset = this.addAsset(releaseId, {
      name,
      label: exchange.url.searchParams.get('label') ?? '',
      contentType: contentType!,
      state: 'starter',
      uploader: exchange.token!.user,
    });
    const cutAfter = fault?.kind === 'interrupt-upload' ? fault.afterBytes : undefined;
    const bytes = await readUpload(exchange, length, cutAfter);
    asset.bytes = bytes.data;
    if (!bytes.complete) return;
    asset.state = 'uploaded';
    asset.size = bytes.data.length;
    asset.updatedAt = iso(this.#clock.now());
    exchange.json(201, this.#assetJson(asset));
  }

  /** Too big to read: answered at once and closed, as a server does that will not take the body. */
  #refuseTooLarge(exchange: Exchange): void {
    exchange.bodyDone = true;
    exchange.response.setHeader('connection', 'close');
    exchange.validationFailed('uploadReleaseAsset', {
      resource: 'ReleaseAsset',
      code: 'custom',
      field: 'size',
      message: `size must be less than ${this.#maxUploadBytes}`,
    });
    exchange.response.once('finish', () => exchange.request.socket.destroy());
  }
}

/** Streams the upload in; `complete` is false when the connection ended early (or was cut). */
async function readUpload(
  exchange: Exchange,
  length: number,
  cutAfter: number | undefined,
): Promise<{ data: Buffer; complete: boolean }> {
  const { request, record } = exchange;
  exchange.bodyDone = true;
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of request) {
      const buffer = chunk as Buffer;
      if (cutAfter !== undefined && received + buffer.length > cutAfter) {
        chunks.push(buffer.subarray(0, Math.max(0, cutAfter - received)));
        received = cutAfter;
        request.socket.destroy();
        break;
      }
      chunks.push(buffer);
      received += buffer.length;
      record.bodyBytes = received;
    }
  } catch {
    // The client went away mid-upload: what arrived stays, as a starter.
  }
  record.bodyBytes = received;
  return {
    data: Buffer.concat(chunks),
    complete: request.complete && received === length && cutAfter === undefined,
  };
}
