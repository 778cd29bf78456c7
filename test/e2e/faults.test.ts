// Never lose a paid task: each fault the emulator can inject, against the built action.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { faults } from '../emulator/kling-emulator.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => world.close());

const video = (name: string) => ({ video_url: `https://example.com/${name}.mp4` });

describe('API faults', () => {
  it('429 / 1302 with Retry-After: waits as told, then succeeds', async () => {
    world.kling.inject(faults.rateLimited(1, 'query'));
    const run = await world.run(video('rate-limited'));
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('code 1302');
    // The first query (the first poll) takes the 429.
    const queries = routeRequests(world.kling, 'query');
    const limited = queries.findIndex((r) => r.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(queries[limited + 1]!.atMs - queries[limited]!.atMs).toBeGreaterThanOrEqual(950);
  });

  it('1303 on create: backs off and sends again, one task in the end', async () => {
    world.kling.inject(faults.concurrencyLimited('create'));
    const run = await world.run(video('concurrency'));
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('code 1303');
    expect(routeRequests(world.kling, 'create').map((r) => r.status)).toEqual([429, 200]);
    expect(world.kling.tasks.size).toBe(1);
  });

  it('429 / 1102 (balance): fails at once, says to top up, sends nothing again', async () => {
    world.kling.inject(faults.balanceExhausted('create'));
    const run = await world.run(video('broke'));
    expect(run.code).toBe(1);
    const message = errorMessage(run);
    expect(message).toContain('Kling code 1102');
    expect(message).toContain('HTTP 429');
    expect(message).toMatch(/top up/i);
    expect(routeRequests(world.kling, 'create')).toHaveLength(1);
    expect(world.kling.tasks.size).toBe(0);
  });

  it('401 / 1000: fails at once and says to fix the key', async () => {
    world.kling.inject(faults.authFailed('query'));
    const run = await world.run(video('bad-key'));
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toContain('Kling code 1000');
    expect(errorMessage(run)).toMatch(/check the credentials/i);
  });

  it('a CometAPI-shaped 401 (wrong key): names HTTP 401 and the key', async () => {
    const run = await world.run({ ...video('wrong-key'), api_key: 'sk-not-a-real-key-1234' });
    expect(run.code).toBe(1);
    const message = errorMessage(run);
    expect(message).toContain('HTTP 401');
    expect(message).toMatch(/api_key/);
    expect(world.kling.tasks.size).toBe(0);
  });

  it('a burst of 5xx while polling is retried through', async () => {
    world.kling.inject(faults.serverErrors(3, 'query'));
    const run = await world.run(video('flaky'));
    expect(run.code, run.stdout).toBe(0);
    expect(routeRequests(world.kling, 'query').filter((r) => r.status === 500)).toHaveLength(3);
  });

  it('a long run of rate limits on reads: retried past 5 tries, using at most 5 warning annotations', async () => {
    // Reads (the polls: a first attempt sends no look-up before the create) take the faults in turn.
    world.kling.inject({ ...faults.rateLimited(0, 'query'), times: 8 });
    const run = await world.run(video('throttled'));
    expect(run.code, run.stdout).toBe(0);
    expect(routeRequests(world.kling, 'query').filter((r) => r.status === 429)).toHaveLength(8);
    const lines = run.stdout.split('\n');
    const warnings = lines.filter((l) => l.startsWith('::warning::'));
    expect(warnings).toHaveLength(5);
    expect(warnings.at(-1)).toContain('Further retry notices appear in the log only');
    expect(lines.filter((l) => /^Retrying: .*code 1302/.test(l))).toHaveLength(3);
  });

  it('a reset on create after the task was registered: resumes it, exactly one task exists', async () => {
    world.kling.inject({ route: 'create', fault: { kind: 'reset-after-register' } });
    const run = await world.run(video('reset'));
    expect(run.code, run.stdout).toBe(0);
    expect(world.kling.tasks.size).toBe(1);
    expect(routeRequests(world.kling, 'create')).toHaveLength(1);
    const [task] = [...world.kling.tasks.values()];
    expect(run.outputs.task_id).toBe(task!.task_id);
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(task!.task_id).mp3)).toBe(true);
  });

  it('a 5xx on create that did create the task is reconciled, not re-sent', async () => {
    world.kling.inject({ route: 'create', fault: { kind: 'error-after-register', status: 502 } });
    const run = await world.run(video('gateway'));
    expect(run.code, run.stdout).toBe(0);
    expect(world.kling.tasks.size).toBe(1);
    expect(routeRequests(world.kling, 'create')).toHaveLength(1);
  });

  it('malformed JSON while polling is retried', async () => {
    world.kling.inject(faults.malformedJson('query'));
    const run = await world.run(video('garbled'));
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/not the documented JSON/);
  });

  it('a failed task fails the step with its message', async () => {
    world.kling.setTimeline({ outcome: 'failed', failMessage: 'Content risk control triggered' });
    const run = await world.run(video('risky'));
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toContain('Content risk control triggered');
    expect(run.outputs.task_status).toBe('failed');
    expect(run.outputs.task_id).toBeTruthy();
    expect(run.summary).toContain('failed');
  });

  it('a task that never ends: fails at the deadline with the task id and how to resume', async () => {
    world.kling.setTimeline({ outcome: 'never' });
    const run = await world.run({
      ...video('forever'),
      timeout_seconds: '1.5',
      poll_interval_seconds: '0.2',
    });
    expect(run.code).toBe(1);
    const taskId = run.outputs.task_id!;
    const message = errorMessage(run);
    expect(message).toContain(taskId);
    expect(message).toContain('last status: processing');
    expect(message).toContain(`task_id: ${taskId}`);
    expect(run.outputs.task_status).toBe('processing');
    expect(run.summary).toContain('still running at the deadline');
  });
});

