// Several videos in one step (`videos`, `max_concurrency`): the built action, run as the runner runs
// it, against the emulator's account concurrency limit and the results-service fake.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  faults,
  type KlingEmulator,
  type KlingEmulatorOptions,
  type Timeline,
} from '../emulator/kling-emulator.ts';
import { readZip } from '../emulator/results-service.ts';
import { GitHubApi, tokenPresets } from '../emulator/github-api.ts';
import { ACTION_TEST_TIMEOUT_MS, type ActionRun, JOB_TOKEN } from '../support/run-action.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function open(options: KlingEmulatorOptions = {}): Promise<World> {
  world = await startWorld(options);
  return world;
}

interface Result {
  name: string;
  source: string;
  task_id: string | null;
  external_task_id: string | null;
  task_status: string | null;
  audio_url: string | null;
  audio_path: string | null;
  video_url: string | null;
  video_path: string | null;
  duration: string | null;
  error?: string;
}

const RESULT_FIELDS = [
  'name',
  'source',
  'task_id',
  'external_task_id',
  'task_status',
  'audio_url',
  'audio_path',
  'video_url',
  'video_path',
  'duration',
];

function resultsOf(run: ActionRun): Result[] {
  expect(run.outputs, 'the results output is set').toHaveProperty('results');
  const parsed: unknown = JSON.parse(run.outputs.results!);
  expect(Array.isArray(parsed)).toBe(true);
  return parsed as Result[];
}

const url = (name: string) => `https://example.com/${name}.mp4`;
const lines = (text: string | undefined) => (text ?? '').split('\n');

/** The task the emulator made for a create body with this video_url / video_id (exactly one). */
function taskFor(kling: KlingEmulator, source: { video_url?: string; video_id?: string }) {
  const tasks = [...kling.tasks.values()].filter((task) =>
    source.video_url !== undefined
      ? task.request['video_url'] === source.video_url
      : task.request['video_id'] === source.video_id,
  );
  expect(tasks, `one task for ${JSON.stringify(source)}`).toHaveLength(1);
  return tasks[0]!;
}

/** The live artifacts of the results fake's run. */
function liveArtifacts(w: World) {
  return w.results.artifacts.filter((artifact) => !artifact.deleted);
}

/**
 * Makes the task created for `videoUrl` fail soon after it starts, while the others carry on. The
 * emulator fixes a task's timeline when it creates it, so a global setTimeline cannot single out one
 * entry of a concurrent batch: this watches for the task and gives it a short failing timeline.
 */
function failTaskFor(kling: KlingEmulator, videoUrl: string, failMessage: string): () => void {
  const timer = setInterval(() => {
    for (const task of kling.tasks.values()) {
      if (task.request['video_url'] !== videoUrl) continue;
      const failing: Required<Timeline> = {
        submittedMs: 0,
        processingMs: 30,
        outcome: 'failed',
        failMessage,
      };
      (task as unknown as { timeline: Required<Timeline> }).timeline = failing;
      clearInterval(timer);
    }
  }, 2);
  return () => clearInterval(timer);
}

/** One row of the batch summary's table per entry name given (the row that names it). */
function summaryRows(summary: string): string[] {
  return summary.split('\n').filter((line) => /^\|\s*\d+\s*\|/.test(line));
}

