// runStep() in-process, with every dependency injected: no runner, no child process.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheStore } from '../../src/step/cache.ts';
import type { ArtifactStore } from '../../src/deliver/artifact.ts';
import { runStep, type StepDependencies } from '../../src/main.ts';
import { abortableSleep, CancelledError, systemClock } from '../../src/runtime.ts';
import { KlingEmulator } from '../emulator/kling-emulator.ts';
import { scratchDir } from '../support/run-action.ts';

const KEY = 'sk-in-process-7d2c';
const ACCESS = 'ak-in-process';
const SECRET = 'sk-in-process-secret-91ab';

let kling: KlingEmulator;
beforeAll(async () => {
  kling = await KlingEmulator.start({ apiKeys: [KEY], accessKeys: { [ACCESS]: SECRET } });
});
afterAll(async () => kling.close());

/**
 * The Actions cache as @actions/cache behaves for the step: save stores the folders' files (relative
 * to the workspace, as its tar does) under a key, restore writes them back; a key is never overwritten.
 */
function memoryCache(
  workspace: string,
  entries = new Map<string, Map<string, Buffer>>(),
): CacheStore & { entries: typeof entries } {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  return {
    entries,
    restore: (_paths, key) => {
      const files = entries.get(key);
      if (!files) return Promise.resolve(undefined);
      for (const [file, bytes] of files) {
        const to = path.join(workspace, file);
        mkdirSync(path.dirname(to), { recursive: true });
        writeFileSync(to, bytes);
      }
      return Promise.resolve(key);
    },
    save: (paths, key) => {
      if (entries.has(key)) return Promise.reject(new Error(`Unable to reserve cache with key ${key}`));
      const files = new Map(
        paths.flatMap((p) =>
          walk(path.resolve(workspace, p)).map(
            (f) => [path.relative(workspace, f), readFileSync(f)] as const,
          ),
        ),
      );
      entries.set(key, files);
      return Promise.resolve(1);
    },
  };
}

/** Everything runStep() touches, recorded in one ordered list of events. */
function harness(inputs: Record<string, string>, overrides: Partial<StepDependencies> = {}) {
  // The runner starts the action in the workspace: relative cache paths resolve there.
  const workspace = scratchDir('main-');
  const events: string[] = [];
  const outputs: Record<string, string> = {};
  const uploads: { name: string; files: string[] }[] = [];
  let summary = '';
  const artifacts: ArtifactStore = {
    uploadArtifact: (name, files) => {
      uploads.push({ name, files });
      return Promise.resolve({ id: uploads.length, size: 1, digest: 'abc' });
    },
    deleteArtifact: () => Promise.reject(new Error('unexpected delete')),
  };
  const deps: StepDependencies = {
    getInput: (name) => inputs[name] ?? '',
    mask: (secret) => events.push(`mask ${secret}`),
    outputs: {
      setOutput: (name, value) => {
        events.push(`output ${name}`);
        outputs[name] = value;
      },
      saveState: (name) => events.push(`state ${name}`),
    },
    writeSummary: (markdown) => {
      summary = markdown;
      return Promise.resolve();
    },
    fail: (message) => events.push(`fail ${message}`),
    log: {
      info: (m) => events.push(`info ${m}`),
      warning: (m) => events.push(`warning ${m}`),
      debug: (m) => events.push(`debug ${m}`),
    },
    run: {
      repository: 'o/r',
      runId: '1',
      job: 'sound',
      step: 'gen',
      serverUrl: 'https://github.com',
      workspace,
    },
    github: {
      apiUrl: 'https://api.github.invalid',
      owner: 'o',
      repo: 'r',
      eventName: 'push',
      workflowRef: 'o/r/.github/workflows/sound.yml',
      job: 'sound',
      step: 'gen',
    },
    fetch: (url, init) => {
      events.push(`fetch ${init.method ?? 'GET'}`);
      return fetch(url, init);
    },
    artifacts,
    cache: memoryCache(workspace),
    clock: systemClock,
    sleep: abortableSleep,
    random: () => 0.5,
    signal: new AbortController().signal,
    userAgent: 'test',
    env: {},
    ...overrides,
  };
  return { deps, events, outputs, uploads, summary: () => summary, workspace };
}

// The videos are fictional: preflight has tests of its own.
const common = {
  poll_interval_seconds: '0.05',
  timeout_seconds: '30',
  audio_format: 'mp3',
  preflight: 'false',
};