describe('look-ups by external id before a create', () => {
  /** GETs to the API before the first create: the look-ups for a task an earlier attempt made. */
  const lookUpsBeforeCreate = () => {
    const requests = world.kling.requests;
    const create = requests.findIndex((r) => r.route === 'create');
    return requests.slice(0, create === -1 ? requests.length : create).filter((r) => r.route !== 'download');
  };
  const attempt = (runId: string, n: number) => ({
    env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(n) },
  });

  it('a first attempt sends none (no task can exist yet); its re-run looks up and resumes, paying nothing', async () => {
    const first = await world.run(video('first-attempt'), attempt('777000333', 1));
    expect(first.code, first.stdout).toBe(0);
    expect(world.kling.requests[0]!.route).toBe('create');
    expect(lookUpsBeforeCreate()).toEqual([]);
    expect(first.stdout).not.toContain('Checking for a task an earlier attempt created');

    const before = world.kling.requests.length;
    const rerun = await world.run(video('first-attempt'), attempt('777000333', 2));
    expect(rerun.code, rerun.stdout).toBe(0);
    const second = world.kling.requests.slice(before);
    expect(second[0]).toMatchObject({
      route: 'query',
      path: expect.stringContaining(first.outputs.external_task_id!),
    });
    expect(second.filter((r) => r.route === 'create')).toEqual([]);
    expect(rerun.outputs.task_id).toBe(first.outputs.task_id);
  });

  it('a re-run whose first attempt made no task: both CometAPI look-up forms, then one create', async () => {
    const run = await world.run(video('rerun-nothing'), attempt('777000444', 2));
    expect(run.code, run.stdout).toBe(0);
    const lookUps = lookUpsBeforeCreate();
    expect(lookUps).toHaveLength(2);
    expect(lookUps.every((r) => r.method === 'GET')).toBe(true);
    expect(routeRequests(world.kling, 'create')).toHaveLength(1);
  });

  it('an unknown attempt, or an external_task_id of the user’s own, is looked up on the first run too', async () => {
    const chosen = await world.run(
      { ...video('chosen-id'), external_task_id: 'nightly-build-42' },
      attempt('777000555', 1),
    );
    expect(chosen.code, chosen.stdout).toBe(0);
    expect(lookUpsBeforeCreate().map((r) => r.path)).toContain(
      '/kling/v1/audio/video-to-audio/nightly-build-42',
    );

    const before = world.kling.requests.length;
    const unknown = await world.run(video('unknown-attempt'), {
      env: { GITHUB_RUN_ID: '777000666', GITHUB_RUN_ATTEMPT: '' },
    });
    expect(unknown.code, unknown.stdout).toBe(0);
    expect(world.kling.requests[before]!.route).toBe('query');
  });
});