describe('videos: reading the list', () => {
  it('one source per line (blank and # lines ignored, digits are a video id): every task, in input order', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 60 } });
    const run = await w.run({
      videos: [
        '# the nightly clips',
        '',
        `  ${url('line-a')}  `,
        '   ',
        '8123456789',
        '  # not a source: https://example.com/commented.mp4',
        url('line-b'),
        '',
      ].join('\n'),
      sound_effect_prompt: 'footsteps',
      max_concurrency: '3',
    });
    expect(run.code, run.stdout).toBe(0);

    // Three creates, none for the comment line; the step's prompt applies to each.
    expect(routeRequests(w.kling, 'create')).toHaveLength(3);
    expect(w.kling.tasks.size).toBe(3);
    const a = taskFor(w.kling, { video_url: url('line-a') });
    const id = taskFor(w.kling, { video_id: '8123456789' });
    const b = taskFor(w.kling, { video_url: url('line-b') });
    for (const task of [a, id, b]) expect(task.request['sound_effect_prompt']).toBe('footsteps');
    expect(id.request).not.toHaveProperty('video_url');

    // results: input order, every documented field, sources as written (trimmed).
    const results = resultsOf(run);
    expect(results.map((r) => r.source)).toEqual([url('line-a'), '8123456789', url('line-b')]);
    expect(results.map((r) => r.task_id)).toEqual([a.task_id, id.task_id, b.task_id]);
    for (const [i, task] of [a, id, b].entries()) {
      const result = results[i]!;
      for (const field of RESULT_FIELDS) expect(result, `results[${i}] has ${field}`).toHaveProperty(field);
      expect(result).not.toHaveProperty('error');
      expect(result.name).toBeTruthy();
      expect(result.task_status).toBe('succeed');
      expect(result.external_task_id).toBe(task.external_task_id);
      expect(result.audio_url).toBe(`${w.kling.url}/files/${task.task_id}/audio.mp3`);
      expect(result.duration).toMatch(/^\d+(\.\d+)?$/);
      expect(readFileSync(result.audio_path!).equals(w.kling.media(task.task_id).mp3)).toBe(true);
    }
    // Each entry has its own external id.
    expect(new Set(results.map((r) => r.external_task_id)).size).toBe(3);

    // task_id: one per line in input order; files: every file.
    expect(lines(run.outputs.task_id)).toEqual([a.task_id, id.task_id, b.task_id]);
    expect(lines(run.outputs.files).sort()).toEqual(results.map((r) => r.audio_path!).sort());

    // One artifact with every file, named by the artifact outputs.
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    const artifact = live[0]!;
    expect(run.outputs.artifact_id).toBe(String(artifact.id));
    expect(run.outputs.artifact_digest).toBe(artifact.sha256);
    expect(run.outputs.artifact_url).toMatch(new RegExp(`/artifacts/${artifact.id}$`));
    const entries = await readZip(artifact.blob);
    expect([...entries.keys()].sort()).toEqual(results.map((r) => path.basename(r.audio_path!)).sort());
    for (const task of [a, id, b])
      expect(entries.get(`${task.task_id}.mp3`)!.equals(w.kling.media(task.task_id).mp3)).toBe(true);

    // The summary: one row per entry, with its status, its file and a total.
    const rows = summaryRows(run.summary);
    expect(rows).toHaveLength(3);
    for (const [i, task] of [a, id, b].entries()) {
      expect(rows[i]).toContain(results[i]!.name);
      expect(rows[i]).toContain(`${task.task_id}.mp3`);
    }
    expect(run.summary).toMatch(/total/i);
  });

  it('a JSON array: each entry’s prompts, asmr_mode and name override the step inputs', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 60 } });
    const videos = [
      { video_url: url('intro'), name: 'Intro', bgm_prompt: 'drums' },
      { video_id: '777000', sound_effect_prompt: 'rain', asmr_mode: false },
      { video_url: url('outro'), name: 'Outro' },
    ];
    const run = await w.run({
      videos: JSON.stringify(videos, null, 2),
      sound_effect_prompt: 'step sfx',
      bgm_prompt: 'step bgm',
      asmr_mode: 'true',
      audio_format: 'both',
    });
    expect(run.code, run.stdout).toBe(0);

    const intro = taskFor(w.kling, { video_url: url('intro') });
    const id = taskFor(w.kling, { video_id: '777000' });
    const outro = taskFor(w.kling, { video_url: url('outro') });
    expect(intro.request).toMatchObject({
      sound_effect_prompt: 'step sfx',
      bgm_prompt: 'drums',
      asmr_mode: true,
    });
    expect(id.request).toMatchObject({ sound_effect_prompt: 'rain', bgm_prompt: 'step bgm' });
    expect(id.request['asmr_mode'] ?? false, 'asmr_mode: false overrides the step’s true').toBe(false);
    expect(outro.request).toMatchObject({
      sound_effect_prompt: 'step sfx',
      bgm_prompt: 'step bgm',
      asmr_mode: true,
    });

    const results = resultsOf(run);
    expect(results[0]!.name).toBe('Intro');
    expect(results[2]!.name).toBe('Outro');
    expect(results.map((r) => r.source)).toEqual([url('intro'), '777000', url('outro')]);
    expect(results.map((r) => r.task_id)).toEqual([intro.task_id, id.task_id, outro.task_id]);

    // Both formats of every entry, in files and in the one artifact.
    const expected = [intro, id, outro].flatMap((t) => [`${t.task_id}.mp3`, `${t.task_id}.wav`]).sort();
    expect(
      lines(run.outputs.files)
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(expected);
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    expect([...(await readZip(live[0]!.blob)).keys()].sort()).toEqual(expected);
    const rows = summaryRows(run.summary);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('Intro');
    expect(rows[2]).toContain('Outro');
  });

  it('a chosen external_task_id gives entry N <id>-N', async () => {
    const w = await open({ timeline: { submittedMs: 10, processingMs: 30 } });
    const run = await w.run({
      videos: `${url('x1')}\n${url('x2')}`,
      external_task_id: 'nightly-2024',
    });
    expect(run.code, run.stdout).toBe(0);
    expect(resultsOf(run).map((r) => r.external_task_id)).toEqual(['nightly-2024-1', 'nightly-2024-2']);
    expect(taskFor(w.kling, { video_url: url('x2') }).external_task_id).toBe('nightly-2024-2');
    expect(lines(run.outputs.external_task_id)).toEqual(['nightly-2024-1', 'nightly-2024-2']);
  });

  it('a single-video step sets results too: an array of one', async () => {
    const w = await open({ timeline: { submittedMs: 10, processingMs: 30 } });
    const run = await w.run({ video_url: url('single') });
    expect(run.code, run.stdout).toBe(0);
    const results = resultsOf(run);
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result).toMatchObject({
      source: url('single'),
      task_id: run.outputs.task_id,
      external_task_id: run.outputs.external_task_id,
      task_status: 'succeed',
      audio_path: run.outputs.audio_path,
    });
    expect(result).not.toHaveProperty('error');
  });
});

