import { describe, expect, it } from 'vitest';
import { parseEnvelope, parseTask, parseTaskList } from '../../../src/kling/responses.ts';
import { apiSucceededTask, apiTask, cometError, klingError, ok } from '../../support/fakes.ts';

const json = (value: unknown) => JSON.stringify(value);

describe('parseEnvelope', () => {
  it('returns data and request id from the native envelope', () => {
    const data = apiTask('t1', 'submitted');
    expect(parseEnvelope(200, json(ok(data, 'req-1')))).toEqual({ ok: true, data, requestId: 'req-1' });
  });

  it('accepts "success" as a string code', () => {
    expect(parseEnvelope(200, json({ code: 'success', data: { a: 1 } }))).toMatchObject({ ok: true });
  });

  it('reads a Kling error body into code, message and request id', () => {
    const envelope = parseEnvelope(
      429,
      json(klingError(1303, 'parallel task over resource pack limit', 'r-9')),
    );
    expect(envelope).toEqual({
      ok: false,
      requestId: 'r-9',
      facts: { status: 429, klingCode: 1303, message: 'parallel task over resource pack limit' },
    });
  });

  it('reads a non-zero code on HTTP 200 as a failure', () => {
    expect(parseEnvelope(200, json(klingError(1201, 'bad')))).toMatchObject({
      ok: false,
      facts: { status: 200, klingCode: 1201 },
    });
  });

  it('reads a code of 0 on a non-2xx status as a failure', () => {
    expect(parseEnvelope(500, json({ code: 0, message: 'oops' }))).toMatchObject({ ok: false });
  });

  it("reads CometAPI's error envelope, taking the request id from the message", () => {
    const body = cometError('Invalid token (request id: 20260101000000123456789abcdef)', '');
    expect(parseEnvelope(401, json(body))).toEqual({
      ok: false,
      requestId: '20260101000000123456789abcdef',
      facts: {
        status: 401,
        cometCode: '',
        message: 'Invalid token (request id: 20260101000000123456789abcdef)',
      },
    });
  });

  it("keeps CometAPI's error code", () => {
    expect(parseEnvelope(500, json(cometError('bad json', 'invalid_request')))).toMatchObject({
      ok: false,
      facts: { status: 500, cometCode: 'invalid_request' },
    });
  });

  it.each([
    ['plain text', 'Bad Gateway'],
    ['HTML', '<!DOCTYPE html>\n<html><body>  404 Not   Found</body></html>'],
    ['an empty body', ''],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"ok"'],
  ])('marks %s as malformed, keeping a short snippet', (_label, text) => {
    const envelope = parseEnvelope(200, text);
    expect(envelope.ok).toBe(false);
    if (envelope.ok) return;
    expect(envelope.facts.malformed).toBe(true);
    expect(envelope.facts.status).toBe(200);
    expect((envelope.facts.message ?? '').length).toBeLessThanOrEqual(200);
    expect(envelope.facts.message).not.toMatch(/\s{2,}|\n/);
  });

  it('marks a 2xx JSON object without a code as malformed', () => {
    expect(parseEnvelope(200, json({ hello: 'world' }))).toMatchObject({
      ok: false,
      facts: { malformed: true },
    });
  });
});

