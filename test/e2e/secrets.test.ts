// No credential leaves the step: an API or gateway that quotes the Authorization header it was sent
// (the api_key, or the Kling JWT) in an error or a task's message gets it into no output (`results`
// included: GITHUB_OUTPUT is not masked), state, log line, summary, file or PR comment. The built
// action, run as the runner runs it; world.run scans every run for secrets, whole or cut short, and
// these tests the PR comment too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GitHubApi, tokenPresets } from '../emulator/github-api.ts';
import { faults, type FaultRule } from '../emulator/kling-emulator.ts';
import { ACTION_TEST_TIMEOUT_MS, JOB_TOKEN } from '../support/run-action.ts';
import {
  ACCESS_KEY,
  API_KEY,
  errorMessage,
  KLING_API_KEY,
  SECRET_KEY,
  startWorld,
  type World,
} from './world.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

async function withWorld<T>(body: (world: World) => Promise<T>): Promise<T> {
  const world = await startWorld({ timeline: { submittedMs: 20, processingMs: 40 } });
  try {
    return await body(world);
  } finally {
    await world.close();
  }
}

const video = (name: string) => ({ video_url: `https://example.com/${name}.mp4` });
const JWT_KEYS = { provider: 'kling', api_key: '', access_key: ACCESS_KEY, secret_key: SECRET_KEY };

/** Every secret the run used: the keys, and each token the emulator saw in an Authorization header. */
function secretsOf(world: World): string[] {
  const tokens = world.kling.requests
    .map((r) => r.authorization?.replace(/^Bearer\s+/i, ''))
    .filter((t): t is string => Boolean(t));
  return [...new Set([API_KEY, KLING_API_KEY, ACCESS_KEY, SECRET_KEY, JOB_TOKEN, ...tokens])];
}

/** No 12 characters in a row of any secret: a secret a length cap cut short leaks its start. */
function expectNoPartOfSecrets(places: [string, string][], secrets: readonly string[]): void {
  for (const secret of secrets)
    for (let at = 0; at + 12 <= secret.length; at++) {
      const part = secret.slice(at, at + 12);
      for (const [where, text] of places)
        expect(text.includes(part), `part of a secret (${part}) in ${where}`).toBe(false);
    }
}

interface Results {
  task_id: string | null;
  error?: string;
}

describe.concurrent('an API that quotes the Authorization header', () => {
  const cases: [string, Record<string, string>, FaultRule, number][] = [
    ['CometAPI, a 401 quoting the api_key on create', {}, faults.echoAuthorization('cometapi'), 1],
    [
      'CometAPI, 429s quoting the api_key on queries, retried',
      {},
      faults.echoAuthorization('cometapi', {
        route: 'query',
        status: 429,
        message: 'Rate limit exceeded for',
        times: 2,
      }),
      0,
    ],
    [
      'Kling, a 1002 quoting a console API key on create',
      { provider: 'kling', api_key: KLING_API_KEY },
      faults.echoAuthorization('kling'),
      1,
    ],
    ['Kling, a 1002 quoting the JWT on create', JWT_KEYS, faults.echoAuthorization('kling'), 1],
    [
      'Kling, 5000s quoting the JWT URL-encoded on queries, retried',
      JWT_KEYS,
      faults.echoAuthorization('kling', {
        route: 'query',
        status: 500,
        code: 5000,
        message: 'Server internal error; request was',
        encoding: 'uri',
        times: 2,
      }),
      0,
    ],
  ];

  it.each(cases)('%s: the key and the JWT appear nowhere', async (_name, inputs, fault, code) =>
    withWorld(async (world) => {
      world.kling.inject(fault);
      const run = await world.run({ ...video('echo'), ...inputs, timeout_seconds: '30' });

      expect(run.code, run.stdout).toBe(code);
      // The fault fired: the header was quoted back to the action.
      const { status } = fault.fault as { status: number };
      expect(world.kling.requests.some((r) => r.status === status)).toBe(true);
      const results = JSON.parse(run.outputs.results!) as Results[];
      expect(results).toHaveLength(1);
      if (code === 1) {
        // What the server said still shows, with the credential taken out.
        expect(results[0]!.error).toContain('Bearer ***');
        expect(errorMessage(run)).toContain('Bearer ***');
        expect(run.summary).toContain('Bearer ***');
      } else {
        expect(results[0]!.error).toBeUndefined();
      }
    }),
  );
});

describe('a task failure message that quotes the key, in a batch with a PR comment', () => {
  const PR = 7;
  let github: GitHubApi;
  let eventDir: string;
  beforeAll(async () => {
    github = await GitHubApi.start({ tokens: { [JOB_TOKEN]: tokenPresets.writeAll } });
    eventDir = mkdtempSync(path.join(tmpdir(), 'secrets-event-'));
  });
  afterAll(async () => {
    await github.close();
    rmSync(eventDir, { recursive: true, force: true });
  });

  it('no part of the key in results, the summary, the log or the comment, cut or whole', async () =>
    withWorld(async (world) => {
      // The key straddles the 80-character cut of the summary's and the comment's status cells.
      const failMessage = `Upstream refused the clip; request authorized as Bearer ${API_KEY} by the gateway`;
      expect(failMessage.indexOf(API_KEY)).toBeLessThan(80);
      expect(failMessage.indexOf(API_KEY) + API_KEY.length).toBeGreaterThan(80);
      world.kling.setTimeline({ outcome: 'failed', failMessage });
      const eventPath = path.join(eventDir, 'pull_request.json');
      writeFileSync(eventPath, JSON.stringify({ number: PR, pull_request: { number: PR } }));
      const run = await world.run(
        { videos: [video('a').video_url, video('b').video_url].join('\n'), pr_comment: 'true' },
        {
          env: {
            ...github.env(),
            GITHUB_EVENT_NAME: 'pull_request',
            GITHUB_EVENT_PATH: eventPath,
          },
        },
      );

      expect(run.code, run.stdout).toBe(1);
      const results = JSON.parse(run.outputs.results!) as Results[];
      expect(results.map((r) => r.error)).toEqual([
        expect.stringContaining('Bearer ***'),
        expect.stringContaining('Bearer ***'),
      ]);
      const comments = github.comments(PR);
      expect(comments).toHaveLength(1);
      expect(comments[0]!.body).toContain('failed');
      const comment: [string, string] = ['comment', comments[0]!.body];
      expect(comment[1]).not.toContain(API_KEY);
      expectNoPartOfSecrets([comment], secretsOf(world));
    }));
});
