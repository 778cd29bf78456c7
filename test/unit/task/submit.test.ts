import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { bearerAuthorizer } from '../../../src/kling/auth.ts';
import { KlingClient } from '../../../src/kling/client.ts';
import { KlingApiError } from '../../../src/kling/errors.ts';
import type { Task } from '../../../src/kling/responses.ts';
import { routesFor } from '../../../src/kling/routes.ts';
import {
  CreateOutcomeUnknownError,
  submitOrResume,
  type SubmitContext,
  type SubmitRequest,
} from '../../../src/task/submit.ts';

type SubmitOptions = SubmitRequest & SubmitContext;
import {
  apiTask,
  cometError,
  fakeRetryContext,
  klingError,
  ok,
  rejectionOf,
  useNockWithLoopbackOnly,
  TEST_CLIENT_LIMITS,
} from '../../support/fakes.ts';

const BASE = 'https://api.cometapi.test';
const ROOT = '/kling/v1/audio/video-to-audio';
const EXT = 'gha-0123456789abcdef0123456789abcdef';
const REQUEST = { video_url: 'https://cdn.example.com/clip.mp4', bgm_prompt: 'calm piano' };
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

useNockWithLoopbackOnly();

interface Harness {
  options: SubmitOptions;
  known: { task: Task; externalTaskId: string; resumed: boolean }[];
  /** External ids announced before each create, interleaved with the POSTs they precede. */
  events: string[];
  posts: unknown[];
  context: ReturnType<typeof fakeRetryContext>;
}

function harness(overrides: Partial<SubmitOptions> = {}): Harness {
  const context = fakeRetryContext();
  const known: Harness['known'] = [];
  const posts: unknown[] = [];
  const events: string[] = [];
  const client = new KlingClient({
    ...context,
    routes: routesFor('cometapi', BASE),
    auth: bearerAuthorizer('sk-test'),
    fetch: (input, init) => {
      if (init.method === 'POST') {
        posts.push(JSON.parse(init.body as string));
        events.push('POST');
      }
      return fetch(input, init);
    },
    userAgent: 'test',
    limits: TEST_CLIENT_LIMITS,
  });
  return {
    context,
    known,
    events,
    posts,
    options: {
      ...context,
      client,
      request: REQUEST,
      externalTaskId: EXT,
      derived: true,
      lookUpFirst: true,
      deadlineMs: context.clock.now() + 900_000,
      createAttempts: 5,
      maxSuperseded: 5,
      onCreating: (externalTaskId) => events.push(`creating ${externalTaskId}`),
      onTaskKnown: (task, externalTaskId, resumed) => known.push({ task, externalTaskId, resumed }),
      ...overrides,
    },
  };
}

const lookup = (id = EXT) => nock(BASE).get(`${ROOT}/${id}`);
const create = () => nock(BASE).post(ROOT);
const notFound = klingError(1203, 'resource does not exist');

