import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { bearerAuthorizer, jwtAuthorizer, type Authorizer } from '../../../src/kling/auth.ts';
import { KlingClient } from '../../../src/kling/client.ts';
import { KlingApiError } from '../../../src/kling/errors.ts';
import { routesFor, type ProviderName } from '../../../src/kling/routes.ts';
import {
  apiSucceededTask,
  apiTask,
  cometError,
  fakeRetryContext,
  klingError,
  ok,
  type FakeRetryContext,
  rejectionOf,
  T0,
  useNockWithLoopbackOnly,
  TEST_CLIENT_LIMITS,
} from '../../support/fakes.ts';
import { policy } from '../../../src/policy.ts';

const COMET = 'https://api.cometapi.test';
const KLING = 'https://api-singapore.klingai.test';
const COMET_PATH = '/kling/v1/audio/video-to-audio';
const KLING_PATH = '/v1/audio/video-to-audio';

useNockWithLoopbackOnly();

function client(
  options: {
    provider?: ProviderName;
    auth?: Authorizer;
    context?: FakeRetryContext;
    /** Sees every request's headers as the client sent them. */
    onRequest?: (headers: Record<string, string>) => void;
    redact?: (text: string) => string;
  } = {},
): { client: KlingClient; context: FakeRetryContext } {
  const provider = options.provider ?? 'cometapi';
  const context = options.context ?? fakeRetryContext();
  return {
    context,
    client: new KlingClient({
      ...context,
      routes: routesFor(provider, provider === 'cometapi' ? COMET : KLING),
      auth: options.auth ?? bearerAuthorizer('sk-test'),
      fetch: (input, init) => {
        options.onRequest?.(init.headers as Record<string, string>);
        return fetch(input, init);
      },
      userAgent: 'kling-v2a-test/1.0',
      limits: TEST_CLIENT_LIMITS,
      ...(options.redact ? { redact: options.redact } : {}),
    }),
  };
}

/** An hour ahead of the fake clock's start: only tests about the deadline come near it. */
const NO_LIMIT = T0 + 3_600_000;

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, KlingApiError);

