// The Kling emulator over real HTTP on 127.0.0.1, as the action and the demo use it.
import { createServer, request as httpRequest, Agent } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KlingEmulator, faults } from './kling-emulator.ts';
import type { KlingEmulatorOptions, Timeline } from './kling-emulator.ts';
import { buildMp3, buildMp4, buildVideo, buildWav, mp3DurationSeconds } from './media.ts';
import { MoovCatcher, pictureSeconds } from './kling/video-fetch.ts';
import { readMovieRecord } from '../support/iso-box.ts';
import { ObjectStore } from './object-store.ts';
import { htmlPage, makeMp4 } from '../support/mp4.ts';

const API_KEY = 'test-api-key';
const ACCESS_KEY = 'ak-test';
const SECRET_KEY = 'sk-test-secret';
const COMET = '/kling/v1/audio/video-to-audio';
const KLING = '/v1/audio/video-to-audio';
const VIDEO = { video_url: 'https://example.com/clip.mp4' };
// Long enough for a loaded machine to see every status, short enough to keep the suite fast.
const QUICK: Partial<Timeline> = { submittedMs: 80, processingMs: 80 };

const emulators: KlingEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function start(options: KlingEmulatorOptions = {}): Promise<KlingEmulator> {
  const emulator = await KlingEmulator.start({ accessKeys: { [ACCESS_KEY]: SECRET_KEY }, ...options });
  emulators.push(emulator);
  return emulator;
}

interface TaskData {
  task_id: string;
  task_status: string;
  task_status_msg?: string;
  task_info: { external_task_id?: string };
  task_result: {
    videos: { id: string; url: string; duration: string }[];
    audios: { id: string; url_mp3: string; url_wav: string; duration_mp3: string; duration_wav: string }[];
  };
  created_at: number;
  updated_at: number;
}

/** Every field the answers under test carry between them; each test reads those its answer has. */
interface Reply {
  code: number | string;
  message: string;
  request_id: string;
  error: { message: string; type: string };
  data: TaskData & { status: string; progress: string; fail_reason: string; data: TaskData };
}

interface Answer {
  status: number;
  headers: Headers;
  json: Reply;
}

