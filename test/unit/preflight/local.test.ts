// checkLocalFile: a file on the runner is checked by reading it, and an unworkable one is refused with
// the very words the URL preflight uses for the same bytes (checked side by side through a local host).
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSource, type PreflightLimits } from '../../../src/preflight/check-source.ts';
import { checkLocalFile } from '../../../src/preflight/local.ts';
import { policy } from '../../../src/policy.ts';
import { systemClock } from '../../../src/runtime.ts';
import { buildVideo } from '../../emulator/media.ts';
import { htmlPage, makeMp4, mpegTsHead, truncated, webmHead } from '../../support/mp4.ts';
import { scratchDir } from '../../support/run-action.ts';

const LIMITS: PreflightLimits = { ...policy.preflight, requestTimeoutMs: 2_000, checkTimeoutMs: 4_000 };

let dir: string;
/** Serves the files of `dir` with HEAD and byte ranges, as a CDN would. */
let host: http.Server;
let origin: string;

beforeAll(async () => {
  dir = scratchDir('local-preflight-');
  host = http.createServer((req, res) => {
    void import('node:fs/promises').then(async ({ readFile }) => {
      const bytes = await readFile(path.join(dir, path.basename(req.url ?? ''))).catch(() => undefined);
      if (!bytes) return void res.writeHead(404).end();
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = Math.min(range?.[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
      if (range && start >= bytes.length) return void res.writeHead(416).end();
      const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes' };
      if (req.method === 'HEAD')
        return void res.writeHead(200, { ...headers, 'content-length': bytes.length }).end();
      res.writeHead(range ? 206 : 200, {
        ...headers,
        'content-length': end - start + 1,
        ...(range ? { 'content-range': `bytes ${start}-${end}/${bytes.length}` } : {}),
      });
      res.end(bytes.subarray(start, end + 1));
    });
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => host.close(resolve)));

async function place(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('checkLocalFile', () => {
  it('reads container, duration, size and resolution from the file, moov wherever it is', async () => {
    // 6 s of picture, 6.016 s of sound (282 AAC frames): the movie lasts as long as its longest track.
    const video = buildVideo({ seconds: 6, layout: 'moov-last', audio: 'music', frameBytes: 4000 });
    expect(await checkLocalFile(await place('render.mp4', video), LIMITS)).toEqual({
      kind: 'ok',
      info: {
        container: 'mp4',
        bytes: video.length,
        durationSeconds: 6.016,
        width: 192,
        height: 108,
        codec: 'avc1.42c00c',
      },
    });
    const mov = makeMp4({ brand: 'qt  ', seconds: 4, width: 1920, height: 1080, rotated: true });
    expect(await checkLocalFile(await place('phone.mov', mov), LIMITS)).toMatchObject({
      kind: 'ok',
      info: { container: 'mov', durationSeconds: 4, width: 1080, height: 1920 },
    });
  });

  it.each([
    ['a 2 s clip', () => makeMp4({ seconds: 2 }), /^the video is 2\.0 s; Kling accepts 3–20 s$/],
    ['a 25 s clip', () => makeMp4({ seconds: 25 }), /^the video is 25\.0 s; Kling accepts 3–20 s$/],
    ['a WebM video', () => webmHead(), /^it is a WebM video; Kling accepts MP4 and MOV videos only$/],
    ['an MPEG-TS file', () => mpegTsHead(), /^it is an MPEG transport stream \(\.ts\); Kling accepts/],
    ['an HTML page', () => htmlPage(), /^it is an HTML page; Kling accepts MP4 and MOV videos only$/],
    [
      'a render cut short (moov never written)',
      () => truncated(makeMp4({ layout: 'moov-last', mdatBytes: 40_000 }), 20_000),
      /^it has no moov box \(the boxes end at byte 20000\), the index a player needs: the file is truncated/,
    ],
    ['an audio-only file', () => makeMp4({ track: 'audio' }), /^it has no video track \(audio only\?\)$/],
  ])('refuses %s, in the URL preflight’s words', async (name, bytes, reason) => {
    const file = await place(`${name.replace(/\W+/g, '-')}.mp4`, bytes());
    const local = await checkLocalFile(file, LIMITS);
    expect(local).toEqual({ kind: 'unworkable', reason: expect.stringMatching(reason) });
    const remote = await checkSource(`${origin}/${path.basename(file)}`, {
      fetch,
      clock: systemClock,
      deadlineMs: Date.now() + 10_000,
      limits: LIMITS,
    });
    expect(remote).toEqual(local);
  });

  it('refuses a file over 100 MB before reading it, in the same words', async () => {
    const file = await place('huge.mp4', makeMp4());
    await truncate(file, 150_000_000); // sparse: no 150 MB written
    expect(await checkLocalFile(file, LIMITS)).toEqual({
      kind: 'unworkable',
      reason: 'the video is 150.0 MB; Kling accepts at most 100 MB',
    });
  });

  it('refuses an empty file, a directory and a missing file, saying which', async () => {
    expect(await checkLocalFile(await place('empty.mp4', Buffer.alloc(0)), LIMITS)).toEqual({
      kind: 'unworkable',
      reason: 'the file is empty',
    });
    await mkdir(path.join(dir, 'folder.mp4'), { recursive: true });
    expect(await checkLocalFile(path.join(dir, 'folder.mp4'), LIMITS)).toMatchObject({
      kind: 'unworkable',
      reason: expect.stringMatching(/directory|EISDIR/),
    });
    expect(await checkLocalFile(path.join(dir, 'gone.mp4'), LIMITS)).toEqual({
      kind: 'unworkable',
      reason: 'it cannot be read (ENOENT)',
    });
  });

  it('rethrows cancellation instead of judging the file', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(
      checkLocalFile(await place('any.mp4', makeMp4()), LIMITS, controller.signal),
    ).rejects.toThrow('cancelled');
  });
});