describe('cancellation', () => {
  it('SIGINT while polling: exits promptly, says which task still runs and how to resume', async () => {
    world.kling.setTimeline({ outcome: 'never' });
    const run = await world.run(
      { ...video('cancelled'), poll_interval_seconds: '0.3' },
      { signal: { name: 'SIGINT', afterStdout: /Submitted task/ } },
    );
    expect(run.signalSentAtMs).toBeDefined();
    expect(run.code).not.toBe(0);
    // Well inside the runner's 7.5 s before SIGTERM.
    expect(run.durationMs - run.signalSentAtMs!).toBeLessThan(7_500);
    const taskId = run.outputs.task_id!;
    expect(world.kling.tasks.has(taskId)).toBe(true);
    expect(errorMessage(run)).toContain(`Cancelled (SIGINT) while task ${taskId}`);
    expect(errorMessage(run)).toContain(`task_id: ${taskId}`);
    expect(run.summary).toContain('cancelled');
    expect(run.summary).toContain(`task_id: ${taskId}`);
  });

  it('SIGINT while downloading a finished task: exits promptly and says how to collect the audio', async () => {
    world.kling.inject({ route: 'download', fault: { kind: 'delay', ms: 5_000 } });
    const run = await world.run(video('cancel-download'), {
      signal: { name: 'SIGINT', afterStdout: /Task \d+: succeed/ },
    });
    expect(run.code).not.toBe(0);
    expect(run.durationMs - run.signalSentAtMs!).toBeLessThan(7_500);
    const taskId = run.outputs.task_id!;
    expect(run.outputs.task_status).toBe('succeed');
    expect(errorMessage(run)).toContain(`Cancelled (SIGINT) after task ${taskId} succeeded`);
    expect(errorMessage(run)).toContain(`task_id: ${taskId}`);
    expect(run.outputs).not.toHaveProperty('audio_path');
    expect(existsSync(path.join(run.workspace, 'kling-audio', `${taskId}.mp3.part`))).toBe(false);
  });

  it('SIGINT while the create is in flight: names the external id a re-run will find', async () => {
    world.kling.inject({ route: 'create', fault: { kind: 'delay', ms: 5_000 } });
    const run = await world.run(video('cancel-create'), {
      signal: { name: 'SIGINT', afterStdout: /Creating a task with external id/ },
    });
    expect(run.code).not.toBe(0);
    expect(run.durationMs - run.signalSentAtMs!).toBeLessThan(7_500);
    const externalId = run.outputs.external_task_id!;
    expect(externalId).toMatch(/^gha-/);
    expect(run.outputs).not.toHaveProperty('task_id');
    expect(errorMessage(run)).toContain(`external id ${externalId} may have reached the API`);
    expect(run.summary).toContain('a re-run of this job finds that task');
  });
});