async function call(
  emulator: KlingEmulator,
  method: string,
  path: string,
  options: { body?: unknown; auth?: string | null } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = options.auth === undefined ? `Bearer ${API_KEY}` : options.auth;
  if (auth !== null) headers['authorization'] = auth;
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const response = await fetch(`${emulator.url}${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text === '' ? undefined : JSON.parse(text),
  };
}

const create = (emulator: KlingEmulator, root: string, body: unknown = VIDEO, auth?: string | null) =>
  call(emulator, 'POST', root, { body, auth });
const query = (emulator: KlingEmulator, root: string, id: string, auth?: string | null) =>
  call(emulator, 'GET', `${root}/${encodeURIComponent(id)}`, { auth });

/** Polls until a terminal status (or `limitMs`), returning every distinct status seen and the last answer. */
async function pollStatuses(emulator: KlingEmulator, root: string, id: string, limitMs = 2000) {
  const seen: string[] = [];
  const deadline = Date.now() + limitMs;
  for (;;) {
    const answer = await query(emulator, root, id);
    const status = String(answer.json.data.task_status ?? answer.json.data.status);
    if (seen.at(-1) !== status) seen.push(status);
    if (['succeed', 'failed', 'SUCCESS', 'FAILURE'].includes(status) || Date.now() > deadline)
      return { seen, answer };
    await sleep(5);
  }
}

/** Polled statuses come in timeline order and end terminal (a stalled machine may skip a short phase). */
function expectInOrder(seen: string[], order: string[]): void {
  expect(seen.at(-1)).toBe(order.at(-1));
  expect(seen).toEqual(order.filter((status) => seen.includes(status)));
}

function jwt(claims: { iss?: string; exp?: number; nbf?: number }, secret = SECRET_KEY): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const { iss = ACCESS_KEY, exp = nowSeconds + 1800, nbf = nowSeconds - 5 } = claims;
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(iss)
    .setExpirationTime(exp)
    .setNotBefore(nbf)
    .sign(new TextEncoder().encode(secret));
}

/** A GET with node:http, reporting how many body bytes arrived and whether the body completed. */
function rawGet(
  url: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; received: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => (received += chunk.length));
      response.on('error', () => undefined); // the premature close is what is under test
      response.on('close', () => {
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          received,
          complete: response.complete,
        });
      });
    })
      .on('error', reject)
      .end();
  });
}

describe('a task through CometAPI routes', () => {
  it('is created submitted, then moves through processing to succeed on its timeline', async () => {
    const emulator = await start({ timeline: QUICK });
    const created = await create(emulator, COMET, { ...VIDEO, external_task_id: 'ext-comet-1' });

    expect(created.status).toBe(200);
    expect(created.headers.get('content-type')).toBe('application/json');
    const { data } = created.json;
    expect(created.json).toMatchObject({ code: 0, message: 'SUCCEED', request_id: expect.any(String) });
    expect(data.task_id).toMatch(/^\d{18}$/);
    expect(data).toEqual({
      task_id: data.task_id,
      task_info: { external_task_id: 'ext-comet-1' },
      task_status: 'submitted',
      created_at: data.created_at,
      updated_at: data.created_at,
    });
    expect(Math.abs(data.created_at - Date.now())).toBeLessThan(5000);

    const { seen, answer } = await pollStatuses(emulator, COMET, data.task_id);
    expectInOrder(seen, ['submitted', 'processing', 'succeed']);
    const task = answer.json.data;
    const files = `${emulator.url}/files/${data.task_id}`;
    expect(task).toEqual({
      task_id: data.task_id,
      task_status: 'succeed',
      task_info: { external_task_id: 'ext-comet-1' },
      task_result: {
        videos: [{ id: expect.stringMatching(/^\d{18}$/), url: `${files}/video.mp4`, duration: '5.000' }],
        audios: [
          {
            id: expect.stringMatching(/^\d{18}$/),
            url_mp3: `${files}/audio.mp3`,
            url_wav: `${files}/audio.wav`,
            duration_mp3: mp3DurationSeconds(5).toFixed(3),
            duration_wav: '5.000',
          },
        ],
      },
      final_unit_deduction: '1',
      final_balance_deduction: { quota: '0.10', list_price: '0.10' },
      created_at: data.created_at,
      updated_at: data.created_at + 160,
    });
    expect(emulator.tasks.get(data.task_id)).toMatchObject({
      task_id: data.task_id,
      external_task_id: 'ext-comet-1',
      created_at: data.created_at,
      request: { ...VIDEO, external_task_id: 'ext-comet-1' },
      provider: 'cometapi',
    });
  });

  it('reports submitted, then processing, then the outcome, each for as long as the timeline says', async () => {
    const emulator = await start({ timeline: { submittedMs: 60_000 } });
    const waiting = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline({ submittedMs: 0, processingMs: 60_000 });
    const working = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline({ processingMs: 0 });
    const done = (await create(emulator, COMET)).json.data.task_id;

    const statuses = [waiting, working, done].map(
      async (id) => (await query(emulator, COMET, id)).json.data.task_status,
    );
    expect(await Promise.all(statuses)).toEqual(['submitted', 'processing', 'succeed']);
  });

  it('answers a task with no external id with an empty task_info and an empty task_result while running', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, outcome: 'never' } });
    const { json } = await create(emulator, COMET);
    const { data } = (await query(emulator, COMET, json.data.task_id)).json;
    expect(data).toMatchObject({ task_status: 'processing', task_info: {}, task_result: {} });
    expect(data).not.toHaveProperty('task_status_msg');
  });

  it('ends failed with the reason in task_status_msg, and no result', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 10, outcome: 'failed' } });
    const first = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline({ failMessage: 'video too long' });
    const second = (await create(emulator, COMET)).json.data.task_id;

    const { seen, answer } = await pollStatuses(emulator, COMET, first);
    expect(seen.at(-1)).toBe('failed');
    expect(answer.json.data).toMatchObject({
      task_status: 'failed',
      task_status_msg: 'Content risk control: the video could not be processed',
      task_result: {},
    });
    expect((await pollStatuses(emulator, COMET, second)).answer.json.data.task_status_msg).toBe(
      'video too long',
    );
  });

  it("stays processing forever with outcome 'never'", async () => {
    const emulator = await start({ timeline: { submittedMs: 5, processingMs: 5, outcome: 'never' } });
    const { data } = (await create(emulator, COMET)).json;
    await sleep(40);
    const later = (await query(emulator, COMET, data.task_id)).json.data;
    expect(later.task_status).toBe('processing');
    expect(later.updated_at).toBe(data.created_at + 5);
  });

  it('applies setTimeline only to tasks created afterwards', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const before = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline({ outcome: 'never' });
    const after = (await create(emulator, COMET)).json.data.task_id;
    await sleep(10);
    expect((await query(emulator, COMET, before)).json.data.task_status).toBe('succeed');
    expect((await query(emulator, COMET, after)).json.data.task_status).toBe('processing');
  });
});

describe("CometAPI's older wrapped query shape", () => {
  it('nests the native data under data.data with status and progress, while create stays native', async () => {
    const emulator = await start({ timeline: QUICK, cometResponseShape: 'wrapped' });
    const created = await create(emulator, COMET, { ...VIDEO, external_task_id: 'wrapped-1' });
    expect(created.json).toMatchObject({ code: 0, data: { task_status: 'submitted' } });
    const id = created.json.data.task_id;

    const { seen, answer } = await pollStatuses(emulator, COMET, id);
    expectInOrder(seen, ['NOT_START', 'IN_PROGRESS', 'SUCCESS']);
    expect(answer.json.data).toMatchObject({ status: 'SUCCESS', progress: '100%', fail_reason: '' });
    expect(answer.json.data.data.task_result.audios[0]!.url_mp3).toBe(
      `${emulator.url}/files/${id}/audio.mp3`,
    );
  });

  it('maps each status and reports progress as a percentage', async () => {
    const emulator = await start({ timeline: { submittedMs: 60_000 }, cometResponseShape: 'wrapped' });
    const waiting = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline({ submittedMs: 0, processingMs: 60_000 });
    const working = (await create(emulator, COMET)).json.data.task_id;

    const first = (await query(emulator, COMET, waiting)).json;
    expect(first).toEqual({
      code: 'success',
      message: '',
      data: {
        task_id: waiting,
        status: 'NOT_START',
        progress: '0%',
        fail_reason: '',
        data: expect.any(Object),
      },
    });
    expect(first.data.data).toMatchObject({ task_id: waiting, task_status: 'submitted' });
    const running = (await query(emulator, COMET, working)).json.data;
    expect(running).toMatchObject({
      status: 'IN_PROGRESS',
      progress: '1%',
      data: { task_status: 'processing' },
    });
  });

  it('reports a failure as FAILURE with fail_reason', async () => {
    const emulator = await start({
      timeline: { submittedMs: 0, processingMs: 0, outcome: 'failed', failMessage: 'blocked' },
      cometResponseShape: 'wrapped',
    });
    const id = (await create(emulator, COMET)).json.data.task_id;
    const { data } = (await query(emulator, COMET, id)).json;
    expect(data).toMatchObject({ status: 'FAILURE', progress: '100%', fail_reason: 'blocked' });
    expect(data.data).toMatchObject({ task_status: 'failed', task_status_msg: 'blocked' });
  });

  it('leaves the official routes native', async () => {
    const emulator = await start({
      timeline: { submittedMs: 0, processingMs: 0 },
      cometResponseShape: 'wrapped',
    });
    const id = (await create(emulator, KLING)).json.data.task_id;
    expect((await query(emulator, KLING, id)).json).toMatchObject({
      code: 0,
      data: { task_status: 'succeed' },
    });
  });
});

describe('a task through official Kling routes', () => {
  it('runs the same timeline with a JWT signed by an access key', async () => {
    const emulator = await start({ timeline: QUICK });
    const auth = `Bearer ${await jwt({})}`;
    const created = await create(emulator, KLING, { video_id: 'kling-video-1', asmr_mode: true }, auth);
    expect(created.status).toBe(200);
    const id = created.json.data.task_id;
    expect(created.json.data).toMatchObject({ task_status: 'submitted', task_info: {} });
    expect(emulator.tasks.get(id)).toMatchObject({
      provider: 'kling',
      request: { video_id: 'kling-video-1', asmr_mode: true },
    });

    const { seen, answer } = await pollStatuses(emulator, KLING, id);
    expectInOrder(seen, ['submitted', 'processing', 'succeed']);
    expect(answer.json).toMatchObject({ code: 0, message: 'SUCCEED', request_id: expect.any(String) });
    expect(answer.json.data.task_result.audios[0]!.url_wav).toBe(`${emulator.url}/files/${id}/audio.wav`);
  });

  it('finds a task by task_id or external_task_id, and answers 404 code 1203 for anything else', async () => {
    const emulator = await start();
    const id = (await create(emulator, KLING, { ...VIDEO, external_task_id: 'run-42/attempt 1' })).json.data
      .task_id;

    expect((await query(emulator, KLING, 'run-42/attempt 1')).json.data.task_id).toBe(id);
    expect((await query(emulator, KLING, id)).json.data.task_info.external_task_id).toBe('run-42/attempt 1');
    const missing = await query(emulator, KLING, 'no-such-task');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      code: 1203,
      message: expect.stringContaining('does not exist'),
      request_id: expect.any(String),
    });
    // The two route families are two accounts: a CometAPI query does not see a Kling task.
    expect((await query(emulator, COMET, id)).status).toBe(404);
  });

  it('refuses a duplicate external_task_id without creating a second task', async () => {
    const emulator = await start();
    await create(emulator, KLING, { ...VIDEO, external_task_id: 'dup' });
    const again = await create(emulator, KLING, { video_id: 'other', external_task_id: 'dup' });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ code: 1201, message: 'external_task_id already exists' });
    expect(emulator.tasks.size).toBe(1);
    // Unique per account: the same external id is free on the other provider.
    expect((await create(emulator, COMET, { ...VIDEO, external_task_id: 'dup' })).status).toBe(200);
  });

  it('answers an unsupported method on a known path with 404 code 1202', async () => {
    const emulator = await start();
    const answer = await call(emulator, 'DELETE', `${KLING}/123`);
    expect(answer.status).toBe(404);
    expect(answer.json.code).toBe(1202);
    expect(emulator.requests.at(-1)).toMatchObject({ route: 'other', status: 404 });
  });
});

describe('create validation', () => {
  const cases: [string, unknown, RegExp][] = [
    ['neither video field', { bgm_prompt: 'piano' }, /video_id and video_url/],
    ['both video fields', { video_id: 'v', video_url: 'https://e.com/a.mp4' }, /video_id and video_url/],
    ['empty strings for both', { video_id: '', video_url: '' }, /video_id and video_url/],
    ['a non-http video_url', { video_url: 'ftp://e.com/a.mp4' }, /^video_url must be an http or https URL/],
    ['a video_url that is no URL', { video_url: 'clip.mp4' }, /^video_url/],
    ['a numeric video_id', { video_id: 7 }, /^video_id must be a string/],
    [
      'a long sound_effect_prompt',
      { ...VIDEO, sound_effect_prompt: 'x'.repeat(201) },
      /^sound_effect_prompt .*200/,
    ],
    ['a long bgm_prompt', { ...VIDEO, bgm_prompt: 'é'.repeat(201) }, /^bgm_prompt .*200/],
    ['asmr_mode as a string', { ...VIDEO, asmr_mode: 'true' }, /^asmr_mode must be a boolean/],
    ['a numeric external_task_id', { ...VIDEO, external_task_id: 5 }, /^external_task_id must be a string/],
  ];
  it.each(cases)('refuses %s with 400 code 1201 naming the field', async (_name, body, message) => {
    const emulator = await start();
    const answer = await create(emulator, COMET, body);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      code: 1201,
      message: expect.stringMatching(message),
      request_id: expect.any(String),
    });
    expect(emulator.tasks.size).toBe(0);
  });

  it('refuses a body that is not a JSON object with 400 code 1200, recording the raw text', async () => {
    const emulator = await start();
    const answer = await create(emulator, KLING, 'video_url=https://e.com/a.mp4');
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe(1200);
    expect(emulator.requests[0]!.body).toBe('video_url=https://e.com/a.mp4');
  });

  it('accepts 200-character prompts counted in characters, and ignores unknown fields', async () => {
    const emulator = await start();
    const body = {
      ...VIDEO,
      sound_effect_prompt: '🌊'.repeat(200),
      bgm_prompt: 'p'.repeat(200),
      model_name: 'x',
    };
    const answer = await create(emulator, COMET, body);
    expect(answer.status).toBe(200);
    expect(emulator.tasks.get(answer.json.data.task_id)!.request).toEqual(body);
  });
});

describe('authentication', () => {
  const cometRefusal = {
    error: {
      message: expect.stringMatching(/^Invalid token \(request id: \w+\)$/),
      type: 'comet_api_error',
      param: '',
      code: '',
    },
  };

  it.each([
    ['no header', null],
    ['an unknown key', 'Bearer wrong-key'],
    ['a key without the Bearer scheme', API_KEY],
  ])('CometAPI refuses %s with 401 in its own envelope', async (_name, auth) => {
    const emulator = await start();
    const answer = await create(emulator, COMET, VIDEO, auth);
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual(cometRefusal);
    expect(emulator.tasks.size).toBe(0);
  });

  it('CometAPI refuses a Kling JWT, and checks queries too', async () => {
    const emulator = await start();
    expect((await create(emulator, COMET, VIDEO, `Bearer ${await jwt({})}`)).status).toBe(401);
    expect((await query(emulator, COMET, '123', 'Bearer nope')).json).toEqual(cometRefusal);
  });

  it('accepts configured API keys on both route families', async () => {
    const emulator = await start({ apiKeys: ['key-a', 'key-b'] });
    expect((await create(emulator, COMET, VIDEO, 'Bearer key-a')).status).toBe(200);
    expect((await create(emulator, KLING, VIDEO, 'Bearer key-b')).status).toBe(200);
    expect((await create(emulator, KLING, VIDEO, `Bearer ${API_KEY}`)).status).toBe(401);
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const klingCases: [string, () => Promise<string | null>, number][] = [
    ['no header', () => Promise.resolve(null), 1001],
    ['an empty Bearer', () => Promise.resolve('Bearer '), 1001],
    ['an expired JWT', async () => `Bearer ${await jwt({ exp: nowSeconds() - 1 })}`, 1004],
    ['a JWT that expires this very second', async () => `Bearer ${await jwt({ exp: nowSeconds() })}`, 1004],
    ['a JWT not valid yet', async () => `Bearer ${await jwt({ nbf: nowSeconds() + 60 })}`, 1003],
    ['a JWT with a bad signature', async () => `Bearer ${await jwt({}, 'another-secret')}`, 1002],
    ['a JWT from an unknown access key', async () => `Bearer ${await jwt({ iss: 'ak-unknown' })}`, 1002],
    ['a malformed token', () => Promise.resolve('Bearer not.a.jwt'), 1002],
    ['a token without the Bearer scheme', async () => jwt({}), 1002],
  ];
  it.each(klingCases)('Kling refuses %s with 401 code %i', async (_name, header, code) => {
    const emulator = await start();
    const answer = await create(emulator, KLING, VIDEO, await header());
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ code, message: expect.any(String), request_id: expect.any(String) });
    expect(emulator.tasks.size).toBe(0);
  });

  it('checks exp and nbf against its own clock, skew included', async () => {
    const emulator = await start();
    const token = `Bearer ${await jwt({})}`; // nbf now - 5 s, exp now + 30 min
    expect((await create(emulator, KLING, VIDEO, token)).status).toBe(200);

    emulator.setClockSkewMs(31 * 60_000);
    expect((await create(emulator, KLING, VIDEO, token)).json.code).toBe(1004);
    emulator.setClockSkewMs(-60_000);
    expect((await create(emulator, KLING, VIDEO, token)).json.code).toBe(1003);
    // Timestamps follow the skewed clock too.
    const created = (await create(emulator, KLING)).json.data;
    expect(Date.now() - created.created_at).toBeGreaterThan(55_000);
  });

  it('records the Authorization header exactly as sent', async () => {
    const emulator = await start();
    const token = await jwt({});
    await create(emulator, KLING, VIDEO, `Bearer ${token}`);
    await query(emulator, KLING, 'x', null);
    expect(emulator.requests.map((r) => r.authorization)).toEqual([`Bearer ${token}`, undefined]);
  });
});

describe('the list endpoint', () => {
  const listed = (answer: Answer) => answer.json.data as unknown as TaskData[];

  it('pages the Kling tasks newest first, each as the query shows it', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const ids: string[] = [];
    for (const n of [1, 2, 3])
      ids.push((await create(emulator, KLING, { ...VIDEO, external_task_id: `e${n}` })).json.data.task_id);
    await create(emulator, COMET); // another account's task is not listed

    const all = await call(emulator, 'GET', KLING);
    expect(all.json.code).toBe(0);
    expect(listed(all).map((t) => t.task_id)).toEqual([...ids].reverse());
    expect(listed(all)[0]).toMatchObject({ task_status: 'succeed', task_info: { external_task_id: 'e3' } });

    const page = await call(emulator, 'GET', `${KLING}?pageNum=2&pageSize=2`);
    expect(listed(page).map((t) => t.task_id)).toEqual([ids[0]]);
    expect(emulator.requests.at(-1)).toMatchObject({
      route: 'query',
      query: { pageNum: '2', pageSize: '2' },
    });
    expect((await call(emulator, 'GET', `${KLING}?pageNum=3&pageSize=2`)).json.data).toEqual([]);
  });

  it.each([
    'pageNum=0',
    'pageNum=1001',
    'pageSize=0',
    'pageSize=501',
    'pageSize=1.5',
    'pageNum=abc',
    'pageSize=',
  ])('refuses %s with 400 code 1201', async (search) => {
    const emulator = await start();
    const answer = await call(emulator, 'GET', `${KLING}?${search}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      code: 1201,
      message: expect.stringContaining(search.split('=')[0]!),
    });
  });

  it('accepts the extremes of each range', async () => {
    const emulator = await start();
    expect((await call(emulator, 'GET', `${KLING}?pageNum=1000&pageSize=500`)).status).toBe(200);
    expect((await call(emulator, 'GET', `${KLING}?pageNum=1&pageSize=1`)).status).toBe(200);
  });

  it('is not offered on the CometAPI routes', async () => {
    const emulator = await start();
    expect((await call(emulator, 'GET', COMET)).status).toBe(404);
  });
});