describe('runStep()', () => {
  it('masks every credential before it logs, sets an output or sends a request', async () => {
    const h = harness({
      ...common,
      base_url: kling.url,
      provider: 'kling',
      access_key: ACCESS,
      secret_key: SECRET,
      video_url: 'https://example.com/m.mp4',
    });
    await runStep(h.deps);
    expect(h.events.filter((e) => e.startsWith('fail'))).toEqual([]);
    expect(h.events.slice(0, 2).sort()).toEqual([`mask ${ACCESS}`, `mask ${SECRET}`]);
    // The JWT is masked too, before the first request carries it.
    const firstFetch = h.events.findIndex((e) => e.startsWith('fetch'));
    const tokenMasks = h.events.filter((e, i) => e.startsWith('mask ey') && i < firstFetch);
    expect(tokenMasks).toHaveLength(1);
  });

  it('runs two tasks side by side in one process without sharing state', async () => {
    const a = harness({
      ...common,
      base_url: kling.url,
      api_key: KEY,
      video_url: 'https://example.com/a.mp4',
      sound_effect_prompt: 'rain',
    });
    const b = harness({
      ...common,
      base_url: kling.url,
      api_key: KEY,
      video_url: 'https://example.com/b.mp4',
      audio_format: 'wav',
    });
    await Promise.all([runStep(a.deps), runStep(b.deps)]);
    for (const h of [a, b]) expect(h.events.filter((e) => e.startsWith('fail'))).toEqual([]);
    expect(a.outputs.task_id).not.toBe(b.outputs.task_id);
    expect(a.outputs.external_task_id).not.toBe(b.outputs.external_task_id);
    expect(readFileSync(a.outputs.audio_path!).equals(kling.media(a.outputs.task_id!).mp3)).toBe(true);
    expect(readFileSync(b.outputs.audio_path!).equals(kling.media(b.outputs.task_id!).wav)).toBe(true);
    expect(a.uploads).toEqual([{ name: `kling-audio-${a.outputs.task_id}`, files: [a.outputs.audio_path] }]);
    expect(b.uploads).toEqual([{ name: `kling-audio-${b.outputs.task_id}`, files: [b.outputs.audio_path] }]);
    expect(a.summary()).toContain(a.outputs.task_id);
    expect(a.summary()).not.toContain(b.outputs.task_id);
  });

  it('sets task_id before it starts waiting', async () => {
    const h = harness({
      ...common,
      base_url: kling.url,
      api_key: KEY,
      video_url: 'https://example.com/order.mp4',
    });
    await runStep(h.deps);
    const taskIdAt = h.events.indexOf('output task_id');
    const posts = h.events.map((e, i) => (e === 'fetch POST' ? i : -1)).filter((i) => i >= 0);
    const firstPollAfterCreate = h.events.findIndex((e, i) => i > posts[0]! && e === 'fetch GET');
    expect(posts).toHaveLength(1);
    expect(taskIdAt).toBeGreaterThan(posts[0]!);
    expect(taskIdAt).toBeLessThan(firstPollAfterCreate);
  });

  it('on cancellation during the artifact upload, returns at once and says where the files are', async () => {
    const controller = new AbortController();
    let uploadStarted = false;
    const h = harness(
      { ...common, base_url: kling.url, api_key: KEY, video_url: 'https://example.com/late.mp4' },
      {
        signal: controller.signal,
        artifacts: {
          // Like the real client: it takes no signal, and here it never finishes.
          uploadArtifact: () => {
            uploadStarted = true;
            controller.abort(new CancelledError('SIGINT'));
            return new Promise(() => {});
          },
          deleteArtifact: () => Promise.reject(new Error('unexpected delete')),
        },
      },
    );
    await runStep(h.deps);
    expect(uploadStarted).toBe(true);
    const taskId = h.outputs.task_id!;
    const failures = h.events.filter((e) => e.startsWith('fail '));
    expect(failures).toEqual([
      `fail Cancelled (SIGINT) after task ${taskId} succeeded, before the artifact upload finished. ` +
        `The files are on the runner: kling-audio/${taskId}.mp3.`,
    ]);
    expect(readFileSync(h.outputs.audio_path!).equals(kling.media(taskId).mp3)).toBe(true);
    expect(h.summary()).toContain('The step was cancelled (SIGINT) after task');
    expect(h.outputs).not.toHaveProperty('artifact_id');
  });
});

