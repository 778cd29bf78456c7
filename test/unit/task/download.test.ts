import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import nock from 'nock';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ForwardProxy } from '../../emulator/forward-proxy.ts';
import {
  DownloadError,
  downloadFile,
  sniffMedia,
  type DownloadContext,
  type DownloadLimits,
} from '../../../src/task/download.ts';
import {
  MissingResultError,
  planDownloads,
  safeFileStem,
  type PlannedFile,
} from '../../../src/task/files.ts';
import type { FetchLike } from '../../../src/net/http.ts';
import {
  fakeRetryContext,
  rejectionOf,
  mp3Bytes,
  mp4Bytes,
  succeededTask,
  useNockWithLoopbackOnly,
  wavBytes,
  type FakeRetryContext,
} from '../../support/fakes.ts';

const OUT = path.resolve('/work/out');

describe('planDownloads', () => {
  const t = succeededTask({ taskId: '861254119619698760' });

  it('plans the mp3 only by default', () => {
    expect(planDownloads(t, 'mp3', false, OUT)).toEqual([
      {
        role: 'audio',
        kind: 'mp3',
        url: 'https://cdn.example.com/a.mp3',
        path: path.join(OUT, '861254119619698760.mp3'),
      },
    ]);
  });

  it('plans the wav for audio_format wav', () => {
    expect(planDownloads(t, 'wav', false, OUT)).toEqual([
      {
        role: 'audio',
        kind: 'wav',
        url: 'https://cdn.example.com/a.wav',
        path: path.join(OUT, '861254119619698760.wav'),
      },
    ]);
  });

  it('plans mp3 then wav for both', () => {
    expect(planDownloads(t, 'both', false, OUT).map((f) => [f.kind, path.basename(f.path)])).toEqual([
      ['mp3', '861254119619698760.mp3'],
      ['wav', '861254119619698760.wav'],
    ]);
  });

  it('adds the video with include_video', () => {
    const files = planDownloads(t, 'mp3', true, OUT);
    expect(files.map((f) => [f.role, f.kind])).toEqual([
      ['audio', 'mp3'],
      ['video', 'mp4'],
    ]);
    expect(files[1]).toMatchObject({
      url: 'https://cdn.example.com/v.mp4',
      path: path.join(OUT, '861254119619698760.mp4'),
    });
  });

  it.each(['../../etc/passwd', '..', '/abs/path', 'a\\b', '.hidden', 'x/../../y', ''])(
    'keeps a file named from the task id %j inside output_dir',
    (taskId) => {
      const [file] = planDownloads(succeededTask({ taskId }), 'mp3', false, OUT);
      expect(path.dirname(file!.path)).toBe(OUT);
      expect(path.basename(file!.path)).not.toMatch(/^\./);
      expect(path.basename(file!.path)).toMatch(/^[A-Za-z0-9._-]+\.mp3$/);
    },
  );

  it('makes ../ safe', () => {
    expect(safeFileStem('../x')).toBe('__x');
    expect(safeFileStem('')).toBe('task');
  });

  it('says clearly when url_wav is missing (the step, not the plan, names the input to change)', () => {
    const noWav = succeededTask({ audio: { wavUrl: undefined } });
    const error = (() => {
      try {
        planDownloads(noWav, 'wav', false, OUT);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MissingResultError);
    expect((error as MissingResultError).kind).toBe('wav');
    expect((error as MissingResultError).message).toBe('Task task-1 succeeded but returned no url_wav.');
    expect(() => planDownloads(noWav, 'both', false, OUT)).toThrow(/no url_wav/);
    expect(() => planDownloads(noWav, 'mp3', false, OUT)).not.toThrow();
  });

  it('says when the task returned no audio at all', () => {
    expect(() => planDownloads(succeededTask({ audios: [] }), 'mp3', false, OUT)).toThrow(
      /no url_mp3 \(task_result\.audios is empty\)/,
    );
  });

  it('says when include_video finds no video', () => {
    const plan = () => planDownloads(succeededTask({ video: null }), 'mp3', true, OUT);
    expect(plan).toThrow(MissingResultError);
    expect(plan).toThrow(
      /^Task task-1 succeeded but returned no .*video \(task_result\.videos is empty\)\.$/,
    );
  });

  // Known src bug (src/task/files.ts, MissingResultError): the field "a video" after "no" reads
  // "returned no a video". Drop `.fails` once the wording is fixed.
  it('says "returned no video", in plain words', () => {
    expect(() => planDownloads(succeededTask({ video: null }), 'mp3', true, OUT)).toThrow(
      /returned no video \(task_result\.videos is empty\)/,
    );
  });
});

describe('sniffMedia', () => {
  it.each([
    ['an MPEG audio frame header', mp3Bytes(64), 'mp3'],
    ['an ID3 tag', Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), 'mp3'],
    ['RIFF/WAVE', wavBytes(64), 'wav'],
    ['an ftyp box', mp4Bytes(64), 'mp4'],
    ['an HTML page', Buffer.from('\n  <!DOCTYPE html><html><head>'), 'html'],
    ['an XML error', Buffer.from('<?xml version="1.0"?><Error><Code>AccessDenied</Code>'), 'html'],
    ['a JSON error', Buffer.from(' {"code":1203}'), 'json'],
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), 'unknown'],
    ['RIFF/AVI (not WAVE)', Buffer.from('RIFF\x00\x00\x00\x00AVI LIST', 'latin1'), 'unknown'],
    ['nothing', Buffer.alloc(0), 'unknown'],
    ['a lone 0xff', Buffer.from([0xff]), 'unknown'],
  ])('reads %s', (_label, head, kind) => {
    expect(sniffMedia(head)).toBe(kind);
  });
});

