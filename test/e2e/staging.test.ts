// Videos made on the runner, end to end on the built action: found in the workspace, checked on disk,
// staged to an S3-compatible store that checks every signature, fetched by the Kling emulator through
// the presigned URL (a wrong one fails the task), and deleted when the task ends, or by the post step.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheService } from '../emulator/cache-service.ts';
import { ObjectStore } from '../emulator/object-store.ts';
import { buildVideo } from '../emulator/media.ts';
import { makeMp4 } from '../support/mp4.ts';
import { expectMuxed } from '../support/muxed-oracle.ts';
import { scratchDir, type ActionRun } from '../support/run-action.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';

let world: World;
let store: ObjectStore;
beforeEach(async () => {
  world = await startWorld();
  store = await ObjectStore.start({ buckets: ['staging', { name: 'eu-bucket', region: 'eu-west-1' }] });
});
afterEach(async () => {
  await Promise.all([world.close(), store.close()]);
});

const CLIP = makeMp4({ seconds: 5 });
const OTHER = makeMp4({ seconds: 6 });
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A workspace holding these files (path → bytes). */
function workspace(files: Record<string, Buffer>): string {
  const dir = scratchDir('workspace-');
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  }
  return dir;
}

function run(
  inputs: Record<string, string>,
  files: Record<string, Buffer>,
  env: Record<string, string> = {},
) {
  return world.run(
    { staging_url: 's3://staging/kling', staging_endpoint: store.url, preflight: 'true', ...inputs },
    { workspace: workspace(files), env: { ...store.env(), ...env } },
  );
}

const puts = () => store.requests.filter((r) => r.operation === 'put' && r.status === 200);
const creates = () => routeRequests(world.kling, 'create');
const results = (run: ActionRun) => JSON.parse(run.outputs.results!) as Record<string, unknown>[];

describe('video_path: a file on the runner', () => {
  it('is checked, staged under its sha256, fetched by the API through a presigned URL, and deleted after', async () => {
    const done = await run({ video_path: 'renders/trailer.mp4' }, { 'renders/trailer.mp4': CLIP });
    expect(done.code, done.stdout).toBe(0);
    const key = `kling/${sha(CLIP)}.mp4`;
    expect(puts().map((r) => r.key)).toEqual([key]);
    expect(puts()[0]!.headers['content-type']).toBe('video/mp4');
    // The API got a presigned GET, and fetching it worked.
    const [create] = creates();
    const videoUrl = (create!.body as { video_url: string }).video_url;
    expect(videoUrl).toMatch(/X-Amz-Signature=/);
    const fetched = await world.kling.videoFetched(done.outputs.task_id!);
    expect(fetched).toMatchObject({ state: 'fetched', status: 200 });
    // Gone once the task ended, and the post step has nothing left to do.
    expect(store.object('staging', key)).toBeUndefined();
    expect(JSON.parse(done.state.staged_objects ?? '[]')).toEqual([]);
    expect(results(done)[0]).toMatchObject({ source: 'renders/trailer.mp4', name: 'renders/trailer.mp4' });
    expect(done.stdout).toContain('Checked the video renders/trailer.mp4: MP4, 5.0 s');
  });

  it('the same file, re-run: resumes the first task by its bytes, though its presigned URL is new', async () => {
    const files = { 'clip.mp4': CLIP };
    const first = await run({ video_path: 'clip.mp4' }, files);
    expect(first.code, first.stdout).toBe(0);
    const again = await run({ video_path: 'clip.mp4' }, files, { GITHUB_RUN_ATTEMPT: '2' });
    expect(again.code, again.stdout).toBe(0);
    expect(creates()).toHaveLength(1);
    expect(again.outputs.task_id).toBe(first.outputs.task_id);
  });

  it('a task that fails on Kling: the staged object is deleted all the same', async () => {
    world.kling.setTimeline({ outcome: 'failed' });
    const failed = await run({ video_path: 'clip.mp4' }, { 'clip.mp4': CLIP });
    expect(failed.code).not.toBe(0);
    expect(store.keys('staging')).toEqual([]);
  });

  it('an unworkable file fails before anything is uploaded, in the words of a URL preflight', async () => {
    const short = await run({ video_path: 'short.mp4' }, { 'short.mp4': makeMp4({ seconds: 2 }) });
    expect(short.code).not.toBe(0);
    expect(errorMessage(short)).toMatch(
      /The video short\.mp4 cannot work: the video is 2\.0 s; Kling accepts 3–20 s/,
    );
    expect(store.requests).toEqual([]);
    expect(creates()).toEqual([]);
  });

  it('with wait: false the object stays for the lifecycle rule, and the step says so', async () => {
    const submitted = await run({ video_path: 'clip.mp4', wait: 'false' }, { 'clip.mp4': CLIP });
    expect(submitted.code, submitted.stdout).toBe(0);
    expect(store.keys('staging')).toEqual([`kling/${sha(CLIP)}.mp4`]);
    expect(submitted.stdout).toMatch(/stays in the bucket: with wait: false/);
    // Nor does the post step delete it at the job's end, while the API may still fetch it.
    expect(JSON.parse(submitted.state.staged_objects ?? '[]')).toEqual([]);
  });
});