describe('result files', () => {
  async function succeededTask(options: KlingEmulatorOptions = {}) {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 }, ...options });
    const id: string = (await create(emulator, COMET)).json.data.task_id;
    return { emulator, id, files: `${emulator.url}/files/${id}` };
  }

  it('serves exactly media() with the right type, length and magic bytes, without credentials', async () => {
    const { emulator, id, files } = await succeededTask();
    const media = emulator.media(id);
    const expected = [
      ['audio.mp3', 'audio/mpeg', media.mp3],
      ['audio.wav', 'audio/wav', media.wav],
      ['video.mp4', 'video/mp4', media.mp4],
    ] as const;
    for (const [name, type, bytes] of expected) {
      const response = await fetch(`${files}/${name}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('content-length')).toBe(String(bytes.length));
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    }
    expect(media.mp3.subarray(0, 3).toString('latin1')).toBe('ID3');
    expect(media.wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(media.wav.subarray(8, 12).toString('latin1')).toBe('WAVE');
    expect(media.mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(emulator.requests.filter((r) => r.route === 'download').map((r) => r.status)).toEqual([
      200, 200, 200,
    ]);
  });

  it('answers HEAD with the headers and no body', async () => {
    const { emulator, id, files } = await succeededTask();
    const response = await fetch(`${files}/audio.wav`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(response.headers.get('content-length')).toBe(String(emulator.media(id).wav.length));
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('has no files before the task succeeds, nor for an unknown task', async () => {
    const emulator = await start({ timeline: { outcome: 'never' } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    expect((await fetch(`${emulator.url}/files/${id}/audio.mp3`)).status).toBe(404);
    expect((await fetch(`${emulator.url}/files/123456789012345678/audio.mp3`)).status).toBe(404);
  });

  it('makes audio as long as audioSeconds', async () => {
    const { emulator, id } = await succeededTask({ audioSeconds: 2 });
    const { data } = (await query(emulator, COMET, id)).json;
    expect(data.task_result.audios[0]).toMatchObject({ duration_wav: '2.000', duration_mp3: '2.016' });
    expect(emulator.media(id).wav.length).toBe(44 + 2 * 8000 * 2);
  });
});

describe('MoovCatcher: the moov box of a video streaming past', () => {
  it('finds it however the bytes are cut, before or after mdat, and never keeps mdat', () => {
    for (const layout of ['moov-first', 'moov-last'] as const) {
      const file = buildVideo({ seconds: 4, layout, audio: 'silence' });
      const moov = readMovieRecord(file).top.indexOf('moov');
      for (const size of [1, 7, 8, 9, 4096, file.length]) {
        const catcher = new MoovCatcher();
        for (let at = 0; at < file.length; at += size) catcher.take(file.subarray(at, at + size));
        expect(catcher.box, `${layout} in pieces of ${size}`).toBeDefined();
        expect(catcher.box!.toString('latin1', 4, 8)).toBe('moov');
        expect(moov).toBeGreaterThan(-1);
        expect(pictureSeconds(catcher.box!)).toBe(4);
      }
    }
  });

  it('finds nothing in what is not a box, and no length in a moov it cannot read', () => {
    const catcher = new MoovCatcher();
    catcher.take(htmlPage());
    expect(catcher.box).toBeUndefined();
    expect(pictureSeconds(Buffer.from('not a moov'))).toBeUndefined();
  });
});

describe('media builders', () => {
  it('are deterministic per task id and differ between tasks', () => {
    expect(buildWav('1', 1).equals(buildWav('1', 1))).toBe(true);
    expect(buildWav('1', 1).equals(buildWav('2', 1))).toBe(false);
    expect(buildMp3('1', 1).equals(buildMp3('2', 1))).toBe(false);
    expect(buildMp4('1', 1).equals(buildMp4('2', 1))).toBe(false);
  });

  it('write a RIFF/WAVE PCM 16-bit mono header whose sizes match the data', () => {
    const wav = buildWav('task', 0.5);
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.subarray(12, 16).toString('latin1')).toBe('fmt ');
    expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)]).toEqual([
      1, 1, 8000, 16,
    ]);
    expect(wav.subarray(36, 40).toString('latin1')).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(4000 * 2);
  });

  it('write an ID3v2 tag followed by back-to-back MPEG-1 Layer III frames', () => {
    const mp3 = buildMp3('task', 1);
    const tagSize = 10 + ((mp3[6]! << 21) | (mp3[7]! << 14) | (mp3[8]! << 7) | mp3[9]!);
    const frames = mp3.subarray(tagSize);
    expect(frames.length % 384).toBe(0);
    expect((frames.length / 384) * (1152 / 48_000)).toBeCloseTo(mp3DurationSeconds(1), 6);
    for (let offset = 0; offset < frames.length; offset += 384) {
      expect([...frames.subarray(offset, offset + 4)]).toEqual([0xff, 0xfb, 0x94, 0xc4]);
    }
  });

  it('write an MP4 as ftyp, moov, mdat boxes that exactly fill the file', () => {
    const mp4 = buildMp4('task', 3);
    const boxes: string[] = [];
    for (let offset = 0; offset < mp4.length; offset += mp4.readUInt32BE(offset)) {
      boxes.push(mp4.subarray(offset + 4, offset + 8).toString('latin1'));
    }
    expect(boxes).toEqual(['ftyp', 'moov', 'mdat']);
  });
});

describe('faults', () => {
  it('answers an error fault instead of handling, with its headers, only on its route and only `times` times', async () => {
    const emulator = await start();
    emulator.inject(faults.rateLimited(2));
    emulator.inject({ ...faults.serverErrors(2), times: 2 });

    const limited = await create(emulator, COMET);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.json).toMatchObject({ code: 1302, request_id: expect.any(String) });
    expect((await query(emulator, COMET, 'x')).status).toBe(404); // the query route has no faults
    expect((await create(emulator, COMET)).json.code).toBe(5000);
    expect((await create(emulator, COMET)).status).toBe(500);
    expect((await create(emulator, COMET)).status).toBe(200);
    expect(emulator.tasks.size).toBe(1);
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 404, 500, 500, 200]);
  });

  it.each([
    ['concurrencyLimited', faults.concurrencyLimited(), 429, 1303],
    ['balanceExhausted', faults.balanceExhausted(), 429, 1102],
    ['authFailed', faults.authFailed(), 401, 1000],
    ['forbidden', faults.forbidden(), 403, 1103],
    ['contentRejected', faults.contentRejected(), 400, 1301],
    ['serviceUnavailable', faults.serviceUnavailable(1), 503, 5001],
  ])('%s answers HTTP %i with code %i', async (_name, rule, status, code) => {
    const emulator = await start();
    emulator.inject(rule);
    const answer = await create(emulator, KLING);
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ code, message: expect.any(String), request_id: expect.any(String) });
  });

  it('cometUnauthorized and cometRateLimited answer in CometAPI envelope', async () => {
    const emulator = await start();
    emulator.inject(faults.cometUnauthorized('query'));
    emulator.inject(faults.cometRateLimited());
    const unauthorized = await query(emulator, COMET, 'x');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.json.error).toMatchObject({
      message: expect.stringMatching(/^Invalid token \(request id: /),
      type: 'comet_api_error',
    });
    expect((await create(emulator, COMET)).status).toBe(429);
  });

  it('a rate limit without retryAfterSeconds sends no Retry-After', async () => {
    const emulator = await start();
    emulator.inject(faults.rateLimited(undefined, 'query'));
    const answer = await query(emulator, KLING, 'x');
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBeNull();
  });

  it('answers raw bodies: malformed JSON or an HTML page with 200', async () => {
    const emulator = await start();
    emulator.inject(faults.malformedJson('query'));
    emulator.inject(faults.htmlPage('query'));
    const malformed = await fetch(`${emulator.url}${KLING}/x`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(malformed.status).toBe(200);
    expect(malformed.headers.get('content-type')).toBe('application/json');
    await expect(malformed.json()).rejects.toThrow();
    const html = await fetch(`${emulator.url}${KLING}/x`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toMatch(/^<!DOCTYPE html>/);
  });

  it('resets the connection before doing anything', async () => {
    const emulator = await start();
    emulator.inject(faults.reset('create', Infinity));
    await expect(create(emulator, COMET)).rejects.toThrow();
    await expect(create(emulator, COMET)).rejects.toThrow();
    expect(emulator.tasks.size).toBe(0);
    expect(emulator.requests.map((r) => [r.route, r.status])).toEqual([
      ['create', 0],
      ['create', 0],
    ]);
    expect((await query(emulator, COMET, 'x')).status).toBe(404);
  });

  it('reset-after-register creates the task and loses the answer, so the client must reconcile', async () => {
    const emulator = await start();
    emulator.inject(faults.resetAfterRegister());
    await expect(create(emulator, COMET, { ...VIDEO, external_task_id: 'lost-answer' })).rejects.toThrow();
    expect(emulator.tasks.size).toBe(1);
    const found = await query(emulator, COMET, 'lost-answer');
    expect(found.json.data.task_id).toBe([...emulator.tasks.keys()][0]);
    expect((await create(emulator, COMET, { ...VIDEO, external_task_id: 'lost-answer' })).json.code).toBe(
      1201,
    );
  });

  it('error-after-register creates the task and answers an error, by default in Kling shape', async () => {
    const emulator = await start();
    emulator.inject(faults.errorAfterRegister());
    emulator.inject({
      route: 'create',
      fault: { kind: 'error-after-register', status: 504, body: { oops: 1 } },
    });

    const gateway = await create(emulator, COMET, { ...VIDEO, external_task_id: 'after-502' });
    expect(gateway.status).toBe(502);
    expect(gateway.json).toMatchObject({ code: 5000, request_id: expect.any(String) });
    expect((await query(emulator, COMET, 'after-502')).status).toBe(200);
    const custom = await create(emulator, COMET);
    expect([custom.status, custom.json]).toEqual([504, { oops: 1 }]);
    expect(emulator.tasks.size).toBe(2);
    expect(emulator.requests.map((r) => r.status)).toEqual([502, 200, 504]);
  });

  it('delays an answer, then handles it normally', async () => {
    const emulator = await start();
    emulator.inject(faults.delayed(60, 'create'));
    const started = performance.now();
    const answer = await create(emulator, COMET);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(answer.status).toBe(200);
    expect(emulator.tasks.size).toBe(1);
    // atMs is the arrival, not the answer: the next request arrives at least the delay later.
    await create(emulator, COMET);
    const [first, second] = emulator.requests;
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(55);
  });

  it('truncates a download after the announced Content-Length', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    const length = emulator.media(id).mp3.length;
    emulator.inject(faults.truncatedDownload());
    emulator.inject(faults.truncatedDownload(1000));

    const half = await rawGet(`${emulator.url}/files/${id}/audio.mp3`);
    expect(half).toMatchObject({ status: 200, received: Math.floor(length / 2), complete: false });
    expect(half.headers['content-length']).toBe(String(length));
    expect(await rawGet(`${emulator.url}/files/${id}/audio.mp3`)).toMatchObject({
      received: 1000,
      complete: false,
    });
    const whole = await rawGet(`${emulator.url}/files/${id}/audio.mp3`);
    expect(whole).toMatchObject({ received: length, complete: true });

    emulator.inject(faults.truncatedDownload());
    const viaFetch = await fetch(`${emulator.url}/files/${id}/audio.wav`);
    await expect(viaFetch.arrayBuffer()).rejects.toThrow();
  });

  it('serves the rest of a file for Range + If-Range, the whole file when If-Range is stale', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    const mp3 = emulator.media(id).mp3;
    const url = `${emulator.url}/files/${id}/audio.mp3`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get('accept-ranges')).toBe('bytes');
    await first.arrayBuffer();

    const rest = await fetch(url, { headers: { Range: 'bytes=1000-', 'If-Range': etag } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 1000-${mp3.length - 1}/${mp3.length}`);
    expect(Buffer.from(await rest.arrayBuffer()).equals(mp3.subarray(1000))).toBe(true);

    const stale = await fetch(url, { headers: { Range: 'bytes=1000-', 'If-Range': '"other"' } });
    expect(stale.status).toBe(200);
    expect(Buffer.from(await stale.arrayBuffer()).equals(mp3)).toBe(true);

    const beyond = await fetch(url, { headers: { Range: `bytes=${mp3.length}-` } });
    expect(beyond.status).toBe(416);
    await beyond.arrayBuffer();
    expect(emulator.requests.filter((r) => r.route === 'download').map((r) => r.range)).toEqual([
      undefined,
      'bytes=1000-',
      'bytes=1000-',
      `bytes=${mp3.length}-`,
    ]);
  });

  it.each([301, 302, 307] as const)(
    'redirects a download with %i to another path serving the same file',
    async (status) => {
      const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
      const id = (await create(emulator, COMET)).json.data.task_id;
      emulator.inject(faults.redirectedDownload(status));
      const url = `${emulator.url}/files/${id}/video.mp4`;

      const redirect = await fetch(url, { redirect: 'manual' });
      expect(redirect.status).toBe(status);
      const location = redirect.headers.get('location')!;
      expect(location).not.toBe(url);
      expect(location.startsWith(emulator.url)).toBe(true);
      const followed = await fetch(location);
      expect(Buffer.from(await followed.arrayBuffer()).equals(emulator.media(id).mp4)).toBe(true);
    },
  );

  it('a followed redirect (default 302) ends at the same bytes', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    emulator.inject(faults.redirectedDownload());
    const response = await fetch(`${emulator.url}/files/${id}/audio.mp3`);
    expect(response.redirected).toBe(true);
    expect(Buffer.from(await response.arrayBuffer()).equals(emulator.media(id).mp3)).toBe(true);
    expect(emulator.requests.filter((r) => r.route === 'download').map((r) => r.status)).toEqual([302, 200]);
  });

  it('answers a download with an HTML page and status 200', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    emulator.inject(faults.htmlDownload());
    const response = await fetch(`${emulator.url}/files/${id}/audio.mp3`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain('<html>');
  });

  it('are consumed in injection order per route', async () => {
    const emulator = await start();
    emulator.inject(faults.authFailed('query'));
    emulator.inject(faults.serverErrors(1, 'create'));
    emulator.inject(faults.concurrencyLimited('query'));
    expect((await create(emulator, KLING)).json.code).toBe(5000);
    expect((await query(emulator, KLING, 'x')).json.code).toBe(1000);
    expect((await query(emulator, KLING, 'x')).json.code).toBe(1303);
    expect((await query(emulator, KLING, 'x')).json.code).toBe(1203);
  });

  it('refuses a fault on a route where it can never fire', async () => {
    const emulator = await start();
    expect(() => emulator.inject({ route: 'query', fault: { kind: 'truncate' } })).toThrow(/download/);
    expect(() => emulator.inject({ route: 'download', fault: { kind: 'reset-after-register' } })).toThrow(
      /create/,
    );
    expect(() =>
      emulator.inject({ route: 'query', fault: { kind: 'error-after-register', status: 502 } }),
    ).toThrow(/create/);
    expect(() => emulator.inject({ ...faults.reset(), times: 0 })).toThrow(/times/);
  });
});

