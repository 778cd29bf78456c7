// checkSource against a local file host: what it concludes, and which bytes it asked for to get there.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkSource, megabytes, type PreflightLimits } from '../../../src/preflight/check-source.ts';
import type { FetchLike } from '../../../src/net/http.ts';
import { systemClock } from '../../../src/runtime.ts';
import { htmlPage, layoutMp4, makeMp4, mpegTsHead, truncated, webmHead } from '../../support/mp4.ts';

const KiB = 1024;

const LIMITS: PreflightLimits = {
  maxBytes: 100 * 1000 * 1000,
  minSeconds: 3,
  maxSeconds: 20,
  headBytes: 16 * KiB,
  maxMoovBytes: 1024 * KiB,
  maxReadBytes: 256 * KiB,
  maxJumps: 4,
  requestTimeoutMs: 2_000,
  checkTimeoutMs: 4_000,
  maxRedirects: 3,
};

/** How a path is served. */
interface Served {
  bytes?: Buffer;
  /** Content-Length claimed without the bytes (HEAD only). */
  declaredBytes?: number;
  type?: string;
  /** HEAD answers this status instead. */
  headStatus?: number;
  /** Every request answers this status. */
  status?: number;
  /** Range is ignored: every GET answers 200 with the whole file. */
  ignoreRange?: boolean;
  /** Headers are never sent. */
  hang?: boolean;
  location?: string;
}

interface Hit {
  method: string;
  path: string;
  range: string | undefined;
  /** Body bytes the server wrote (or tried to) before the client went away. */
  sent: number;
  /** The client closed the connection before the whole body was written. */
  abandoned: boolean;
}

class FileHost {
  readonly hits: Hit[] = [];
  readonly #routes = new Map<string, Served>();
  readonly #server = http.createServer((req, res) => this.#answer(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  serve(path: string, served: Served): string {
    this.#routes.set(path, served);
    return `${this.origin}${path}`;
  }

  reset(): void {
    this.hits.length = 0;
    this.#routes.clear();
    this.#server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    const hit: Hit = { method: req.method ?? '', path, range: req.headers.range, sent: 0, abandoned: false };
    this.hits.push(hit);
    res.on('close', () => (hit.abandoned = !res.writableFinished));
    const served = this.#routes.get(path);
    if (!served) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
    if (served.hang) return;
    if (served.location) return void res.writeHead(302, { location: served.location }).end();
    const status = req.method === 'HEAD' ? (served.headStatus ?? served.status) : served.status;
    if (status) return void res.writeHead(status, { 'content-type': 'text/plain' }).end('refused');
    const bytes = served.bytes ?? Buffer.alloc(0);
    const size = served.declaredBytes ?? bytes.length;
    const headers: http.OutgoingHttpHeaders = { 'content-type': served.type ?? 'video/mp4', etag: '"v1"' };
    if (!served.ignoreRange) headers['accept-ranges'] = 'bytes';
    if (req.method === 'HEAD') return void res.writeHead(200, { ...headers, 'content-length': size }).end();
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!range || served.ignoreRange) return this.#send(res, 200, headers, bytes, hit);
    const start = Number(range[1]);
    if (start >= bytes.length)
      return void res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
    const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
    // A declared size is the whole file's: its first bytes are served, its total is claimed.
    headers['content-range'] = `bytes ${start}-${end}/${size}`;
    this.#send(res, 206, headers, bytes.subarray(start, end + 1), hit);
  }

  /** Writes in 16 KiB pieces, waiting for the client, so `sent` shows what it actually took. */
  #send(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer, hit: Hit) {
    res.writeHead(status, { ...headers, 'content-length': body.length });
    let at = 0;
    const more = (): void => {
      while (at < body.length && !res.destroyed) {
        const piece = body.subarray(at, at + 16 * KiB);
        at += piece.length;
        hit.sent += piece.length;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      if (!res.destroyed) res.end();
    };
    more();
  }
}

const host = new FileHost();
/** Every URL the check fetched, redirects included. */
const fetched: string[] = [];
/** Body bytes the check took out of responses. */
let taken = 0;

/** fetch, recording each URL and counting the body bytes the check actually reads. */
const countingFetch: FetchLike = async (url, init) => {
  fetched.push(url);
  const response = await fetch(url, init);
  if (!response.body) return response;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        taken += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, { status: response.status, headers: response.headers });
};

