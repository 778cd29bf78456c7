// The deliveries on the built action: a sticky PR comment and release assets through the real
// Octokit against a local fake of GitHub's REST API, and the artifact's archive and overwrite options.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GitHubApi, githubFaults, tokenPresets } from '../emulator/github-api.ts';
import { ACTION_TEST_TIMEOUT_MS, type ActionRun, JOB_TOKEN, stepMs } from '../support/run-action.ts';
import { errorMessage, startWorld, type World } from './world.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

const PR = 42;
const READ_ONLY = 'ghs_readonly0123456789abcdefABCDEF0123';

let world: World;
let github: GitHubApi;
let eventDir: string;
beforeEach(async () => {
  world = await startWorld();
  github = await GitHubApi.start({
    tokens: { [JOB_TOKEN]: tokenPresets.writeAll, [READ_ONLY]: tokenPresets.forkPullRequest },
  });
  eventDir = mkdtempSync(path.join(tmpdir(), 'deliveries-event-'));
});
afterEach(async () => {
  await Promise.all([world.close(), github.close()]);
  rmSync(eventDir, { recursive: true, force: true });
});

/** The runner's variables for a pull_request run of PR #42 (or another event). */
function event(name: 'pull_request' | 'push', extra: Record<string, string> = {}): Record<string, string> {
  const eventPath = path.join(eventDir, `${name}.json`);
  writeFileSync(
    eventPath,
    JSON.stringify(name === 'pull_request' ? { number: PR, pull_request: { number: PR } } : {}),
  );
  return {
    ...github.env(),
    GITHUB_EVENT_NAME: name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKFLOW_REF: 'octo-org/octo-repo/.github/workflows/preview.yml@refs/pull/42/merge',
    ...extra,
  };
}

const video = (name: string) => ({ video_url: `https://example.com/${name}.mp4` });

/** Markdown with its code spans taken out: what is left is what renders as markup. */
function outsideCodeSpans(markdown: string): string {
  return markdown.replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, '');
}

/** The cells of a Markdown table row: split at each `|` not escaped with a backslash. */
function cells(row: string): number {
  return row.split(/(?<!\\)\|/).length - 2;
}

function warnings(run: ActionRun): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith('::warning'));
}