describe('videos: every entry is checked before any request', () => {
  it('bad lines are named by line number, and nothing is sent', async () => {
    const w = await open();
    const run = await w.run({
      // A line that is neither a URL nor an id is a path, found on disk after the lines are read.
      videos: [
        url('ok-1'),
        '# fine',
        'ftp://example.com/a.mp4',
        url('ok-2'),
        'https://exa mple.com/a.mp4',
      ].join('\n'),
    });
    expect(run.code).toBe(1);
    const message = errorMessage(run);
    expect(message).toContain('videos line 3');
    expect(message).toContain('videos line 5');
    expect(message).not.toContain('videos line 1');
    expect(message).not.toContain('videos line 4');
    expect(w.kling.requests).toHaveLength(0);
    expect(w.kling.tasks.size).toBe(0);
  });

  it('bad JSON entries are named by index with what is wrong, and nothing is sent', async () => {
    const w = await open();
    const run = await w.run({
      videos: JSON.stringify([
        { video_url: url('fine') },
        { name: 'no source', bgm_prompt: 'x' },
        { video_url: url('long'), bgm_prompt: 'é'.repeat(201) },
        { video_url: url('both'), video_id: '123' },
      ]),
    });
    expect(run.code).toBe(1);
    const message = errorMessage(run);
    expect(message).not.toContain('videos[0]');
    expect(message).toMatch(/videos\[1\][^\n]*(video_url|video_id)/);
    expect(message).toMatch(/videos\[2\][^\n]*bgm_prompt/);
    expect(message).toMatch(/videos\[3\][^\n]*(video_url|video_id)/);
    expect(w.kling.requests).toHaveLength(0);
  });

  it('JSON that does not parse, an empty list, or a bad max_concurrency fails before any request', async () => {
    const w = await open();
    const cases: Record<string, string>[] = [
      { videos: '[{"video_url": "https://example.com/a.mp4"' },
      { videos: '# only a comment\n\n' },
      { videos: url('conc'), max_concurrency: '0' },
      { videos: url('conc'), max_concurrency: 'many' },
      { videos: Array.from({ length: 201 }, (_, i) => url(`many-${i}`)).join('\n') },
    ];
    for (const inputs of cases) {
      const run = await w.run(inputs);
      expect(run.code, JSON.stringify(inputs).slice(0, 80)).toBe(1);
      const message = errorMessage(run);
      expect(message).toMatch(inputs.max_concurrency ? /max_concurrency/ : /videos/);
    }
    expect(w.kling.requests).toHaveLength(0);
  });

  it('videos with video_url, video_id or task_id is refused, and nothing is sent', async () => {
    const w = await open();
    const others: Record<string, string>[] = [
      { video_url: url('also') },
      { video_id: '123456' },
      { task_id: '860000000000000001' },
    ];
    for (const other of others) {
      const run = await w.run({ videos: `${url('one')}\n${url('two')}`, ...other });
      expect(run.code).toBe(1);
      const message = errorMessage(run);
      expect(message).toContain('videos');
      expect(message).toContain(Object.keys(other)[0]!);
    }
    expect(w.kling.requests).toHaveLength(0);
  });
});