describe('close()', () => {
  it('is prompt with an idle keep-alive connection open', async () => {
    const emulator = await start();
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      httpRequest(`${emulator.url}/nowhere`, { agent }, (response) => response.resume().on('end', resolve))
        .on('error', reject)
        .end();
    });
    const started = performance.now();
    await emulator.close();
    expect(performance.now() - started).toBeLessThan(500);
    agent.destroy();
  });

  it('is prompt while an answer is delayed, and can be called twice', async () => {
    const emulator = await start();
    emulator.inject(faults.delayed(10_000, 'query'));
    const pending = query(emulator, KLING, 'x').catch((error: unknown) => error);
    await sleep(20);
    const started = performance.now();
    await emulator.close();
    await emulator.close();
    expect(performance.now() - started).toBeLessThan(500);
    expect(await pending).toBeInstanceOf(Error);
  });
});

/** A GET with node:http that resolves at the headers, leaving the body to the caller. */
function openGet(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, resolve).on('error', reject).end();
  });
}

/** Resolves once `response` has delivered at least `bytes` body bytes (or ended), with the count. */
function receivedAtLeast(response: IncomingMessage, bytes: number, count: { received: number }) {
  return new Promise<void>((resolve) => {
    const check = () => {
      if (count.received >= bytes) resolve();
    };
    response.on('data', check);
    response.on('close', resolve);
    check();
  });
}

