/**
 * The GitHub API fake, driven by the real Octokit that `@actions/github` builds (`getOctokit`), so
 * what is checked is what the action's client really sends and understands.
 */
import { getOctokit } from '@actions/github';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubApi, githubAssetName, githubFaults, tokenPresets } from './github-api.ts';

type Octokit = ReturnType<typeof getOctokit>;

const READ_ONLY = 'ghs_forkPullRequestToken';
const OWNER = 'octo-org';
const REPO = 'octo-repo';

let fake: GitHubApi;
let octokit: Octokit;

beforeEach(async () => {
  fake = await GitHubApi.start({ tokens: { [READ_ONLY]: tokenPresets.forkPullRequest } });
  octokit = getOctokit(fake.defaultToken, { baseUrl: fake.url });
});

afterEach(async () => {
  await fake.close();
});

/** The RequestError a call fails with. */
async function failure(promise: Promise<unknown>): Promise<{
  status: number;
  message: string;
  response?: { headers: Record<string, string>; data: unknown };
}> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the call to fail');
}

describe('auth', () => {
  it('accepts `token X` (what getOctokit sends) and `Bearer X`', async () => {
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(fake.requests[0]!.authorization).toBe(`token ${fake.defaultToken}`);
    const bearer = await fetch(`${fake.url}/repos/${OWNER}/${REPO}`, {
      headers: { authorization: `Bearer ${fake.defaultToken}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('answers an unknown token 401 Bad credentials, even on public data', async () => {
    const stranger = getOctokit('ghs_nobody', { baseUrl: fake.url });
    const error = await failure(
      stranger.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 }),
    );
    expect(error.status).toBe(401);
    expect(error.response!.data).toEqual({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest/issues/comments#list-issue-comments',
      status: '401',
    });
  });

  it('a revoked token is refused from then on', async () => {
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    fake.revokeToken(fake.defaultToken);
    expect((await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }))).status).toBe(401);
  });

  it('GET /user: a personal token gets its user; an installation token (the job token) 403, as on GitHub', async () => {
    const refused = await failure(octokit.rest.users.getAuthenticated());
    expect(refused.status).toBe(403);
    expect(refused.response!.data).toEqual({
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
      status: '403',
    });
    fake.addToken('ghp_personal', tokenPresets.writeAll, { login: 'octocat', userId: 583231 });
    const personal = getOctokit('ghp_personal', { baseUrl: fake.url });
    const { data } = await personal.rest.users.getAuthenticated();
    expect(data).toMatchObject({ login: 'octocat', id: 583231, type: 'User' });
  });

  it("GraphQL's viewer names every kind of token: the job token's bot, an app's bot, a person", async () => {
    const viewer = async (token: string) =>
      (
        await getOctokit(token, { baseUrl: fake.url }).graphql<{
          viewer: { login: string; databaseId: number };
        }>('query { viewer { login databaseId } }')
      ).viewer;
    fake.addToken('ghs_app', tokenPresets.writeAll, { login: 'preview-bot[bot]', userId: 777, type: 'Bot' });
    fake.addToken('ghp_personal', tokenPresets.writeAll, { login: 'octocat', userId: 583231 });
    expect(await viewer(fake.defaultToken)).toEqual({ login: 'github-actions[bot]', databaseId: 41898282 });
    expect(await viewer('ghs_app')).toEqual({ login: 'preview-bot[bot]', databaseId: 777 });
    expect(await viewer('ghp_personal')).toEqual({ login: 'octocat', databaseId: 583231 });
    expect(fake.requests.map((r) => [r.method, r.path])).toContainEqual(['POST', '/graphql']);
    const stranger = await failure(
      getOctokit('ghs_nobody', { baseUrl: fake.url }).graphql('{ viewer { login } }'),
    );
    expect(stranger.status).toBe(401);
  });

  it("GET /repos/{owner}/{repo} reports the token's push access", async () => {
    const { data } = await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(data.full_name).toBe(`${OWNER}/${REPO}`);
    expect(data.permissions).toMatchObject({ push: true, pull: true });
    const readOnly = getOctokit(READ_ONLY, { baseUrl: fake.url });
    const { data: seen } = await readOnly.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(seen.permissions).toMatchObject({ push: false, pull: true });
  });

  it('a private repository hides itself from anonymous reads and refuses a token without the scope', async () => {
    const hidden = await GitHubApi.start({
      private: true,
      tokens: { ghs_contentsOnly: { contents: 'write' }, [READ_ONLY]: tokenPresets.forkPullRequest },
    });
    try {
      hidden.seedComments(1, 1);
      const anonymous = await fetch(`${hidden.url}/repos/${OWNER}/${REPO}/issues/1/comments`);
      expect(anonymous.status).toBe(404);
      const contentsOnly = getOctokit('ghs_contentsOnly', { baseUrl: hidden.url });
      const error = await failure(
        contentsOnly.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 }),
      );
      expect(error.status).toBe(403);
      expect(error.response!.headers['x-accepted-github-permissions']).toBe(
        'issues=read; pull_requests=read',
      );
      const readOnly = getOctokit(READ_ONLY, { baseUrl: hidden.url });
      expect(
        (await readOnly.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 })).data,
      ).toHaveLength(1);
    } finally {
      await hidden.close();
    }
  });

  it('another repository is 404 Not Found', async () => {
    const error = await failure(octokit.rest.repos.get({ owner: 'someone', repo: 'else' }));
    expect(error.status).toBe(404);
    expect(error.message).toBe('Not Found - https://docs.github.com/rest');
  });
});

describe('issue comments', () => {
  it('paginate() follows the Link headers through 250 comments, 100 a page', async () => {
    fake.seedComments(7, 250);
    const all = await octokit.paginate(octokit.rest.issues.listComments, {
      owner: OWNER,
      repo: REPO,
      issue_number: 7,
      per_page: 100,
    });
    expect(all).toHaveLength(250);
    expect(all.map((comment) => comment.body)).toEqual(
      Array.from({ length: 250 }, (_, index) => `Seeded comment ${index + 1}`),
    );
    const lists = fake.requests.filter((request) => request.route === 'listComments');
    expect(
      lists.map((request) => `${request.path}?${new URLSearchParams(request.query).toString()}`),
    ).toEqual([
      `/repos/${OWNER}/${REPO}/issues/7/comments?per_page=100`,
      `/repositories/${fake.repoId}/issues/7/comments?per_page=100&page=2`,
      `/repositories/${fake.repoId}/issues/7/comments?per_page=100&page=3`,
    ]);
    // paginate() sends the token on every page, not just the first.
    expect(new Set(lists.map((request) => request.authorization))).toEqual(
      new Set([`token ${fake.defaultToken}`]),
    );
  });

  it('writes the Link header as GitHub does: prev, next, last, first, on absolute /repositories/ URLs', async () => {
    fake.seedComments(3, 95);
    const first = await octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 3 });
    expect(first.data).toHaveLength(30);
    const base = `${fake.url}/repositories/${fake.repoId}/issues/3/comments`;
    expect(first.headers.link).toBe(`<${base}?page=2>; rel="next", <${base}?page=4>; rel="last"`);
    const middle = await octokit.rest.issues.listComments({
      owner: OWNER,
      repo: REPO,
      issue_number: 3,
      page: 2,
    });
    expect(middle.headers.link).toBe(
      `<${base}?page=1>; rel="prev", <${base}?page=3>; rel="next", <${base}?page=4>; rel="last", <${base}?page=1>; rel="first"`,
    );
    const last = await octokit.rest.issues.listComments({
      owner: OWNER,
      repo: REPO,
      issue_number: 3,
      page: 4,
    });
    expect(last.data).toHaveLength(5);
    expect(last.headers.link).toBe(`<${base}?page=3>; rel="prev", <${base}?page=1>; rel="first"`);
    const clamped = await octokit.rest.issues.listComments({
      owner: OWNER,
      repo: REPO,
      issue_number: 3,
      per_page: 500,
    });
    expect(clamped.data).toHaveLength(95);
    expect(clamped.headers.link).toBeUndefined();
  });

  it('creates, reads and updates a comment', async () => {
    const created = await octokit.rest.issues.createComment({
      owner: OWNER,
      repo: REPO,
      issue_number: 12,
      body: '<!-- kling -->\nfirst',
    });
    expect(created.status).toBe(201);
    const id = created.data.id;
    expect(created.data).toMatchObject({
      body: '<!-- kling -->\nfirst',
      html_url: `https://github.com/${OWNER}/${REPO}/pull/12#issuecomment-${id}`,
      url: `${fake.url}/repos/${OWNER}/${REPO}/issues/comments/${id}`,
      user: { login: 'github-actions[bot]', id: 41898282, type: 'Bot' },
    });
    expect(created.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(fake.requests.at(-1)!.body).toEqual({ body: '<!-- kling -->\nfirst' });

    const updated = await octokit.rest.issues.updateComment({
      owner: OWNER,
      repo: REPO,
      comment_id: id,
      body: '<!-- kling -->\nsecond',
    });
    expect(updated.status).toBe(200);
    expect(updated.data.body).toBe('<!-- kling -->\nsecond');
    const read = await octokit.rest.issues.getComment({ owner: OWNER, repo: REPO, comment_id: id });
    expect(read.data.body).toBe('<!-- kling -->\nsecond');
    expect(fake.comments(12).map((comment) => comment.body)).toEqual(['<!-- kling -->\nsecond']);

    const missing = await failure(
      octokit.rest.issues.updateComment({ owner: OWNER, repo: REPO, comment_id: 1, body: 'x' }),
    );
    expect(missing.status).toBe(404);
  });

  it('a read-only token (a fork PR) reads comments but posting is 403 Resource not accessible by integration', async () => {
    fake.seedComments(5, 2);
    const readOnly = getOctokit(READ_ONLY, { baseUrl: fake.url });
    expect(
      (await readOnly.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 5 })).data,
    ).toHaveLength(2);
    const error = await failure(
      readOnly.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 5, body: 'hi' }),
    );
    expect(error.status).toBe(403);
    expect(error.message).toBe(
      'Resource not accessible by integration - https://docs.github.com/rest/issues/comments#create-an-issue-comment',
    );
    expect(error.response!.headers['x-accepted-github-permissions']).toBe(
      'issues=write; pull_requests=write',
    );
    expect(fake.comments(5)).toHaveLength(2);
  });

  it("names a bot's app as performed_via_github_app, and none for a person", async () => {
    fake.addComment(7, 'from the job token');
    fake.addComment(7, 'from an app', { login: 'preview-bot[bot]', id: 777, type: 'Bot' });
    fake.seedComments(7, 1);
    const { data } = await octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 7 });
    expect(data.map((c) => [c.user?.login, c.performed_via_github_app?.slug ?? null])).toEqual([
      ['github-actions[bot]', 'github-actions'],
      ['preview-bot[bot]', 'preview-bot'],
      ['octocat', null],
    ]);
  });

  it('refuses a body over 65536 characters and a missing body with 422', async () => {
    const long = await failure(
      octokit.rest.issues.createComment({
        owner: OWNER,
        repo: REPO,
        issue_number: 1,
        body: 'x'.repeat(65537),
      }),
    );
    expect(long.status).toBe(422);
    expect(long.message).toContain('Body is too long (maximum is 65536 characters)');
    const missing = await failure(
      // No `body` parameter: Octokit then sends no body at all.
      octokit.request({
        method: 'POST',
        url: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
        owner: OWNER,
        repo: REPO,
        issue_number: 1,
      }),
    );
    expect(missing.status).toBe(422);
    expect(missing.message).toBe(
      'Invalid request.\n\n"body" wasn\'t supplied. - https://docs.github.com/rest/issues/comments#create-an-issue-comment',
    );
    expect(fake.comments(1)).toHaveLength(0);
  });

  it('errorAfterWork: the comment is posted although the client sees a 502', async () => {
    fake.inject(githubFaults.errorAfterWork('createComment'));
    const error = await failure(
      octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 9, body: 'once' }),
    );
    expect(error.status).toBe(502);
    expect(fake.comments(9).map((comment) => comment.body)).toEqual(['once']);
  });
});