describe('createTask', () => {
  const request = {
    video_url: 'https://cdn.example.com/clip.mp4',
    sound_effect_prompt: 'rain on a tin roof',
    external_task_id: 'gha-123',
  };

  it('POSTs the JSON body with a Bearer key to /kling/v1/audio/video-to-audio on CometAPI', async () => {
    const scope = nock(COMET)
      .post(COMET_PATH, request)
      .matchHeader('authorization', 'Bearer sk-test')
      .matchHeader('content-type', 'application/json')
      .matchHeader('accept', 'application/json')
      .matchHeader('user-agent', 'kling-v2a-test/1.0')
      .reply(
        200,
        ok(apiTask('861254119619698760', 'submitted', { task_info: { external_task_id: 'gha-123' } })),
      );

    const task = await client().client.createTask(request, NO_LIMIT);
    expect(task).toMatchObject({
      taskId: '861254119619698760',
      status: 'submitted',
      externalTaskId: 'gha-123',
    });
    expect(scope.isDone()).toBe(true);
  });

  it("POSTs to /v1/audio/video-to-audio on Kling's own API", async () => {
    const scope = nock(KLING)
      .post(KLING_PATH, request)
      .matchHeader('authorization', 'Bearer console-key')
      .reply(200, ok(apiTask('t-k', 'submitted')));
    const { client: c } = client({ provider: 'kling', auth: bearerAuthorizer('console-key') });
    expect((await c.createTask(request, NO_LIMIT)).taskId).toBe('t-k');
    expect(scope.isDone()).toBe(true);
  });

  it('is single-shot: a 503 is thrown, not retried', async () => {
    const scope = nock(COMET).post(COMET_PATH).reply(503, 'Service Unavailable');
    const { client: c, context } = client();
    const error = await rejection(c.createTask(request, NO_LIMIT));
    expect(error.classification).toMatchObject({ kind: 'server', outcomeUnknown: true });
    expect(context.sleep.delays).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  it('turns a connection reset into a transport KlingApiError with an unknown outcome', async () => {
    nock(COMET)
      .post(COMET_PATH)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const error = await rejection(client().client.createTask(request, NO_LIMIT));
    expect(error.classification).toMatchObject({ kind: 'transport', retryable: true, outcomeUnknown: true });
    expect(error.message).toContain('network error (reset)');
    expect(error.message).toContain('ECONNRESET');
  });

  it('an answer about another external id, or a task another holds, is no answer: outcome unknown, sent once', async () => {
    nock(COMET)
      .post(COMET_PATH)
      .reply(200, ok(apiTask('t-other', 'submitted', { task_info: { external_task_id: 'gha-999' } })));
    const { client: c, context } = client();
    const other = await rejection(c.createTask(request, NO_LIMIT));
    expect(other.classification).toMatchObject({ kind: 'malformed-response', outcomeUnknown: true });
    expect(other.facts.otherTask).toBe('t-other');
    expect(other.message).toContain('it is about task t-other, external id gha-999, not gha-123');

    // No external id in the answer (CometAPI shows task_info {}): the claim decides.
    const claimed: string[] = [];
    const claim = (id: string) => (claimed.push(id), id !== 't-held');
    nock(COMET)
      .post(COMET_PATH)
      .reply(200, ok(apiTask('t-held', 'submitted')));
    const held = await rejection(c.createTask(request, NO_LIMIT, claim));
    expect(held.message).toContain('it is about task t-held, which another entry of this step holds');
    expect(held.classification.outcomeUnknown).toBe(true);
    nock(COMET)
      .post(COMET_PATH)
      .reply(200, ok(apiTask('t-free', 'submitted')));
    expect((await c.createTask(request, NO_LIMIT, claim)).taskId).toBe('t-free');
    expect(claimed).toEqual(['t-held', 't-free']);
    expect(context.sleep.delays).toEqual([]);
  });

  it('a task id that holds a credential is not a task: no file, artifact or output is named after it', async () => {
    const key = 'sk-test-3f9a1c7e5b2d';
    nock(COMET)
      .post(COMET_PATH)
      .reply(200, ok(apiTask(key, 'submitted')));
    const redact = (text: string) => text.replaceAll(key, '***');
    const error = await rejection(client({ redact }).client.createTask(request, NO_LIMIT));
    expect(error.classification).toMatchObject({ kind: 'malformed-response', outcomeUnknown: true });
    expect(error.message).toContain('its task_id holds a credential of this step');
    expect(error.message).not.toContain(key);
  });

  it('rejects a success envelope without a task as malformed', async () => {
    nock(COMET).post(COMET_PATH).reply(200, ok(null));
    const error = await rejection(client().client.createTask(request, NO_LIMIT));
    expect(error.classification.kind).toBe('malformed-response');
    expect(error.message).toContain('the API answered, but not with a task: its data is null');
    expect(error.message).not.toContain('Server said');
  });
});

describe('getTask', () => {
  it('GETs the task by id and parses it', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .matchHeader('authorization', 'Bearer sk-test')
      .reply(200, ok(apiSucceededTask('t1')));
    const task = await client().client.getTask('t1', NO_LIMIT);
    expect(task.status).toBe('succeed');
    expect(task.audios[0]?.mp3Url).toBe('https://cdn.example.com/a.mp3');
    expect(scope.isDone()).toBe(true);
  });

  it('an answer about another task is retried within its budget, then fails naming both; never adopted', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .times(3)
      .reply(200, ok(apiSucceededTask('t2')));
    const { client: c, context } = client();
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(scope.isDone()).toBe(true);
    expect(context.sleep.delays).toHaveLength(2);
    expect(error.message).toContain('Query task t1 failed');
    expect(error.message).toContain('it is about task t2, not the task asked for');
    expect(context.log.at('warning')[0]).toContain('it is about task t2');
  });

  it('asked by its external id (Kling takes either in the path), the task carrying it is the one asked for', async () => {
    nock(KLING)
      .get(`${KLING_PATH}/my-ext-1`)
      .reply(
        200,
        ok(apiTask('861254119619698760', 'processing', { task_info: { external_task_id: 'my-ext-1' } })),
      );
    const { client: c } = client({ provider: 'kling' });
    expect((await c.getTask('my-ext-1', NO_LIMIT)).taskId).toBe('861254119619698760');
  });

  it('one answer about another task, then its own: the own one', async () => {
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiSucceededTask('t2')));
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'processing')));
    expect((await client().client.getTask('t1', NO_LIMIT)).taskId).toBe('t1');
  });

  it('encodes the id into the path', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/a%3Ab%3Dc%2Bd`)
      .reply(200, ok(apiTask('a:b=c+d', 'processing')));
    await client().client.getTask('a:b=c+d', NO_LIMIT);
    expect(scope.isDone()).toBe(true);
  });

  it('retries 429/1302 and 429/1303, honouring Retry-After', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(429, klingError(1302, 'too many requests'), { 'Retry-After': '2' })
      .get(`${COMET_PATH}/t1`)
      .reply(429, klingError(1303, 'parallel task over resource pack limit'), { 'Retry-After': '7' })
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'processing')));
    const { client: c, context } = client();
    expect((await c.getTask('t1', NO_LIMIT)).status).toBe('processing');
    expect(context.sleep.delays).toEqual([2_000, 7_000]);
    expect(scope.isDone()).toBe(true);
    expect(context.log.at('warning')).toHaveLength(2);
    expect(context.log.at('warning')[0]).toMatch(/code 1302.*retrying in 2s/);
    // Retry notices are marked transient, so the runner wiring can keep them from using up annotations.
    expect(context.log.lines.filter((l) => l.level === 'warning').every((l) => l.transient)).toBe(true);
  });

  it('retries a burst of 5xx with backoff, then succeeds', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(500, klingError(5000, 'internal error'))
      .get(`${COMET_PATH}/t1`)
      .reply(503, '<html>maintenance</html>', { 'Content-Type': 'text/html' })
      .get(`${COMET_PATH}/t1`)
      .reply(524, cometError('timeout'))
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'processing')));
    const { client: c, context } = client();
    expect((await c.getTask('t1', NO_LIMIT)).taskId).toBe('t1');
    expect(context.sleep.delays).toHaveLength(3);
    for (const d of context.sleep.delays) expect(d).toBeGreaterThanOrEqual(1_000);
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry 1102 (resource pack exhausted)', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(429, klingError(1102, 'resource pack exhausted', 'req-1102'));
    const { client: c, context } = client();
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.code).toBe(1102);
    expect(error.requestId).toBe('req-1102');
    expect(context.sleep.delays).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry 1000 (authentication failed)', async () => {
    nock(COMET).get(`${COMET_PATH}/t1`).reply(401, klingError(1000, 'auth failed'));
    const { client: c, context } = client();
    expect((await rejection(c.getTask('t1', NO_LIMIT))).classification.kind).toBe('auth');
    expect(context.sleep.delays).toEqual([]);
  });

  it('gives up on a host that refuses within seconds while the API has never answered', async () => {
    let requests = 0;
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .times(20)
      .replyWithError(
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }),
      );
    const { client: c, context } = client({ onRequest: () => requests++ });
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.transport).toBe('refused');
    expect(requests).toBeGreaterThan(1);
    expect(requests).toBeLessThan(20);
    expect(context.sleep.delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5_000);
  });

  it('once the API has answered, a refused connection is retried until the deadline like any blip', async () => {
    const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'processing')))
      .get(`${COMET_PATH}/t1`)
      .times(8)
      .replyWithError(refused())
      .get(`${COMET_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'succeed')));
    const { client: c, context } = client();
    await c.getTask('t1', NO_LIMIT);
    expect((await c.getTask('t1', NO_LIMIT)).status).toBe('succeed');
    expect(context.sleep.delays).toHaveLength(8);
    expect(scope.isDone()).toBe(true);
  });

  it('refuses an answer past the size cap without reading it whole, as a malformed answer not to retry', async () => {
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(200, 'x'.repeat(policy.request.maxAnswerBytes + 1));
    const { client: c, context } = client();
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.classification).toMatchObject({ kind: 'malformed-response', retryable: false });
    expect(error.message).toMatch(/far larger than any answer/);
    expect(context.sleep.delays).toEqual([]);
  });

  it('names the task and what the API sent when the status is not one it documents', async () => {
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .times(200)
      .reply(200, ok(apiTask('t1', 'queued_weird' as 'submitted')));
    const { client: c } = client();
    const error = await rejection(c.getTask('t1', T0 + 60_000));
    expect(error.message).toContain('Query task t1 failed');
    expect(error.message).toContain('task t1 has the status "queued_weird", which the API does not document');
    expect(error.message).not.toMatch(/base_url|API address/);
  });

  it('rejects a task id that cannot be an id (line breaks, slashes, ..) as malformed', async () => {
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .times(200)
      .reply(200, ok(apiTask('t1\n::add-mask::x', 'processing')));
    const error = await rejection(client().client.getTask('t1', T0 + 30_000));
    expect(error.classification.kind).toBe('malformed-response');
    expect(error.message).toContain('is not a plausible task id');
    expect(error.message).not.toContain('\n');
  });

  it('does not follow a 301: it becomes a clear error about base_url', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(301, '<html><body>Moved Permanently</body></html>', {
        Location: 'https://www.cometapi.test/',
        'Content-Type': 'text/html',
      });
    const elsewhere = nock('https://www.cometapi.test')
      .get('/')
      .reply(200, ok(apiTask('t1', 'succeed')));
    const { client: c, context } = client();
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.status).toBe(301);
    expect(error.classification.retryable).toBe(false);
    expect(error.message).toMatch(/unexpected redirect \(HTTP 301\)/);
    expect(error.message).toContain('Check the API address');
    expect(scope.isDone()).toBe(true);
    expect(elsewhere.isDone()).toBe(false);
    expect(context.sleep.delays).toEqual([]);
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    const context = fakeRetryContext();
    let requests = 0;
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .times(10)
      .reply(() => {
        requests++;
        return [503, cometError('busy')];
      });
    const { client: c } = client({ context });
    // random 0: each retry waits the 1 s floor; the deadline leaves room for two.
    const error = await rejection(c.getTask('t1', context.clock.now() + 2_500));
    expect(error.status).toBe(503);
    expect(context.sleep.delays).toEqual([1_000, 1_000]);
    expect(requests).toBe(3);
  });

  it('does not sleep through a Retry-After that ends past the deadline', async () => {
    const context = fakeRetryContext();
    const scope = nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .reply(429, klingError(1302, 'slow down'), { 'Retry-After': '60' });
    const { client: c } = client({ context });
    const error = await rejection(c.getTask('t1', context.clock.now() + 30_000));
    expect(error.code).toBe(1302);
    expect(context.sleep.delays).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  it('retries a reset and takes the request id from x-request-id when the body has none', async () => {
    nock(COMET)
      .get(`${COMET_PATH}/t1`)
      .replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
      .get(`${COMET_PATH}/t1`)
      .reply(404, 'Not Found', { 'x-request-id': 'edge-42' });
    const { client: c, context } = client();
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.classification.kind).toBe('not-found');
    expect(error.requestId).toBe('edge-42');
    expect(context.sleep.delays).toEqual([1_000]);
  });
});