describe('parseTask', () => {
  it('reads the official query shape (reference §3.1), durations given as strings', () => {
    expect(parseTask(apiSucceededTask('861254119619698760', 'gha-abc'))).toEqual({
      taskId: '861254119619698760',
      status: 'succeed',
      statusMessage: undefined,
      externalTaskId: 'gha-abc',
      audios: [
        {
          id: 'a1',
          mp3Url: 'https://cdn.example.com/a.mp3',
          wavUrl: 'https://cdn.example.com/a.wav',
          mp3Duration: '5.04',
          wavDuration: '5.05',
        },
      ],
      videos: [{ id: 'v1', url: 'https://cdn.example.com/v.mp4', durationSeconds: 5 }],
      createdAt: 1722769557708,
      updatedAt: 1722769557708,
    });
  });

  it('reads the create answer (reference §2.2)', () => {
    const task = parseTask({
      task_id: 't1',
      task_info: { external_task_id: 'ext-1' },
      task_status: 'submitted',
      created_at: 1722769557708,
      updated_at: 1722769557708,
    });
    expect(task).toMatchObject({ taskId: 't1', status: 'submitted', externalTaskId: 'ext-1', audios: [] });
  });

  it('reads what the task cost, when the answer says (reference §3.1)', () => {
    const task = parseTask(
      apiTask('t1', 'succeed', {
        final_unit_deduction: '2',
        final_balance_deduction: { quota: '0.35', list_price: '0.50' },
      }),
    );
    expect(task?.billing).toEqual({ units: '2', quota: '0.35', listPrice: '0.50' });
    expect(parseTask(apiTask('t1', 'succeed', { final_unit_deduction: 3 }))?.billing).toEqual({ units: '3' });
    expect(parseTask(apiTask('t1', 'succeed'))).not.toHaveProperty('billing');
    expect(parseTask(apiTask('t1', 'succeed', { final_balance_deduction: 'n/a' }))).not.toHaveProperty(
      'billing',
    );
  });

  it('reads the failure reason', () => {
    expect(parseTask(apiTask('t1', 'failed', { task_status_msg: 'content risk control' }))).toMatchObject({
      status: 'failed',
      statusMessage: 'content risk control',
    });
  });

  it('accepts durations given as numbers', () => {
    const task = parseTask(
      apiTask('t1', 'succeed', {
        task_result: { audios: [{ url_mp3: 'https://x/a.mp3', duration_mp3: 4.5, duration_wav: 4 }] },
      }),
    );
    expect(task?.audios[0]).toMatchObject({ mp3Duration: '4.5', wavDuration: '4' });
  });

  it('keeps a duration exactly as the API wrote it', () => {
    const task = parseTask(
      apiTask('t1', 'succeed', {
        task_result: { audios: [{ url_mp3: 'https://x/a.mp3', duration_mp3: '5.000' }] },
      }),
    );
    expect(task?.audios[0]?.mp3Duration).toBe('5.000');
  });

  it('does not report an empty duration string as 0 seconds', () => {
    const task = parseTask(
      apiTask('t1', 'succeed', {
        task_result: { audios: [{ url_mp3: 'https://x/a.mp3', duration_mp3: '', duration_wav: ' ' }] },
      }),
    );
    expect(task?.audios[0]?.mp3Duration).toBeUndefined();
    expect(task?.audios[0]?.wavDuration).toBeUndefined();
  });

  it('skips result videos without a url', () => {
    const task = parseTask(
      apiTask('t1', 'succeed', {
        task_result: { videos: [{ id: 'v0' }, { id: 'v1', url: 'https://x/v.mp4' }] },
      }),
    );
    expect(task?.videos).toEqual([{ id: 'v1', url: 'https://x/v.mp4', durationSeconds: undefined }]);
  });

  describe('the older wrapped CometAPI shape (reference §3.2)', () => {
    it.each([
      ['NOT_START', 'submitted'],
      ['IN_PROGRESS', 'processing'],
      ['SUCCESS', 'succeed'],
      ['FAILURE', 'failed'],
    ] as const)('maps data.status %s to %s', (wrapped, status) => {
      expect(parseTask({ task_id: 't1', status: wrapped, progress: '50%', data: null })).toMatchObject({
        taskId: 't1',
        status,
      });
    });

    it('reads the result under data.data', () => {
      const task = parseTask({
        task_id: 't1',
        status: 'SUCCESS',
        progress: '100%',
        data: apiSucceededTask('t1'),
      });
      expect(task?.status).toBe('succeed');
      expect(task?.audios[0]?.mp3Url).toBe('https://cdn.example.com/a.mp3');
      expect(task?.videos[0]?.url).toBe('https://cdn.example.com/v.mp4');
    });

    it('reads a result under data.data that has only task_result', () => {
      const task = parseTask({
        task_id: 't1',
        status: 'SUCCESS',
        data: { task_result: { audios: [{ url_wav: 'https://x/a.wav', duration_wav: '3.2' }] } },
      });
      expect(task).toMatchObject({ taskId: 't1', status: 'succeed' });
      expect(task?.audios[0]).toMatchObject({ wavUrl: 'https://x/a.wav', wavDuration: '3.2' });
    });

    it('reads the failure reason from fail_reason', () => {
      expect(parseTask({ task_id: 't1', status: 'FAILURE', fail_reason: 'risk control' })).toMatchObject({
        status: 'failed',
        statusMessage: 'risk control',
      });
    });
  });

  it.each([
    ['undefined (success code with no data)', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a task without a status', { task_id: 't1' }],
    ['a task without an id', { task_status: 'submitted' }],
    ['an unknown status', { task_id: 't1', task_status: 'exploded' }],
    ['an array', [apiTask('t1', 'submitted')]],
  ])('returns undefined for %s', (_label, data) => {
    expect(parseTask(data)).toBeUndefined();
  });

  it('reads the list endpoint, dropping items that are not tasks', () => {
    expect(
      parseTaskList([apiTask('a', 'submitted'), { nope: 1 }, apiTask('b', 'failed')]).map((t) => t.taskId),
    ).toEqual(['a', 'b']);
    expect(parseTaskList({})).toEqual([]);
  });
});
