import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerAuthorizer } from '../../../src/kling/auth.ts';
import { KlingClient } from '../../../src/kling/client.ts';
import { routesFor } from '../../../src/kling/routes.ts';
import { policy } from '../../../src/policy.ts';
import { CancelledError } from '../../../src/runtime.ts';
import { DownloadError } from '../../../src/task/download.ts';
import { runTask, TaskFailedError } from '../../../src/task/run-task.ts';
import type { TaskContext, TaskSpec } from '../../../src/task/task.ts';
import {
  apiSucceededTask,
  apiTask,
  fakeRetryContext,
  mp3Bytes,
  ok,
  useNockWithLoopbackOnly,
  TEST_CLIENT_LIMITS,
} from '../../support/fakes.ts';

const BASE = 'https://api.cometapi.test';
const ROOT = '/kling/v1/audio/video-to-audio';
const CDN = 'https://cdn.example.com';

useNockWithLoopbackOnly();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function world(signal = new AbortController().signal) {
  const retry = fakeRetryContext({ signal });
  const outputDir = mkdtempSync(path.join(tmpdir(), 'run-task-'));
  dirs.push(outputDir);
  const client = new KlingClient({
    ...retry,
    routes: routesFor('cometapi', BASE),
    auth: bearerAuthorizer('sk-test'),
    fetch: (input, init) => fetch(input, init),
    userAgent: 'test',
    limits: TEST_CLIENT_LIMITS,
  });
  const context: TaskContext = {
    ...retry,
    client,
    fetch: (input, init) => fetch(input, init),
    startedMs: retry.clock.now(),
    deadlineMs: retry.clock.now() + 900_000,
    allowHttpResults: false,
    limits: { createAttempts: 5, maxSuperseded: 5, poll: policy.poll, download: policy.download },
  };
  const spec: TaskSpec = {
    request: { video_url: `${CDN}/clip.mp4` },
    externalTaskId: 'gha-run-task',
    derivedExternalId: true,
    lookUpFirst: false,
    wait: true,
    pollIntervalMs: 1_000,
    audioFormat: 'mp3',
    includeVideo: false,
    outputDir,
  };
  const events: string[] = [];
  const observer = {
    creating: (id: string) => events.push(`creating ${id}`),
    taskKnown: (task: { taskId: string }, _id: string | undefined, resumed: boolean) =>
      events.push(`known ${task.taskId}${resumed ? ' (resumed)' : ''}`),
    status: (task: { status: string }) => events.push(`status ${task.status}`),
    downloaded: (file: { path: string }) => events.push(`downloaded ${path.basename(file.path)}`),
  };
  return { context, retry, spec, observer, events, outputDir };
}

describe('runTask: one task from spec to files, ending in an outcome, never a throw', () => {
  it('submits, waits for the final status and downloads, telling the observer each fact as it comes', async () => {
    const w = world();
    nock(BASE)
      .post(ROOT)
      .reply(200, ok(apiTask('t-1', 'submitted')));
    nock(BASE)
      .get(`${ROOT}/t-1`)
      .reply(200, ok(apiTask('t-1', 'processing')));
    nock(BASE)
      .get(`${ROOT}/t-1`)
      .reply(200, ok(apiSucceededTask('t-1', 'gha-run-task')));
    nock(CDN).get('/a.mp3').reply(200, mp3Bytes(2048), { 'content-length': '2048' });
    const outcome = await runTask(w.spec, w.context, w.observer);
    expect(outcome).toMatchObject({ ending: 'succeeded', resumed: false, externalTaskId: 'gha-run-task' });
    expect(outcome.files.map((f) => f.path)).toEqual([path.join(w.outputDir, 't-1.mp3')]);
    expect(readFileSync(outcome.files[0]!.path)).toEqual(mp3Bytes(2048));
    expect(w.events).toEqual([
      'creating gha-run-task',
      'known t-1',
      'status processing',
      'status succeed',
      'downloaded t-1.mp3',
    ]);
  });

  it('attaches to an existing task instead of submitting one', async () => {
    const w = world();
    nock(BASE)
      .get(`${ROOT}/t-old`)
      .reply(200, ok(apiSucceededTask('t-old')));
    nock(CDN).get('/a.mp3').reply(200, mp3Bytes(), { 'content-length': '1024' });
    const outcome = await runTask({ ...w.spec, attachTo: 't-old' }, w.context, w.observer);
    expect(outcome).toMatchObject({ ending: 'succeeded', resumed: true, task: { taskId: 't-old' } });
    expect(w.events[0]).toBe('known t-old (resumed)');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('with wait: false, ends as submitted once the task exists, without polling', async () => {
    const w = world();
    nock(BASE)
      .post(ROOT)
      .reply(200, ok(apiTask('t-2', 'submitted')));
    const outcome = await runTask({ ...w.spec, wait: false }, w.context, w.observer);
    expect(outcome).toMatchObject({ ending: 'submitted', task: { taskId: 't-2' }, files: [] });
    expect(w.retry.sleep.delays).toEqual([]);
  });

  it('a task that fails on Kling ends as failed with its reason, and nothing is downloaded', async () => {
    const w = world();
    nock(BASE)
      .post(ROOT)
      .reply(200, ok(apiTask('t-3', 'submitted')));
    nock(BASE)
      .get(`${ROOT}/t-3`)
      .reply(200, ok(apiTask('t-3', 'failed', { task_status_msg: 'video too dark' })));
    const outcome = await runTask(w.spec, w.context, w.observer);
    expect(outcome.ending).toBe('failed');
    expect(outcome.error).toBeInstanceOf(TaskFailedError);
    expect((outcome.error as Error).message).toContain('video too dark');
    expect(existsSync(path.join(w.outputDir, 't-3.mp3'))).toBe(false);
  });

  it('a download that keeps failing ends as failed, the task still known (it succeeded)', async () => {
    const w = world();
    nock(BASE)
      .post(ROOT)
      .reply(200, ok(apiSucceededTask('t-4')));
    nock(CDN).get('/a.mp3').times(policy.download.attempts).reply(404, 'gone');
    const outcome = await runTask(w.spec, w.context, w.observer);
    expect(outcome).toMatchObject({ ending: 'failed', task: { taskId: 't-4', status: 'succeed' } });
    expect(outcome.error).toBeInstanceOf(DownloadError);
  });

  it('cancelled while waiting: ends as cancelled with the task it knows', async () => {
    const controller = new AbortController();
    const w = world(controller.signal);
    nock(BASE)
      .post(ROOT)
      .reply(200, ok(apiTask('t-5', 'submitted')));
    nock(BASE)
      .get(`${ROOT}/t-5`)
      .reply(200, () => {
        controller.abort(new CancelledError('SIGTERM'));
        return ok(apiTask('t-5', 'processing'));
      });
    const outcome = await runTask(w.spec, w.context, w.observer);
    expect(outcome).toMatchObject({ ending: 'cancelled', task: { taskId: 't-5' } });
  });
});
