import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalFile } from '../../../src/sources/source.ts';
import { removeLeftovers, Staging, StagingError, type StagingContext } from '../../../src/sources/stage.ts';
import { CancelledError } from '../../../src/runtime.ts';
import { ObjectStore } from '../../emulator/object-store.ts';
import { fakeRetryContext } from '../../support/fakes.ts';
import { makeMp4 } from '../../support/mp4.ts';
import { scratchDir } from '../../support/run-action.ts';

let store: ObjectStore;
beforeEach(async () => {
  store = await ObjectStore.start();
});
afterEach(async () => {
  await store.close();
});

function file(name: string, bytes: Buffer): LocalFile {
  const absolute = path.join(scratchDir('stage-'), name);
  writeFileSync(absolute, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { kind: 'video_path', path: name, absolute, sha256, bytes: bytes.length };
}

function context(signal = new AbortController().signal) {
  const retry = fakeRetryContext({ signal });
  const state: string[] = [];
  const masked: string[] = [];
  const ctx: StagingContext = {
    ...retry,
    // The store's clock is real: so is this one, for the presigned URL's dates.
    clock: { now: () => Date.now() },
    signal,
    fetch: (input, init) => fetch(input, init),
    env: store.env(),
    mask: (secret) => masked.push(secret),
    saveState: (_name, value) => state.push(value),
    userAgent: 'test',
    deadlineMs: Date.now() + 60_000,
  };
  return { ctx, state, masked, log: retry.log };
}

const settings = () => ({ bucket: 'staging', prefix: 'kling', endpoint: store.url, region: 'us-east-1' });

describe('Staging', () => {
  it('stages one content once, masks its URL, and deletes it when the last entry using it ends', async () => {
    const clip = file('clip.mp4', makeMp4());
    const { ctx, state, masked } = context();
    const staging = new Staging(settings(), ctx);
    staging.use(clip);
    staging.use(clip);
    const [a, b] = await Promise.all([staging.videoUrl(clip), staging.videoUrl(clip)]);
    expect(a.video_url).toBe(b.video_url);
    expect(masked).toContain(a.video_url);
    expect(store.requests.filter((r) => r.operation === 'put')).toHaveLength(1);
    const key = `kling/${clip.sha256}.mp4`;
    expect(JSON.parse(state.at(-1)!)).toEqual([
      { bucket: 'staging', key, region: 'us-east-1', endpoint: store.url },
    ]);

    staging.release(clip);
    await new Promise((r) => setTimeout(r, 50));
    expect(store.keys('staging')).toEqual([key]);
    staging.release(clip);
    // The delete runs now, not at the step's end.
    await expect.poll(() => store.keys('staging')).toEqual([]);
    expect(JSON.parse(state.at(-1)!)).toEqual([]);
  });

  it('keeps what tasks not waited for may still fetch, and says so', async () => {
    const clip = file('clip.mp4', makeMp4());
    const { ctx, log, state } = context();
    const staging = new Staging(settings(), ctx);
    staging.use(clip);
    await staging.videoUrl(clip);
    await staging.finish(true);
    expect(store.keys('staging')).toHaveLength(1);
    expect(log.at('info').join('\n')).toMatch(/stays in the bucket: with wait: false/);
    // Not listed for the post step either, which would delete it at the job's end.
    expect(JSON.parse(state.at(-1)!)).toEqual([]);
  });

  it('cancelled: leaves the object to the post step, which deletes it from the saved state', async () => {
    const clip = file('clip.mp4', makeMp4());
    const controller = new AbortController();
    const { ctx, state } = context(controller.signal);
    const staging = new Staging(settings(), ctx);
    staging.use(clip);
    await staging.videoUrl(clip);
    controller.abort(new CancelledError('SIGTERM'));
    await staging.finish(false);
    expect(store.keys('staging')).toHaveLength(1);

    const post = context();
    await removeLeftovers(state.at(-1)!, post.ctx);
    expect(store.keys('staging')).toEqual([]);
    expect(post.log.at('info')).toEqual([`Deleted the staged s3://staging/kling/${clip.sha256}.mp4.`]);
  });

  it('cancelled while an entry ends: the object stays listed for the post step, not dropped', async () => {
    const clip = file('clip.mp4', makeMp4());
    const controller = new AbortController();
    const { ctx, state, log } = context(controller.signal);
    const staging = new Staging(settings(), ctx);
    staging.use(clip);
    await staging.videoUrl(clip);
    // SIGTERM while the create was in flight: the entry ends with no task, and releases its file.
    controller.abort(new CancelledError('SIGTERM'));
    staging.release(clip);
    await staging.finish(false);
    // The step lives on for a moment after the signal (policy.cancel.exitWithinMs).
    await new Promise((r) => setTimeout(r, 100));
    expect(store.keys('staging')).toHaveLength(1);
    expect(JSON.parse(state.at(-1)!)).toEqual([
      { bucket: 'staging', key: `kling/${clip.sha256}.mp4`, region: 'us-east-1', endpoint: store.url },
    ]);
    expect(log.at('warning')).toEqual([]);
  });

  it("the step's deadline passed (a task that timed out): the object is deleted all the same", async () => {
    const clip = file('clip.mp4', makeMp4());
    const { ctx, state, log } = context();
    let now = Date.now();
    const staging = new Staging(settings(), { ...ctx, clock: { now: () => now }, deadlineMs: now + 60_000 });
    staging.use(clip);
    await staging.videoUrl(clip);
    // The store's clock is real: the step's own moves past its deadline (a minute's skew is allowed).
    now += 61_000;
    await staging.finish(false);
    expect(log.at('warning')).toEqual([]);
    expect(store.keys('staging')).toEqual([]);
    expect(JSON.parse(state.at(-1)!)).toEqual([]);
  });

  it('credentials about to expire fail the file before it is sent: a link to it would die before the API fetches it', async () => {
    const clip = file('clip.mp4', makeMp4());
    const { ctx } = context();
    const expiring = { ...ctx.env, AWS_CREDENTIAL_EXPIRATION: new Date(Date.now() + 30_000).toISOString() };
    const staging = new Staging(settings(), { ...ctx, env: expiring });
    await expect(staging.videoUrl(clip)).rejects.toThrow(
      /the credentials expire at .* \(AWS_CREDENTIAL_EXPIRATION\), in 30 s: .*a longer role-duration-seconds/,
    );
    expect(store.requests).toEqual([]);
  });

  it('the post step ignores a state it cannot read, and only warns when it has no credentials', async () => {
    const post = context();
    await removeLeftovers('not json', post.ctx);
    await removeLeftovers('[{"bucket": 1}]', post.ctx);
    expect(store.requests).toEqual([]);
    await removeLeftovers('[{"bucket":"staging","key":"k/x.mp4","region":"us-east-1"}]', {
      ...post.ctx,
      env: {},
    });
    expect(post.log.at('warning')[0]).toMatch(/Could not delete s3:\/\/staging\/k\/x\.mp4: no credentials/);
  });

  it('without staging_url, or without credentials, a file fails before anything is sent', async () => {
    const clip = file('clip.mp4', makeMp4());
    const none = new Staging(undefined, context().ctx);
    await expect(none.videoUrl(clip)).rejects.toThrow(StagingError);
    await expect(none.videoUrl(clip)).rejects.toThrow(/staging_url is not set/);
    const noKeys = new Staging(settings(), { ...context().ctx, env: {} });
    await expect(noKeys.videoUrl(clip)).rejects.toThrow(
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/,
    );
    expect(store.requests).toEqual([]);
  });
});