describe('releases', () => {
  it('finds a published release by tag; a draft is 404 by tag but listed for a token with push access', async () => {
    const published = fake.createRelease({ tag: 'v1.0.0' });
    const draft = fake.createRelease({ tag: 'v2.0.0', draft: true });
    const byTag = await octokit.rest.repos.getReleaseByTag({ owner: OWNER, repo: REPO, tag: 'v1.0.0' });
    expect(byTag.data).toMatchObject({
      id: published.id,
      tag_name: 'v1.0.0',
      draft: false,
      immutable: false,
      html_url: `https://github.com/${OWNER}/${REPO}/releases/tag/v1.0.0`,
      upload_url: `${fake.uploadsUrl}/repos/${OWNER}/${REPO}/releases/${published.id}/assets{?name,label}`,
    });
    const draftByTag = await failure(
      octokit.rest.repos.getReleaseByTag({ owner: OWNER, repo: REPO, tag: 'v2.0.0' }),
    );
    expect(draftByTag.status).toBe(404);
    expect(draftByTag.message).toBe(
      'Not Found - https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name',
    );

    const listed = await octokit.paginate(octokit.rest.repos.listReleases, { owner: OWNER, repo: REPO });
    expect(listed.map((release) => [release.tag_name, release.draft])).toEqual([
      ['v2.0.0', true],
      ['v1.0.0', false],
    ]);
    expect(listed[0]!.html_url).toMatch(/\/releases\/tag\/untagged-[0-9a-f]{20}$/);

    const readOnly = getOctokit(READ_ONLY, { baseUrl: fake.url });
    const seen = await readOnly.paginate(readOnly.rest.repos.listReleases, { owner: OWNER, repo: REPO });
    expect(seen.map((release) => release.tag_name)).toEqual(['v1.0.0']);
    expect(
      (await failure(readOnly.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: draft.id })))
        .status,
    ).toBe(404);
  });

  it('paginates releases and their assets', async () => {
    for (let index = 0; index < 35; index++) fake.createRelease({ tag: `v0.${index}.0` });
    const all = await octokit.paginate(octokit.rest.repos.listReleases, { owner: OWNER, repo: REPO });
    expect(all).toHaveLength(35);
    expect(all[0]!.tag_name).toBe('v0.34.0');
    const release = fake.createRelease({ tag: 'assets' });
    for (let index = 0; index < 31; index++)
      fake.addAsset(release.id, { name: `f${index}.bin`, bytes: Buffer.from([index]) });
    const assets = await octokit.paginate(octokit.rest.repos.listReleaseAssets, {
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
    });
    expect(assets.map((asset) => asset.name)).toEqual(
      Array.from({ length: 31 }, (_, index) => `f${index}.bin`),
    );
  });
});

