import { describe, expect, it } from 'vitest';
import { Inputs } from '../../../src/constants.ts';
import {
  classifyFailure,
  KlingApiError,
  type FailureFacts,
  type FailureKind,
} from '../../../src/kling/errors.ts';

// Reference §4.1: HTTP status, code, and the kind of failure it is.
const KLING_TABLE: [number, number, FailureKind][] = [
  [401, 1000, 'auth'],
  [401, 1001, 'auth'],
  [401, 1002, 'auth'],
  [401, 1003, 'auth'],
  [401, 1004, 'token-expired'],
  [429, 1100, 'account'],
  [429, 1101, 'balance'],
  [429, 1102, 'balance'],
  [403, 1103, 'permission'],
  [400, 1200, 'invalid-request'],
  [400, 1201, 'invalid-request'],
  [404, 1202, 'invalid-request'],
  [404, 1203, 'not-found'],
  [400, 1300, 'policy'],
  [400, 1301, 'policy'],
  [429, 1302, 'rate-limit'],
  [429, 1303, 'concurrency'],
  [429, 1304, 'account'],
  [500, 5000, 'server'],
  [503, 5001, 'server'],
  [504, 5002, 'server'],
];
const RETRYABLE = new Set([1302, 1303, 5000, 5001, 5002]);
const OUTCOME_UNKNOWN = new Set([5000, 5001, 5002]);

describe('Kling service codes', () => {
  it.each(KLING_TABLE)('HTTP %i code %i is %s', (status, klingCode, kind) => {
    const c = classifyFailure({ status, klingCode, message: 'x' });
    expect(c.kind).toBe(kind);
    expect(c.retryable).toBe(RETRYABLE.has(klingCode));
    expect(c.outcomeUnknown).toBe(OUTCOME_UNKNOWN.has(klingCode));
    expect(c.meaning.length).toBeGreaterThan(0);
    expect(c.advice.length).toBeGreaterThan(0);
  });

  it('retries exactly 1302, 1303 and 5000-5002', () => {
    const retryable = KLING_TABLE.filter(([s, k]) => classifyFailure({ status: s, klingCode: k }).retryable);
    expect(retryable.map(([, k]) => k)).toEqual([1302, 1303, 5000, 5001, 5002]);
  });

  it('goes by the body code, not the HTTP status: 429 + 1102 is billing, not a rate limit', () => {
    const c = classifyFailure({ status: 429, klingCode: 1102 });
    expect(c.kind).toBe('balance');
    expect(c.retryable).toBe(false);
  });

  it('reads 1201 "external_task_id already exists" as a duplicate external id', () => {
    const c = classifyFailure({
      status: 400,
      klingCode: 1201,
      message: 'external_task_id already exists',
    });
    expect(c.kind).toBe('duplicate-external-id');
    expect(c.retryable).toBe(false);
  });

  it.each([
    [404, 1203, 'task with external_task_id gha-abc does not exist'],
    [400, 1201, 'external_task_id not exists'],
  ])('reads HTTP %i code %i "%s" as not found, not as a duplicate', (status, klingCode, message) => {
    expect(classifyFailure({ status, klingCode, message }).kind).toBe('not-found');
  });

  it('reads a CometAPI 4xx that says the task does not exist as not found', () => {
    expect(classifyFailure({ status: 400, cometCode: '', message: 'task not exist' }).kind).toBe('not-found');
  });

  it('keeps other 1201 messages as invalid parameters', () => {
    expect(classifyFailure({ status: 400, klingCode: 1201, message: 'video_url is invalid' }).kind).toBe(
      'invalid-request',
    );
  });

  it('falls back to the HTTP status for an unknown code', () => {
    expect(classifyFailure({ status: 429, klingCode: 1999 }).kind).toBe('rate-limit');
    expect(classifyFailure({ status: 502, klingCode: 9999 }).retryable).toBe(true);
  });
});

describe('CometAPI statuses (reference §4.2)', () => {
  it.each([
    [400, '', 'invalid-request', false, false],
    [401, '', 'auth', false, false],
    [403, '', 'permission', false, false],
    [429, '', 'rate-limit', true, false],
    [500, 'invalid_request', 'invalid-request', false, false],
    [500, '', 'server', true, true],
    [503, '', 'server', true, true],
    [524, '', 'server', true, true],
  ] as const)(
    'HTTP %i code "%s" is %s (retryable %s, outcome unknown %s)',
    (status, cometCode, kind, retryable, outcomeUnknown) => {
      const c = classifyFailure({ status, cometCode, message: 'something (request id: abc)' });
      expect(c).toMatchObject({ kind, retryable, outcomeUnknown });
    },
  );

  it('reads 403 with a balance message as insufficient balance', () => {
    expect(classifyFailure({ status: 403, cometCode: '', message: 'insufficient quota' }).kind).toBe(
      'balance',
    );
  });

  it('reads a 3xx as an unexpected redirect pointing at base_url', () => {
    const c = classifyFailure({ status: 301, malformed: true, message: '<html>Moved</html>' });
    expect(c.kind).toBe('invalid-request');
    expect(c.retryable).toBe(false);
    expect(c.meaning).toContain('redirect');
    expect(c.advice).toContain('Check the API address');
  });
});

