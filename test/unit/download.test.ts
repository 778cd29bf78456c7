import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ProxyAgent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ForwardProxy } from '../emulator/forward-proxy.ts';
import {
  DownloadError,
  downloadFile,
  planDownloads,
  safeFileStem,
  sniffMedia,
  type DownloadOptions,
  type PlannedFile,
} from '../../src/download.ts';
import {
  fakeRetryContext,
  rejectionOf,
  mp3Bytes,
  mp4Bytes,
  succeededTask,
  wavBytes,
  type FakeRetryContext,
} from './fakes.ts';

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

  it('says clearly when url_wav is missing, and what to do', () => {
    const noWav = succeededTask({ audio: { wavUrl: undefined } });
    expect(() => planDownloads(noWav, 'wav', false, OUT)).toThrow(
      /Task task-1 succeeded but returned no url_wav; try audio_format: mp3\./,
    );
    expect(() => planDownloads(noWav, 'both', false, OUT)).toThrow(/no url_wav/);
  });

  it('says when the task returned no audio at all', () => {
    expect(() => planDownloads(succeededTask({ audios: [] }), 'mp3', false, OUT)).toThrow(
      /no url_mp3 \(task_result\.audios is empty\)/,
    );
  });

  it('says when include_video finds no video', () => {
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

// ---- downloadFile against a real local server ----

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

function options(
  overrides: Partial<Omit<DownloadOptions, 'sleep' | 'log' | 'clock'>> = {},
): DownloadOptions & FakeRetryContext {
  return {
    ...fakeRetryContext(),
    fetch: (input: string, init: RequestInit) => fetch(input, init),
    maxBytes: 10 * 1024 * 1024,
    maxAttempts: 3,
    attemptTimeoutMs: 5_000,
    ...overrides,
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
      const opts = options({
        fetch: (input, init) => fetch(input, { ...init, dispatcher: agent }),
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
    const done = await downloadFile(file, options());
    expect(done).toEqual({ ...file, bytes: body.length });
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
  });

  it('downloads wav and mp4 by their magic bytes', async () => {
    routes.set('/a.wav', serve(wavBytes(5_000), { 'Content-Type': 'audio/wav' }));
    routes.set('/v.mp4', serve(mp4Bytes(5_000), { 'Content-Type': 'video/mp4' }));
    expect((await downloadFile(planned('wav', '/a.wav'), options())).bytes).toBe(5_000);
    expect((await downloadFile(planned('mp4', '/v.mp4'), options())).bytes).toBe(5_000);
  });

  it('retries after the body is cut short of its Content-Length, then completes', async () => {
    const body = mp3Bytes(50_000);
    routes.set('/cut.mp3', (_req, res, n) => {
      if (n > 1) return serve(body)(_req, res, n);
      res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': body.length });
      res.write(body.subarray(0, 20_000), () => res.destroy());
    });
    const file = planned('mp3', '/cut.mp3');
    const o = options();
    const done = await downloadFile(file, o);
    expect(done.bytes).toBe(body.length);
    expect((await readFile(file.path)).equals(body)).toBe(true);
    expect(hits.get('/cut.mp3')).toBe(2);
    expect(o.sleep.delays).toHaveLength(1);
    expect(o.log.lines.find((l) => l.level === 'warning')?.transient).toBe(true);
    expect(o.log.at('warning')[0]).toMatch(
      /^Download of the mp3 file for task-1\.mp3: .*; retrying in 1s\.$/,
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
      const o = options();
      expect((await downloadFile(file, o)).bytes).toBe(body.length);
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=20000-']);
      expect(o.log.at('warning')[0]).toMatch(/retrying in 1s \(resuming after 20000 bytes\)\.$/);
      expect(await readdir(path.dirname(file.path))).toEqual(['task-1.mp3']);
    });

    it('resumes more than once, each time from where the last attempt stopped', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body, { cuts: 2, cutAt: 15_000 });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadFile(file, options());
      expect((await readFile(file.path)).equals(body)).toBe(true);
      expect(server.ranges).toEqual([undefined, 'bytes=15000-', 'bytes=30000-']);
    });

    it('starts over when the file changed meanwhile (If-Range no longer matches: 200)', async () => {
      const body = mp3Bytes(50_000);
      let version = 0;
      const server = rangeServer(body, { etag: () => `"v${version++}"` });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadFile(file, options());
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
      expect((await downloadFile(file, options())).bytes).toBe(body.length);
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
      const o = options();
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
      await downloadFile(file, options());
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
      await downloadFile(planned('mp3', '/r.mp3'), options());
      expect(ranges).toEqual([undefined, undefined]);
    });

    it('removes the kept part when it finally gives up', async () => {
      const body = mp3Bytes(50_000);
      const server = rangeServer(body, { cuts: 5, cutAt: 5_000 });
      routes.set('/r.mp3', server.handler);
      const file = planned('mp3', '/r.mp3');
      await downloadError(downloadFile(file, options({ maxAttempts: 2 })));
      expect(server.ranges).toEqual([undefined, 'bytes=5000-']);
      await expectNothingWritten(file);
    });

    it('removes the kept part when cancelled between attempts', async () => {
      const body = mp3Bytes(50_000);
      routes.set('/r.mp3', rangeServer(body).handler);
      const file = planned('mp3', '/r.mp3');
      const controller = new AbortController();
      const o = options();
      const reason = new Error('cancelled');
      const cancelling: DownloadOptions = {
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
    const error = await downloadError(downloadFile(file, options({ maxAttempts: 2 })));
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
    await downloadFile(file, options());
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
    const o = options();
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
    const error = await downloadError(downloadFile(file, options()));
    expect(error.message).toContain('an HTML page instead of mp3 media');
    expect(hits.get('/a.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('keeps an unexpected binary (a wav where an mp3 was expected) and warns', async () => {
    const bytes = wavBytes(2_000);
    routes.set('/a.mp3', serve(bytes));
    const file = planned('mp3', '/a.mp3');
    const opts = options();
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
    const error = await downloadError(downloadFile(file, options()));
    expect(error.message).toContain('a JSON document instead of mp3 media');
    expect(hits.get('/j.mp3')).toBe(1);
    await expectNothingWritten(file);
  });

  it('enforces maxBytes from Content-Length before reading the body', async () => {
    routes.set('/big.mp3', serve(mp3Bytes(4_096)));
    const file = planned('mp3', '/big.mp3');
    const error = await downloadError(downloadFile(file, options({ maxBytes: 1_000 })));
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
    const error = await downloadError(downloadFile(file, options({ maxBytes: 3_000 })));
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
    expect((await downloadFile(file, options({ maxBytes: 8_192 }))).bytes).toBe(8_192);
    expect((await readFile(file.path)).equals(body)).toBe(true);
  });

  it('retries a 503 and then succeeds', async () => {
    const body = mp3Bytes(1_500);
    routes.set('/a.mp3', (req, res, n) => {
      if (n === 1) res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
      else serve(body)(req, res, n);
    });
    const file = planned('mp3', '/a.mp3');
    const o = options();
    await downloadFile(file, o);
    expect(hits.get('/a.mp3')).toBe(2);
    expect(o.sleep.delays).toEqual([1_000]);
    expect(o.log.at('warning')[0]).toContain('the server answered HTTP 503');
  });

  it('gives up after maxAttempts of 503', async () => {
    routes.set('/a.mp3', (_req, res) => res.writeHead(503).end());
    const file = planned('mp3', '/a.mp3');
    const error = await downloadError(downloadFile(file, options({ maxAttempts: 3 })));
    expect(error.message).toContain('HTTP 503');
    expect(error.retryable).toBe(false);
    expect(hits.get('/a.mp3')).toBe(3);
  });

  it('does not retry a 404, and explains that results expire after 30 days', async () => {
    routes.set('/gone.mp3', (_req, res) => res.writeHead(404).end());
    const file = planned('mp3', '/gone.mp3');
    const error = await downloadError(downloadFile(file, options()));
    expect(error.message).toContain('HTTP 404 (Kling clears result files after 30 days)');
    expect(hits.get('/gone.mp3')).toBe(1);
  });

  it('retries an empty 200 body', async () => {
    const body = mp3Bytes(500);
    routes.set('/a.mp3', (req, res, n) => {
      if (n === 1) res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': 0 }).end();
      else serve(body)(req, res, n);
    });
    await downloadFile(planned('mp3', '/a.mp3'), options());
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
    const done = await downloadFile(file, options());
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
    setTimeout(() => controller.abort(reason), 50);
    await expect(downloadFile(file, options({ signal: controller.signal }))).rejects.toBe(reason);
    expect(hits.get('/slow.mp3')).toBe(1);
    await expectNothingWritten(file);
  });
});