describe('token expiry (401 / 1004)', () => {
  it('re-signs the JWT once and retries with a different token', async () => {
    const context = fakeRetryContext();
    const masked: string[] = [];
    const auth = jwtAuthorizer({
      accessKey: 'ak',
      secretKey: 'sk',
      ...policy.jwt,
      clock: context.clock,
      mask: (t) => masked.push(t),
    });
    const seen: string[] = [];
    nock(KLING)
      .get(`${KLING_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'processing')))
      .get(`${KLING_PATH}/t1`)
      .reply(401, klingError(1004, 'token expired'))
      .get(`${KLING_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'succeed')));
    const { client: c } = client({
      provider: 'kling',
      auth,
      context,
      onRequest: (headers) => seen.push(headers.Authorization ?? ''),
    });

    await c.getTask('t1', NO_LIMIT);
    context.clock.advance(10 * 60_000); // the cached token is still fresh on our clock
    const task = await c.getTask('t1', NO_LIMIT);

    expect(task.status).toBe('succeed');
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).not.toBe(seen[1]);
    expect(seen[2]).toBe(`Bearer ${masked[1]}`);
    expect(masked).toHaveLength(2);
    expect(context.sleep.delays).toEqual([]);
    expect(context.log.at('info').join('\n')).toMatch(/token expired; signed a fresh one/);
  });

  it('gives up after one re-sign when the fresh token is also rejected', async () => {
    const context = fakeRetryContext();
    const auth = jwtAuthorizer({
      accessKey: 'ak',
      secretKey: 'sk',
      ...policy.jwt,
      clock: context.clock,
      mask: () => {},
    });
    const scope = nock(KLING).get(`${KLING_PATH}/t1`).times(2).reply(401, klingError(1004, 'token expired'));
    const extra = nock(KLING)
      .get(`${KLING_PATH}/t1`)
      .reply(200, ok(apiTask('t1', 'succeed')));
    const { client: c } = client({ provider: 'kling', auth, context });
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.classification.kind).toBe('token-expired');
    expect(scope.isDone()).toBe(true);
    expect(extra.isDone()).toBe(false);
  });

  it('does not loop with a console API key (nothing to re-sign)', async () => {
    let requests = 0;
    nock(KLING)
      .get(`${KLING_PATH}/t1`)
      .times(3)
      .reply(() => {
        requests++;
        return [401, klingError(1004, 'token expired')];
      });
    const { client: c } = client({ provider: 'kling', auth: bearerAuthorizer('console-key') });
    const error = await rejection(c.getTask('t1', NO_LIMIT));
    expect(error.code).toBe(1004);
    expect(requests).toBe(1);
  });
});