describe('pr_comment', () => {
  it('writes one comment on the pull request, and a re-run updates it in place', async () => {
    const env = event('pull_request');
    const first = await world.run({ ...video('pr'), pr_comment: 'true' }, { env });
    expect(first.code, first.stdout).toBe(0);
    const comments = github.comments(PR);
    expect(comments).toHaveLength(1);
    expect(first.outputs.comment_url).toBe(
      `https://github.com/octo-org/octo-repo/pull/${PR}#issuecomment-${comments[0]!.id}`,
    );
    const body = comments[0]!.body;
    expect(body).toContain(
      '<!-- kling-video-to-audio: octo-org/octo-repo/.github/workflows/preview.yml / soundtrack / kling -->',
    );
    expect(body).toContain('https://example.com/pr.mp4');
    expect(body).toContain(first.outputs.artifact_url);

    const rerun = await world.run(
      { ...video('pr'), pr_comment: 'true' },
      { env: { ...env, GITHUB_RUN_ATTEMPT: '2' } },
    );
    expect(rerun.code, rerun.stdout).toBe(0);
    expect(github.comments(PR)).toHaveLength(1);
    expect(github.comments(PR)[0]!.id).toBe(comments[0]!.id);
    expect(rerun.outputs.comment_url).toBe(first.outputs.comment_url);
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('finds its comment on a later page of a busy pull request (Link pagination)', async () => {
    const env = event('pull_request');
    // 250 comments first: the step's own lands on the third page of 100.
    github.seedComments(PR, 250);
    await world.run({ ...video('busy'), pr_comment: 'true' }, { env });
    const later = await world.run({ ...video('busy'), pr_comment: 'true' }, { env });
    expect(later.code, later.stdout).toBe(0);
    const mine = github.comments(PR).filter((c) => c.body.includes('kling-video-to-audio:'));
    expect(mine).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('never takes over a comment someone else wrote with the marker in it', async () => {
    const env = event('pull_request');
    const first = await world.run({ ...video('hijack'), pr_comment: 'true' }, { env });
    const marker = github.comments(PR)[0]!.body.split('\n')[0]!;
    const mallory = github.addComment(PR, `${marker}\nnot yours`, {
      login: 'mallory',
      id: 666,
      type: 'User',
    });
    const again = await world.run({ ...video('hijack'), pr_comment: 'true' }, { env });
    expect(again.code, again.stdout).toBe(0);
    expect(github.comments(PR).find((c) => c.id === mallory.id)!.body).toBe(`${marker}\nnot yours`);
    expect(again.outputs.comment_url).toBe(first.outputs.comment_url);
  });

  it('200 entries with 4 KB hostile failure messages: the comment fits in 65,536 characters, says what it cut and points to the job summary; the summary stays under 1 MiB and holds its tables', async () => {
    // Pipes first: each doubles when escaped, so the rows are as long as they can be.
    const piece =
      '|'.repeat(90) +
      '``````| `x` <!-- </table><img src=x onerror=alert(1)> [click](javascript:alert(1)) @octocat ::error::pwned\n##[error]x\r\u0000 é😀 ';
    const hostile = piece.repeat(Math.ceil(4096 / piece.length)).slice(0, 4096);
    world.kling.setTimeline({ submittedMs: 5, processingMs: 10, outcome: 'failed', failMessage: hostile });
    const videos = Array.from({ length: 200 }, (_, i) => ({
      video_url: `https://example.com/clip-${i}.mp4`,
      name: `${'|'.repeat(74)}<b>${i}`,
    }));
    const run = await world.run(
      { videos: JSON.stringify(videos), max_concurrency: '50', pr_comment: 'true' },
      { env: event('pull_request'), timeoutMs: 110_000 },
    );
    expect(run.code, run.stdout.slice(-3000)).toBe(1);
    expect(world.kling.tasks.size).toBe(200);

    const comments = github.comments(PR);
    expect(comments, warnings(run).join('\n')).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body.length).toBeLessThanOrEqual(65_536);
    const rows = body.split('\n').filter((line) => line.startsWith('| `'));
    // Every row, with its status message cut short; the note says so and links the job summary.
    expect(rows).toHaveLength(200);
    expect(body).toMatch(
      /_Status messages are cut short to fit in a comment: \[the job summary\]\(https:\/\/github\.com\/octo-org\/octo-repo\/actions\/runs\/\d+\) shows more\._/,
    );
    for (const row of rows) expect(cells(row)).toBe(5);
    expect(run.outputs.comment_url).toBe(
      `https://github.com/octo-org/octo-repo/pull/${PR}#issuecomment-${comments[0]!.id}`,
    );

    const summary = run.summary;
    expect(Buffer.byteLength(summary)).toBeLessThan(1024 * 1024);
    const summaryRows = summary.split('\n').filter((line) => /^\| \d+ \|/.test(line));
    expect(summaryRows).toHaveLength(200);
    for (const row of summaryRows) expect(cells(row)).toBe(7);
    // Server text is shown, never obeyed: no HTML, no link, no comment that hides the rest.
    for (const text of [body.slice(body.indexOf('\n')), summary].map(outsideCodeSpans)) {
      expect(text).not.toMatch(/<(?!br>)[a-z!/]/i);
      expect(text).not.toMatch(/(?<!\\)\]\(javascript:/);
    }
  }, 120_000);

  it("never edits another app's bot comment that copies the marker: it writes and keeps its own", async () => {
    const env = event('pull_request');
    const marker =
      '<!-- kling-video-to-audio: octo-org/octo-repo/.github/workflows/preview.yml / soundtrack / kling -->';
    const copycat = github.addComment(PR, `${marker}\nI am not yours`, {
      login: 'copycat-app[bot]',
      id: 990001,
      type: 'Bot',
    });
    const first = await world.run({ ...video('copycat'), pr_comment: 'true' }, { env });
    expect(first.code, first.stdout).toBe(0);
    const again = await world.run({ ...video('copycat'), pr_comment: 'true' }, { env });
    expect(again.code, again.stdout).toBe(0);
    const comments = github.comments(PR);
    expect(comments.map((c) => [c.user.login, c.body.startsWith(marker)])).toEqual([
      ['copycat-app[bot]', true],
      ['github-actions[bot]', true],
    ]);
    expect(comments[0]!.body).toBe(`${marker}\nI am not yours`);
    expect(comments[0]!.updatedAt).toBe(copycat.updatedAt);
    const patches = github.requests.filter((r) => r.route === 'updateComment');
    expect(patches.map((r) => r.path)).toEqual([
      `/repos/octo-org/octo-repo/issues/comments/${comments[1]!.id}`,
    ]);
    expect(again.outputs.comment_url).toBe(first.outputs.comment_url);
    // Who the token is was asked of GraphQL (GET /user refuses an installation token).
    expect(github.requests.filter((r) => r.route === 'getAuthenticated')).toEqual([]);
    expect(github.requests.filter((r) => r.route === 'graphql').length).toBeGreaterThan(0);
  });

  it("with a personal token, the comment is that user's: found again and updated, another user's copy left alone", async () => {
    const PAT = 'ghp_octocatPersonalToken0123456789abcdef';
    github.addToken(PAT, tokenPresets.writeAll, { login: 'octocat', userId: 583231 });
    const env = event('pull_request');
    const inputs = { ...video('personal'), pr_comment: 'true', github_token: PAT };
    const first = await world.run(inputs, { env });
    expect(first.code, first.stdout).toBe(0);
    const [mine] = github.comments(PR);
    expect(mine!.user.login).toBe('octocat');
    github.addComment(PR, mine!.body, { login: 'mallory', id: 666, type: 'User' });
    const again = await world.run(inputs, { env });
    expect(again.code, again.stdout).toBe(0);
    const comments = github.comments(PR);
    expect(comments).toHaveLength(2);
    expect(comments[1]!.body).toBe(mine!.body);
    expect(github.requests.filter((r) => r.route === 'updateComment').map((r) => r.path)).toEqual([
      `/repos/octo-org/octo-repo/issues/comments/${mine!.id}`,
    ]);
  });

  it('a rate limit that resets long after the deadline is not waited out: a warning, and the step succeeds', async () => {
    github.inject({ ...githubFaults.rateLimited('*', { resetInSeconds: 3600 }), times: Infinity });
    const run = await world.run(
      { ...video('limited'), pr_comment: 'true' },
      { env: event('pull_request'), timeoutMs: 30_000 },
    );
    expect(run.code, run.stdout).toBe(0);
    // Far from the hour the limit asks for, and from the minute the step would wait out.
    expect(stepMs(run)).toBeLessThan(15_000);
    expect(warnings(run).join('\n')).toMatch(/pr_comment/);
  });

  it('two steps of a job keep a comment each', async () => {
    const env = event('pull_request');
    await world.run({ ...video('one'), pr_comment: 'true' }, { env: { ...env, GITHUB_ACTION: 'first' } });
    await world.run({ ...video('two'), pr_comment: 'true' }, { env: { ...env, GITHUB_ACTION: 'second' } });
    expect(github.comments(PR)).toHaveLength(2);
  });

  it('a read-only token (a fork): the step succeeds and warns which permission is missing', async () => {
    const run = await world.run(
      { ...video('fork'), pr_comment: 'true', github_token: READ_ONLY },
      { env: event('pull_request') },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(warnings(run).join('\n')).toMatch(/pull-requests: write/);
    expect(github.comments(PR)).toHaveLength(0);
    expect(run.outputs).not.toHaveProperty('comment_url');
  });

  it('not a pull request: no GitHub call at all', async () => {
    const run = await world.run({ ...video('push'), pr_comment: 'true' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(0);
    expect(github.requests).toHaveLength(0);
    expect(run.stdout).toMatch(/not for a pull request/);
  });
});

describe('release_tag', () => {
  it('uploads the files as assets with stable names and content types; a later run replaces them', async () => {
    const release = github.createRelease({ tag: 'v1.0.0' });
    const inputs = {
      ...video('trailer'),
      release_tag: 'v1.0.0',
      audio_format: 'both',
      include_video: 'true',
    };
    const first = await world.run(inputs, { env: event('push') });
    expect(first.code, first.stdout).toBe(0);
    const assets = github.assets(release.id);
    expect(assets.map((a) => [a.name, a.contentType]).sort()).toEqual([
      ['trailer-with-sound.mp4', 'video/mp4'],
      ['trailer.mp3', 'audio/mpeg'],
      ['trailer.wav', 'audio/wav'],
    ]);
    const mp3 = assets.find((a) => a.name === 'trailer.mp3')!;
    expect(mp3.bytes.equals(readFileSync(first.outputs.audio_path!))).toBe(true);
    expect(first.outputs.release_asset_urls!.split('\n')).toHaveLength(3);
    expect(first.outputs.release_asset_urls).toContain('/releases/download/v1.0.0/trailer.mp3');

    // Another run of the workflow: a new task, the same asset names, replaced rather than added.
    const later = await world.run(inputs, { env: { ...event('push'), GITHUB_RUN_ID: '99999' } });
    expect(later.code, later.stdout).toBe(0);
    const after = github.assets(release.id);
    expect(after).toHaveLength(3);
    expect(
      after.find((a) => a.name === 'trailer.mp3')!.bytes.equals(readFileSync(later.outputs.audio_path!)),
    ).toBe(true);
  });

  it('an upload whose answer was lost is replaced, not left failing on already_exists', async () => {
    const release = github.createRelease({ tag: 'v5.0.0' });
    github.inject(githubFaults.resetAfterWork('uploadReleaseAsset'));
    const run = await world.run({ ...video('lost'), release_tag: 'v5.0.0' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(0);
    const assets = github.assets(release.id);
    expect(assets.map((a) => [a.name, a.state])).toEqual([['lost.mp3', 'uploaded']]);
    expect(assets[0]!.bytes.equals(readFileSync(run.outputs.audio_path!))).toBe(true);
  });

  it('a replacement is uploaded before the earlier asset goes: a failed upload (502s) keeps it, says so, and leaves no temporary asset', async () => {
    const release = github.createRelease({ tag: 'v6.0.0' });
    const earlier = github.addAsset(release.id, {
      name: 'keep.mp3',
      bytes: Buffer.from('the earlier run’s audio'),
      contentType: 'audio/mpeg',
    });
    // The first try is cut off midway (GitHub keeps a `starter` asset under its name), then 502s.
    github.inject(githubFaults.interruptUpload(0));
    github.inject(githubFaults.serverError('uploadReleaseAsset', 502, Infinity));
    const run = await world.run({ ...video('keep'), release_tag: 'v6.0.0' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(1);
    expect(errorMessage(run)).toMatch(
      /release_tag v6\.0\.0: uploading the new keep\.mp3 failed \(HTTP 502.*\); the release keeps its earlier keep\.mp3/,
    );
    const assets = github.assets(release.id);
    expect(assets.map((a) => [a.id, a.name, a.state])).toEqual([[earlier.id, 'keep.mp3', 'uploaded']]);
    expect(assets[0]!.bytes.toString()).toBe('the earlier run’s audio');
    expect(
      github.requests.filter((r) => r.route === 'deleteReleaseAsset' && r.path.endsWith(`/${earlier.id}`)),
    ).toEqual([]);
    expect(readFileSync(run.outputs.audio_path!).length).toBeGreaterThan(0);
  });

  it('a rename that fails after the swap says where the new file is', async () => {
    const release = github.createRelease({ tag: 'v6.1.0' });
    github.addAsset(release.id, { name: 'swap.mp3', bytes: Buffer.from('old') });
    github.inject(githubFaults.serverError('updateReleaseAsset', 502, Infinity));
    const run = await world.run({ ...video('swap'), release_tag: 'v6.1.0' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(1);
    const [fresh] = github.assets(release.id);
    expect(fresh!.name).toMatch(/^swap\.mp3\.[0-9a-f]{8}\.new$/);
    expect(fresh!.bytes.equals(readFileSync(run.outputs.audio_path!))).toBe(true);
    expect(errorMessage(run)).toContain(`rename ${fresh!.name} to swap.mp3 on the release page`);
  });

  it('never deletes or replaces an asset someone else uploaded under the same name: the delivery fails with advice', async () => {
    const release = github.createRelease({ tag: 'v7.0.0' });
    const theirs = github.addAsset(release.id, {
      name: 'trailer-final.mp3',
      bytes: Buffer.from('mastered by hand'),
      uploader: { login: 'octocat', id: 583231, type: 'User' },
    });
    const run = await world.run({ ...video('trailer-final'), release_tag: 'v7.0.0' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(1);
    expect(errorMessage(run)).toMatch(
      /release_tag v7\.0\.0: an asset named trailer-final\.mp3 is already on the release, uploaded by octocat, not by this token \(github-actions\[bot\]\): it was left as it is\. Rename or remove that asset/,
    );
    const assets = github.assets(release.id);
    expect(assets.map((a) => [a.id, a.name, a.bytes.toString()])).toEqual([
      [theirs.id, 'trailer-final.mp3', 'mastered by hand'],
    ]);
    expect(
      github.requests.filter((r) => r.route === 'deleteReleaseAsset' && r.path.endsWith(`/${theirs.id}`)),
    ).toEqual([]);
    expect(run.outputs).not.toHaveProperty('release_asset_urls');
  });

  it('with a personal token, the assets that user uploaded are its own: replaced', async () => {
    const PAT = 'ghp_octocatPersonalToken0123456789abcdef';
    github.addToken(PAT, tokenPresets.writeAll, { login: 'octocat', userId: 583231 });
    const release = github.createRelease({ tag: 'v8.0.0' });
    github.addAsset(release.id, {
      name: 'pat.mp3',
      bytes: Buffer.from('an earlier run with the same token'),
      uploader: { login: 'octocat', id: 583231, type: 'User' },
    });
    const run = await world.run(
      { ...video('pat'), release_tag: 'v8.0.0', github_token: PAT },
      { env: event('push') },
    );
    expect(run.code, run.stdout).toBe(0);
    const assets = github.assets(release.id);
    expect(assets.map((a) => [a.name, a.uploader.login])).toEqual([['pat.mp3', 'octocat']]);
    expect(assets[0]!.bytes.equals(readFileSync(run.outputs.audio_path!))).toBe(true);
    const log = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    expect(log.join('\n')).not.toContain(PAT);
  });

  it('finds a draft release through the release list', async () => {
    const draft = github.createRelease({ tag: 'v2.0.0-rc', draft: true });
    const run = await world.run({ ...video('draft'), release_tag: 'v2.0.0-rc' }, { env: event('push') });
    expect(run.code, run.stdout).toBe(0);
    expect(github.assets(draft.id).map((a) => a.name)).toEqual(['draft.mp3']);
  });

  it('a tag without a release fails naming it, creates nothing, and keeps the audio', async () => {
    const run = await world.run({ ...video('norelease'), release_tag: 'v9.9.9' }, { env: event('push') });
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(/release_tag v9\.9\.9: No release has the tag v9\.9\.9/);
    expect(github.releases()).toHaveLength(0);
    expect(readFileSync(run.outputs.audio_path!).length).toBeGreaterThan(0);
    expect(run.outputs.artifact_id).toBeTruthy();
  });

  it('an immutable release fails with the advice to upload while it is a draft', async () => {
    github.createRelease({ tag: 'v3.0.0', immutable: true });
    const run = await world.run({ ...video('immutable'), release_tag: 'v3.0.0' }, { env: event('push') });
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(/immutable.*while the release is a draft/);
  });

  it('a read-only token fails naming contents: write', async () => {
    github.createRelease({ tag: 'v4.0.0' });
    const run = await world.run(
      { ...video('readonly'), release_tag: 'v4.0.0', github_token: READ_ONLY },
      { env: event('push') },
    );
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(/contents: write/);
  });
});

describe('artifact options', () => {
  it('archive: false uploads each file as its own artifact named after it; the outputs list each', async () => {
    const run = await world.run({ ...video('loose'), archive: 'false', audio_format: 'both' });
    expect(run.code, run.stdout).toBe(0);
    const live = world.results.artifacts.filter((a) => !a.deleted);
    const taskId = run.outputs.task_id!;
    expect(live.map((a) => a.name).sort()).toEqual([`${taskId}.mp3`, `${taskId}.wav`]);
    expect(run.outputs.artifact_id!.split('\n')).toHaveLength(2);
    expect(run.outputs.artifact_url!.split('\n')).toHaveLength(2);
  });

  it('overwrite: true replaces an artifact of the same chosen name', async () => {
    const inputs = { ...video('over'), artifact_name: 'sound', overwrite: 'true' };
    expect((await world.run(inputs)).code).toBe(0);
    const again = await world.run({ ...inputs, video_url: 'https://example.com/over-2.mp4' });
    expect(again.code, again.stdout).toBe(0);
    expect(world.results.artifacts.filter((a) => a.name === 'sound' && !a.deleted)).toHaveLength(1);
  });

  it('a re-run that meets its own chosen artifact_name fails suggesting overwrite: true, which then replaces it', async () => {
    const inputs = { ...video('rerun'), artifact_name: 'sound' };
    expect((await world.run(inputs)).code).toBe(0);
    const again = await world.run(inputs, { env: { GITHUB_RUN_ATTEMPT: '2' } });
    expect(again.code).toBe(1);
    expect(errorMessage(again)).toMatch(
      /an artifact named "sound" already exists in this run .* set overwrite: true to replace it; otherwise make artifact_name unique/,
    );
    const third = await world.run({ ...inputs, overwrite: 'true' }, { env: { GITHUB_RUN_ATTEMPT: '3' } });
    expect(third.code, third.stdout).toBe(0);
    expect(world.results.artifacts.filter((a) => a.name === 'sound' && !a.deleted)).toHaveLength(1);
  });

  it('zips media without compression (it does not compress)', async () => {
    const run = await world.run(video('stored'));
    expect(run.code, run.stdout).toBe(0);
    const artifact = world.results.artifacts.find((a) => !a.deleted)!;
    // A stored zip is at least as large as the files it holds.
    expect(artifact.blob.length).toBeGreaterThanOrEqual(readFileSync(run.outputs.audio_path!).length);
  });
});