describe('max_concurrency and the account limit (1303)', () => {
  const six = Array.from({ length: 6 }, (_, i) => url(`six-${i + 1}`)).join('\n');

  it('a large account: exactly max_concurrency tasks in flight at the peak, never more', async () => {
    const w = await open({ accountConcurrency: 50, timeline: { submittedMs: 60, processingMs: 180 } });
    const run = await w.run({ videos: six, max_concurrency: '3' });
    expect(run.code, run.stdout).toBe(0);
    expect(w.kling.tasks.size).toBe(6);
    expect(w.kling.peakConcurrency).toBe(3);
    expect(w.kling.concurrencyRefusals).toBe(0);
    expect(resultsOf(run).every((r) => r.task_status === 'succeed')).toBe(true);
  });

  it('the default max_concurrency is 2', async () => {
    const w = await open({ timeline: { submittedMs: 60, processingMs: 180 } });
    const run = await w.run({ videos: six });
    expect(run.code, run.stdout).toBe(0);
    expect(w.kling.tasks.size).toBe(6);
    expect(w.kling.peakConcurrency).toBe(2);
  });

  it('an account of 2 under max_concurrency 4: never above 2, and the batch succeeds', async () => {
    const w = await open({ accountConcurrency: 2, timeline: { submittedMs: 40, processingMs: 120 } });
    const run = await w.run({ videos: six, max_concurrency: '4' });
    expect(run.code, run.stdout).toBe(0);
    expect(w.kling.peakConcurrency).toBeLessThanOrEqual(2);
    expect(w.kling.tasks.size).toBe(6);
    const results = resultsOf(run);
    expect(results.every((r) => r.task_status === 'succeed' && !r.error)).toBe(true);
    expect(new Set(results.map((r) => r.task_id)).size).toBe(6);
    // It learns the account's size instead of sending creates into a full account.
    expect(w.kling.concurrencyRefusals, 'creates refused with 1303').toBeLessThanOrEqual(5);
  });

  it('an account of 1 under max_concurrency 3: entries wait their turn (none fails), and few 1303s', async () => {
    const w = await open({ accountConcurrency: 1, timeline: { submittedMs: 40, processingMs: 120 } });
    const run = await w.run({ videos: six, max_concurrency: '3' });
    expect(run.code, run.stdout).toBe(0);
    expect(w.kling.peakConcurrency).toBe(1);
    expect(w.kling.tasks.size).toBe(6);
    expect(resultsOf(run).every((r) => r.task_status === 'succeed' && !r.error)).toBe(true);
    const refusals = w.kling.concurrencyRefusals;
    expect(routeRequests(w.kling, 'create')).toHaveLength(6 + refusals);
    expect(lines(run.outputs.task_id)).toHaveLength(6);
    // The first wave may be refused; after that the step keeps to what the account holds.
    expect(refusals, 'creates refused with 1303').toBeLessThanOrEqual(5);
  });

  it('slots held by another user of the account: entries wait for them, then all succeed', async () => {
    const w = await open({ accountConcurrency: 2, timeline: { submittedMs: 20, processingMs: 60 } });
    // Held until 700 ms after the step's first create, however long the step takes to send it.
    const release = w.kling.occupySlots(2, Infinity);
    const firstCreate = w.kling.nextRequest('create');
    const running = w.run({ videos: six.split('\n').slice(0, 3).join('\n'), max_concurrency: '2' });
    try {
      await Promise.race([firstCreate, running]);
      await sleep(700);
    } finally {
      release();
    }
    const run = await running;
    expect(run.code, run.stdout).toBe(0);
    expect(w.kling.tasks.size).toBe(3);
    expect(resultsOf(run).every((r) => r.task_status === 'succeed')).toBe(true);
    // With none of its own tasks running, the step backs off (Kling asks for at least 1 s) instead
    // of sending creates into the full account.
    expect(w.kling.concurrencyRefusals).toBeGreaterThan(0);
    expect(w.kling.concurrencyRefusals, 'creates refused with 1303').toBeLessThanOrEqual(8);
  });
});