/** Counts a response's body bytes as they stream by. */
function counting(response: IncomingMessage): { received: number } {
  const count = { received: 0 };
  response.on('data', (chunk: Buffer) => (count.received += chunk.length));
  response.on('error', () => undefined); // an unfinished body is what is under test
  return count;
}

/**
 * A GET over a bare socket that reads into one reused buffer, so the client allocates (almost)
 * nothing and the process RSS shows what the server side costs. Counts the body bytes (de-chunked
 * when chunked), keeping the first 200 and the last 20.
 */
function readWithoutAllocating(
  url: string,
  headers: Record<string, string>,
): Promise<{ head: string; received: number; first: string; last: string; complete: boolean }> {
  const { hostname, port, pathname } = new URL(url);
  let head = '';
  let headDone = false;
  let chunked = false;
  let length = Infinity;
  let received = 0;
  let first = '';
  let last = '';
  // Chunked framing: the size line being read, the bytes left in the current chunk, CRLFs to skip.
  let sizeLine = '';
  let inChunk = 0;
  let skip = 0;
  let finished = false;
  const body = (bytes: Buffer) => {
    received += bytes.length;
    if (first.length < 200) first += bytes.subarray(0, 200 - first.length).toString('latin1');
    last = (last + bytes.subarray(-20).toString('latin1')).slice(-20);
  };
  const dechunk = (bytes: Buffer) => {
    let at = 0;
    while (at < bytes.length && !finished) {
      if (skip > 0) {
        const n = Math.min(skip, bytes.length - at);
        skip -= n;
        at += n;
      } else if (inChunk > 0) {
        const n = Math.min(inChunk, bytes.length - at);
        body(bytes.subarray(at, at + n));
        inChunk -= n;
        at += n;
        if (inChunk === 0) skip = 2;
      } else {
        sizeLine += String.fromCharCode(bytes[at]!);
        at += 1;
        if (sizeLine.endsWith('\r\n')) {
          inChunk = parseInt(sizeLine, 16);
          sizeLine = '';
          if (inChunk === 0) finished = true;
        }
      }
    }
  };
  const readBuffer = Buffer.alloc(64 * 1024);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      onread: {
        buffer: readBuffer,
        callback: (size) => {
          let bytes = readBuffer.subarray(0, size);
          if (!headDone) {
            head += bytes.toString('latin1');
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return true;
            headDone = true;
            bytes = bytes.subarray(bytes.length - (head.length - end - 4));
            head = head.slice(0, end + 4);
            chunked = /\r\ntransfer-encoding: chunked\r\n/i.test(head);
            length = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(head)?.[1] ?? Infinity);
          }
          if (chunked) dechunk(bytes);
          else body(bytes);
          return true;
        },
      },
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve({ head, received, first, last, complete: chunked ? finished : received === length });
    });
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${lines.join('')}\r\n`,
    );
  });
}

async function succeeded(emulator: KlingEmulator, root = COMET): Promise<string> {
  const id: string = (await create(emulator, root)).json.data.task_id;
  await pollStatuses(emulator, root, id);
  return id;
}

describe('hostile faults', () => {
  const MIB = 1024 * 1024;
  const authorized = { authorization: `Bearer ${API_KEY}` };

  it('hang reads the request and never answers, until the client gives up', async () => {
    const emulator = await start();
    emulator.inject(faults.hang('create'));
    const started = performance.now();
    const hung = fetch(`${emulator.url}${COMET}`, {
      method: 'POST',
      headers: { ...authorized, 'content-type': 'application/json' },
      body: JSON.stringify(VIDEO),
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow(/timeout|abort/i);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(emulator.tasks.size).toBe(0); // not handled: no task
    expect(emulator.requests[0]).toMatchObject({ route: 'create', status: 0, body: VIDEO });
    // Used up: the next request is answered.
    expect((await create(emulator, COMET)).status).toBe(200);
  });

  it('hang works on the query and download routes, `times` times', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = (await create(emulator, COMET)).json.data.task_id;
    emulator.inject(faults.hang('query', 2));
    emulator.inject(faults.hang('download'));
    const signal = () => AbortSignal.timeout(100);
    const queryUrl = `${emulator.url}${COMET}/${id}`;
    const fileUrl = `${emulator.url}/files/${id}/audio.mp3`;
    await expect(fetch(queryUrl, { headers: authorized, signal: signal() })).rejects.toThrow();
    await expect(fetch(queryUrl, { headers: authorized, signal: signal() })).rejects.toThrow();
    await expect(fetch(fileUrl, { signal: signal() })).rejects.toThrow();
    expect((await fetch(queryUrl, { headers: authorized })).status).toBe(200);
    expect((await fetch(fileUrl)).status).toBe(200);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 0, 0, 0, 200, 200]);
  });

  it('close() is prompt while requests hang', async () => {
    const emulator = await start();
    emulator.inject(faults.hang('query', Infinity));
    const pending = [1, 2, 3].map(() => query(emulator, KLING, 'x').catch((error: unknown) => error));
    await sleep(30);
    const started = performance.now();
    await emulator.close();
    expect(performance.now() - started).toBeLessThan(500);
    for (const outcome of await Promise.all(pending)) expect(outcome).toBeInstanceOf(Error);
  });

  it('trickleDownload announces the whole file at once, then sends it slowly, byte-exact', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = await succeeded(emulator);
    const mp3 = emulator.media(id).mp3;
    emulator.inject(faults.trickleDownload(20)); // 2 bytes every 100 ms

    const response = await openGet(`${emulator.url}/files/${id}/audio.mp3`);
    const headersAt = performance.now();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(mp3.length));
    const count = counting(response);
    // The headers come at once, the first bytes only an interval later, then a few at a time.
    const firstAt = await new Promise<number>((resolve) => {
      response.once('data', () => resolve(performance.now()));
    });
    expect(firstAt - headersAt).toBeGreaterThanOrEqual(50);
    expect(count.received).toBeLessThanOrEqual(6);
    await sleep(300);
    expect(count.received).toBeGreaterThan(2);
    expect(count.received).toBeLessThanOrEqual(20);
    expect(response.complete).toBe(false);
    response.destroy();

    // A fast trickle finishes with exactly the file, over the time its rate says.
    emulator.inject(faults.trickleDownload(mp3.length * 4));
    const fastStart = performance.now();
    const whole = await fetch(`${emulator.url}/files/${id}/audio.mp3`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(mp3)).toBe(true);
    expect(performance.now() - fastStart).toBeGreaterThanOrEqual(200);
    expect(faults.trickleDownload()).toEqual({
      route: 'download',
      fault: { kind: 'trickle', bytesPerSecond: 1 },
    });
    expect(() => faults.trickleDownload(0)).toThrow(/bytesPerSecond/);
  });

  it('stallDownload sends part of the body, then nothing, keeping the connection open', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = await succeeded(emulator);
    const wav = emulator.media(id).wav;
    emulator.inject(faults.stallDownload());
    emulator.inject(faults.stallDownload(1000));

    const half = await openGet(`${emulator.url}/files/${id}/audio.wav`);
    expect(half.headers['content-length']).toBe(String(wav.length));
    const halfCount = counting(half);
    await receivedAtLeast(half, Math.floor(wav.length / 2), halfCount);
    await sleep(150);
    expect(halfCount.received).toBe(Math.floor(wav.length / 2));
    expect(half.complete).toBe(false);
    expect(half.socket.destroyed).toBe(false);
    half.destroy();

    const some = await openGet(`${emulator.url}/files/${id}/audio.wav`);
    const someCount = counting(some);
    await receivedAtLeast(some, 1000, someCount);
    await sleep(50);
    expect(someCount.received).toBe(1000);
    const closed = new Promise((resolve) => some.on('close', resolve));
    const started = performance.now();
    await emulator.close();
    await closed;
    expect(performance.now() - started).toBeLessThan(500);
    expect(some.complete).toBe(false);
  });

  it.each([
    ['with a Content-Length', false],
    ['chunked', true],
  ])('hugeBody streams a 200 MiB JSON envelope %s, in little memory', async (_name, chunked) => {
    const emulator = await start();
    emulator.inject(faults.hugeBody('query', 200, { chunked }));
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 5);

    const response = await readWithoutAllocating(`${emulator.url}${KLING}/task-42`, authorized);
    clearInterval(sampler);

    expect(response.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response.head).toMatch(/\r\ncontent-type: application\/json\r\n/i);
    if (chunked) {
      expect(response.head).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
      expect(response.head).not.toMatch(/content-length/i);
    } else {
      expect(response.head).toMatch(new RegExp(`\r\ncontent-length: ${200 * MIB}\r\n`, 'i'));
    }
    const { received, first: head, last: tail } = response;
    expect(received).toBe(200 * MIB);
    expect(response.complete).toBe(true);
    expect(head).toMatch(
      /^\{"code":0,"message":"SUCCEED","request_id":"[\w-]+","data":\{"task_id":"task-42","task_status":"processing","padding":"x+/,
    );
    expect(tail).toBe(`${'x'.repeat(17)}"}}`);
    expect(rssPeak - rssBefore).toBeLessThan(50 * MIB);
    expect(emulator.requests[0]).toMatchObject({ route: 'query', status: 200 });
  });

  it('hugeBody is valid JSON of exactly the size asked, and creates no task', async () => {
    const emulator = await start();
    emulator.inject(faults.hugeBody('create', 1));
    emulator.inject(faults.hugeBody('create', 0.5, { chunked: true }));
    for (const size of [MIB, MIB / 2]) {
      const response = await fetch(`${emulator.url}${COMET}`, {
        method: 'POST',
        headers: authorized,
        body: JSON.stringify(VIDEO),
      });
      const text = await response.text();
      expect(Buffer.byteLength(text)).toBe(size);
      expect(JSON.parse(text)).toMatchObject({
        code: 0,
        message: 'SUCCEED',
        data: { task_id: expect.any(String), task_status: 'processing', padding: expect.any(String) },
      });
    }
    expect(emulator.tasks.size).toBe(0);
    expect(() => faults.hugeBody('query', 0)).toThrow(/megabytes/);
  });

  it('hugeBody waits for a client that does not read, and stops for one that leaves', async () => {
    const emulator = await start();
    emulator.inject(faults.hugeBody('query', 200));
    emulator.inject(faults.hugeBody('query', 200, { chunked: true }));
    const rssBefore = process.memoryUsage.rss();

    const stuck = await openGet(`${emulator.url}${KLING}/x`, authorized);
    stuck.pause();
    await sleep(200);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(50 * MIB);
    stuck.destroy();

    const leaving = await openGet(`${emulator.url}${KLING}/x`, authorized);
    const count = counting(leaving);
    await receivedAtLeast(leaving, MIB, count);
    leaving.destroy();
    await sleep(50);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(50 * MIB);
    // Nothing left running: the next query is answered normally, and close() is prompt.
    expect((await query(emulator, KLING, 'x')).status).toBe(404);
    const started = performance.now();
    await emulator.close();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('nullData answers 200 with code 0 and data null', async () => {
    const emulator = await start();
    emulator.inject(faults.nullData('create'));
    emulator.inject(faults.nullData('query'));
    const created = await create(emulator, COMET);
    expect([created.status, created.json]).toEqual([
      200,
      { code: 0, message: 'SUCCEED', request_id: expect.any(String), data: null },
    ]);
    expect((await query(emulator, KLING, 'x')).json.data).toBeNull();
    expect(emulator.tasks.size).toBe(0);
  });

  it('undocumentedStatus shows a task_status no document lists, on create, query and list', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    emulator.inject(faults.undocumentedStatus('create'));
    const created = await create(emulator, KLING);
    expect(created.json.data.task_status).toBe('queued_weird');
    const id = created.json.data.task_id;
    expect(emulator.tasks.has(id)).toBe(true);

    emulator.inject(faults.undocumentedStatus('query', 'PAUSED'));
    emulator.inject(faults.undocumentedStatus('query'));
    const queried = (await query(emulator, KLING, id)).json.data;
    expect(queried).toMatchObject({ task_id: id, task_status: 'PAUSED' });
    expect(queried.task_result.audios).toHaveLength(1); // still the succeeded task underneath
    const list = (await call(emulator, 'GET', KLING)).json.data as unknown as TaskData[];
    expect(list.map((t) => t.task_status)).toEqual(['queued_weird']);
    expect((await query(emulator, KLING, id)).json.data.task_status).toBe('succeed');
  });

  it('undocumentedStatus shows in the wrapped CometAPI shape too', async () => {
    const emulator = await start({ cometResponseShape: 'wrapped' });
    const id = (await create(emulator, COMET)).json.data.task_id;
    emulator.inject(faults.undocumentedStatus('query'));
    const { data } = (await query(emulator, COMET, id)).json;
    expect(data.status).toBe('queued_weird');
    expect(data.data.task_status).toBe('queued_weird');
  });

  it('anotherTask answers a query with another task of the account; `about` singles out one id', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const a = (await create(emulator, COMET)).json.data.task_id;
    const b = (await create(emulator, COMET, { video_url: 'https://example.com/b.mp4' })).json.data.task_id;
    // By default the newest other task; a query of b is answered with a.
    emulator.inject(faults.anotherTask('query'));
    expect((await query(emulator, COMET, b)).json.data.task_id).toBe(a);
    expect((await query(emulator, COMET, b)).json.data.task_id).toBe(b);
    // `about`: queries of other ids pass it by; the one about a takes it, and shows b.
    emulator.inject({ ...faults.anotherTask('query', { about: a, taskId: b }), times: 2 });
    expect((await query(emulator, COMET, b)).json.data.task_id).toBe(b);
    const shown = (await query(emulator, COMET, a)).json.data;
    expect(shown.task_id).toBe(b);
    expect(shown.task_result.audios[0]!.url_mp3).toContain(`/files/${b}/`);
    expect((await query(emulator, COMET, a)).json.data.task_id).toBe(b);
    expect((await query(emulator, COMET, a)).json.data.task_id).toBe(a);
  });

  it('anotherTask on create registers the task, and answers with another', async () => {
    const emulator = await start();
    const a = (await create(emulator, KLING, { ...VIDEO, external_task_id: 'ext-a' })).json.data.task_id;
    emulator.inject(faults.anotherTask('create'));
    const answer = await create(emulator, KLING, { ...VIDEO, external_task_id: 'ext-b' });
    expect(answer.json.data.task_id).toBe(a);
    expect(answer.json.data.task_info.external_task_id).toBe('ext-a');
    expect(emulator.tasks.size).toBe(2);
    const b = [...emulator.tasks.values()].find((t) => t.external_task_id === 'ext-b')!;
    expect((await query(emulator, KLING, 'ext-b')).json.data.task_id).toBe(b.task_id);
  });

  it('echoAuthorization quotes the Authorization header in either envelope, and creates nothing', async () => {
    const emulator = await start();
    emulator.inject(faults.echoAuthorization('cometapi'));
    const comet = await create(emulator, COMET);
    expect(comet.status).toBe(401);
    expect(comet.json.error.message).toMatch(
      new RegExp(`^Invalid token: Bearer ${API_KEY} \\(request id: \\w+\\)$`),
    );
    expect(comet.json.error.type).toBe('comet_api_error');

    const token = await jwt({});
    emulator.inject(
      faults.echoAuthorization('kling', {
        route: 'query',
        status: 500,
        code: 5000,
        message: 'Upstream failed for',
      }),
    );
    const kling = await query(emulator, KLING, 'any', `Bearer ${token}`);
    expect(kling.status).toBe(500);
    expect(kling.json).toMatchObject({ code: 5000, message: `Upstream failed for Bearer ${token}` });

    emulator.inject(faults.echoAuthorization('kling', { encoding: 'uri' }));
    const encoded = await create(emulator, KLING);
    expect(encoded.json).toMatchObject({
      code: 1002,
      message: `Authorization is invalid: Bearer%20${API_KEY}`,
    });
    expect(emulator.tasks.size).toBe(0);
  });

  it('refuses the new faults on routes where they can never fire', async () => {
    const emulator = await start();
    expect(() => emulator.inject({ route: 'query', fault: { kind: 'trickle', bytesPerSecond: 1 } })).toThrow(
      /'download' route/,
    );
    expect(() => emulator.inject({ route: 'create', fault: { kind: 'stall' } })).toThrow(/download/);
    expect(() => emulator.inject({ route: 'download', fault: { kind: 'huge-body', megabytes: 1 } })).toThrow(
      /'create' or 'query' route, not 'download'/,
    );
    expect(() =>
      emulator.inject({ route: 'download', fault: { kind: 'undocumented-status', status: 'x' } }),
    ).toThrow(/'create' or 'query'/);
    expect(() => emulator.inject({ route: 'download', fault: { kind: 'another-task' } })).toThrow(
      /'create' or 'query'/,
    );
  });
});