describe('submitOrResume', () => {
  it('resumes the task an earlier attempt created, without sending a create', async () => {
    lookup().reply(200, ok(apiTask('t-old', 'processing', { task_info: { external_task_id: EXT } })));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ externalTaskId: EXT, resumed: true });
    expect(submission.task.taskId).toBe('t-old');
    expect(h.posts).toEqual([]);
    expect(h.known).toEqual([{ task: submission.task, externalTaskId: EXT, resumed: true }]);
    expect(nock.isDone()).toBe(true);
  });

  it('creates once when the look-up says there is no such task', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ resumed: false, externalTaskId: EXT });
    expect(submission.task.taskId).toBe('t-new');
    expect(h.posts).toEqual([{ ...REQUEST, external_task_id: EXT }]);
    expect(h.known).toHaveLength(1);
    expect(h.known[0]?.resumed).toBe(false);
    expect(nock.isDone()).toBe(true);
  });

  it('creates when the look-up says no task has that external id, in words naming the id', async () => {
    lookup().reply(404, klingError(1203, `task with external_task_id ${EXT} does not exist`));
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    expect((await submitOrResume(h.options, h.options)).task.taskId).toBe('t-new');
    expect(h.posts).toHaveLength(1);
  });

  it('after a create 500, finds the task it did create and resumes it: exactly one POST', async () => {
    lookup().reply(404, notFound);
    create().reply(500, klingError(5000, 'server internal error'));
    lookup().reply(200, ok(apiTask('t-made', 'submitted')));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission.task.taskId).toBe('t-made');
    expect(submission.resumed).toBe(true);
    expect(h.posts).toHaveLength(1);
    expect(nock.isDone()).toBe(true);
  });

  it('a create answered with a task another entry holds: looked up by its external id, never sent again', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-held', 'submitted')));
    lookup().reply(200, ok(apiTask('t-mine', 'submitted', { task_info: { external_task_id: EXT } })));
    const h = harness({ claim: (id) => id !== 't-held' });
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ resumed: true, externalTaskId: EXT });
    expect(submission.task.taskId).toBe('t-mine');
    expect(h.posts).toHaveLength(1);
    expect(h.known.map((k) => k.task.taskId)).toEqual(['t-mine']);
    expect(nock.isDone()).toBe(true);
  });

  it('a create and its look-up both answered with a task another entry holds: fails, not sent again', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-held', 'submitted')));
    lookup()
      .times(3)
      .reply(200, ok(apiTask('t-held', 'processing')));
    nock(BASE)
      .get(ROOT)
      .query(true)
      .reply(200, ok(apiTask('t-held', 'processing')));
    const h = harness({ claim: (id) => id !== 't-held' });
    const error = await rejectionOf(submitOrResume(h.options, h.options), CreateOutcomeUnknownError);
    expect(error.message).toContain('may have created a task');
    expect(error.message).toContain('t-held');
    expect(h.posts).toHaveLength(1);
    expect(h.known).toEqual([]);
  });

  it('with nothing to find (a first attempt), creates without a look-up; an unknown outcome is still looked up', async () => {
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const fresh = harness({ lookUpFirst: false });
    expect((await submitOrResume(fresh.options, fresh.options)).task.taskId).toBe('t-new');
    expect(fresh.posts).toHaveLength(1);
    expect(nock.isDone()).toBe(true);

    create().reply(502, 'Bad Gateway');
    lookup().reply(200, ok(apiTask('t-made', 'submitted', { task_info: { external_task_id: EXT } })));
    const unknown = harness({ lookUpFirst: false });
    const submission = await submitOrResume(unknown.options, unknown.options);
    expect(submission).toMatchObject({ resumed: true });
    expect(submission.task.taskId).toBe('t-made');
    expect(unknown.posts).toHaveLength(1);
    expect(nock.isDone()).toBe(true);
  });

  it('after a reset on create and a confirmed miss, sends the create again: two POSTs', async () => {
    lookup().reply(404, notFound);
    create().replyWithError(reset());
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-second', 'submitted')));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ resumed: false });
    expect(submission.task.taskId).toBe('t-second');
    expect(h.posts).toHaveLength(2);
    expect(h.posts[1]).toEqual(h.posts[0]);
    expect(h.context.sleep.delays).toHaveLength(1);
    expect(nock.isDone()).toBe(true);
  });

  it('after a reset on create and a look-up that keeps failing, does not send again and says so', async () => {
    lookup().reply(404, notFound);
    create().replyWithError(reset());
    let lookUps = 0;
    lookup()
      .times(1000)
      .reply(() => {
        lookUps++;
        return [503, cometError('upstream unavailable')];
      });
    const h = harness();
    h.options.deadlineMs = h.context.clock.now() + 60_000;
    const error = await rejectionOf(submitOrResume(h.options, h.options), CreateOutcomeUnknownError);
    // The look-up is a read: retried until the deadline (more than the 5 create attempts), then given up.
    expect(lookUps).toBeGreaterThan(5);
    expect(h.context.clock.now()).toBeLessThanOrEqual(h.options.deadlineMs);
    expect(error.message).toMatch(/looking it up failed \(.*503/);
    nock.cleanAll();
    expect(error.message).toMatch(/may have created a task/);
    expect(error.message).toMatch(/not sent again/);
    expect(error.message).toContain(EXT);
    expect(h.posts).toHaveLength(1);
    expect(h.known).toEqual([]);
  });

  it('after 1201 "external_task_id already exists", looks the task up and resumes it', async () => {
    lookup().reply(404, notFound);
    create().reply(400, klingError(1201, 'external_task_id already exists'));
    lookup().reply(200, ok(apiTask('t-dupe', 'processing')));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ resumed: true });
    expect(submission.task.taskId).toBe('t-dupe');
    expect(h.posts).toHaveLength(1);
    expect(nock.isDone()).toBe(true);
  });

  it('when the id is taken but cannot be found, fails with advice instead of sending again', async () => {
    lookup().reply(404, notFound);
    create().reply(400, klingError(1201, 'external_task_id already exists'));
    lookup().reply(404, notFound);
    const h = harness();
    await expect(submitOrResume(h.options, h.options)).rejects.toThrow(
      /is taken, but no task with it can be found/,
    );
    expect(h.posts).toHaveLength(1);
  });

  it('leaves 1303 (account full) to the step: thrown at once, not sent again, no task known', async () => {
    lookup().reply(404, notFound);
    create().reply(429, klingError(1303, 'parallel task over resource pack limit'), { 'Retry-After': '9' });
    const h = harness();
    const error = await rejectionOf(submitOrResume(h.options, h.options), KlingApiError);
    expect(error.classification.kind).toBe('concurrency');
    expect(error.retryAfterMs).toBe(9_000);
    expect(h.posts).toHaveLength(1);
    expect(h.context.sleep.delays).toEqual([]);
    expect(h.known).toEqual([]);
  });

  it('a create answered with success but no task, then a look-up miss: not sent again, since the task may exist', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(null));
    lookup().reply(404, notFound);
    const h = harness();
    const error = await rejectionOf(submitOrResume(h.options, h.options), CreateOutcomeUnknownError);
    expect(error.message).toMatch(
      /may have created a task \(.*not with a task: its data is null.*\), and the look-up found no task/,
    );
    expect(error.externalTaskId).toBe(EXT);
    expect(h.posts).toHaveLength(1);
  });

  it('stops after createAttempts on a persistent rate limit (1302)', async () => {
    lookup().reply(404, notFound);
    create().times(3).reply(429, klingError(1302, 'too many requests'));
    const h = harness({ createAttempts: 3 });
    const error = await submitOrResume(h.options, h.options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect((error as KlingApiError).code).toBe(1302);
    expect(h.posts).toHaveLength(3);
  });

  it('says a create answered without a task id may have made one, and looks before sending again', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok({ task_status: 'submitted' }));
    lookup().reply(200, ok(apiTask('t-made', 'submitted', { task_info: { external_task_id: EXT } })));
    const h = harness();
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ resumed: true });
    expect(submission.task.taskId).toBe('t-made');
    expect(h.posts).toHaveLength(1);
    const said = h.context.log.lines.map((l) => l.message).join('\n');
    expect(said).toMatch(/not with a task: it carries no task_id; the task may exist/);
    expect(said).not.toMatch(/no task was created/);
  });

  it('throws 1102 (resource pack exhausted) at once', async () => {
    lookup().reply(404, notFound);
    create().reply(429, klingError(1102, 'resource pack exhausted'));
    const h = harness();
    const error = await submitOrResume(h.options, h.options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect((error as KlingApiError).code).toBe(1102);
    expect(h.posts).toHaveLength(1);
    expect(h.context.sleep.delays).toEqual([]);
    expect(h.known).toEqual([]);
  });

  it('gives a derived id whose task failed a fresh try as <id>-2', async () => {
    lookup().reply(200, ok(apiTask('t-failed', 'failed', { task_status_msg: 'risk control' })));
    lookup(`${EXT}-2`).reply(404, notFound);
    create().reply(200, ok(apiTask('t-fresh', 'submitted')));
    const h = harness({ derived: true });
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ externalTaskId: `${EXT}-2`, resumed: false });
    expect(submission.task.taskId).toBe('t-fresh');
    expect(h.posts).toEqual([{ ...REQUEST, external_task_id: `${EXT}-2` }]);
    expect(h.known[0]?.externalTaskId).toBe(`${EXT}-2`);
    expect(nock.isDone()).toBe(true);
  });

  it('resumes a user-given id whose task failed (the user owns that id)', async () => {
    lookup('my-id').reply(200, ok(apiTask('t-failed', 'failed')));
    const h = harness({ derived: false, externalTaskId: 'my-id' });
    const submission = await submitOrResume(h.options, h.options);
    expect(submission).toMatchObject({ externalTaskId: 'my-id', resumed: true });
    expect(submission.task.status).toBe('failed');
    expect(h.posts).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });

  it('announces the external id before the create is sent, and not at all when resuming', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    await submitOrResume(h.options, h.options);
    expect(h.events).toEqual([`creating ${EXT}`, 'POST']);

    lookup().reply(200, ok(apiTask('t-new', 'processing')));
    const resumed = harness();
    await submitOrResume(resumed.options, resumed.options);
    expect(resumed.events).toEqual([]);
  });

  it('calls onTaskKnown before submitOrResume returns', async () => {
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    const promise = submitOrResume(h.options, h.options);
    let knownWhenReturned = -1;
    await promise.then(() => {
      knownWhenReturned = h.known.length;
    });
    expect(knownWhenReturned).toBe(1);
    expect(h.known[0]?.task.taskId).toBe('t-new');
  });

  it('creates anyway when CometAPI refuses the pre-create look-up as invalid', async () => {
    lookup().reply(400, cometError('invalid task id', 'invalid_request'));
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    expect((await submitOrResume(h.options, h.options)).task.taskId).toBe('t-new');
    expect(h.posts).toHaveLength(1);
  });

  it.each([
    ['an empty answer on every form', 200, ok(null)],
    ['HTTP 405 on every form', 405, cometError('method not allowed')],
    ['an HTML page on every form', 200, '<html><body>Welcome</body></html>'],
  ])('creates anyway when the pre-create look-up gives %s', async (_label, status, body) => {
    lookup().times(5).reply(status, body);
    nock(BASE).get(ROOT).query(true).times(5).reply(status, body);
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    expect((await submitOrResume(h.options, h.options)).task.taskId).toBe('t-new');
    expect(h.posts).toHaveLength(1);
    expect(h.context.log.at('debug').join('\n')).toMatch(/gave no answer/);
  });

  it('retries a failing pre-create look-up until the deadline, then fails without creating', async () => {
    lookup().times(1000).reply(503, cometError('upstream unavailable'));
    const h = harness();
    h.options.deadlineMs = h.context.clock.now() + 120_000;
    const error = await rejectionOf(submitOrResume(h.options, h.options), KlingApiError);
    expect(error.classification.kind).toBe('server');
    expect(error.message).toMatch(/503/);
    expect(h.posts).toEqual([]);
    // A read is not held to the create's failure budget: more than 5 tries, all within the deadline.
    expect(h.context.sleep.delays.length).toBeGreaterThan(5);
    expect(h.context.clock.now()).toBeLessThanOrEqual(h.options.deadlineMs);
  });

  it('retries a rate-limited pre-create look-up beyond 5 tries, then creates', async () => {
    lookup().times(7).reply(429, klingError(1302, 'Too many requests'));
    lookup().reply(404, notFound);
    create().reply(200, ok(apiTask('t-new', 'submitted')));
    const h = harness();
    expect((await submitOrResume(h.options, h.options)).task.taskId).toBe('t-new');
    expect(h.context.sleep.delays).toHaveLength(7);
  });

  it('does not create when the pre-create look-up fails for another reason', async () => {
    lookup().reply(401, cometError('Invalid token'));
    const h = harness();
    await expect(submitOrResume(h.options, h.options)).rejects.toBeInstanceOf(KlingApiError);
    expect(h.posts).toEqual([]);
  });
});