describe('a failed entry never stops the others', () => {
  it('the others finish, download and upload; then the step fails naming each failed entry and why', async () => {
    const w = await open({ timeline: { submittedMs: 80, processingMs: 300 } });
    const videos = [
      { video_url: url('good-1'), name: 'Good one' },
      { video_url: url('risky'), name: 'Risky clip' },
      { video_url: url('good-2'), name: 'Good two' },
      { video_url: url('gone'), name: 'Gone clip' },
      { video_url: url('good-3'), name: 'Good three' },
    ];
    const stop = failTaskFor(w.kling, url('risky'), 'Content risk control: clip rejected');
    // The task of 'gone' succeeds but its result file is not there (404).
    w.kling.setResultUrls((taskId, own) =>
      w.kling.tasks.get(taskId)?.request['video_url'] === url('gone')
        ? { ...own, mp3: `${w.kling.url}/files/0/audio.mp3` }
        : own,
    );
    let run: ActionRun;
    try {
      run = await w.run({ videos: JSON.stringify(videos), max_concurrency: '3' });
    } finally {
      stop();
    }
    expect(run.code).toBe(1);

    const risky = taskFor(w.kling, { video_url: url('risky') });
    const gone = taskFor(w.kling, { video_url: url('gone') });
    const good = ['good-1', 'good-2', 'good-3'].map((n) => taskFor(w.kling, { video_url: url(n) }));
    expect(w.kling.tasks.size).toBe(5);

    // The step's error names each failed entry with its reason, and no good one.
    const message = errorMessage(run);
    expect(message).toContain('Risky clip');
    expect(message).toContain('Content risk control: clip rejected');
    expect(message).toContain('Gone clip');
    expect(message).toMatch(/404/);
    for (const name of ['Good one', 'Good two', 'Good three']) expect(message).not.toContain(name);

    // results: the failed ones carry their error; the good ones none, with their files.
    const results = resultsOf(run);
    expect(results.map((r) => r.name)).toEqual(videos.map((v) => v.name));
    expect(results[1]).toMatchObject({ task_id: risky.task_id, task_status: 'failed' });
    expect(results[1]!.error).toContain('Content risk control: clip rejected');
    expect(results[3]).toMatchObject({ task_id: gone.task_id });
    expect(results[3]!.error).toMatch(/404/);
    for (const i of [0, 2, 4]) {
      expect(results[i]).not.toHaveProperty('error');
      expect(results[i]!.task_status).toBe('succeed');
    }
    expect(lines(run.outputs.task_id)).toEqual(
      [good[0]!, risky, good[1]!, gone, good[2]!].map((t) => t.task_id),
    );

    // The good entries' files are on disk and in the one artifact; nothing of the failed ones.
    const goodFiles = good.map((t) => `${t.task_id}.mp3`).sort();
    expect(
      lines(run.outputs.files)
        .map((f) => path.basename(f))
        .sort(),
    ).toEqual(goodFiles);
    for (const [i, task] of [
      [0, good[0]!],
      [2, good[1]!],
      [4, good[2]!],
    ] as const)
      expect(readFileSync(results[i]!.audio_path!).equals(w.kling.media(task.task_id).mp3)).toBe(true);
    expect(existsSync(path.join(run.workspace, 'kling-audio', `${gone.task_id}.mp3`))).toBe(false);
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    expect(run.outputs.artifact_id).toBe(String(live[0]!.id));
    expect([...(await readZip(live[0]!.blob)).keys()].sort()).toEqual(goodFiles);

    // The summary has a row for each, the failed ones marked so.
    const rows = summaryRows(run.summary);
    expect(rows).toHaveLength(5);
    expect(rows[1]).toContain('Risky clip');
    expect(rows[1]).toMatch(/fail/i);
    expect(rows[3]).toContain('Gone clip');
    expect(rows[0]).toContain(`${good[0]!.task_id}.mp3`);
  });
});