describe('findByExternalId', () => {
  const withExt = (id: string, ext: string) =>
    apiTask(id, 'processing', { task_info: { external_task_id: ext } });

  it('finds the task through the ?external_task_id= form when the path form misses', async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(COMET)
      .get(COMET_PATH)
      .query({ external_task_id: 'gha-abc' })
      .reply(200, ok([withExt('t-other', 'gha-zzz'), withExt('t-mine', 'gha-abc')]));
    expect((await client().client.findByExternalId('gha-abc', NO_LIMIT))?.taskId).toBe('t-mine');
  });

  it('accepts a single task from the query form only when it carries the external id', async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(COMET)
      .get(COMET_PATH)
      .query(true)
      .reply(200, ok(withExt('t-mine', 'gha-abc')));
    expect((await client().client.findByExternalId('gha-abc', NO_LIMIT))?.taskId).toBe('t-mine');

    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(COMET)
      .get(COMET_PATH)
      .query(true)
      .reply(200, ok(apiTask('t-unrelated', 'succeed')));
    expect(await client().client.findByExternalId('gha-abc', NO_LIMIT)).toBeUndefined();
  });

  it("cannot tell when the path form is refused and the query form's route is missing", async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(400, cometError('invalid task id', 'invalid_request'));
    nock(COMET).get(COMET_PATH).query(true).reply(404, '<html>Not Found</html>');
    const error = await rejection(client().client.findByExternalId('gha-abc', NO_LIMIT));
    expect(error.classification.kind).toBe('invalid-request');
  });

  it('cannot tell, with a KlingApiError, when every form answers without a readable task', async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(200, ok(null));
    nock(COMET).get(COMET_PATH).query(true).reply(200, ok({}));
    const error = await rejection(client().client.findByExternalId('gha-abc', NO_LIMIT));
    expect(error.classification.kind).toBe('malformed-response');
    expect(error.message).toMatch(/gha-abc/);
  });

  it("takes the path form's not-found as absent even when a fallback fails", async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(COMET).get(COMET_PATH).query(true).reply(500, klingError(5000, 'internal error'));
    const { client: c, context } = client();
    expect(await c.findByExternalId('gha-abc', NO_LIMIT)).toBeUndefined();
    expect(context.sleep.delays).toEqual([]);
  });

  it('a task another entry holds is a bad answer of that form: retried, then the look-up cannot tell', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/gha-abc`)
      .times(3)
      .reply(200, ok(apiTask('t-held', 'processing')));
    nock(COMET).get(COMET_PATH).query(true).reply(404, '<html>Not Found</html>');
    const claim = (id: string) => id !== 't-held';
    const error = await rejection(client().client.findByExternalId('gha-abc', NO_LIMIT, 'Look up', claim));
    expect(scope.isDone()).toBe(true);
    expect(error.classification.kind).toBe('malformed-response');
    expect(error.message).toContain('it is about task t-held, which another entry of this step holds');

    // A list entry another holds is no answer either; the task with a credential for an id is skipped.
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(COMET)
      .get(COMET_PATH)
      .query(true)
      .reply(200, ok([withExt('sk-secret-1234567', 'gha-abc'), withExt('t-mine', 'gha-abc')]));
    const redact = (text: string) => text.replaceAll('sk-secret-1234567', '***');
    expect(
      (await client({ redact }).client.findByExternalId('gha-abc', NO_LIMIT, 'Look up', claim))?.taskId,
    ).toBe('t-mine');
  });

  it('returns the task found by external id on the single-task route', async () => {
    const scope = nock(COMET)
      .get(`${COMET_PATH}/gha-abc`)
      .reply(200, ok(apiTask('t1', 'processing')));
    expect((await client().client.findByExternalId('gha-abc', NO_LIMIT))?.taskId).toBe('t1');
    expect(scope.isDone()).toBe(true);
  });

  it.each([
    ['HTTP 404 with Kling code 1203', 404, klingError(1203, 'resource does not exist')],
    ['a JSON 404 from CometAPI', 404, cometError('task not found')],
    ['HTTP 400 with Kling code 1203', 400, klingError(1203, 'resource does not exist')],
    [
      '1203 naming the external id',
      404,
      klingError(1203, 'task with external_task_id gha-abc does not exist'),
    ],
  ])('returns undefined on %s (CometAPI has no list to search)', async (_label, status, body) => {
    const scope = nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(status, body);
    const { client: c, context } = client();
    expect(await c.findByExternalId('gha-abc', NO_LIMIT)).toBeUndefined();
    expect(scope.isDone()).toBe(true);
    expect(context.sleep.delays).toEqual([]);
  });

  it('throws when the API cannot tell (auth failure)', async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(401, cometError('Invalid token'));
    await expect(client().client.findByExternalId('gha-abc', NO_LIMIT)).rejects.toBeInstanceOf(KlingApiError);
  });

  it('throws when CometAPI refuses the look-up as an invalid request', async () => {
    nock(COMET).get(`${COMET_PATH}/gha-abc`).reply(400, cometError('invalid task id', 'invalid_request'));
    const error = await rejection(client().client.findByExternalId('gha-abc', NO_LIMIT));
    expect(error.classification.kind).toBe('invalid-request');
  });

  it('on Kling, settles a miss by searching the list of recent tasks', async () => {
    const single = nock(KLING)
      .get(`${KLING_PATH}/gha-abc`)
      .reply(404, klingError(1203, 'resource does not exist'));
    const list = nock(KLING)
      .get(KLING_PATH)
      .query({ pageNum: '1', pageSize: '500' })
      .reply(
        200,
        ok([
          apiTask('t-other', 'succeed', { task_info: { external_task_id: 'gha-other' } }),
          apiTask('t-mine', 'processing', { task_info: { external_task_id: 'gha-abc' } }),
        ]),
      );
    const { client: c } = client({ provider: 'kling' });
    expect((await c.findByExternalId('gha-abc', NO_LIMIT))?.taskId).toBe('t-mine');
    expect(single.isDone()).toBe(true);
    expect(list.isDone()).toBe(true);
  });

  it('on Kling, falls back to the single-task verdict when the list route is missing', async () => {
    nock(KLING).get(`${KLING_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    const list = nock(KLING)
      .get(KLING_PATH)
      .query(true)
      .reply(404, klingError(1202, 'invalid request method'));
    const { client: c } = client({ provider: 'kling' });
    expect(await c.findByExternalId('gha-abc', NO_LIMIT)).toBeUndefined();
    expect(list.isDone()).toBe(true);
  });

  it('on Kling, a refused look-up with no list to settle it stays a refusal', async () => {
    nock(KLING).get(`${KLING_PATH}/gha-abc`).reply(400, klingError(1201, 'invalid parameter'));
    nock(KLING).get(KLING_PATH).query(true).reply(400, klingError(1200, 'invalid request'));
    const { client: c } = client({ provider: 'kling' });
    expect((await rejection(c.findByExternalId('gha-abc', NO_LIMIT))).classification.kind).toBe(
      'invalid-request',
    );
  });

  it('on Kling, returns undefined when the list does not hold the external id either', async () => {
    nock(KLING).get(`${KLING_PATH}/gha-abc`).reply(400, klingError(1201, 'invalid parameter'));
    const list = nock(KLING)
      .get(KLING_PATH)
      .query(true)
      .reply(200, ok([apiTask('t-other', 'succeed', { task_info: { external_task_id: 'gha-other' } })]));
    const { client: c } = client({ provider: 'kling' });
    expect(await c.findByExternalId('gha-abc', NO_LIMIT)).toBeUndefined();
    expect(list.isDone()).toBe(true);
  });

  it('on Kling, throws when the list itself fails', async () => {
    nock(KLING).get(`${KLING_PATH}/gha-abc`).reply(404, klingError(1203, 'resource does not exist'));
    nock(KLING).get(KLING_PATH).query(true).reply(401, klingError(1000, 'authentication failed'));
    const { client: c } = client({ provider: 'kling' });
    expect((await rejection(c.findByExternalId('gha-abc', NO_LIMIT))).code).toBe(1000);
  });
});