function check(url: string, overrides: Partial<PreflightLimits> = {}, deadlineInMs = 10_000) {
  return checkSource(url, {
    fetch: countingFetch,
    clock: systemClock,
    deadlineMs: Date.now() + deadlineInMs,
    limits: { ...LIMITS, ...overrides },
  });
}

beforeAll(() => host.start());
afterEach(() => {
  host.reset();
  fetched.length = 0;
  taken = 0;
});
afterAll(() => host.stop());

describe('checkSource: sources that work', () => {
  it('reads duration and resolution of a 5 s 1280x720 MP4 with moov first, from its head alone', async () => {
    const file = makeMp4({ seconds: 5, width: 1280, height: 720, mdatBytes: 200 * KiB });
    const verdict = await check(host.serve('/ok.mp4', { bytes: file }));
    expect(verdict).toEqual({
      kind: 'ok',
      info: {
        container: 'mp4',
        bytes: file.length,
        durationSeconds: 5,
        width: 1280,
        height: 720,
        codec: 'avc1.42c01e',
        etag: '"v1"',
        lastModified: undefined,
      },
    });
    expect(host.hits.map((h) => [h.method, h.range])).toEqual([
      ['HEAD', undefined],
      ['GET', 'bytes=0-16383'],
    ]);
    expect(taken).toBeLessThanOrEqual(16 * KiB);
  });

  it('fetches only the head and moov by Range when moov sits at the end, never the whole file', async () => {
    const {
      bytes: file,
      moovOffset,
      moovSize,
    } = layoutMp4({ seconds: 8, layout: 'moov-last', mdatBytes: 400 * KiB });
    const verdict = await check(host.serve('/end.mp4', { bytes: file }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 8, width: 1280, height: 720 } });
    expect(host.hits.map((h) => [h.method, h.range])).toEqual([
      ['HEAD', undefined],
      ['GET', 'bytes=0-16383'],
      ['GET', `bytes=${moovOffset}-${moovOffset + 16 * KiB - 1}`],
    ]);
    const sent = host.hits.reduce((sum, h) => sum + h.sent, 0);
    expect(sent).toBe(16 * KiB + moovSize);
    expect(sent).toBeLessThan(file.length / 10);
  });

  it('walks past a 64-bit mdat and a free box to moov', async () => {
    const file = makeMp4({ layout: 'moov-last', largeMdat: true, freeBytes: 100, mdatBytes: 100 * KiB });
    const verdict = await check(host.serve('/large.mp4', { bytes: file }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 5 } });
  });

  it('tells a MOV by its qt brand, and reads a QuickTime file that has no ftyp', async () => {
    const mov = await check(
      host.serve('/a.mov', { bytes: makeMp4({ brand: 'qt  ' }), type: 'video/quicktime' }),
    );
    expect(mov).toMatchObject({ kind: 'ok', info: { container: 'mov' } });
    const old = await check(host.serve('/old.mov', { bytes: makeMp4({ ftyp: false, seconds: 4 }) }));
    expect(old).toMatchObject({ kind: 'ok', info: { container: 'mov', durationSeconds: 4 } });
  });

  it('uses a ranged GET where HEAD is refused (405)', async () => {
    const file = makeMp4({ seconds: 6 });
    const verdict = await check(host.serve('/nohead.mp4', { bytes: file, headStatus: 405 }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 6, bytes: file.length } });
    expect(host.hits.map((h) => [h.method, h.range])).toEqual([
      ['HEAD', undefined],
      ['GET', 'bytes=0-16383'],
    ]);
  });

  it('reads a host that ignores Range as one stream, up to moov, and then stops', async () => {
    const file = makeMp4({ layout: 'moov-last', mdatBytes: 100 * KiB });
    const verdict = await check(host.serve('/norange.mp4', { bytes: file, ignoreRange: true }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 5, bytes: file.length } });
    expect(host.hits.filter((h) => h.method === 'GET')).toHaveLength(1);
  });

  it('hangs up on a host that ignores Range once the head holds moov', async () => {
    const file = makeMp4({ mdatBytes: 8 * 1024 * KiB });
    const verdict = await check(host.serve('/norange-first.mp4', { bytes: file, ignoreRange: true }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 5, bytes: file.length } });
    const get = host.hits.find((h) => h.method === 'GET')!;
    await vi.waitFor(() => expect(get.abandoned).toBe(true));
    expect(taken).toBeLessThan(256 * KiB);
  });
});