describe('download faults', () => {
  it('a body cut short is resumed from where it stopped, and the file is complete', async () => {
    world.kling.inject({ route: 'download', fault: { kind: 'truncate' } });
    const run = await world.run(video('truncated'));
    expect(run.code, run.stdout).toBe(0);
    const mp3 = world.kling.media(run.outputs.task_id!).mp3;
    expect(readFileSync(run.outputs.audio_path!).equals(mp3)).toBe(true);
    const downloads = routeRequests(world.kling, 'download');
    expect(downloads.map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [206, `bytes=${Math.floor(mp3.length / 2)}-`],
    ]);
  });

  it('follows a redirect', async () => {
    world.kling.inject({ route: 'download', fault: { kind: 'redirect', status: 302 } });
    const run = await world.run(video('moved'));
    expect(run.code, run.stdout).toBe(0);
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(run.outputs.task_id!).mp3)).toBe(
      true,
    );
  });

  it('an HTML page instead of audio fails clearly and leaves no .mp3 behind', async () => {
    world.kling.inject({ route: 'download', fault: { kind: 'html' } });
    const run = await world.run(video('html'));
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toMatch(/text\/html instead of mp3|HTML page instead of mp3/);
    const dir = path.join(run.workspace, 'kling-audio');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect(run.outputs).not.toHaveProperty('audio_path');
    expect(run.outputs.task_status).toBe('succeed');
  });
});

describe('artifacts and re-runs', () => {
  it('a results-service 503 is retried by the artifact client', async () => {
    world.results.inject({ method: 'CreateArtifact', status: 503 });
    const run = await world.run(video('artifact-503'));
    expect(run.code, run.stdout).toBe(0);
    expect(world.results.artifactByName(`kling-audio-${run.outputs.task_id}`)).toBeDefined();
  });

  it('a failed upload names the local files, which stay in output_dir', async () => {
    world.results.inject({
      method: 'CreateArtifact',
      status: 403,
      body: { code: 'permission_denied', msg: 'nope' },
    });
    const run = await world.run(video('artifact-403'));
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toContain(run.outputs.audio_path);
    expect(existsSync(run.outputs.audio_path!)).toBe(true);
  });

  it('on GitHub Enterprise Server (no artifact service): warns, keeps the files, succeeds', async () => {
    const run = await world.run(video('ghes'), { env: { GITHUB_SERVER_URL: 'https://ghes.example.com' } });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/::warning::Artifacts are not available on GitHub Enterprise Server/);
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(run.outputs.task_id!).mp3)).toBe(
      true,
    );
    expect(run.outputs).not.toHaveProperty('artifact_id');
    expect(world.results.calls).toHaveLength(0);
    expect(run.summary).toContain('GitHub Enterprise Server');
  });

  it("a chosen artifact_name taken by another job fails clearly and leaves that job's artifact alone", async () => {
    const first = await world.run({ ...video('leg-a'), artifact_name: 'soundtrack' });
    expect(first.code, first.stdout).toBe(0);
    const second = await world.run({ ...video('leg-b'), artifact_name: 'soundtrack' });
    expect(second.code).toBe(1);
    expect(errorMessage(second)).toContain('an artifact named "soundtrack" already exists in this run');
    expect(errorMessage(second)).toContain(second.outputs.audio_path);
    const live = world.results.artifacts.filter((a) => a.name === 'soundtrack' && !a.deleted);
    expect(live.map((a) => String(a.id))).toEqual([first.outputs.artifact_id]);
  });

  it('a re-run of the same job resumes the task (no second payment) and replaces the artifact', async () => {
    const env = { GITHUB_RUN_ID: '777000111', GITHUB_RUN_ATTEMPT: '1' };
    const first = await world.run(video('rerun'), { env });
    expect(first.code, first.stdout).toBe(0);
    const second = await world.run(video('rerun'), { env: { ...env, GITHUB_RUN_ATTEMPT: '2' } });
    expect(second.code, second.stdout).toBe(0);

    expect(second.outputs.task_id).toBe(first.outputs.task_id);
    expect(second.outputs.external_task_id).toBe(first.outputs.external_task_id);
    expect(world.kling.tasks.size).toBe(1);
    expect(routeRequests(world.kling, 'create')).toHaveLength(1);
    const name = `kling-audio-${first.outputs.task_id}`;
    const live = world.results.artifacts.filter((a) => a.name === name && !a.deleted);
    expect(live).toHaveLength(1);
    expect(second.outputs.artifact_id).toBe(String(live[0]!.id));
    expect(second.outputs.artifact_id).not.toBe(first.outputs.artifact_id);
    expect(second.summary).toContain('resumed');
  });
});