describe('one payment per video and request', () => {
  it('the same video twice (padded, with a comment): one create, both rows report it, its files once', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 60 } });
    const github = await GitHubApi.start({ tokens: { [JOB_TOKEN]: tokenPresets.writeAll } });
    try {
      const release = github.createRelease({ tag: 'v2.0.0' });
      const videos = [url('dup'), `   ${url('dup')}   # the same clip again`, url('other')].join('\n');
      const run = await w.run(
        { videos, max_concurrency: '3', release_tag: 'v2.0.0' },
        { env: { ...github.env(), GITHUB_EVENT_NAME: 'push' } },
      );
      expect(run.code, run.stdout).toBe(0);

      // One create per video, not per line.
      expect(routeRequests(w.kling, 'create')).toHaveLength(2);
      const dup = taskFor(w.kling, { video_url: url('dup') });
      const other = taskFor(w.kling, { video_url: url('other') });

      // Both rows report the one task; the comment is not part of the source.
      const results = resultsOf(run);
      expect(results.map((r) => r.source)).toEqual([url('dup'), url('dup'), url('other')]);
      expect(results.map((r) => r.task_id)).toEqual([dup.task_id, dup.task_id, other.task_id]);
      const [first, second] = results;
      for (const field of ['external_task_id', 'task_status', 'audio_path', 'audio_url', 'duration'] as const)
        expect(second![field], field).toBe(first![field]);
      expect(first!.task_status).toBe('succeed');
      expect(lines(run.outputs.task_id)).toEqual([dup.task_id, dup.task_id, other.task_id]);

      // The files once: in `files`, the artifact and the release.
      expect(lines(run.outputs.files)).toEqual([first!.audio_path, results[2]!.audio_path]);
      const live = liveArtifacts(w);
      expect(live).toHaveLength(1);
      expect([...(await readZip(live[0]!.blob)).keys()].sort()).toEqual(
        [`${dup.task_id}.mp3`, `${other.task_id}.mp3`].sort(),
      );
      expect(
        github
          .assets(release.id)
          .map((a) => a.name)
          .sort(),
      ).toEqual(['dup.mp3', 'other.mp3']);
      expect(lines(run.outputs.release_asset_urls)).toHaveLength(2);

      // A warning names the entries that share a task; the summary points the second row to the first.
      const warnings = run.stdout.split('\n').filter((line) => line.startsWith('::warning'));
      expect(warnings).toEqual([expect.stringMatching(/entries 1 and 2 .*dup\.mp4.* share one task/)]);
      const rows = summaryRows(run.summary);
      expect(rows).toHaveLength(3);
      expect(rows[1]).toContain('the task of #1');
      expect(run.summary).toMatch(/2 units billed/);
    } finally {
      await github.close();
    }
  });

  it('the same video with another prompt is another task; a third alike shares the first’s', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 60 } });
    const videos = [
      { video_url: url('same'), name: 'Plain' },
      { video_url: url('same'), name: 'With music', bgm_prompt: 'calm piano' },
      { video_url: ' https://EXAMPLE.com:443/same.mp4 ', name: 'Plain again' },
    ];
    const run = await w.run({ videos: JSON.stringify(videos), max_concurrency: '1' });
    expect(run.code, run.stdout).toBe(0);
    expect(routeRequests(w.kling, 'create')).toHaveLength(2);
    const results = resultsOf(run);
    expect(results.map((r) => r.name)).toEqual(['Plain', 'With music', 'Plain again']);
    expect(results[2]!.task_id).toBe(results[0]!.task_id);
    expect(results[1]!.task_id).not.toBe(results[0]!.task_id);
    expect(run.stdout).toMatch(/::warning::.*entries 1 and 3 \(Plain\) .*share one task/);
  });
});