// ---- downloadFile against a real local server (and nock, for hosts that must never be reached) ----

useNockWithLoopbackOnly();

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

let server: http.Server;
let origin = '';
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const n = (hits.get(url) ?? 0) + 1;
    hits.set(url, n);
    const handler = routes.get(url);
    if (handler) handler(req, res, n);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let dir = '';
beforeEach(async () => {
  routes.clear();
  hits.clear();
  dir = await mkdtemp(path.join(os.tmpdir(), 'kling-dl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function serve(body: Buffer, headers: http.OutgoingHttpHeaders = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length, ...headers });
    res.end(body);
  };
}

function planned(kind: PlannedFile['kind'], route: string): PlannedFile {
  return {
    role: kind === 'mp4' ? 'video' : 'audio',
    kind,
    url: `${origin}${route}`,
    path: path.join(dir, 'nested', `task-1.${kind}`),
  };
}

/** Small enough that no test waits long on a real timer; none of them fires in a healthy exchange. */
const LIMITS: DownloadLimits = {
  maxBytes: 10 * 1024 * 1024,
  attempts: 3,
  attemptTimeoutMs: 5_000,
  stallMs: 5_000,
  maxRedirects: 5,
};

interface FetchCall {
  url: string;
  init: RequestInit;
}

type TestContext = DownloadContext & FakeRetryContext & { calls: FetchCall[] };

/**
 * A download context on the fake clock (retries do not wait) with an hour to the deadline; every
 * fetch it makes is recorded in `calls`. Real time only bounds attempts (limits above).
 */
function context(
  overrides: Partial<Omit<DownloadContext, 'limits' | 'clock' | 'sleep' | 'log'>> & {
    limits?: Partial<DownloadLimits>;
    /** The deadline this far after the fake clock's now. */
    deadlineInMs?: number;
  } = {},
): TestContext {
  const { limits, deadlineInMs, fetch: inner, ...rest } = overrides;
  const base = fakeRetryContext();
  const calls: FetchCall[] = [];
  const send: FetchLike = inner ?? ((input, init) => fetch(input, init));
  return {
    ...base,
    deadlineMs: base.clock.now() + (deadlineInMs ?? 3_600_000),
    allowHttp: true,
    limits: { ...LIMITS, ...limits },
    ...rest,
    calls,
    fetch: (input, init) => {
      calls.push({ url: input, init });
      return send(input, init);
    },
  };
}

const downloadError = (promise: Promise<unknown>) => rejectionOf(promise, DownloadError);

/** Nothing left behind: no final file and no `.part`. */
async function expectNothingWritten(file: PlannedFile) {
  expect(existsSync(file.path)).toBe(false);
  expect(existsSync(`${file.path}.part`)).toBe(false);
  const folder = path.dirname(file.path);
  if (existsSync(folder)) expect(await readdir(folder)).toEqual([]);
}

describe('downloadFile', () => {
  it('does not retry when the proxy refuses the connection, and says what to check', async () => {
    routes.set('/p.mp3', serve(mp3Bytes(1_000)));
    const proxy = await ForwardProxy.start();
    const agent = new ProxyAgent(proxy.url);
    try {
      proxy.refuseWith = 407;
      const file = planned('mp3', '/p.mp3');
      const opts = context({
        // undici's fetch, as the action uses (src/action.ts), through a proxy agent of the same copy.
        fetch: ((input: string, init: object) =>
          undiciFetch(input, { ...init, dispatcher: agent })) as unknown as FetchLike,
      });
      const error = await downloadError(downloadFile(file, opts));
      expect(error.message).toMatch(/the proxy refused the connection \(.*Proxy response \(407\)/);
      expect(error.message).toMatch(/HTTPS_PROXY.*NO_PROXY/);
      expect(proxy.requests).toHaveLength(1);
      expect(hits.get('/p.mp3') ?? 0).toBe(0);
      expect(opts.sleep.delays).toEqual([]);
      await expectNothingWritten(file);
    } finally {
      await agent.close();
      await proxy.close();
    }
  });

  it('writes exactly the served bytes, creating the folder, with no .part left', async () => {
    const body = mp3Bytes(70_000);
    routes.set('/a.mp3', serve(body));
    const file = planned('mp3', '/a.mp3');
    const done = await downloadFile(file, context());
    expect(done).toEqual({ ...file, bytes: body.length });
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
  });

  it('fails, never crashes, when the file cannot be opened for writing', async () => {
    routes.set('/long.mp3', serve(mp3Bytes(1_000)));
    const file = { ...planned('mp3', '/long.mp3'), path: path.join(dir, 'nested', `${'a'.repeat(300)}.mp3`) };
    const error = await downloadError(downloadFile(file, context()));
    expect(error.message).toMatch(/failed: it could not be written to a{300}\.mp3\.part \(ENAMETOOLONG\)$/);
    expect(hits.get('/long.mp3')).toBe(1); // not retried: the next attempt would fail the same way
  });

  it('downloads wav and mp4 by their magic bytes', async () => {
    routes.set('/a.wav', serve(wavBytes(5_000), { 'Content-Type': 'audio/wav' }));
    routes.set('/v.mp4', serve(mp4Bytes(5_000), { 'Content-Type': 'video/mp4' }));
    expect((await downloadFile(planned('wav', '/a.wav'), context())).bytes).toBe(5_000);
    expect((await downloadFile(planned('mp4', '/v.mp4'), context())).bytes).toBe(5_000);
  });

  it('retries after the body is cut short of its Content-Length, then completes', async () => {
    const body = mp3Bytes(50_000);
    routes.set('/cut.mp3', (_req, res, n) => {
      if (n > 1) return serve(body)(_req, res, n);
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length });
      res.write(body.subarray(0, 20_000), () => res.destroy());
    });
    const file = planned('mp3', '/cut.mp3');
    const o = context();
    const done = await downloadFile(file, o);
    expect(done.bytes).toBe(body.length);
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(hits.get('/cut.mp3')).toBe(2);
    expect(o.sleep.delays).toHaveLength(1);
    expect(o.log.lines.find((l) => l.level === 'warning')?.transient).toBe(true);
    expect(o.log.at('warning')[0]).toMatch(
      /^Download of the mp3 file for task-1\.mp3: .+; retrying in 1s \(attempt 2 of 3\)\.$/,
    );
    expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
  });

  describe('resuming a body cut short (HTTP Range)', () => {
    const ETAG = '"v1-abc"';

    /**
     * Serves `body` with an ETag and honours `Range` + `If-Range` as a CDN does; the first `cuts`
     * answers stop after `cutAt` bytes of what they send. Records each request's Range header.
     */
    function rangeServer(body: Buffer, options: { cuts?: number; cutAt?: number; etag?: () => string } = {}) {
      const ranges: (string | undefined)[] = [];
      const handler: Handler = (req, res, n) => {
        const etag = options.etag?.() ?? ETAG;
        ranges.push(req.headers.range);
        const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const from = match && req.headers['if-range'] === etag ? Number(match[1]) : 0;
        const rest = body.subarray(from);
        const headers = { 'Content-Type': 'audio/mpeg', 'Content-Length': rest.length, ETag: etag };
        if (from > 0)
          res.writeHead(206, {
            ...headers,
            'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}`,
          });
        else res.writeHead(200, headers);
        if (n <= (options.cuts ?? 1))
          res.write(rest.subarray(0, options.cutAt ?? 20_000), () => res.destroy());
        else res.end(rest);
      };
      return { handler, ranges };
    }

    it('asks only for the rest, appends it, and the file is exact', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body);
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      const o = context();
      expect((await downloadFile(file, o)).bytes).toBe(body.length);
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=20000-']);
      expect(o.log.at('warning')[0]).toMatch(
        /: .+; resuming after 20000 bytes; retrying in 1s \(attempt 2 of 3\)\.$/,
      );
      expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
    });

    it('resumes more than once, each time from where the last attempt stopped', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body, { cuts: 2, cutAt: 15_000 });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadFile(file, context());
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=15000-', 'bytes=30000-']);
    });

    it('starts over when the file changed meanwhile (If-Range no longer matches: 200)', async () => {
      const body = mp3Bytes(50_000);
      let version = 0;
      const server = rangeServer(body, { etag: () => `"v${version++}"` });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadFile(file, context());
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=20000-']);
    });

    it('starts over when the server ignores Range, without doubling the bytes', async () => {
      const body = mp3Bytes(50_000);
      routes.set('/r.mp3', (_req, res, n) => {
        res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length, ETag: ETAG });
        if (n === 1) res.write(body.subarray(0, 20_000), () => res.destroy());
        else res.end(body);
      });
      const file = planned('mp3', '/r.mp3');
      expect((await downloadFile(file, context())).bytes).toBe(body.length);
      expect((await readFile(file.path)).equals(body)).toBe(true);
    });

    it('does not append a 206 that does not continue the file; the next attempt starts over', async () => {
      const body = mp3Bytes(50_000);
      const ranges: (string | undefined)[] = [];
      routes.set('/r.mp3', (req, res, n) => {
        ranges.push(req.headers.range);
        if (n === 1) {
          res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length, ETag: ETAG });
          res.write(body.subarray(0, 20_000), () => res.destroy());
        } else if (n === 2) {
          res.writeHead(206, {
            'Content-Range': `bytes 0-99/${body.length}`,
            'Content-Length': 100,
            ETag: ETAG,
          });
          res.end(body.subarray(0, 100));
        } else serve(body, { ETag: ETAG })(req, res, n);
      });
      const file = planned('mp3', '/r.mp3');
      const o = context();
      await downloadFile(file, o);
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(ranges).toEqual([undefined, 'bytes=20000-', undefined]);
      expect(o.log.at('warning')[1]).toMatch(/a byte range that does not continue the file/);
    });

    it('keeps the part through a 503, then resumes', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body);
      routes.set('/r.mp3', (req, res, n) => {
        if (n === 2) {
          server.ranges.push(req.headers.range);
          res.writeHead(503).end();
        } else server.handler(req, res, n === 3 ? 2 : n);
      });
      const file = planned('mp3', '/r.mp3');
      await downloadFile(file, context());
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=20000-', 'bytes=20000-']);
    });

    it('without a validator (no ETag or Last-Modified) it never sends Range', async () => {
      const body = mp3Bytes(50_000);
      const ranges: (string | undefined)[] = [];
      routes.set('/r.mp3', (req, res, n) => {
        ranges.push(req.headers.range);
        res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length });
        if (n === 1) res.write(body.subarray(0, 20_000), () => res.destroy());
        else res.end(body);
      });
      await downloadFile(planned('mp3', '/r.mp3'), context());
      expect(ranges).toEqual([undefined, undefined]);
    });

    it('removes the kept part when it finally gives up', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body, { cuts: 5, cutAt: 5_000 });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadError(downloadFile(file, context({ limits: { attempts: 2 } })));
      expect(server.ranges).toEqual([undefined, 'bytes=5000-']);
      await expectNothingWritten(file);
    });

    it('removes the kept part when cancelled between attempts', async () => {
      const body = mp3Bytes(50_000);
      routes.set('/r.mp3', rangeServer(body).handler);
      const file = planned('mp3', '/r.mp3');
      const controller = new AbortController();
      const o = context();
      const reason = new Error('cancelled');
      const cancelling: DownloadContext = {
        ...o,
        signal: controller.signal,
        sleep: (ms, signal) => {
          controller.abort(reason);
          return o.sleep(ms, signal);
        },
      };
      await expect(downloadFile(file, cancelling)).rejects.toBe(reason);
      await expectNothingWritten(file);
    });
  });

  it('leaves no .part and no file when every attempt is cut short', async () => {
    const body = mp3Bytes(50_000);
    routes.set('/cut.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length });
      res.write(body.subarray(0, 10_000), () => res.destroy());
    });
    const file = planned('mp3', '/cut.mp3');
    const error = await downloadError(downloadFile(file, context({ limits: { attempts: 2 } })));
    expect(error.message).toMatch(/^Download of the mp3 file for task-1\.mp3 failed: /);
    expect(hits.get('/cut.mp3')).toBe(2);
    await expectNothingWritten(file);
  });

  it('follows a redirect to the CDN', async () => {
    const body = mp3Bytes(3_000);
    routes.set('/signed.mp3', (_req, res) => {
      res.writeHead(302, { Location: '/cdn/real.mp3' }).end();
    });
    routes.set('/cdn/real.mp3', serve(body));
    const file = planned('mp3', '/signed.mp3');
    await downloadFile(file, context());
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(hits.get('/cdn/real.mp3')).toBe(1);
  });

  it('rejects an HTML error page served as text/html, and does not retry it', async () => {
    routes.set(
      '/a.mp3',
      serve(Buffer.from('<html><body>Access denied</body></html>'), {
        'Content-Type': 'text/html; charset=utf-8',
      }),
    );
    const file = planned('mp3', '/a.mp3');
    const o = context();
    const error = await downloadError(downloadFile(file, o));
    expect(error.message).toContain('the server sent text/html instead of mp3 media (an error page?)');
    expect(hits.get('/a.mp3')).toBe(1);
    expect(o.sleep.delays).toEqual([]);
    await expectNothingWritten(file);
  });

  it('rejects an HTML page served with a media type, by sniffing it', async () => {
    routes.set(
      '/a.mp3',
      serve(Buffer.from('<!DOCTYPE html><html>login</html>'), {
        'Content-Type': 'application/octet-stream',
      }),
    );
    const file = planned('mp3', '/a.mp3');
    const error = await downloadError(downloadFile(file, context()));
    expect(error.message).toContain('an HTML page instead of mp3 media');
    expect(hits.get('/a.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('keeps an unexpected binary (a wav where an mp3 was expected) and warns', async () => {
    const bytes = wavBytes(2_000);
    routes.set('/a.mp3', serve(bytes));
    const file = planned('mp3', '/a.mp3');
    const opts = context();
    await downloadFile(file, opts);
    expect((await readFile(file.path)).equals(bytes)).toBe(true);
    expect(opts.log.at('warning').join('\n')).toContain('does not look like mp3 media (it looks like wav)');
    // Not a passing problem: it must keep its annotation.
    expect(opts.log.lines.filter((l) => l.level === 'warning').some((l) => l.transient)).toBe(false);
  });

  it('rejects a JSON document served as audio, without retrying', async () => {
    routes.set(
      '/j.mp3',
      serve(Buffer.from('{"error":"expired"}'), { 'Content-Type': 'application/octet-stream' }),
    );
    const file = planned('mp3', '/j.mp3');
    const error = await downloadError(downloadFile(file, context()));
    expect(error.message).toContain('a JSON document instead of mp3 media');
    expect(hits.get('/j.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('enforces maxBytes from Content-Length before reading the body', async () => {
    routes.set('/big.mp3', serve(mp3Bytes(4_096)));
    const file = planned('mp3', '/big.mp3');
    const error = await downloadError(downloadFile(file, context({ limits: { maxBytes: 1_000 } })));
    expect(error.message).toContain('it is 4096 bytes, over the 1000-byte cap');
    expect(hits.get('/big.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('enforces maxBytes mid-stream when there is no Content-Length', async () => {
    const body = mp3Bytes(8_192);
    routes.set('/chunked.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg' }); // chunked
      for (let i = 0; i < body.length; i += 1_024) res.write(body.subarray(i, i + 1_024));
      res.end();
    });
    const file = planned('mp3', '/chunked.mp3');
    const error = await downloadError(downloadFile(file, context({ limits: { maxBytes: 3_000 } })));
    expect(error.message).toContain('it exceeded the 3000-byte cap');
    expect(hits.get('/chunked.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('accepts a chunked body within the cap', async () => {
    const body = mp3Bytes(8_192);
    routes.set('/chunked.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg' });
      for (let i = 0; i < body.length; i += 1_000) res.write(body.subarray(i, i + 1_000));
      res.end();
    });
    const file = planned('mp3', '/chunked.mp3');
    expect((await downloadFile(file, context({ limits: { maxBytes: 8_192 } }))).bytes).toBe(8_192);
    expect((await readFile(file.path)).equals(body)).toBe(true);
  });

  it('retries a 503 and then succeeds', async () => {
    const body = mp3Bytes(1_500);
    routes.set('/a.mp3', (req, res, n) => {
      if (n === 1) res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
      else serve(body)(req, res, n);
    });
    const file = planned('mp3', '/a.mp3');
    const o = context();
    await downloadFile(file, o);
    expect(hits.get('/a.mp3')).toBe(2);
    expect(o.sleep.delays).toEqual([1_000]);
    expect(o.log.at('warning')[0]).toContain('the server answered HTTP 503');
  });

  it('gives up after limits.attempts answers of 503', async () => {
    routes.set('/a.mp3', (_req, res) => res.writeHead(503).end());
    const file = planned('mp3', '/a.mp3');
    const error = await downloadError(downloadFile(file, context({ limits: { attempts: 3 } })));
    expect(error.message).toContain('HTTP 503');
    expect(error.retryable).toBe(false);
    expect(hits.get('/a.mp3')).toBe(3);
  });

  it('does not retry a 404, and explains that results expire after 30 days', async () => {
    routes.set('/gone.mp3', (_req, res) => res.writeHead(404).end());
    const file = planned('mp3', '/gone.mp3');
    const error = await downloadError(downloadFile(file, context()));
    expect(error.message).toContain('HTTP 404 (Kling clears result files after 30 days)');
    expect(hits.get('/gone.mp3')).toBe(1);
  });

  it('names a source video as such: no result-file hint on its 404, no warning for a MOV that opens without ftyp', async () => {
    routes.set('/gone.mp4', (_req, res) => res.writeHead(404).end());
    const gone: PlannedFile = { ...planned('mp4', '/gone.mp4'), role: 'source' };
    const error = await downloadError(downloadFile(gone, context()));
    expect(error.message).toBe(
      `Download of the source video ${path.basename(gone.path)} failed: the server answered HTTP 404`,
    );
    // QuickTime files written before ftyp existed start with another box.
    const mov = Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.from('wide'), Buffer.alloc(2_000)]);
    routes.set('/old.mov', serve(mov));
    const source: PlannedFile = { ...planned('mp4', '/old.mov'), role: 'source' };
    const opts = context();
    await downloadFile(source, opts);
    expect((await readFile(source.path)).equals(mov)).toBe(true);
    expect(opts.log.at('warning')).toEqual([]);
  });

  it('retries an empty 200 body', async () => {
    const body = mp3Bytes(500);
    routes.set('/a.mp3', (req, res, n) => {
      if (n === 1) res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': 0 }).end();
      else serve(body)(req, res, n);
    });
    await downloadFile(planned('mp3', '/a.mp3'), context());
    expect(hits.get('/a.mp3')).toBe(2);
  });

  it('saves a gzip-encoded response decoded, not mistaking it for a truncated body', async () => {
    const body = wavBytes(40_000);
    const gz = gzipSync(body);
    routes.set('/a.wav', (_req, res) => {
      res.writeHead(200, {
        'Content-Type': 'audio/wav',
        'Content-Encoding': 'gzip',
        'Content-Length': gz.length,
      });
      res.end(gz);
    });
    const file = planned('wav', '/a.wav');
    const done = await downloadFile(file, context());
    expect(done.bytes).toBe(body.length);
    expect((await readFile(file.path)).equals(body)).toBe(true);
  });

  it('rethrows the abort reason when the step is cancelled', async () => {
    routes.set('/slow.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': 10_000 });
      res.write(mp3Bytes(1_000));
    });
    const controller = new AbortController();
    const reason = new Error('cancelled by SIGINT');
    const file = planned('mp3', '/slow.mp3');
    // Cancelled mid-body: as soon as the answer's headers are in, whenever that is.
    const cancelOnAnswer: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      controller.abort(reason);
      return response;
    };
    const c = context({ signal: controller.signal, fetch: cancelOnAnswer });
    await expect(downloadFile(file, c)).rejects.toBe(reason);
    expect(hits.get('/slow.mp3')).toBe(1);
    await expectNothingWritten(file);
  });
});

