import { describe, expect, it } from 'vitest';
import { assetFiles } from '../../src/deliveries.ts';
import { classifyGithub, type GithubRun } from '../../src/deliver/github.ts';
import { commentMarker } from '../../src/deliver/pr-comment.ts';
import { uploadHostProblem } from '../../src/deliver/release-assets.ts';
import { policy } from '../../src/policy.ts';
import type { Entry } from '../../src/inputs.ts';
import type { TaskOutcome } from '../../src/task/task.ts';

const entry = (source: Entry['source'], name = 'x'): Entry => ({ source, name, asmrMode: false });
const outcome = (taskId: string, kinds: ('mp3' | 'wav' | 'mp4')[]): TaskOutcome => ({
  ending: 'succeeded',
  resumed: false,
  files: kinds.map((kind) => ({
    role: kind === 'mp4' ? 'video' : 'audio',
    kind,
    url: `https://cdn.example.com/${taskId}.${kind}`,
    path: `/ws/kling-audio/${taskId}.${kind}`,
    bytes: 1,
  })),
});

describe('assetFiles: release asset names that stay the same from run to run', () => {
  it('names files after the entry, never the task id, with the right content types', () => {
    const files = assetFiles(
      [outcome('861', ['mp3', 'wav', 'mp4'])],
      [
        entry({
          kind: 'video_url',
          videoUrl: 'https://cdn.example.com/videos/Launch Trailer (v2).mp4?sig=1',
        }),
      ],
    );
    expect(files.map((f) => [f.name, f.contentType])).toEqual([
      ['Launch-Trailer-v2.mp3', 'audio/mpeg'],
      ['Launch-Trailer-v2.wav', 'audio/wav'],
      ['Launch-Trailer-v2-with-sound.mp4', 'video/mp4'],
    ]);
    // A later run (another task) gets the same names, so it replaces the assets.
    const later = assetFiles(
      [outcome('999', ['mp3'])],
      [
        entry({
          kind: 'video_url',
          videoUrl: 'https://cdn.example.com/videos/Launch Trailer (v2).mp4?sig=2',
        }),
      ],
    );
    expect(later[0]!.name).toBe('Launch-Trailer-v2.mp3');
  });

  it('keeps two entries with the same stem apart, and names video ids and attached tasks', () => {
    const files = assetFiles(
      [outcome('1', ['mp3']), outcome('2', ['mp3']), outcome('3', ['mp3']), outcome('4', ['mp3'])],
      [
        entry({ kind: 'video_url', videoUrl: 'https://a.example.com/clip.mp4' }),
        entry({ kind: 'video_url', videoUrl: 'https://b.example.com/clip.mov' }),
        entry({ kind: 'video_id', videoId: '8612' }),
        entry({ kind: 'task_id', taskId: '777' }),
      ],
    );
    expect(files.map((f) => f.name)).toEqual(['clip.mp3', 'clip-2.mp3', 'video-8612.mp3', 'task-777.mp3']);
  });
});

describe('commentMarker', () => {
  const run: GithubRun = {
    apiUrl: 'https://api.github.com',
    owner: 'o',
    repo: 'r',
    eventName: 'pull_request',
    pullRequest: 7,
    workflowRef: 'o/r/.github/workflows/preview.yml',
    job: 'preview',
    step: 'sound',
  };

  it('belongs to the workflow, the job and the step, and stays an HTML comment whatever they hold', () => {
    expect(commentMarker(run)).toBe(
      '<!-- kling-video-to-audio: o/r/.github/workflows/preview.yml / preview / sound -->',
    );
    expect(commentMarker({ ...run, step: 'other' })).not.toBe(commentMarker(run));
    const hostile = commentMarker({ ...run, job: 'x --> <img src=x>' });
    expect(hostile.indexOf('-->')).toBe(hostile.length - 3);
    expect(hostile).not.toContain('<img');
  });
});

describe('classifyGithub', () => {
  const httpError = (status: number, headers: Record<string, string> = {}, message = 'x') =>
    Object.assign(new Error(message), { status, response: { headers } });
  const classify = classifyGithub(() => 1_000_000, policy.github);

  it('retries 5xx and network errors within a budget, and rate limits as GitHub asks', () => {
    expect(classify(httpError(502))).toMatchObject({ retry: true, budget: { attempts: 3 } });
    expect(classify(httpError(500, {}, 'fetch failed'))).toMatchObject({ retry: true });
    expect(classify(httpError(429, { 'retry-after': '7' }))).toMatchObject({
      retry: true,
      retryAfterMs: 7_000,
    });
    expect(
      classify(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1030' })),
    ).toMatchObject({
      retry: true,
      retryAfterMs: 30_000,
    });
  });

  it('gives up on a rate limit that asks for a longer wait than it may wait', () => {
    expect(
      classify(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(1_000 + 3_600) })),
    ).toEqual({
      retry: false,
    });
    expect(classify(httpError(429, { 'retry-after': '3600' }))).toEqual({ retry: false });
  });

  it('does not retry refusals: a read-only token, a missing release, a validation error', () => {
    for (const status of [401, 403, 404, 422]) expect(classify(httpError(status))).toEqual({ retry: false });
    expect(classify(new Error('not an http error'))).toEqual({ retry: false });
  });
});

describe("uploadHostProblem: the token goes only to GitHub's upload host", () => {
  it('accepts uploads.<host> beside api.<host>, and the API host itself (GHES, loopback fakes)', () => {
    expect(() =>
      uploadHostProblem(
        'https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}',
        'https://api.github.com',
      ),
    ).not.toThrow();
    expect(() =>
      uploadHostProblem(
        'https://ghe.example.com/api/uploads/repos/o/r/releases/1/assets{?name,label}',
        'https://ghe.example.com/api/v3',
      ),
    ).not.toThrow();
    expect(() =>
      uploadHostProblem(
        'http://127.0.0.1:4002/repos/o/r/releases/1/assets{?name,label}',
        'http://127.0.0.1:4001',
      ),
    ).not.toThrow();
  });

  it('refuses any other host, or a downgrade to http', () => {
    expect(() =>
      uploadHostProblem('https://evil.example.com/steal{?name}', 'https://api.github.com'),
    ).toThrow(/evil\.example\.com/);
    expect(() => uploadHostProblem('http://uploads.github.com/x{?name}', 'https://api.github.com')).toThrow(
      /not GitHub's upload host/,
    );
    expect(() => uploadHostProblem('not a url', 'https://api.github.com')).toThrow(/no upload URL/);
  });
});