describe('each entry’s task and files are its own', () => {
  const A = '860000000000000101';
  const B = '860000000000000102';

  /** The entry holding task `id`, and its row. */
  function rowOf(results: Result[], id: string): Result {
    const row = results.find((r) => r.task_id === id);
    expect(row, `a results row with task ${id}`).toBeDefined();
    return row!;
  }

  it('every query of task A answered with task B: that entry fails clearly; B’s entry keeps its own files', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 200 } });
    w.kling.setNextTaskId(A);
    w.kling.setNextTaskId(B);
    w.kling.inject({ ...faults.anotherTask('query', { about: A, taskId: B }), times: 1_000 });
    const run = await w.run({ videos: [url('own-a'), url('own-b')].join('\n'), max_concurrency: '2' });

    // A task never answered for is not adopted: the entry fails, the step says so.
    expect(run.code, run.stdout).toBe(1);
    const results = resultsOf(run);
    expect(results.map((r) => r.task_id).sort()).toEqual([A, B]);
    const a = rowOf(results, A);
    const b = rowOf(results, B);
    expect(a.error).toContain(`it is about task ${B}, not the task asked for`);
    expect(a.audio_path).toBeNull();
    expect(b).not.toHaveProperty('error');
    expect(b.task_status).toBe('succeed');
    expect(errorMessage(run)).toContain(a.name);
    expect(errorMessage(run)).not.toContain(`- ${b.name}:`);

    // B's file once, its own bytes, in `files` and the artifact.
    expect(lines(run.outputs.files)).toEqual([b.audio_path]);
    expect(path.basename(b.audio_path!)).toBe(`${B}.mp3`);
    expect(readFileSync(b.audio_path!).equals(w.kling.media(B).mp3)).toBe(true);
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    expect([...(await readZip(live[0]!.blob)).keys()]).toEqual([`${B}.mp3`]);
    // Retried within its budget, not until the deadline.
    const queriesOfA = w.kling.requests.filter((r) => r.route === 'query' && r.path.endsWith(`/${A}`));
    expect(queriesOfA).toHaveLength(3);
  });

  it('one answer about another task is retried: each entry keeps its own task and files', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 200 } });
    w.kling.setNextTaskId(A);
    w.kling.setNextTaskId(B);
    w.kling.inject(faults.anotherTask('query', { about: A, taskId: B }));
    const run = await w.run({
      videos: [url('once-a'), url('once-b')].join('\n'),
      max_concurrency: '2',
      poll_interval_seconds: '0.2',
    });

    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(`it is about task ${B}, not the task asked for`);
    const results = resultsOf(run);
    for (const id of [A, B]) {
      const row = rowOf(results, id);
      expect(path.basename(row.audio_path!)).toBe(`${id}.mp3`);
      expect(readFileSync(row.audio_path!).equals(w.kling.media(id).mp3)).toBe(true);
    }
    expect(lines(run.outputs.files).sort()).toEqual(results.map((r) => r.audio_path).sort());
    expect([...(await readZip(liveArtifacts(w)[0]!.blob)).keys()].sort()).toEqual([`${A}.mp3`, `${B}.mp3`]);
  });

  it('a create answered with the task another entry holds: found by its external id, never sent again', async () => {
    const w = await open({ timeline: { submittedMs: 10, processingMs: 40 } });
    // The first create has no other task to show; the second is answered with the first's.
    w.kling.inject({ ...faults.anotherTask('create'), times: 2 });
    const run = await w.run({ videos: [url('first'), url('second')].join('\n'), max_concurrency: '1' });

    expect(run.code, run.stdout).toBe(0);
    expect(routeRequests(w.kling, 'create')).toHaveLength(2);
    expect(w.kling.tasks.size).toBe(2);
    const first = taskFor(w.kling, { video_url: url('first') });
    const second = taskFor(w.kling, { video_url: url('second') });
    const results = resultsOf(run);
    expect(results.map((r) => r.task_id)).toEqual([first.task_id, second.task_id]);
    expect(results.map((r) => r.external_task_id)).toEqual([first.external_task_id, second.external_task_id]);
    expect(results.map((r) => path.basename(r.audio_path!))).toEqual([
      `${first.task_id}.mp3`,
      `${second.task_id}.mp3`,
    ]);
    expect(lines(run.outputs.files)).toEqual(results.map((r) => r.audio_path));
  });
});

describe('re-runs and external ids', () => {
  it('a re-run of the same job resumes every task, creates none, and replaces the one artifact', async () => {
    const w = await open({ timeline: { submittedMs: 20, processingMs: 60 } });
    const videos = [url('rerun-a'), url('rerun-b'), url('rerun-c')].join('\n');
    const env = { GITHUB_RUN_ID: '777000222', GITHUB_RUN_ATTEMPT: '1' };
    const first = await w.run({ videos, max_concurrency: '3' }, { env });
    expect(first.code, first.stdout).toBe(0);
    expect(w.kling.tasks.size).toBe(3);
    const firstResults = resultsOf(first);
    const ids = firstResults.map((r) => r.task_id);
    expect(new Set(ids).size).toBe(3);
    expect(new Set(firstResults.map((r) => r.external_task_id)).size).toBe(3);
    const creates = routeRequests(w.kling, 'create').length;
    const firstArtifact = liveArtifacts(w);
    expect(firstArtifact).toHaveLength(1);

    const second = await w.run(
      { videos, max_concurrency: '3' },
      { env: { ...env, GITHUB_RUN_ATTEMPT: '2' } },
    );
    expect(second.code, second.stdout).toBe(0);
    expect(routeRequests(w.kling, 'create')).toHaveLength(creates);
    expect(w.kling.tasks.size).toBe(3);
    const secondResults = resultsOf(second);
    expect(secondResults.map((r) => r.task_id)).toEqual(ids);
    expect(secondResults.map((r) => r.external_task_id)).toEqual(firstResults.map((r) => r.external_task_id));
    expect(lines(second.outputs.task_id)).toEqual(ids);
    for (const [i, r] of secondResults.entries())
      expect(readFileSync(r.audio_path!).equals(w.kling.media(ids[i]!).mp3)).toBe(true);

    // The same artifact name, replaced: one live artifact, the new one.
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    expect(live[0]!.name).toBe(firstArtifact[0]!.name);
    expect(second.outputs.artifact_id).toBe(String(live[0]!.id));
    expect(second.outputs.artifact_id).not.toBe(first.outputs.artifact_id);
    expect([...(await readZip(live[0]!.blob)).keys()].sort()).toEqual(ids.map((id) => `${id}.mp3`).sort());

    // Another job of the same run is another step: it pays for its own tasks.
    const otherJob = await w.run({ videos, max_concurrency: '3' }, { env: { ...env, GITHUB_JOB: 'other' } });
    expect(otherJob.code, otherJob.stdout).toBe(0);
    expect(routeRequests(w.kling, 'create')).toHaveLength(creates + 3);
    expect(resultsOf(otherJob).some((r) => ids.includes(r.task_id))).toBe(false);
  });
});