describe('release assets', () => {
  const audio = Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEfmt fake audio bytes');

  function upload(client: Octokit, uploadUrl: string, name: string, data: Buffer, contentType = 'audio/wav') {
    return client.rest.repos.uploadReleaseAsset({
      owner: OWNER,
      repo: REPO,
      release_id: 0,
      url: uploadUrl,
      name,
      label: 'Generated audio',
      // The typings say string; Octokit passes any fetch body through.
      data: data as unknown as string,
      headers: { 'content-type': contentType },
    });
  }

  it("Octokit's uploadReleaseAsset goes to uploads.github.com unless given the release's upload_url", () => {
    const options = octokit.rest.repos.uploadReleaseAsset.endpoint({
      owner: OWNER,
      repo: REPO,
      release_id: 42,
      name: 'a b.wav',
      data: '',
    });
    // The route's own baseUrl wins over getOctokit's; without a label the URI template leaves a
    // trailing '&' (real upload logs show it too).
    expect(options.url).toBe(
      `https://uploads.github.com/repos/${OWNER}/${REPO}/releases/42/assets?name=a%20b.wav&`,
    );
    const withUrl = octokit.rest.repos.uploadReleaseAsset.endpoint({
      owner: OWNER,
      repo: REPO,
      release_id: 42,
      url: `${fake.uploadsUrl}/repos/${OWNER}/${REPO}/releases/42/assets{?name,label}`,
      name: 'a b.wav',
      label: 'L',
      data: '',
    });
    expect(withUrl.url).toBe(
      `${fake.uploadsUrl}/repos/${OWNER}/${REPO}/releases/42/assets?name=a%20b.wav&label=L`,
    );
  });

  it('uploads to upload_url: 201, bytes and content type stored, asset fields like GitHub', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const { data: got } = await octokit.rest.repos.getReleaseByTag({
      owner: OWNER,
      repo: REPO,
      tag: 'v1.0.0',
    });
    const uploaded = await upload(octokit, got.upload_url, 'audio.wav', audio);
    expect(uploaded.status).toBe(201);
    expect(uploaded.data).toMatchObject({
      name: 'audio.wav',
      label: 'Generated audio',
      content_type: 'audio/wav',
      size: audio.length,
      state: 'uploaded',
      browser_download_url: `https://github.com/${OWNER}/${REPO}/releases/download/v1.0.0/audio.wav`,
      url: `${fake.url}/repos/${OWNER}/${REPO}/releases/assets/${uploaded.data.id}`,
    });
    const request = fake.requests.at(-1)!;
    expect(request).toMatchObject({ host: 'uploads', route: 'uploadReleaseAsset', status: 201 });
    expect(request.headers['content-length']).toBe(String(audio.length));
    const [stored] = fake.assets(release.id);
    expect(stored).toMatchObject({ name: 'audio.wav', contentType: 'audio/wav', state: 'uploaded' });
    expect(stored!.bytes.equals(audio)).toBe(true);

    // The bytes come back through the API's octet-stream redirect.
    const download = await octokit.rest.repos.getReleaseAsset({
      owner: OWNER,
      repo: REPO,
      asset_id: uploaded.data.id,
      headers: { accept: 'application/octet-stream' },
    });
    expect(Buffer.from(download.data as unknown as ArrayBuffer).equals(audio)).toBe(true);
  });

  it('the API origin does not serve uploads (a client building the URL from baseUrl gets 404)', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const error = await failure(
      octokit.rest.repos.uploadReleaseAsset({
        owner: OWNER,
        repo: REPO,
        release_id: release.id,
        baseUrl: fake.url,
        name: 'audio.wav',
        data: audio as unknown as string,
        headers: { 'content-type': 'audio/wav' },
      }),
    );
    expect(error.status).toBe(404);
    expect(fake.assets(release.id)).toHaveLength(0);
    const viaUploads = await octokit.rest.repos.uploadReleaseAsset({
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
      baseUrl: fake.uploadsUrl,
      name: 'audio.wav',
      data: audio as unknown as string,
      headers: { 'content-type': 'audio/wav' },
    });
    expect(viaUploads.status).toBe(201);
  });

  it('a taken name is 422 already_exists; delete (204) then upload again works', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const uploadUrl = (
      await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data.upload_url;
    const first = await upload(octokit, uploadUrl, 'audio.wav', audio);
    const again = await failure(upload(octokit, uploadUrl, 'audio.wav', Buffer.from('other')));
    expect(again.status).toBe(422);
    expect(again.message).toBe(
      'Validation Failed: {"resource":"ReleaseAsset","code":"already_exists","field":"name"} - https://docs.github.com/rest/releases/assets#upload-a-release-asset',
    );
    const deleted = await octokit.rest.repos.deleteReleaseAsset({
      owner: OWNER,
      repo: REPO,
      asset_id: first.data.id,
    });
    expect(deleted.status).toBe(204);
    const replaced = await upload(octokit, uploadUrl, 'audio.wav', Buffer.from('other'), 'audio/mpeg');
    expect(replaced.status).toBe(201);
    expect(
      fake.assets(release.id).map((asset) => [asset.name, asset.bytes.toString(), asset.contentType]),
    ).toEqual([['audio.wav', 'other', 'audio/mpeg']]);
  });

  it('renames an asset with PATCH (200, the asset as GitHub shows it); a taken name is 422 already_exists', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const kept = fake.addAsset(release.id, { name: 'kept.wav', bytes: audio });
    const temp = fake.addAsset(release.id, { name: 'audio.wav.new', bytes: audio });
    const renamed = await octokit.rest.repos.updateReleaseAsset({
      owner: OWNER,
      repo: REPO,
      asset_id: temp.id,
      name: 'audio.wav',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.data).toMatchObject({
      id: temp.id,
      name: 'audio.wav',
      uploader: { login: 'github-actions[bot]', type: 'Bot' },
      browser_download_url: `https://github.com/${OWNER}/${REPO}/releases/download/v1.0.0/audio.wav`,
    });
    const taken = await failure(
      octokit.rest.repos.updateReleaseAsset({
        owner: OWNER,
        repo: REPO,
        asset_id: kept.id,
        name: 'audio.wav',
      }),
    );
    expect(taken.status).toBe(422);
    expect(taken.message).toMatch(/"code":"already_exists","field":"name"/);
    expect(fake.assets(release.id).map((a) => a.name)).toEqual(['kept.wav', 'audio.wav']);
  });

  it("an asset seeded as someone else's names them as its uploader", async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    fake.addAsset(release.id, {
      name: 'trailer-final.mp3',
      uploader: { login: 'octocat', id: 583231, type: 'User' },
    });
    const { data } = await octokit.rest.repos.listReleaseAssets({
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
    });
    expect(data[0]!.uploader).toMatchObject({ login: 'octocat', id: 583231, type: 'User' });
  });

  it('an immutable published release refuses uploads and deletes with 422; a draft flagged immutable does not', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0', immutable: true });
    const existing = fake.addAsset(release.id, { name: 'old.wav', bytes: audio });
    const { data } = await octokit.rest.repos.getRelease({
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
    });
    expect(data.immutable).toBe(true);
    const refused = await failure(upload(octokit, data.upload_url, 'audio.wav', audio));
    expect(refused.status).toBe(422);
    expect(refused.message).toBe(
      'Cannot upload assets to an immutable release. - https://docs.github.com/rest/releases/assets#upload-a-release-asset',
    );
    const undeletable = await failure(
      octokit.rest.repos.deleteReleaseAsset({ owner: OWNER, repo: REPO, asset_id: existing.id }),
    );
    expect(undeletable.status).toBe(422);
    expect(undeletable.message).toContain('Cannot delete asset from an immutable release');

    const draft = fake.createRelease({ tag: 'v2.0.0', draft: true, immutable: true });
    const draftUrl = (await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: draft.id }))
      .data.upload_url;
    expect((await upload(octokit, draftUrl, 'audio.wav', audio)).status).toBe(201);
    fake.publishRelease(draft.id);
    expect((await failure(upload(octokit, draftUrl, 'more.wav', audio))).status).toBe(422);
  });

  it('a read-only token cannot upload (403) and a chunked upload is 400 Bad Content-Length', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const uploadUrl = (
      await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data.upload_url;
    const readOnly = getOctokit(READ_ONLY, { baseUrl: fake.url });
    const refused = await failure(upload(readOnly, uploadUrl, 'audio.wav', audio));
    expect(refused.status).toBe(403);
    expect(refused.response!.headers['x-accepted-github-permissions']).toBe('contents=write');

    // A stream body without a length goes out chunked, which GitHub refuses.
    const chunked = await failure(
      octokit.rest.repos.uploadReleaseAsset({
        owner: OWNER,
        repo: REPO,
        release_id: release.id,
        url: uploadUrl,
        name: 'audio.wav',
        data: Readable.from([audio]) as unknown as string,
        headers: { 'content-type': 'audio/wav' },
      }),
    );
    expect(chunked.status).toBe(400);
    expect(chunked.message).toBe('Bad Content-Length: ');
    expect(fake.requests.at(-1)!.headers['transfer-encoding']).toBe('chunked');

    // With an explicit content-length the stream goes out with it and is accepted.
    const streamed = await octokit.rest.repos.uploadReleaseAsset({
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
      url: uploadUrl,
      name: 'audio.wav',
      data: Readable.from([audio.subarray(0, 10), audio.subarray(10)]) as unknown as string,
      headers: { 'content-type': 'audio/wav', 'content-length': audio.length },
    });
    expect(streamed.status).toBe(201);
    expect(fake.assets(release.id)[0]!.bytes.equals(audio)).toBe(true);
  });

  it('an upload cut off midway leaves a starter asset that holds the name until deleted', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0', draft: true });
    const uploadUrl = (
      await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data.upload_url;
    fake.inject(githubFaults.interruptUpload(5));
    const cut = await failure(upload(octokit, uploadUrl, 'audio.wav', audio));
    expect(cut.status).toBe(500);
    const retry = await failure(upload(octokit, uploadUrl, 'audio.wav', audio));
    expect(retry.status).toBe(422);
    const [starter] = (
      await octokit.rest.repos.listReleaseAssets({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data;
    expect(starter).toMatchObject({ name: 'audio.wav', state: 'starter', size: 0 });
    expect(starter!.browser_download_url).toMatch(/\/releases\/download\/untagged-[0-9a-f]+\/audio\.wav$/);
    await octokit.rest.repos.deleteReleaseAsset({ owner: OWNER, repo: REPO, asset_id: starter!.id });
    expect((await upload(octokit, uploadUrl, 'audio.wav', audio)).status).toBe(201);
  });

  it('a client that gives up midway (its stream fails) also leaves a starter asset', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const uploadUrl = (
      await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data.upload_url;
    async function* failing(): AsyncGenerator<Buffer> {
      yield audio.subarray(0, 8);
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('disk read failed');
    }
    await expect(
      octokit.rest.repos.uploadReleaseAsset({
        owner: OWNER,
        repo: REPO,
        release_id: release.id,
        url: uploadUrl,
        name: 'audio.wav',
        data: Readable.from(failing()) as unknown as string,
        headers: { 'content-type': 'audio/wav', 'content-length': audio.length },
      }),
    ).rejects.toThrow();
    await expect.poll(() => fake.requests.at(-1)!.bodyBytes).toBe(8);
    expect(fake.assets(release.id)).toMatchObject([{ name: 'audio.wav', state: 'starter', size: 0 }]);
  });

  it('resetAfterWork on an upload: stored, but the client sees a network error and its retry 422', async () => {
    const release = fake.createRelease({ tag: 'v1.0.0' });
    const uploadUrl = (
      await octokit.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
    ).data.upload_url;
    fake.inject(githubFaults.resetAfterWork('uploadReleaseAsset'));
    expect((await failure(upload(octokit, uploadUrl, 'audio.wav', audio))).status).toBe(500);
    expect(fake.assets(release.id)[0]).toMatchObject({ state: 'uploaded', size: audio.length });
    expect((await failure(upload(octokit, uploadUrl, 'audio.wav', audio))).status).toBe(422);
  });

  it('keeps asset names as given unless renameAssets is set', async () => {
    expect(githubAssetName('my audio (1).wav')).toBe('my.audio.1.wav');
    expect(githubAssetName('.hidden.')).toBe('hidden');
    const renaming = await GitHubApi.start({ renameAssets: true });
    try {
      const client = getOctokit(renaming.defaultToken, { baseUrl: renaming.url });
      const release = renaming.createRelease({ tag: 'v1' });
      const uploadUrl = (
        await client.rest.repos.getRelease({ owner: OWNER, repo: REPO, release_id: release.id })
      ).data.upload_url;
      expect((await upload(client, uploadUrl, 'my audio.wav', audio)).data.name).toBe('my.audio.wav');
    } finally {
      await renaming.close();
    }
  });
});

describe('faults and rate limits', () => {
  it('rateLimited: 403 with x-ratelimit-remaining 0 and a reset time', async () => {
    fake.inject(githubFaults.rateLimited('listComments', { resetInSeconds: 120 }));
    const error = await failure(
      octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 }),
    );
    expect(error.status).toBe(403);
    expect(error.message).toMatch(/^API rate limit exceeded/);
    expect(error.response!.headers['x-ratelimit-remaining']).toBe('0');
    const reset = Number(error.response!.headers['x-ratelimit-reset']);
    expect(reset - Date.now() / 1000).toBeGreaterThan(100);
    // One time only by default.
    expect(
      (await octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 })).status,
    ).toBe(200);
  });

  it('secondaryRateLimited: 403 or 429 with retry-after', async () => {
    fake.inject(githubFaults.secondaryRateLimited('createComment', { retryAfterSeconds: 7 }));
    fake.inject(githubFaults.secondaryRateLimited('createComment', { status: 429 }));
    const first = await failure(
      octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: 'x' }),
    );
    expect(first.status).toBe(403);
    expect(first.message).toMatch(/secondary rate limit/);
    expect(first.response!.headers['retry-after']).toBe('7');
    const second = await failure(
      octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: 'x' }),
    );
    expect(second.status).toBe(429);
    expect(fake.comments(1)).toHaveLength(0);
  });

  it('spends a real budget: every response carries x-ratelimit headers and 0 left is the rate-limit 403', async () => {
    fake.setRateLimit({ limit: 1000, remaining: 2 });
    const ok = await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(ok.headers['x-ratelimit-limit']).toBe('1000');
    expect(ok.headers['x-ratelimit-remaining']).toBe('1');
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    const error = await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }));
    expect(error.status).toBe(403);
    expect(error.response!.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('reset, delay, server errors and HTML pages', async () => {
    fake.inject(githubFaults.reset('getRepo'));
    const reset = await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }));
    expect(reset.status).toBe(500);

    fake.inject(githubFaults.delayed(150, 'getRepo'));
    const started = performance.now();
    await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    fake.inject(githubFaults.serverError('*', 502, 2));
    expect((await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }))).status).toBe(502);
    expect(
      (await failure(octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 }))).status,
    ).toBe(502);

    fake.inject(githubFaults.htmlPage('getRepo'));
    const html = await failure(octokit.rest.repos.get({ owner: OWNER, repo: REPO }));
    expect(html.status).toBe(502);
    expect(html.message).toContain('Unicorn!');
    expect((await octokit.rest.repos.get({ owner: OWNER, repo: REPO })).status).toBe(200);
  });

  it('hang is answered never, and close() still returns', async () => {
    fake.inject(githubFaults.hang('getRepo'));
    const arrived = fake.nextRequest('getRepo');
    const controller = new AbortController();
    const pending = octokit.rest.repos.get({
      owner: OWNER,
      repo: REPO,
      request: { signal: controller.signal },
    });
    // Still unanswered well after it arrived, however long it took to arrive.
    const request = await arrived;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(request.status).toBe(0);
    controller.abort();
    await expect(pending).rejects.toThrow();
  });

  it('refuses a fault that can never fire', () => {
    expect(() =>
      fake.inject({ route: 'getRepo', fault: { kind: 'interrupt-upload', afterBytes: 1 } }),
    ).toThrow(TypeError);
    expect(() => fake.inject({ ...githubFaults.reset(), times: 0 })).toThrow(TypeError);
  });
});