describe('videos: paths and glob patterns beside URLs and ids', () => {
  it('expands a pattern in sorted order, each file its own entry, the same bytes staged once', async () => {
    const done = await run(
      {
        videos: ['renders/*.mp4', 'https://example.com/remote.mp4', '861254119619698760'].join('\n'),
        preflight: 'false',
      },
      {
        'renders/b.mp4': OTHER,
        'renders/a.mp4': CLIP,
        'renders/copy-of-a.mp4': CLIP,
        'renders/notes.txt': Buffer.from('x'),
      },
    );
    expect(done.code, done.stdout).toBe(0);
    expect(results(done).map((r) => r.name)).toEqual([
      'renders/a.mp4',
      'renders/b.mp4',
      'renders/copy-of-a.mp4',
      'https://example.com/remote.mp4',
      '861254119619698760',
    ]);
    // a.mp4 and its copy have the same bytes: one object, one task for both.
    expect(
      puts()
        .map((r) => r.key)
        .sort(),
    ).toEqual([`kling/${sha(CLIP)}.mp4`, `kling/${sha(OTHER)}.mp4`].sort());
    expect(creates()).toHaveLength(4);
    expect(results(done)[2]!.task_id).toBe(results(done)[0]!.task_id);
    expect(store.keys('staging')).toEqual([]);
  });

  it('a missing file, a directory, a path outside the workspace and a pattern that matches nothing are input errors', async () => {
    const failed = await run(
      { videos: ['missing.mp4', 'renders', '../outside.mp4', 'renders/*.mov'].join('\n') },
      { 'renders/a.mp4': CLIP },
    );
    expect(failed.code).not.toBe(0);
    const message = errorMessage(failed);
    expect(message).toMatch(/videos line 1: missing\.mp4 does not exist/);
    expect(message).toMatch(/videos line 2: renders is a directory/);
    expect(message).toMatch(/videos line 3: \.\.\/outside\.mp4 is outside the workspace/);
    expect(message).toMatch(/videos line 4: the pattern renders\/\*\.mov matches no file/);
    expect(store.requests).toEqual([]);
    expect(world.kling.requests).toEqual([]);
  });
});

describe('mux: true with files on the runner', () => {
  it('muxes each rendered file where it lies (MP4 stays MP4, MOV stays MOV), after its staged copy is gone', async () => {
    const mp4 = buildVideo({ seconds: 3, audio: 'silence' });
    const mov = buildVideo({ seconds: 4, brand: 'qt  ', layout: 'moov-last' });
    const done = await run(
      { videos: 'renders/*', mux: 'true' },
      { 'renders/a.mp4': mp4, 'renders/b.mov': mov },
    );
    expect(done.code, done.stdout).toBe(0);
    const rows = results(done) as { name: string; task_id: string; muxed_path: string }[];
    expect(rows.map((r) => r.name)).toEqual(['renders/a.mp4', 'renders/b.mov']);
    for (const [row, source, container] of [
      [rows[0]!, mp4, 'mp4'],
      [rows[1]!, mov, 'mov'],
    ] as const) {
      expect(path.basename(row.muxed_path)).toBe(`${row.task_id}-muxed.${container}`);
      expectMuxed(readFileSync(row.muxed_path), source, {
        codec: 'aac',
        resultVideo: world.kling.media(row.task_id).mp4,
      });
    }
    expect(done.outputs.muxed_path!.split('\n')).toEqual(rows.map((r) => r.muxed_path));
    // Staged, fetched by the API, and deleted; the muxer read the files in the workspace, not the store.
    expect(puts()).toHaveLength(2);
    expect(store.requests.filter((r) => r.operation === 'get' && r.status === 200)).toHaveLength(2);
    expect(store.keys('staging')).toEqual([]);
  });
});