describe('checkSource: sources that cannot work', () => {
  it('refuses a 25 s video with the figure and the limit', async () => {
    const verdict = await check(host.serve('/long.mp4', { bytes: makeMp4({ seconds: 25 }) }));
    expect(verdict).toEqual({ kind: 'unworkable', reason: 'the video is 25.0 s; Kling accepts 3–20 s' });
  });

  it('refuses a 2 s video', async () => {
    const verdict = await check(host.serve('/short.mp4', { bytes: makeMp4({ seconds: 2 }) }));
    expect(verdict).toEqual({ kind: 'unworkable', reason: 'the video is 2.0 s; Kling accepts 3–20 s' });
  });

  it('shows enough digits that a video just over the limit does not read as the limit', async () => {
    const verdict = await check(host.serve('/edge.mp4', { bytes: makeMp4({ seconds: 20.04 }) }));
    expect(verdict).toEqual({ kind: 'unworkable', reason: 'the video is 20.04 s; Kling accepts 3–20 s' });
  });

  it("refuses 150 MB by the ranged GET's total, reading only the head", async () => {
    const verdict = await check(host.serve('/big.mp4', { bytes: makeMp4(), declaredBytes: 150_000_000 }));
    expect(verdict).toEqual({
      kind: 'unworkable',
      reason: 'the video is 150.0 MB; Kling accepts at most 100 MB',
    });
    expect(host.hits.map((h) => h.method)).toEqual(['HEAD', 'GET']);
    expect(host.hits[1]!.range).toBeDefined();
  });

  it('never refuses on HEAD alone: a HEAD that says 0 bytes, 404 or text/html is checked by the GET', async () => {
    const video = makeMp4({ seconds: 5 });
    const lying = await check(host.serve('/lying.mp4', { bytes: video, type: 'text/html' }));
    expect(lying).toMatchObject({ kind: 'ok', info: { container: 'mp4', durationSeconds: 5 } });
  });

  it('refuses WebM by its signature', async () => {
    const verdict = await check(host.serve('/a.webm', { bytes: webmHead(), type: 'video/webm' }));
    expect(verdict).toEqual({
      kind: 'unworkable',
      reason: 'it is a WebM video; Kling accepts MP4 and MOV videos only',
    });
  });

  it('refuses an MPEG transport stream served as octet-stream', async () => {
    const verdict = await check(
      host.serve('/a.bin', { bytes: mpegTsHead(), type: 'application/octet-stream' }),
    );
    expect(verdict).toMatchObject({
      kind: 'unworkable',
      reason: expect.stringContaining('MPEG transport stream'),
    });
  });

  it('refuses an HTML page by its type, and by its bytes when the type says nothing', async () => {
    const page = await check(host.serve('/share', { bytes: htmlPage(), type: 'text/html; charset=utf-8' }));
    expect(page).toEqual({
      kind: 'unworkable',
      reason: 'the URL serves text/html (a web page), not a video; Kling accepts MP4 and MOV videos only',
    });
    const untyped = await check(
      host.serve('/share2', { bytes: htmlPage(), type: 'application/octet-stream' }),
    );
    expect(untyped).toMatchObject({ kind: 'unworkable', reason: expect.stringContaining('an HTML page') });
  });

  it('refuses a URL whose GET answers 404 too', async () => {
    const verdict = await check(`${host.origin}/missing.mp4`);
    expect(verdict).toEqual({ kind: 'unworkable', reason: 'the URL answers HTTP 404' });
    expect(host.hits.map((h) => h.method)).toEqual(['HEAD', 'GET']);
  });

  it('refuses a truncated file (moov cut off) and an audio-only MP4', async () => {
    const whole = makeMp4({ mdatBytes: 1024 });
    const cut = await check(host.serve('/cut.mp4', { bytes: truncated(whole, 300) }));
    expect(cut).toMatchObject({ kind: 'unworkable', reason: expect.stringContaining('truncated') });
    const noMoov = await check(
      host.serve('/nomoov.mp4', {
        bytes: truncated(makeMp4({ layout: 'moov-last', mdatBytes: 40 * KiB }), 20 * KiB),
      }),
    );
    expect(noMoov).toMatchObject({ kind: 'unworkable', reason: expect.stringContaining('no moov box') });
    const audio = await check(
      host.serve('/a.m4a', { bytes: makeMp4({ track: 'audio' }), type: 'video/mp4' }),
    );
    expect(audio).toEqual({ kind: 'unworkable', reason: 'it has no video track (audio only?)' });
  });
});