describe('runStep() with cache: true', () => {
  const base = () => ({
    ...common,
    base_url: kling.url,
    api_key: KEY,
    cache: 'true',
    video_id: '861254119619698760',
  });
  const creates = () => kling.requests.filter((r) => r.route === 'create').length;

  it('a later run with the same source and request restores the files and creates no task', async () => {
    const store = new Map<string, Map<string, Buffer>>();
    const first = harness(base());
    first.deps.cache = memoryCache(first.workspace, store);
    await runStep(first.deps);
    expect(first.events.filter((e) => e.startsWith('fail'))).toEqual([]);
    expect(first.outputs.cache_hit).toBe('false');
    expect(store.size).toBe(1);

    const before = creates();
    const later = harness(base());
    // Another run of the workflow, in a workspace of its own.
    later.deps.run = { ...later.deps.run, runId: '2' };
    later.deps.cache = memoryCache(later.workspace, store);
    await runStep(later.deps);
    expect(later.events.filter((e) => e.startsWith('fail'))).toEqual([]);
    expect(creates()).toBe(before);
    expect(later.outputs.cache_hit).toBe('true');
    expect(later.outputs.task_id).toBe(first.outputs.task_id);
    expect(readFileSync(later.outputs.audio_path!).equals(readFileSync(first.outputs.audio_path!))).toBe(
      true,
    );
    expect(later.summary()).toMatch(/restored from an earlier run, no task paid for/);
  });

  it('no credential an API put in the result URLs reaches the saved manifest or an output', async () => {
    kling.setResultUrls((_id, own) => ({
      mp3: `${own.mp3}?auth=Bearer%20${KEY}`,
      wav: `${own.wav}?auth=${KEY}`,
      mp4: `${own.mp4}?auth=${KEY}`,
    }));
    try {
      const store = new Map<string, Map<string, Buffer>>();
      const h = harness({ ...base(), video_id: '861254119619698799' });
      h.deps.cache = memoryCache(h.workspace, store);
      await runStep(h.deps);
      expect(h.events.filter((e) => e.startsWith('fail'))).toEqual([]);
      expect(store.size).toBe(1);
      const manifest = [...[...store.values()][0]!].find(([file]) => file.endsWith('manifest.json'))![1];
      expect(manifest.toString()).toContain('?auth=Bearer%20***');
      expect(manifest.toString()).not.toContain(KEY);
      expect(h.outputs.audio_url).toMatch(/\?auth=Bearer%20\*\*\*$/);
      expect(JSON.stringify(h.outputs)).not.toContain(KEY);
      const said = h.events.filter((e) => !e.startsWith('mask '));
      expect(said.join('\n')).not.toContain(KEY.slice(3));
    } finally {
      kling.setResultUrls(undefined);
    }
  });

  it('a changed prompt is another key: a new task, and both results kept', async () => {
    const store = new Map<string, Map<string, Buffer>>();
    const first = harness(base());
    first.deps.cache = memoryCache(first.workspace, store);
    await runStep(first.deps);
    const changed = harness({ ...base(), bgm_prompt: 'brass band' });
    changed.deps.run = { ...changed.deps.run, runId: '3' };
    changed.deps.cache = memoryCache(changed.workspace, store);
    const before = creates();
    await runStep(changed.deps);
    expect(changed.outputs.cache_hit, changed.events.join('\n')).toBe('false');
    expect(creates()).toBe(before + 1);
    expect(store.size, changed.events.filter((e) => e.includes('cache')).join('\n')).toBe(2);
  });

  it('a cache service that fails is a warning: the task is generated, and the step does without the cache after', async () => {
    let saves = 0;
    const down: CacheStore = {
      restore: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
      save: () => {
        saves++;
        return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
      },
    };
    const h = harness(base(), { cache: down });
    await runStep(h.deps);
    expect(h.events.filter((e) => e.startsWith('fail'))).toEqual([]);
    expect(h.events.filter((e) => e.startsWith('warning cache:'))).toEqual([
      expect.stringMatching(/^warning cache: could not restore .*ECONNREFUSED.*generating instead\.$/),
    ]);
    // One failure is enough to tell: no slow save after it.
    expect(saves).toBe(0);
    expect(h.outputs.task_id).toBeTruthy();
    expect(h.outputs.cache_hit).toBe('false');
  });
});