describe('downloadFile: which URLs it fetches', () => {
  /** The media a nock-served CDN answers with. */
  const mp3 = mp3Bytes(2_000);
  const nockFile = (url: string): PlannedFile => ({
    role: 'audio',
    kind: 'mp3',
    url,
    path: path.join(dir, 'nested', 'task-1.mp3'),
  });

  it.each([
    ['file', 'file:///etc/passwd'],
    ['data', 'data:audio/mpeg;base64,//uUxAAAAAAA'],
    ['ftp', 'ftp://cdn.example.com/a.mp3'],
    ['javascript', 'javascript:alert(1)'],
  ])('refuses a %s: result URL at once, naming the scheme, with no request made', async (scheme, url) => {
    const cdn = nock('https://cdn.example.com').get(/.*/).reply(200, mp3);
    const file = nockFile(url);
    const c = context();
    const error = await downloadError(downloadFile(file, c));
    expect(error.message).toMatch(
      new RegExp(
        `^Download of the mp3 file for task-1\\.mp3 refused: .*\\b${scheme}: scheme; only https result URLs are fetched`,
      ),
    );
    expect(error.retryable).toBe(false);
    expect(error.deadline).toBe(false);
    expect(c.calls).toEqual([]);
    expect(cdn.isDone()).toBe(false);
    expect(c.sleep.delays).toEqual([]);
    expect(c.log.lines).toEqual([]);
    await expectNothingWritten(file);
  });

  it('refuses an http: result URL unless http is allowed (the API itself on loopback)', async () => {
    const url = 'http://cdn.example.com/a.mp3';
    const cdn = nock('http://cdn.example.com').get('/a.mp3').reply(200, mp3);
    const refused = context({ allowHttp: false });
    const error = await downloadError(downloadFile(nockFile(url), refused));
    expect(error.message).toMatch(/refused: .*\bhttp: scheme; only https result URLs are fetched/);
    expect(refused.calls).toEqual([]);
    expect(cdn.isDone()).toBe(false);
    await expectNothingWritten(nockFile(url));

    const allowed = context({ allowHttp: true });
    expect((await downloadFile(nockFile(url), allowed)).bytes).toBe(mp3.length);
    expect(cdn.isDone()).toBe(true);
  });

  it('fetches an https result URL with http refused', async () => {
    const cdn = nock('https://cdn.example.com')
      .get('/a.mp3')
      .reply(200, mp3, { 'Content-Type': 'audio/mpeg' });
    const file = nockFile('https://cdn.example.com/a.mp3');
    expect(await downloadFile(file, context({ allowHttp: false }))).toEqual({ ...file, bytes: mp3.length });
    expect(cdn.isDone()).toBe(true);
    expect((await readFile(file.path)).equals(mp3)).toBe(true);
  });

  it.each([
    [
      'the IPv4 metadata address',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      '169.254.169.254',
    ],
    ['the IPv4 metadata address over https', 'https://169.254.169.254/latest/api/token', '169.254.169.254'],
    ['the EC2 IPv6 metadata address', 'http://[fd00:ec2::254]/', 'fd00:ec2::254'],
    ['another link-local address', 'http://169.254.1.1/a.mp3', '169.254.1.1'],
    ['an IPv6 link-local address', 'https://[fe80::1]/a.mp3', 'fe80::1'],
    [
      'the GCP metadata name',
      'http://metadata.google.internal/computeMetadata/v1/',
      'metadata.google.internal',
    ],
  ])('refuses %s even with http allowed, with no request made', async (_label, url, host) => {
    const metadata = nock('http://169.254.169.254').get(/.*/).reply(200, mp3);
    const file = nockFile(url);
    const c = context({ allowHttp: true });
    const error = await downloadError(downloadFile(file, c));
    expect(error.message).toContain(`refused: `);
    expect(error.message).toContain(`link-local or cloud metadata address (${host})`);
    expect(c.calls).toEqual([]);
    expect(metadata.isDone()).toBe(false);
    expect(c.sleep.delays).toEqual([]);
    await expectNothingWritten(file);
  });

  it('refuses a URL that does not parse', async () => {
    const c = context();
    const error = await downloadError(downloadFile(nockFile('/relative/a.mp3'), c));
    expect(error.message).toContain('refused: ');
    expect(error.message).toContain('not an absolute URL');
    expect(c.calls).toEqual([]);
  });

  it('checks every redirect hop: a 302 to the metadata address is refused without following it', async () => {
    const cdn = nock('https://cdn.example.com')
      .get('/signed.mp3')
      .reply(302, '', { Location: 'http://169.254.169.254/latest/meta-data/' });
    const metadata = nock('http://169.254.169.254').get(/.*/).reply(200, mp3);
    const file = nockFile('https://cdn.example.com/signed.mp3');
    const c = context({ allowHttp: true });
    const error = await downloadError(downloadFile(file, c));
    expect(error.message).toMatch(
      /^Download of the mp3 file for task-1\.mp3 failed: it redirected to a refused URL \(that .*link-local or cloud metadata address \(169\.254\.169\.254\)/,
    );
    expect(error.retryable).toBe(false);
    expect(cdn.isDone()).toBe(true);
    expect(metadata.isDone()).toBe(false);
    expect(c.calls.map((call) => call.url)).toEqual(['https://cdn.example.com/signed.mp3']);
    expect(c.sleep.delays).toEqual([]);
    await expectNothingWritten(file);
  });

  it('refuses a redirect from https down to http when http is not allowed', async () => {
    nock('https://cdn.example.com')
      .get('/signed.mp3')
      .reply(301, '', { Location: 'http://cdn.example.com/a.mp3' });
    const plain = nock('http://cdn.example.com').get('/a.mp3').reply(200, mp3);
    const c = context({ allowHttp: false });
    const error = await downloadError(downloadFile(nockFile('https://cdn.example.com/signed.mp3'), c));
    expect(error.message).toMatch(/it redirected to a refused URL \(that .*\bhttp: scheme/);
    expect(plain.isDone()).toBe(false);
    expect(c.calls).toHaveLength(1);
  });

  it('refuses a redirect to a file: URL (relative to a local server)', async () => {
    routes.set('/to-file.mp3', (_req, res) => res.writeHead(302, { Location: 'file:///etc/passwd' }).end());
    const file = planned('mp3', '/to-file.mp3');
    const c = context();
    const error = await downloadError(downloadFile(file, c));
    expect(error.message).toMatch(/it redirected to a refused URL \(that .*\bfile: scheme/);
    expect(hits.get('/to-file.mp3')).toBe(1);
    expect(c.calls).toHaveLength(1);
    await expectNothingWritten(file);
  });

  it('follows a redirect across hosts over https, each hop fetched by hand (redirect: manual)', async () => {
    nock('https://api.example.com')
      .get('/result/a.mp3')
      .reply(302, '', { Location: 'https://cdn.example.net/signed/a.mp3?sig=1' });
    const cdn = nock('https://cdn.example.net')
      .get('/signed/a.mp3')
      .query({ sig: '1' })
      .reply(200, mp3, { 'Content-Type': 'audio/mpeg' });
    const file = nockFile('https://api.example.com/result/a.mp3');
    const c = context({ allowHttp: false });
    expect((await downloadFile(file, c)).bytes).toBe(mp3.length);
    expect(cdn.isDone()).toBe(true);
    expect(c.calls.map((call) => [call.url, call.init.redirect])).toEqual([
      ['https://api.example.com/result/a.mp3', 'manual'],
      ['https://cdn.example.net/signed/a.mp3?sig=1', 'manual'],
    ]);
  });

  describe('more redirects than maxRedirects', () => {
    /** /hop/<n> redirects to /hop/<n+1> until <n> reaches `last`, which serves the file. */
    function hops(last: number, body: Buffer) {
      for (let n = 0; n <= last; n++)
        routes.set(
          `/hop/${n}`,
          n === last ? serve(body) : (_req, res) => res.writeHead(302, { Location: `/hop/${n + 1}` }).end(),
        );
    }

    it('follows exactly maxRedirects of them', async () => {
      const body = mp3Bytes(1_000);
      hops(2, body);
      const file = planned('mp3', '/hop/0');
      const c = context({ limits: { maxRedirects: 2 } });
      expect((await downloadFile(file, c)).bytes).toBe(body.length);
      expect(c.calls).toHaveLength(3);
    });

    it('fails on one more, without retrying and without fetching it', async () => {
      hops(3, mp3Bytes(1_000));
      const file = planned('mp3', '/hop/0');
      const c = context({ limits: { maxRedirects: 2 } });
      const error = await downloadError(downloadFile(file, c));
      expect(error.message).toBe(
        'Download of the mp3 file for task-1.mp3 failed: it redirected more than 2 times',
      );
      expect(c.calls.map((call) => new URL(call.url).pathname)).toEqual(['/hop/0', '/hop/1', '/hop/2']);
      expect(hits.get('/hop/3')).toBeUndefined();
      expect(c.sleep.delays).toEqual([]);
      await expectNothingWritten(file);
    });

    it('stops a redirect loop', async () => {
      routes.set('/loop', (_req, res) => res.writeHead(307, { Location: '/loop' }).end());
      const c = context({ limits: { maxRedirects: 5 } });
      const error = await downloadError(downloadFile(planned('mp3', '/loop'), c));
      expect(error.message).toContain('it redirected more than 5 times');
      expect(hits.get('/loop')).toBe(6);
    });
  });
});

describe('downloadFile: stalls, attempt timeouts and the deadline (real sockets, tiny timers)', () => {
  const ETAG = '"strong-1"';

  /**
   * The first answer sends `half` bytes of `body` and then stops writing, keeping the connection
   * open; later ones honour Range + If-Range. Records each request's Range header.
   */
  function stallingServer(body: Buffer, half: number, headers: http.OutgoingHttpHeaders = {}) {
    const ranges: (string | undefined)[] = [];
    const handler: Handler = (req, res, n) => {
      ranges.push(req.headers.range);
      const etag = headers['ETag'];
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = match && etag !== undefined && req.headers['if-range'] === etag ? Number(match[1]) : 0;
      const rest = body.subarray(from);
      const common = { 'Content-Type': 'audio/mpeg', 'Content-Length': rest.length, ...headers };
      if (from > 0)
        res.writeHead(206, { ...common, 'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}` });
      else res.writeHead(200, common);
      if (n === 1) res.write(body.subarray(0, half));
      else res.end(rest);
    };
    return { handler, ranges };
  }

  it('abandons a stalled body after stallMs and resumes with Range (strong ETag)', async () => {
    const body = mp3Bytes(50_000);
    const server = stallingServer(body, 25_000, { ETag: ETAG });
    routes.set('/stall.mp3', server.handler);
    const file = planned('mp3', '/stall.mp3');
    const c = context({ limits: { stallMs: 200 } });
    const started = performance.now();
    expect((await downloadFile(file, c)).bytes).toBe(body.length);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(server.ranges).toEqual([undefined, 'bytes=25000-']);
    expect(c.calls[1]?.init.headers).toMatchObject({ Range: 'bytes=25000-', 'If-Range': ETAG });
    expect(c.log.at('warning')).toHaveLength(1);
    expect(c.log.at('warning')[0]).toMatch(
      /^Download of the mp3 file for task-1\.mp3: no data arrived for .+; resuming after 25000 bytes; retrying in 1s \(attempt 2 of 3\)\.$/,
    );
    expect(c.sleep.delays).toEqual([1_000]);
    expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
  });

  it('starts over after a stall when the ETag is weak (it cannot vouch for the same bytes)', async () => {
    const body = mp3Bytes(50_000);
    const server = stallingServer(body, 25_000, { ETag: 'W/"weak-1"' });
    routes.set('/stall.mp3', server.handler);
    const file = planned('mp3', '/stall.mp3');
    const c = context({ limits: { stallMs: 200 } });
    expect((await downloadFile(file, c)).bytes).toBe(body.length);
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(server.ranges).toEqual([undefined, undefined]);
    expect(c.log.at('warning')[0]).toMatch(/no data arrived for .+; retrying in 1s \(attempt 2 of 3\)\.$/);
    expect(c.log.at('warning')[0]).not.toContain('resuming');
  });

  it('abandons a server that never answers the headers after stallMs, and retries', async () => {
    const body = mp3Bytes(5_000);
    routes.set('/silent.mp3', (req, res, n) => {
      if (n > 1) serve(body)(req, res, n);
    });
    const file = planned('mp3', '/silent.mp3');
    const c = context({ limits: { stallMs: 200 } });
    expect((await downloadFile(file, c)).bytes).toBe(body.length);
    expect(hits.get('/silent.mp3')).toBe(2);
    expect(c.log.at('warning')[0]).toMatch(/no data arrived for /);
  });

  it('gives up after the attempts when every answer stalls, leaving nothing behind', async () => {
    routes.set('/stuck.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': 50_000, ETag: ETAG });
      res.write(mp3Bytes(10_000));
    });
    const file = planned('mp3', '/stuck.mp3');
    const c = context({ limits: { stallMs: 100, attempts: 2 } });
    const error = await downloadError(downloadFile(file, c));
    expect(error.message).toMatch(/^Download of the mp3 file for task-1\.mp3 failed: no data arrived for /);
    expect(error.deadline).toBe(false);
    expect(hits.get('/stuck.mp3')).toBe(2);
    await expectNothingWritten(file);
  });

  it('abandons an attempt that trickles past attemptTimeoutMs, and retries it', async () => {
    const body = mp3Bytes(20_000);
    routes.set('/trickle.mp3', (req, res, n) => {
      if (n > 1) return serve(body)(req, res, n);
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length });
      let sent = 0;
      const timer = setInterval(() => res.write(body.subarray(sent, (sent += 10))), 20);
      res.on('close', () => clearInterval(timer));
    });
    const file = planned('mp3', '/trickle.mp3');
    const c = context({ limits: { attemptTimeoutMs: 200, stallMs: 1_000 } });
    expect((await downloadFile(file, c)).bytes).toBe(body.length);
    expect(hits.get('/trickle.mp3')).toBe(2);
    expect(c.log.at('warning')[0]).toMatch(/: it did not complete within .+; retrying in 1s/);
  });

  it("stops an attempt at the step's deadline: deadline === true, not retried, nothing kept", async () => {
    routes.set('/late.mp3', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': 50_000, ETag: ETAG });
      res.write(mp3Bytes(10_000));
    });
    const file = planned('mp3', '/late.mp3');
    // The deadline, on the step's clock, comes long before the attempt's own limits.
    const c = context({ deadlineInMs: 150, limits: { attemptTimeoutMs: 5_000, stallMs: 5_000 } });
    const started = performance.now();
    const error = await downloadError(downloadFile(file, c));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.deadline).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      "Download of the mp3 file for task-1.mp3 failed: it did not complete before the step's deadline",
    );
    expect(hits.get('/late.mp3')).toBe(1);
    expect(c.sleep.delays).toEqual([]);
    expect(c.log.at('warning')).toEqual([]);
    await expectNothingWritten(file);
  });

  it('does not retry when the next try would start after the deadline', async () => {
    routes.set('/busy.mp3', (_req, res) => res.writeHead(503).end());
    // The first retry waits 1 s: past a deadline 500 ms away.
    const c = context({ deadlineInMs: 500 });
    const error = await downloadError(downloadFile(planned('mp3', '/busy.mp3'), c));
    expect(error.message).toContain('HTTP 503');
    expect(hits.get('/busy.mp3')).toBe(1);
    expect(c.sleep.delays).toEqual([]);
  });
});