describe('what the store answers', () => {
  it('SlowDown is retried, and the upload goes through', async () => {
    store.inject({ operation: 'put', fault: { kind: 'slow-down' }, times: 2 });
    const done = await run({ video_path: 'clip.mp4' }, { 'clip.mp4': CLIP });
    expect(done.code, done.stdout).toBe(0);
    expect(store.requests.filter((r) => r.operation === 'put').map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it.each([
    [
      'a key without s3:PutObject',
      () => store.addKey({ ...NARROW, allow: ['s3:GetObject', 's3:DeleteObject'] }),
      { ...narrowEnv() },
      {},
      /AccessDenied.*s3:PutObject/,
    ],
    [
      'a key without s3:GetObject, which the API needs to fetch the file',
      () => store.addKey({ ...NARROW, allow: ['s3:PutObject', 's3:DeleteObject'] }),
      { ...narrowEnv() },
      {},
      /access denied.*s3:GetObject.*presigned GET/,
    ],
    [
      'a bucket that does not exist',
      () => {},
      {},
      { staging_url: 's3://no-such-bucket/kling' },
      /NoSuchBucket.*Check the bucket in staging_url/,
    ],
    [
      'a wrong region',
      () => {},
      {},
      { staging_url: 's3://eu-bucket/kling', staging_region: 'us-east-1' },
      /eu-west-1.*Set staging_region: eu-west-1/,
    ],
    [
      'a runner clock 20 minutes off',
      () => store.setClockOffsetMs(20 * 60_000),
      {},
      {},
      /RequestTimeTooSkewed/,
    ],
    [
      'no credentials',
      () => {},
      { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      {},
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/,
    ],
    ['no staging_url', () => {}, {}, { staging_url: '' }, /staging_url is not set/],
    [
      'a store that never answers the upload',
      () => store.inject({ operation: 'put', fault: { kind: 'hang' }, times: 100 }),
      {},
      { timeout_seconds: '3' },
      /Upload of s3:\/\/staging\/kling\/[0-9a-f]{64}\.mp4: the step's deadline passed\. Raise timeout_seconds, or check that the store at staging_endpoint answers\./,
    ],
  ] as const)(
    '%s: the entry fails before any task, naming the answer and the fix',
    async (_what, arrange, env, inputs, message) => {
      arrange();
      const failed = await run({ video_path: 'clip.mp4', ...inputs }, { 'clip.mp4': CLIP }, env);
      expect(failed.code).not.toBe(0);
      expect(errorMessage(failed)).toMatch(/The video clip\.mp4 could not be staged/);
      expect(errorMessage(failed)).toMatch(message);
      expect(errorMessage(failed)).toMatch(/No task was created/);
      expect(creates()).toEqual([]);
      expect(store.keys('staging')).toEqual([]);
    },
  );
});

const NARROW = {
  accessKeyId: 'AKIANARROW0000000001',
  secretAccessKey: 'narrow-secret-key-0000000000000000000000',
};
const narrowEnv = () => ({
  AWS_ACCESS_KEY_ID: NARROW.accessKeyId,
  AWS_SECRET_ACCESS_KEY: NARROW.secretAccessKey,
});

describe('what is left behind', () => {
  it('a job cancelled while the task runs: the post step deletes the staged object', async () => {
    world.kling.setTimeline({ submittedMs: 200, processingMs: 60_000 });
    const ws = workspace({ 'clip.mp4': CLIP });
    const inputs = { video_path: 'clip.mp4', staging_url: 's3://staging/kling', staging_endpoint: store.url };
    const cancelled = await world.run(inputs, {
      workspace: ws,
      env: store.env(),
      signal: { name: 'SIGTERM', afterStdout: /Submitted task/ },
    });
    expect(cancelled.code).not.toBe(0);
    const key = `kling/${sha(CLIP)}.mp4`;
    expect(store.keys('staging')).toEqual([key]);
    const staged = cancelled.state.staged_objects!;
    expect(JSON.parse(staged)).toEqual([
      { bucket: 'staging', key, region: 'us-east-1', endpoint: store.url },
    ]);

    // The runner runs the same entry as the post step, with the state the main step saved.
    const post = await world.run(inputs, {
      workspace: ws,
      env: { ...store.env(), STATE_is_post: 'true', STATE_staged_objects: staged },
    });
    expect(post.code, post.stdout).toBe(0);
    expect(store.keys('staging')).toEqual([]);
    expect(post.stdout).toContain(`Deleted the staged s3://staging/${key}.`);
    // The post step is no second run of the step: nothing else was asked of the API.
    expect(creates()).toHaveLength(1);
  });

  it('a delete the store refuses is a warning naming the object and s3:DeleteObject, never a failed step', async () => {
    store.addKey({ ...NARROW, allow: ['s3:PutObject', 's3:GetObject'] });
    const done = await run({ video_path: 'clip.mp4' }, { 'clip.mp4': CLIP }, narrowEnv());
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toMatch(
      /::warning::Could not delete the staged s3:\/\/staging\/kling\/[0-9a-f]{64}\.mp4: .*s3:DeleteObject/,
    );
  });
});

describe('cache: true with a local file', () => {
  it('keys the result by the file bytes: a hit stages nothing and creates no task', async () => {
    const cache = await CacheService.start();
    try {
      const files = { 'clip.mp4': CLIP };
      const env = { ...cache.env(), GITHUB_RUN_ID: '200' };
      const inputs = { video_path: 'clip.mp4', cache: 'true', upload_artifact: 'false' };
      const first = await run(inputs, files, env);
      expect(first.code, first.stdout).toBe(0);
      const requestsBefore = store.requests.length;
      // Another name, the same bytes: still a hit.
      const later = await run(
        { ...inputs, video_path: 'renamed.mp4' },
        { 'renamed.mp4': CLIP },
        { ...env, GITHUB_RUN_ID: '201' },
      );
      expect(later.code, later.stdout).toBe(0);
      expect(later.outputs.cache_hit).toBe('true');
      expect(store.requests.length).toBe(requestsBefore);
      expect(creates()).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });
});