describe('transport failures', () => {
  it.each([
    ['dns', false],
    ['refused', false],
    ['reset', true],
    ['timeout', true],
    ['other', true],
  ] as const)('%s is retryable, outcome unknown: %s', (transport, outcomeUnknown) => {
    const c = classifyFailure({ transport });
    expect(c.kind).toBe('transport');
    expect(c.retryable).toBe(true);
    expect(c.outcomeUnknown).toBe(outcomeUnknown);
  });

  it('tells the user to check the API address and the network when nothing was sent', () => {
    expect(classifyFailure({ transport: 'dns' }).advice).toMatch(/API address.*network/);
  });

  it('a link-local or metadata address is refused for good, not retried', () => {
    expect(classifyFailure({ transport: 'forbidden' })).toMatchObject({
      kind: 'transport',
      retryable: false,
    });
  });
});

describe('the API layer names no action input', () => {
  it('no advice or meaning mentions an input name; the step adds advice that does (advice.ts)', () => {
    const facts: FailureFacts[] = [
      ...Array.from({ length: 5100 }, (_, code) => ({ status: 400, klingCode: code })),
      ...[301, 400, 401, 402, 403, 404, 405, 408, 429, 500, 502, 503].map((status) => ({ status })),
      ...(['reset', 'timeout', 'dns', 'refused', 'proxy', 'forbidden', 'other'] as const).map(
        (transport) => ({ transport }),
      ),
      { status: 200, malformed: true },
      { tooLarge: true },
      { status: 200, notATask: 'its data is null' },
    ];
    // The distinctive names; plain words such as "provider" or "wait" are fair English.
    const inputNames = Object.values(Inputs).filter((name) => name.includes('_'));
    for (const f of facts) {
      const { advice, meaning } = classifyFailure(f);
      for (const name of inputNames) expect(`${meaning} ${advice}`, JSON.stringify(f)).not.toContain(name);
    }
  });

  it('a proxy refusal is not retried: the request never reached the API, and the proxy will refuse again', () => {
    const c = classifyFailure({ transport: 'proxy' });
    expect(c).toMatchObject({ kind: 'transport', retryable: false, outcomeUnknown: false });
    expect(c.advice).toMatch(/HTTPS_PROXY/);
    expect(c.advice).toMatch(/NO_PROXY/);
  });

  it('quotes a transport failure as a detail, not as something the server said', () => {
    const error = new KlingApiError({
      operation: 'Create task',
      transport: 'refused',
      message: 'ECONNREFUSED',
    });
    expect(error.message).toContain('Detail: "ECONNREFUSED"');
    expect(error.message).not.toContain('Server said');
  });
});

describe('malformed bodies', () => {
  it('a 200 that is not the documented JSON is retryable with an unknown outcome', () => {
    expect(classifyFailure({ status: 200, malformed: true, message: '<html>' })).toMatchObject({
      kind: 'malformed-response',
      retryable: true,
      outcomeUnknown: true,
    });
  });

  it('an HTML 502 from a gateway is a server error', () => {
    expect(
      classifyFailure({ status: 502, malformed: true, message: '<html>Bad gateway</html>' }),
    ).toMatchObject({ kind: 'server', retryable: true });
  });
});

describe('KlingApiError', () => {
  it('names the code, HTTP status, meaning, advice and request id in its message', () => {
    const error = new KlingApiError({
      operation: 'Create task',
      status: 429,
      klingCode: 1102,
      message: 'resource pack exhausted',
      requestId: 'req-7f3a',
    });
    expect(error.message).toContain('Create task failed');
    expect(error.message).toContain('Kling code 1102');
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('resource pack exhausted or expired');
    expect(error.message).toContain('Top up');
    expect(error.message).toContain('req-7f3a');
    expect(error.message).toContain('"resource pack exhausted"');
    expect(error.name).toBe('KlingApiError');
    expect(error).toMatchObject({ status: 429, code: 1102, requestId: 'req-7f3a' });
    expect(error.classification.kind).toBe('balance');
  });

  it('prints the request id once when the server message already carries it (CometAPI)', () => {
    const error = new KlingApiError({
      operation: 'Create task',
      status: 401,
      cometCode: '',
      message: 'Invalid token (request id: 20260101000000123456789abcdef)',
      requestId: '20260101000000123456789abcdef',
    });
    for (const text of [error.message, error.withAdvice('Check the api_key secret.')])
      expect(text.split('20260101000000123456789abcdef')).toHaveLength(2);
    // Another id in the message does not stand in for this one.
    const other = new KlingApiError({
      operation: 'Query task',
      status: 500,
      message: 'upstream failed (request id: abc)',
      requestId: 'req-9',
    });
    expect(other.message).toMatch(/\(request id req-9\)$/);
  });

  it('names a CometAPI code when the body carried one', () => {
    const error = new KlingApiError({ operation: 'Query task', status: 500, cometCode: 'invalid_request' });
    expect(error.message).toContain('CometAPI code invalid_request');
    expect(error.code).toBe('invalid_request');
  });

  it('has no code when CometAPI sent an empty one', () => {
    expect(new KlingApiError({ operation: 'Query task', status: 503, cometCode: '' }).code).toBeUndefined();
  });

  it('keeps Retry-After and the cause', () => {
    const cause = new Error('socket hang up');
    const error = new KlingApiError({ operation: 'Query task', transport: 'reset' }, { cause });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('network error (reset)');
    expect(new KlingApiError({ operation: 'x', status: 429, retryAfterMs: 2000 }).retryAfterMs).toBe(2000);
  });

  it('truncates a very long server message', () => {
    const error = new KlingApiError({ operation: 'x', status: 500, message: 'y'.repeat(1000) });
    expect(error.message.length).toBeLessThan(600);
    expect(error.message).toContain('…');
  });
});