describe('downloadFile: credentials', () => {
  const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'api-key'];

  it('never sends an Authorization or other credential header, on any hop or retry', async () => {
    const body = mp3Bytes(50_000);
    const seen: http.IncomingHttpHeaders[] = [];
    routes.set('/result.mp3', (req, res) => {
      seen.push(req.headers);
      res.writeHead(302, { Location: '/cdn/result.mp3' }).end();
    });
    routes.set('/cdn/result.mp3', (req, res, n) => {
      seen.push(req.headers);
      const resumed = req.headers.range === 'bytes=20000-';
      res.writeHead(resumed ? 206 : 200, {
        'Content-Type': 'audio/mpeg',
        'Content-Length': resumed ? 30_000 : body.length,
        ETag: '"c1"',
        ...(resumed ? { 'Content-Range': `bytes 20000-49999/${body.length}` } : {}),
      });
      if (n === 1) res.write(body.subarray(0, 20_000), () => res.destroy());
      else res.end(body.subarray(resumed ? 20_000 : 0));
    });
    const file = planned('mp3', '/result.mp3');
    const c = context();
    await downloadFile(file, c);
    expect((await readFile(file.path)).equals(body)).toBe(true);
    // Two attempts, each a redirect and the file; the second resumed.
    expect(seen).toHaveLength(4);
    expect(seen[3]?.range).toBe('bytes=20000-');
    for (const headers of seen) for (const name of CREDENTIAL_HEADERS) expect(headers[name]).toBeUndefined();
    for (const call of c.calls) {
      expect(Object.keys(call.init.headers ?? {}).sort()).toEqual(
        call === c.calls[0] || call === c.calls[1]
          ? ['Accept-Encoding']
          : ['Accept-Encoding', 'If-Range', 'Range'],
      );
      expect(call.init.credentials).toBeUndefined();
    }
  });

  it('sends no credential header to a nock CDN either', async () => {
    const cdn = nock('https://cdn.example.com', { badheaders: CREDENTIAL_HEADERS })
      .get('/a.mp3')
      .reply(200, mp3Bytes(1_000));
    await downloadFile(
      { role: 'audio', kind: 'mp3', url: 'https://cdn.example.com/a.mp3', path: path.join(dir, 'a.mp3') },
      context({ allowHttp: false }),
    );
    expect(cdn.isDone()).toBe(true);
  });
});