describe('hostile task ids', () => {
  const hostile = [
    ['a workflow command', 'abc\n::add-mask::x'],
    ['a path traversal', '../../etc'],
    ['a slash', 'a/b'],
    ['500 characters', 'k'.repeat(500)],
    ['URL syntax', 'id with spaces?x=1#frag%41'],
  ];

  it.each(hostile)('a chosen id (%s) is created, queried, listed and downloadable', async (_name, id) => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    emulator.setNextTaskId(id);
    const created = await create(emulator, KLING);
    expect(created.json.data.task_id).toBe(id);
    expect(emulator.tasks.get(id)).toMatchObject({ task_id: id, provider: 'kling' });

    const queried = await query(emulator, KLING, id);
    expect(queried.status).toBe(200);
    expect(queried.json.data).toMatchObject({ task_id: id, task_status: 'succeed' });
    const listed = (await call(emulator, 'GET', KLING)).json.data as unknown as TaskData[];
    expect(listed.map((t) => t.task_id)).toEqual([id]);

    const url = queried.json.data.task_result.audios[0]!.url_mp3;
    expect(url).toBe(`${emulator.url}/files/${encodeURIComponent(id)}/audio.mp3`);
    const file = await fetch(url);
    expect(Buffer.from(await file.arrayBuffer()).equals(emulator.media(id).mp3)).toBe(true);
  });

  it('goes to the next tasks in order, then ids are generated again; a taken id is refused', async () => {
    const emulator = await start();
    emulator.setNextTaskId('first');
    emulator.setNextTaskId('second');
    expect(() => emulator.setNextTaskId('first')).toThrow(/taken/);
    const ids = [];
    for (let n = 0; n < 3; n += 1) ids.push((await create(emulator, COMET)).json.data.task_id);
    expect(ids.slice(0, 2)).toEqual(['first', 'second']);
    expect(ids[2]).toMatch(/^\d{18}$/);
    expect(() => emulator.setNextTaskId('second')).toThrow(/taken/);
  });
});

