import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../../src/net/http.ts';
import { checkSources, SourceRefusedError, type CheckContext } from '../../../src/sources/check.ts';
import type { Entry } from '../../../src/sources/source.ts';
import { FakeClock, recordingLog } from '../../support/fakes.ts';
import { makeMp4 } from '../../support/mp4.ts';

const entry = (source: Entry['source']): Entry => ({ source, name: 'x', asmrMode: false });
const url = (videoUrl: string) => entry({ kind: 'video_url', videoUrl });

/** Serves whole files (ranges included) from a map of URL → bytes; any other URL is a 404. */
function filesFetch(files: Record<string, Buffer>, requests: string[]): FetchLike {
  return (input, init) => {
    requests.push(`${init.method ?? 'GET'} ${input}`);
    return Promise.resolve(serve(files[input], init));
  };
}

function serve(file: Buffer | undefined, init: RequestInit): Response {
  if (!file) return new Response('not found', { status: 404 });
  const whole = { 'content-length': String(file.length) };
  if (init.method === 'HEAD') return new Response(null, { status: 200, headers: whole });
  const range = /^bytes=(\d+)-(\d*)$/.exec(new Headers(init.headers).get('range') ?? '');
  if (!range) return new Response(file, { status: 200, headers: whole });
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), file.length - 1) : file.length - 1;
  return new Response(file.subarray(start, end + 1), {
    status: 206,
    headers: {
      'content-range': `bytes ${start}-${end}/${file.length}`,
      'content-length': String(end - start + 1),
    },
  });
}

function context(fetch: FetchLike, enabled = true): CheckContext & { log: ReturnType<typeof recordingLog> } {
  const clock = new FakeClock();
  return {
    enabled,
    fetch,
    clock,
    log: recordingLog(clock),
    signal: new AbortController().signal,
    deadlineMs: clock.now() + 60_000,
  };
}

describe('checkSources: every readable source checked before any task, in input order', () => {
  const good = 'https://cdn.example.com/good.mp4';
  const short = 'https://cdn.example.com/short.mp4';
  const files = { [good]: makeMp4({ seconds: 6 }), [short]: makeMp4({ seconds: 2 }) };

  it('refuses what cannot work, passes on what it read, and leaves sources without a URL alone', async () => {
    const requests: string[] = [];
    const c = context(filesFetch(files, requests));
    const checks = await checkSources(
      [
        url(good),
        entry({ kind: 'video_id', videoId: '8612' }),
        url(short),
        url('https://cdn.example.com/gone.mp4'),
      ],
      c,
    );
    expect(checks[0]).toMatchObject({ info: { container: 'mp4', durationSeconds: 6 } });
    expect(checks[0]!.refusal).toBeUndefined();
    expect(checks[1]).toEqual({});
    expect(checks[2]!.refusal).toBeInstanceOf(SourceRefusedError);
    expect(checks[2]!.refusal!.message).toMatch(
      /2\.0 s; Kling accepts 3–20 s.*No task was created.*preflight: false/,
    );
    expect(checks[3]!.refusal!.message).toMatch(/gone\.mp4 cannot work/);
    expect(requests.some((r) => r.includes('8612'))).toBe(false);
    expect(c.log.at('info')).toContain(
      'Checked the video https://cdn.example.com/good.mp4: MP4, 6.0 s, 1280×720.',
    );
  });

  it('a host that will not let the runner read (403) only warns: the create goes ahead', async () => {
    const forbidden: FetchLike = () => Promise.resolve(new Response('no', { status: 403 }));
    const c = context(forbidden);
    const [check] = await checkSources([url(good)], c);
    expect(check).toEqual({});
    expect(c.log.at('warning')[0]).toMatch(
      /^Could not check the video https:\/\/cdn\.example\.com\/good\.mp4 before submitting/,
    );
  });

  it('with preflight off, nothing is fetched', async () => {
    const requests: string[] = [];
    const checks = await checkSources([url(short)], context(filesFetch(files, requests), false));
    expect(checks).toEqual([{}]);
    expect(requests).toEqual([]);
  });
});