describe('cancellation', () => {
  it('SIGINT while tasks run: the error lists every task created so far and how to resume', async () => {
    const w = await open({ timeline: { outcome: 'never' } });
    const videos = Array.from({ length: 5 }, (_, i) => ({ video_url: url(`cancel-${i}`), name: `Cut ${i}` }));
    const run = await w.run(
      { videos: JSON.stringify(videos), max_concurrency: '3', poll_interval_seconds: '0.1' },
      { signal: { name: 'SIGINT', afterStdout: /Submitted task/, afterMs: 400 } },
    );
    expect(run.signalSentAtMs).toBeDefined();
    expect(run.code).not.toBe(0);
    expect(run.durationMs - run.signalSentAtMs!).toBeLessThan(7_500);

    const created = [...w.kling.tasks.values()];
    expect(created).toHaveLength(3);
    const message = errorMessage(run);
    for (const task of created) expect(message).toContain(task.task_id);
    // How to resume: a re-run of the job, or task_id.
    expect(message).toMatch(/re-run|task_id/i);

    const results = resultsOf(run);
    expect(results).toHaveLength(5);
    const withTask = results.filter((r) => r.task_id);
    expect(withTask.map((r) => r.task_id).sort()).toEqual(created.map((t) => t.task_id).sort());
    for (const r of results) expect(r.error, `${r.name} is marked not done`).toBeTruthy();
    expect(lines(run.outputs.task_id).filter(Boolean).sort()).toEqual(created.map((t) => t.task_id).sort());
    expect(run.summary).toMatch(/cancel/i);
  });
});

describe('the job summary', () => {
  it('50 entries at max_concurrency 10: all done, one row each, every name, and totals', async () => {
    const w = await open({ timeline: { submittedMs: 10, processingMs: 30 } });
    const names = Array.from({ length: 50 }, (_, i) => `clip-${String(i + 1).padStart(2, '0')}`);
    const videos = names.map((name) => ({ video_url: url(name), name }));
    const run = await w.run({ videos: JSON.stringify(videos), max_concurrency: '10' }, { timeoutMs: 40_000 });
    expect(run.code, run.stdout.slice(-2000)).toBe(0);
    expect(w.kling.tasks.size).toBe(50);
    expect(w.kling.peakConcurrency).toBeLessThanOrEqual(10);

    const results = resultsOf(run);
    expect(results.map((r) => r.name)).toEqual(names);
    expect(results.every((r) => r.task_status === 'succeed')).toBe(true);
    expect(lines(run.outputs.task_id)).toHaveLength(50);
    expect(lines(run.outputs.files)).toHaveLength(50);
    const live = liveArtifacts(w);
    expect(live).toHaveLength(1);
    expect((await readZip(live[0]!.blob)).size).toBe(50);

    const rows = summaryRows(run.summary);
    expect(rows).toHaveLength(50);
    for (const [i, name] of names.entries()) {
      expect(rows[i]).toContain(name);
      expect(rows[i]).toContain(`${results[i]!.task_id}.mp3`);
    }
    expect(run.summary).toMatch(/total/i);
    expect(run.summary).toContain('50');
  }, 45_000);
});