describe('checkSource: hosts that will not tell', () => {
  it('leaves a 403 unknown (after trying GET), so the create goes ahead', async () => {
    const verdict = await check(host.serve('/private.mp4', { status: 403 }));
    expect(verdict).toEqual({ kind: 'unknown', reason: 'the host answers HTTP 403 to the runner' });
    expect(host.hits.map((h) => h.method)).toEqual(['HEAD', 'GET']);
  });

  it('leaves a host that never answers unknown, within the request timeout', async () => {
    const started = Date.now();
    const verdict = await check(host.serve('/hang.mp4', { hang: true }), { requestTimeoutMs: 300 });
    expect(verdict).toEqual({ kind: 'unknown', reason: 'the host did not answer within 0.3s' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("stops at the step's deadline when it comes first", async () => {
    const started = Date.now();
    const verdict = await check(host.serve('/hang2.mp4', { hang: true }), {}, 250);
    expect(verdict).toEqual({ kind: 'unknown', reason: 'the check ran out of time before it had an answer' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('reads no more than the cap from a host that ignores Range when moov lies past it', async () => {
    const file = makeMp4({ layout: 'moov-last', mdatBytes: 8 * 1024 * KiB });
    const verdict = await check(host.serve('/huge-norange.mp4', { bytes: file, ignoreRange: true }), {
      maxReadBytes: 128 * KiB,
    });
    expect(verdict).toEqual({
      kind: 'unknown',
      reason:
        'the host ignores Range requests, and the part needed lies past the first 128.0 KiB, all the check reads',
    });
    expect(taken).toBeLessThanOrEqual(128 * KiB);
    // The check hung up: the server did not get to write the rest of the file.
    const get = host.hits.find((h) => h.method === 'GET')!;
    await vi.waitFor(() => expect(get.abandoned).toBe(true));
    expect(get.sent).toBeLessThan(file.length);
  });

  it('never follows a redirect to the cloud metadata address', async () => {
    const verdict = await check(
      host.serve('/bounce.mp4', { location: 'http://169.254.169.254/latest/meta-data/' }),
    );
    expect(verdict).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('169.254.169.254') });
    expect(fetched.every((url) => url.startsWith(host.origin))).toBe(true);
  });

  it('follows an ordinary redirect', async () => {
    const target = host.serve('/real.mp4', { bytes: makeMp4({ seconds: 7 }) });
    const verdict = await check(host.serve('/moved.mp4', { location: target }));
    expect(verdict).toMatchObject({ kind: 'ok', info: { durationSeconds: 7 } });
  });

  it('does not fetch a URL with credentials in it', async () => {
    const verdict = await check(`http://user:secret@127.0.0.1:1/a.mp4`);
    expect(verdict).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('user name or password'),
    });
    expect(fetched).toEqual([]);
  });

  it('rethrows cancellation instead of turning it into a verdict', async () => {
    const controller = new AbortController();
    const url = host.serve('/hang3.mp4', { hang: true });
    const pending = checkSource(url, {
      fetch: countingFetch,
      clock: systemClock,
      signal: controller.signal,
      deadlineMs: Date.now() + 10_000,
      limits: LIMITS,
    });
    setTimeout(() => controller.abort(new Error('cancelled by SIGINT')), 50);
    await expect(pending).rejects.toThrow('cancelled by SIGINT');
  });
});

describe('megabytes', () => {
  it('is decimal, as Kling states its limit', () => {
    expect(megabytes(100_000_000)).toBe('100 MB');
    expect(megabytes(123_400_000, 100_000_000)).toBe('123.4 MB');
    expect(megabytes(100_040_000, 100_000_000)).toBe('100.04 MB');
  });
});