describe('foreign result URLs', () => {
  const foreign = {
    mp3: 'file:///etc/passwd',
    wav: 'data:audio/wav;base64,AAAA',
    mp4: 'http://169.254.169.254/latest/meta-data/',
  };

  it('setResultUrls chooses what a succeeded task shows, given its id and the defaults', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const calls: [string, unknown][] = [];
    emulator.setResultUrls((taskId, defaults) => {
      calls.push([taskId, defaults]);
      return foreign;
    });
    const id = await succeeded(emulator);
    const { task_result } = (await query(emulator, COMET, id)).json.data;
    expect(task_result.audios[0]).toMatchObject({ url_mp3: foreign.mp3, url_wav: foreign.wav });
    expect(task_result.videos[0]!.url).toBe(foreign.mp4);
    const files = `${emulator.url}/files/${id}`;
    expect(calls.at(-1)).toEqual([
      id,
      { mp3: `${files}/audio.mp3`, wav: `${files}/audio.wav`, mp4: `${files}/video.mp4` },
    ]);

    emulator.setResultUrls(undefined);
    expect((await query(emulator, COMET, id)).json.data.task_result.audios[0]!.url_mp3).toBe(
      `${files}/audio.mp3`,
    );
  });

  it.each([
    'ftp://x/a.mp3',
    'http://[fd00:ec2::254]/',
    'https://example.invalid/a.mp3',
    'data:audio/mpeg;base64,AAAA',
  ])('the resultUrls option shows %s, in both query shapes and the list', async (url) => {
    const emulator = await start({
      timeline: { submittedMs: 0, processingMs: 0 },
      cometResponseShape: 'wrapped',
      resultUrls: (_id, defaults) => ({ ...defaults, mp3: url }),
    });
    const kling = await succeeded(emulator, KLING);
    expect((await query(emulator, KLING, kling)).json.data.task_result.audios[0]!.url_mp3).toBe(url);
    const listed = (await call(emulator, 'GET', KLING)).json.data as unknown as TaskData[];
    expect(listed[0]!.task_result.audios[0]!.url_mp3).toBe(url);
    const comet = (await create(emulator, COMET)).json.data.task_id;
    await sleep(5);
    expect((await query(emulator, COMET, comet)).json.data.data.task_result.audios[0]!.url_mp3).toBe(url);
  });

  it('a failure message with newlines and workflow commands is sent verbatim', async () => {
    const failMessage = 'bad input\n::error::owned\r\n::add-mask::%0A\u001b[31m';
    const emulator = await start({
      timeline: { submittedMs: 0, processingMs: 0, outcome: 'failed', failMessage },
      cometResponseShape: 'wrapped',
    });
    const kling = (await create(emulator, KLING)).json.data.task_id;
    expect((await query(emulator, KLING, kling)).json.data.task_status_msg).toBe(failMessage);
    const comet = (await create(emulator, COMET)).json.data.task_id;
    const wrapped = (await query(emulator, COMET, comet)).json.data;
    expect(wrapped.fail_reason).toBe(failMessage);
    expect(wrapped.data.task_status_msg).toBe(failMessage);
  });

  it('records the credentials a download carried, so a leak to a result host shows', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const id = await succeeded(emulator);
    const url = `${emulator.url}/files/${id}/audio.mp3`;
    await (await fetch(url, { headers: { authorization: 'Bearer leaked', 'x-api-key': 'k' } })).arrayBuffer();
    await (await fetch(url)).arrayBuffer();
    const downloads = emulator.requests.filter((r) => r.route === 'download');
    expect(downloads.map((r) => r.authorization)).toEqual(['Bearer leaked', undefined]);
    expect(downloads[0]!.headers['x-api-key']).toBe('k');
    expect(downloads[1]!.headers).not.toHaveProperty('authorization');
  });
});

describe('account concurrency limit', () => {
  const refusal = {
    code: 1303,
    message: 'parallel task over resource pack limit',
    request_id: expect.any(String),
  };
  const NEVER: Partial<Timeline> = { submittedMs: 30, outcome: 'never' };

  /** Queries until the task has ended: from then on its slot is free, by the same timeline. */
  async function untilEnded(emulator: KlingEmulator, id: string): Promise<void> {
    const { seen } = await pollStatuses(emulator, COMET, id);
    expect(seen.at(-1)).toBe('succeed');
  }

  it('refuses a create over the limit with 429 code 1303 and no task, until a running task ends', async () => {
    const emulator = await start({ accountConcurrency: 2, timeline: { submittedMs: 30, processingMs: 170 } });
    const ending = (await create(emulator, COMET)).json.data.task_id;
    emulator.setTimeline(NEVER);
    expect((await create(emulator, COMET)).status).toBe(200);

    const refused = await create(emulator, COMET, { ...VIDEO, external_task_id: 'over' });
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual(refusal);
    expect(emulator.tasks.size).toBe(2);
    expect(emulator.concurrencyRefusals).toBe(1);
    expect(emulator.requests.at(-1)).toMatchObject({ route: 'create', status: 429 });

    await untilEnded(emulator, ending);
    const again = await create(emulator, COMET, { ...VIDEO, external_task_id: 'over' });
    expect(again.status).toBe(200);
    expect(emulator.tasks.size).toBe(3);
    expect((await create(emulator, COMET)).status).toBe(429);
    expect(emulator.concurrencyRefusals).toBe(2);
    expect(emulator.peakConcurrency).toBe(2);
  });

  it('is shared by both route families and every key, and counts tasks created before it was set', async () => {
    const emulator = await start({ timeline: NEVER });
    const bearer = `Bearer ${API_KEY}`;
    expect((await create(emulator, COMET, VIDEO, bearer)).status).toBe(200);
    expect((await create(emulator, KLING, VIDEO, `Bearer ${await jwt({})}`)).status).toBe(200);

    emulator.setAccountConcurrency(3);
    expect((await create(emulator, KLING, VIDEO, bearer)).status).toBe(200);
    for (const [root, auth] of [
      [COMET, bearer],
      [KLING, bearer],
      [KLING, `Bearer ${await jwt({})}`],
    ] as const) {
      const answer = await create(emulator, root, VIDEO, auth);
      expect(answer.status).toBe(429);
      expect(answer.json).toEqual(refusal);
    }
    expect(emulator.tasks.size).toBe(3);

    emulator.setAccountConcurrency(undefined);
    expect((await create(emulator, COMET)).status).toBe(200);
    expect(emulator.concurrencyRefusals).toBe(3);
    expect(emulator.peakConcurrency).toBe(4);
  });

  it('counts slots other users occupy, for as long as they hold them, but not in peakConcurrency', async () => {
    const emulator = await start({ accountConcurrency: 2, timeline: NEVER });
    emulator.occupySlots(1, 120);
    expect((await create(emulator, COMET)).status).toBe(200);
    expect((await create(emulator, COMET)).status).toBe(429);
    await sleep(130);
    expect((await create(emulator, COMET)).status).toBe(200);

    emulator.setAccountConcurrency(4);
    const release = emulator.occupySlots(2, Infinity);
    expect((await create(emulator, KLING)).status).toBe(429);
    release();
    expect((await create(emulator, KLING)).status).toBe(200);
    expect(emulator.peakConcurrency).toBe(3);
    expect(emulator.concurrencyRefusals).toBe(2);
  });

  it('refuses a limit or slots that are not whole numbers', async () => {
    const emulator = await start();
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => emulator.setAccountConcurrency(bad)).toThrow(RangeError);
    }
    expect(() => emulator.occupySlots(0, 10)).toThrow(RangeError);
    expect(() => emulator.occupySlots(1, -1)).toThrow(RangeError);
    await expect(start({ accountConcurrency: -2 })).rejects.toThrow(RangeError);

    emulator.setAccountConcurrency(0);
    expect((await create(emulator, COMET)).json).toEqual(refusal);
    emulator.setAccountConcurrency(Infinity);
    expect((await create(emulator, COMET)).status).toBe(200);
  });

  it('works peakConcurrency out from the timelines: tasks one after another never overlap', async () => {
    const emulator = await start({ timeline: { submittedMs: 10, processingMs: 20 } });
    expect(emulator.peakConcurrency).toBe(0);
    for (let i = 0; i < 3; i += 1)
      await untilEnded(emulator, (await create(emulator, COMET)).json.data.task_id);
    expect(emulator.peakConcurrency).toBe(1);

    emulator.setTimeline({ outcome: 'never' });
    await Promise.all([create(emulator, COMET), create(emulator, KLING), create(emulator, COMET)]);
    expect(emulator.peakConcurrency).toBe(3);
    // A task that ends the moment it starts never runs.
    emulator.setTimeline({ submittedMs: 0, processingMs: 0, outcome: 'succeed' });
    expect((await create(emulator, COMET)).status).toBe(200);
    expect(emulator.peakConcurrency).toBe(3);
  });

  it('lets exactly `limit` of many simultaneous creates through', async () => {
    const emulator = await start({ accountConcurrency: 2, timeline: NEVER });
    const answers = await Promise.all(Array.from({ length: 5 }, () => create(emulator, COMET)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429, 429, 429]);
    expect(emulator.tasks.size).toBe(2);
    expect(emulator.concurrencyRefusals).toBe(3);
    expect(emulator.peakConcurrency).toBe(2);

    // Signed JWTs are checked asynchronously: mixed in, they still cannot share the last slot.
    emulator.setAccountConcurrency(5);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => jwt({})));
    const mixed = await Promise.all([
      ...tokens.map((token) => create(emulator, KLING, VIDEO, `Bearer ${token}`)),
      ...Array.from({ length: 5 }, () => create(emulator, COMET)),
    ]);
    expect(mixed.filter((a) => a.status === 200)).toHaveLength(3);
    expect(mixed.filter((a) => a.status === 429 && a.json.code === 1303)).toHaveLength(7);
    expect(emulator.tasks.size).toBe(5);
    expect(emulator.peakConcurrency).toBe(5);
    expect(emulator.concurrencyRefusals).toBe(10);
  });
});

