// Preflight on the built action: a source that cannot work fails before any task is paid for; a host
// that will not answer the check only warns. The videos are real MP4/MOV files served from loopback.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { htmlPage, makeMp4, webmHead } from '../support/mp4.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
let host: Server;
let hostUrl: string;
const files = new Map<string, { body: Buffer; type: string }>();
const hits: { method: string; path: string; range?: string }[] = [];

beforeEach(async () => {
  // What the runner asks of the host is under test here: the emulator does not fetch the videos as
  // Kling would (that is tested in kling-emulator.test.ts), so `hits` holds the runner's requests only.
  world = await startWorld({ videoFetch: 'off' });
  files.clear();
  hits.length = 0;
  host = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.push({
      method: request.method ?? 'GET',
      path,
      ...(request.headers.range ? { range: request.headers.range } : {}),
    });
    const file = files.get(path);
    if (!file) return void response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    const to = range && range[2] ? Math.min(Number(range[2]), file.body.length - 1) : file.body.length - 1;
    const headers = { 'Content-Type': file.type, 'Accept-Ranges': 'bytes', 'Content-Length': to - from + 1 };
    if (range)
      response.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${to}/${file.body.length}` });
    else response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : file.body.subarray(from, to + 1));
  });
  host.listen(0, '127.0.0.1');
  await once(host, 'listening');
  hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
});
afterEach(async () => {
  host.closeAllConnections();
  host.close();
  await world.close();
});

const serve = (path: string, body: Buffer, type = 'video/mp4') => {
  files.set(path, { body, type });
  return `${hostUrl}${path}`;
};

describe('preflight (on by default)', () => {
  it('a workable MP4 passes and the task is created; moov at the end is read by Range, never the whole file', async () => {
    const video = makeMp4({ seconds: 6, layout: 'moov-last', mdatBytes: 2 * 1024 * 1024 });
    const url = serve('/ok.mp4', video);
    const run = await world.run({ video_url: url, preflight: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/Checked the video .*MP4, 6\.0 s, 1280×720/);
    expect(world.kling.tasks.size).toBe(1);
    expect(hits.every((h) => h.method === 'HEAD' || h.range !== undefined)).toBe(true);
  });

  it('a video longer than 20 s fails with the figure and the limit, and no task is created', async () => {
    const url = serve('/long.mp4', makeMp4({ seconds: 25 }));
    const run = await world.run({ video_url: url, preflight: 'true' });
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(/25(\.0)? s; Kling accepts 3–20 s/);
    expect(errorMessage(run)).toMatch(/No task was created/);
    expect(routeRequests(world.kling, 'create')).toHaveLength(0);
  });

  it('a 404, an HTML page or a WebM fails before any create', async () => {
    const missing = `${hostUrl}/missing.mp4`;
    const page = serve('/page.mp4', htmlPage(), 'text/html');
    const webm = serve('/clip.mp4', webmHead(), 'application/octet-stream');
    for (const url of [missing, page, webm]) {
      const run = await world.run({ video_url: url, preflight: 'true' });
      expect(run.code, url).toBe(1);
      expect(errorMessage(run)).toMatch(/cannot work/);
    }
    expect(routeRequests(world.kling, 'create')).toHaveLength(0);
  });

  it('in a batch, an unworkable entry gets no task and the others go ahead; the step fails naming it', async () => {
    const good = serve('/good.mp4', makeMp4({ seconds: 5 }));
    const bad = serve('/short.mp4', makeMp4({ seconds: 2 }));
    const run = await world.run({ videos: `${good}\n${bad}`, preflight: 'true' });
    expect(run.code).toBe(1);
    expect(world.kling.tasks.size).toBe(1);
    const results = JSON.parse(run.outputs.results!) as {
      source: string;
      task_id: string | null;
      error?: string;
    }[];
    expect(results[0]!.task_id).toBeTruthy();
    expect(results[1]).toMatchObject({ source: bad, task_id: null });
    expect(results[1]!.error).toMatch(/2(\.0)? s; Kling accepts 3–20 s/);
  });

  it('a host that will not answer the check (403) warns, and the create goes ahead', async () => {
    const forbidding = createServer((_request, response) => response.writeHead(403).end());
    forbidding.listen(0, '127.0.0.1');
    await once(forbidding, 'listening');
    try {
      const url = `http://127.0.0.1:${(forbidding.address() as AddressInfo).port}/private.mp4`;
      const run = await world.run({ video_url: url, preflight: 'true' });
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toMatch(/::warning::Could not check the video/);
      expect(world.kling.tasks.size).toBe(1);
    } finally {
      forbidding.close();
    }
  });

  it('preflight: false skips the check', async () => {
    const run = await world.run({ video_url: `${hostUrl}/missing.mp4`, preflight: 'false' });
    expect(run.code, run.stdout).toBe(0);
    expect(hits).toHaveLength(0);
  });
});