describe('fetching video_url, as Kling does', () => {
  const stores: ObjectStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  async function storeWith(key: string, body: Buffer): Promise<ObjectStore> {
    const store = await ObjectStore.start();
    stores.push(store);
    store.seed('staging', key, body, 'video/mp4');
    return store;
  }

  async function taskEnd(emulator: KlingEmulator, taskId: string) {
    await emulator.videoFetched(taskId);
    return (await pollStatuses(emulator, COMET, taskId)).answer.json.data;
  }

  it('fetches a presigned loopback URL when the task is created; the task succeeds once it has the video', async () => {
    const store = await storeWith('v/clip.mp4', makeMp4({ seconds: 5 }));
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const url = store.presign({ method: 'GET', bucket: 'staging', key: 'v/clip.mp4', expiresSeconds: 600 });
    const taskId = (await create(emulator, COMET, { video_url: url })).json.data.task_id;
    expect((await taskEnd(emulator, taskId)).task_status).toBe('succeed');
    expect(emulator.videoFetches).toEqual([
      expect.objectContaining({
        taskId,
        url,
        state: 'fetched',
        status: 200,
        bytes: store.object('staging', 'v/clip.mp4')!.body.length,
      }),
    ]);
    expect(store.requests).toEqual([expect.objectContaining({ method: 'GET', auth: 'query', status: 200 })]);
  });

  it('holds the task out of a terminal status while the video is still downloading', async () => {
    const store = await storeWith('slow.mp4', makeMp4({ seconds: 5, mdatBytes: 4000 }));
    store.inject({ operation: 'get', fault: { kind: 'slow-body', bytesPerSecond: 8_000 } });
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const url = store.presign({ method: 'GET', bucket: 'staging', key: 'slow.mp4', expiresSeconds: 600 });
    const taskId = (await create(emulator, COMET, { video_url: url })).json.data.task_id;
    expect((await query(emulator, COMET, taskId)).json.data.task_status).toBe('processing');
    expect((await taskEnd(emulator, taskId)).task_status).toBe('succeed');
  });

  it.each([
    ['an expired presigned URL (403)', 'expired', /HTTP 403/, 'AccessDenied'],
    ['a tampered signature (403)', 'tampered', /HTTP 403/, 'SignatureDoesNotMatch'],
    ['a missing object (404)', 'missing', /HTTP 404/, 'NoSuchKey'],
    ['a file that is not a video', 'html', /not supported: only MP4 and MOV/, undefined],
  ])('fails the task for %s, with the reason in task_status_msg', async (_name, kind, reason, code) => {
    const store = await storeWith('clip.mp4', kind === 'html' ? htmlPage() : makeMp4({ seconds: 5 }));
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    let url = store.presign({
      method: 'GET',
      bucket: 'staging',
      // A 404 needs s3:ListBucket (the default key has it); without it S3 answers 403.
      key: kind === 'missing' ? 'other.mp4' : 'clip.mp4',
      expiresSeconds: 60,
      ...(kind === 'expired' ? { atMs: store.now() - 61_000 } : {}),
    });
    if (kind === 'tampered')
      url = url.replace(/X-Amz-Signature=(.)/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    const taskId = (await create(emulator, COMET, { video_url: url })).json.data.task_id;
    const data = await taskEnd(emulator, taskId);
    expect(data.task_status).toBe('failed');
    expect(data.task_status_msg).toMatch(reason);
    expect(data.task_result).toEqual({});
    expect(store.requests.map((r) => r.code)).toEqual([code]);
  });

  it('fails a video over 100 MB: by its Content-Length, or once more than that has arrived', async () => {
    const head = makeMp4({ seconds: 5 }).subarray(0, 64);
    const host = createServer((request, response) => {
      if (request.url === '/declared.mp4') {
        // Announces 100 MB + 1 and sends only the start: judged by the header alone.
        response.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': 100_000_001 });
        response.write(head);
        return;
      }
      // No length announced: 100 MB + 1 streamed, from one shared chunk.
      response.writeHead(200, { 'Content-Type': 'video/mp4' });
      const chunk = Buffer.alloc(1_000_000);
      head.copy(chunk);
      let sent = 0;
      const pump = () => {
        while (sent < 100 && response.write(chunk)) sent += 1;
        if (sent >= 100) response.end(Buffer.alloc(1));
        else response.once('drain', pump);
      };
      pump();
    });
    host.listen(0, '127.0.0.1');
    await once(host, 'listening');
    try {
      const base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
      const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
      for (const name of ['declared.mp4', 'streamed.mp4']) {
        const taskId = (await create(emulator, COMET, { video_url: `${base}/${name}` })).json.data.task_id;
        expect((await taskEnd(emulator, taskId)).task_status_msg, name).toBe(
          'Video file is larger than 100MB',
        );
      }
    } finally {
      host.closeAllConnections();
      host.close();
    }
  });

  it('fails the task when nothing listens at the URL', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const taskId = (await create(emulator, COMET, { video_url: 'http://127.0.0.1:1/clip.mp4' })).json.data
      .task_id;
    expect((await taskEnd(emulator, taskId)).task_status_msg).toMatch(/^Video download failed/);
  });

  it('makes the result audio and video as long as the video it fetched, as Kling does', async () => {
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    for (const [seconds, layout] of [
      [3, 'moov-first'],
      [20, 'moov-last'],
    ] as const) {
      const key = `clip-${seconds}.mp4`;
      const store = await storeWith(key, buildVideo({ seconds, layout, brand: 'qt  ' }));
      const url = store.presign({ method: 'GET', bucket: 'staging', key, expiresSeconds: 600 });
      const taskId = (await create(emulator, COMET, { video_url: url })).json.data.task_id;
      const data = await taskEnd(emulator, taskId);
      expect(emulator.videoFetches.find((f) => f.taskId === taskId)?.seconds).toBe(seconds);
      expect(data.task_result.audios[0]).toMatchObject({
        duration_wav: seconds.toFixed(3),
        duration_mp3: mp3DurationSeconds(seconds).toFixed(3),
      });
      const media = emulator.media(taskId);
      expect(media.wav.length).toBe(44 + seconds * 8000 * 2);
      const tracks = readMovieRecord(media.mp4).tracks;
      expect(tracks.map((t) => t.handler)).toEqual(['vide', 'soun']);
      expect(tracks[0]!.mediaDuration / tracks[0]!.timescale).toBe(seconds);
      // AAC frames of 1024 samples: the last one ends within a frame past the picture.
      expect(tracks[1]!.mediaDuration / tracks[1]!.timescale - seconds).toBeLessThan(1024 / 48_000);
    }
    // Without a fetched video (or one it cannot read), audioSeconds still decides.
    const other = (await create(emulator, COMET, VIDEO)).json.data.task_id;
    expect((await taskEnd(emulator, other)).task_result.audios[0]!.duration_wav).toBe('5.000');
  });

  it('never fetches other hosts (tests have no network), nor anything when set off', async () => {
    const store = await storeWith('clip.mp4', htmlPage());
    const emulator = await start({ timeline: { submittedMs: 0, processingMs: 0 } });
    const foreign = (await create(emulator, COMET, VIDEO)).json.data.task_id;
    expect((await taskEnd(emulator, foreign)).task_status).toBe('succeed');
    emulator.setVideoFetch('off');
    const url = store.presign({ method: 'GET', bucket: 'staging', key: 'clip.mp4', expiresSeconds: 60 });
    const local = (await create(emulator, COMET, { video_url: url })).json.data.task_id;
    expect((await taskEnd(emulator, local)).task_status).toBe('succeed');
    expect(emulator.videoFetches).toEqual([]);
    expect(store.requests).toEqual([]);
  });
});
