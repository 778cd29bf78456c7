import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheKey,
  restoreResult,
  saveResult,
  type CacheContext,
  type CacheStore,
} from '../../../src/step/cache.ts';
import type { ActionInputs } from '../../../src/inputs/read.ts';
import type { Entry } from '../../../src/sources/source.ts';
import type { Task } from '../../../src/kling/responses.ts';
import { recordingLog } from '../../support/fakes.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function context(store: CacheStore, timeoutMs = 5_000) {
  const workspace = mkdtempSync(path.join(tmpdir(), 'cache-unit-'));
  dirs.push(workspace);
  const log = recordingLog();
  let abandoned = false;
  let failed = false;
  const unusable: string[] = [];
  const ctx: CacheContext = {
    store,
    log,
    signal: new AbortController().signal,
    workspace,
    onAbandoned: () => (abandoned = true),
    timeoutMs,
    onFailure: () => (failed = true),
    onUnusable: (key) => unusable.push(key),
  };
  return { ctx, log, workspace, abandoned: () => abandoned, failed: () => failed, unusable };
}

const inputs = {
  provider: 'cometapi',
  baseUrl: 'https://api.cometapi.com',
  audioFormat: 'mp3',
  includeVideo: false,
} as ActionInputs;
const entry = (source: Entry['source'], extra: Partial<Entry> = {}): Entry => ({
  source,
  name: 'x',
  asmrMode: false,
  ...extra,
});

describe('cacheKey', () => {
  const url = { kind: 'video_url', videoUrl: 'https://cdn.example.com/a.mp4' } as const;

  it('keys a URL by its ETag and size, and refuses one without them', () => {
    const key = cacheKey(entry(url), { container: 'mp4', etag: '"abc"', bytes: 1000 }, inputs);
    expect(key).toMatch(/^kling-video-to-audio-[0-9a-f]{40}$/);
    expect(cacheKey(entry(url), { container: 'mp4', etag: '"abd"', bytes: 1000 }, inputs)).not.toBe(key);
    expect(cacheKey(entry(url), { container: 'mp4', etag: '"abc"', bytes: 1001 }, inputs)).not.toBe(key);
    expect(cacheKey(entry(url), { container: 'mp4', bytes: 1000 }, inputs)).toBeUndefined();
    expect(cacheKey(entry(url), undefined, inputs)).toBeUndefined();
  });

  it('changes with every input that changes the result', () => {
    const id = { kind: 'video_id', videoId: '861' } as const;
    const keys = new Set([
      cacheKey(entry(id), undefined, inputs),
      cacheKey(entry(id, { bgmPrompt: 'piano' }), undefined, inputs),
      cacheKey(entry(id, { soundEffectPrompt: 'rain' }), undefined, inputs),
      cacheKey(entry(id, { asmrMode: true }), undefined, inputs),
      cacheKey(entry(id), undefined, { ...inputs, audioFormat: 'wav' }),
      cacheKey(entry(id), undefined, { ...inputs, includeVideo: true }),
      cacheKey(entry(id), undefined, { ...inputs, provider: 'kling' }),
      cacheKey(entry(id), undefined, { ...inputs, baseUrl: 'http://127.0.0.1:8080' }),
    ]);
    expect(keys.size).toBe(8);
    expect(cacheKey(entry({ kind: 'task_id', taskId: '1' }), undefined, inputs)).toBeUndefined();
  });

  it('changes with mux, and without it stays the key saved before mux existed', () => {
    const id = { kind: 'video_id', videoId: '861' } as const;
    const plain = cacheKey(entry(id), undefined, inputs);
    // As the version before mux computed it: a later run still finds what it saved.
    expect(plain).toBe('kling-video-to-audio-cef9839778f8ff9e54fdf8c81a61c8883ec36421');
    expect(cacheKey(entry(id), undefined, { ...inputs, mux: false })).toBe(plain);
    expect(cacheKey(entry(id), undefined, { ...inputs, mux: true })).not.toBe(plain);
  });
});

describe('a slow or failing cache service never holds the step', () => {
  const hanging: CacheStore = { restore: () => new Promise(() => {}), save: () => new Promise(() => {}) };

  it('a restore that never answers is given up after the time limit: a miss, a warning, the work abandoned', async () => {
    const { ctx, log, workspace, abandoned, failed } = context(hanging, 100);
    const started = performance.now();
    expect(await restoreResult('k', path.join(workspace, 'out'), ctx)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(log.at('warning').join('\n')).toMatch(
      /cache: could not restore k \(the cache service did not answer within 0\.1s\)/,
    );
    expect(abandoned()).toBe(true);
    expect(failed()).toBe(true);
  });

  it('a save that fails is a warning, and leaves no cache folder behind', async () => {
    const failing: CacheStore = {
      restore: () => Promise.resolve(undefined),
      save: () => Promise.reject(new Error('HTTP 503')),
    };
    const { ctx, log, workspace, failed } = context(failing);
    const file = path.join(workspace, 'out', 't.mp3');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'ID3 audio');
    await saveResult(
      'k',
      {
        ending: 'succeeded',
        resumed: false,
        files: [{ role: 'audio', kind: 'mp3', url: 'https://cdn.example.com/t.mp3', path: file, bytes: 9 }],
        task: { taskId: 't', status: 'succeed', audios: [], videos: [] },
      },
      ctx,
    );
    expect(log.at('warning')).toEqual(['cache: could not save k (HTTP 503); the next run generates again.']);
    expect(existsSync(path.join(workspace, '.kling-audio-cache'))).toBe(false);
    expect(failed()).toBe(true);
  });

  it('a save the service did not take (@actions/cache answers -1) is a warning, not "saved"', async () => {
    const refusing: CacheStore = {
      restore: () => Promise.resolve(undefined),
      save: () => Promise.resolve(-1),
    };
    const { ctx, log, workspace } = context(refusing);
    const file = path.join(workspace, 'out', 't.mp3');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'ID3 audio');
    const files = [
      { role: 'audio' as const, kind: 'mp3' as const, url: 'https://x/t.mp3', path: file, bytes: 9 },
    ];
    await saveResult(
      'k',
      {
        ending: 'succeeded',
        resumed: false,
        files,
        task: { taskId: 't', status: 'succeed', audios: [], videos: [] },
      },
      ctx,
    );
    expect(log.at('info')).toEqual([]);
    expect(log.at('warning')[0]).toMatch(/did not take it/);
  });
});

describe('a cache hit is the audio that was saved', () => {
  /** A store that keeps what was saved in a folder of its own, as the cache service keeps the archive. */
  function folderStore(workspace: string) {
    const stash = mkdtempSync(path.join(tmpdir(), 'cache-stash-'));
    dirs.push(stash);
    const store: CacheStore = {
      save: ([relative]) => {
        cpSync(path.join(workspace, relative!), path.join(stash, relative!), { recursive: true });
        return Promise.resolve(1);
      },
      restore: ([relative], key) => {
        if (!existsSync(path.join(stash, relative!))) return Promise.resolve(undefined);
        cpSync(path.join(stash, relative!), path.join(workspace, relative!), { recursive: true });
        return Promise.resolve(key);
      },
    };
    /** The saved copy of a file of the entry (or its manifest). */
    const saved = (key: string, name: string) => path.join(stash, '.kling-audio-cache', key, name);
    return { store, saved };
  }

  async function saveOne(ctx: CacheContext, workspace: string, bytes: string) {
    const file = path.join(workspace, 'out', 't.mp3');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    await saveResult(
      'k',
      {
        ending: 'succeeded',
        resumed: false,
        files: [
          {
            role: 'audio',
            kind: 'mp3',
            url: 'https://cdn.example.com/t.mp3',
            path: file,
            bytes: bytes.length,
          },
        ],
        task: { taskId: 't', status: 'succeed', audios: [], videos: [] },
      },
      ctx,
    );
    rmSync(path.join(workspace, 'out'), { recursive: true, force: true });
  }

  it('an intact entry is restored, file for file', async () => {
    const { ctx, workspace } = context({
      restore: () => Promise.resolve(undefined),
      save: () => Promise.resolve(1),
    });
    const { store, saved } = folderStore(workspace);
    ctx.store = store;
    await saveOne(ctx, workspace, 'ID3 the audio that was saved');
    expect(JSON.parse(readFileSync(saved('k', 'manifest.json'), 'utf8'))).toMatchObject({
      version: 2,
      files: [
        { name: 't.mp3', sha256: createHash('sha256').update('ID3 the audio that was saved').digest('hex') },
      ],
    });
    const outcome = await restoreResult('k', path.join(workspace, 'out'), ctx);
    expect(outcome?.files.map((f) => readFileSync(f.path, 'utf8'))).toEqual(['ID3 the audio that was saved']);
  });

  it('keeps a muxed video (made on the runner, no URL) with the rest, and restores it as one', async () => {
    const { ctx, workspace } = context({
      restore: () => Promise.resolve(undefined),
      save: () => Promise.resolve(1),
    });
    const { store } = folderStore(workspace);
    ctx.store = store;
    const out = path.join(workspace, 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 't.mp3'), 'ID3 audio');
    writeFileSync(path.join(out, 't-muxed.mov'), 'a muxed video');
    const files = [
      {
        role: 'audio',
        kind: 'mp3',
        url: 'https://cdn.example.com/t.mp3',
        path: path.join(out, 't.mp3'),
        bytes: 9,
      },
      { role: 'muxed', kind: 'mov', path: path.join(out, 't-muxed.mov'), bytes: 13 },
    ] as const;
    const task: Task = { taskId: 't', status: 'succeed', audios: [], videos: [] };
    await saveResult('k', { ending: 'succeeded', resumed: false, files: [...files], task }, ctx);
    rmSync(out, { recursive: true, force: true });
    const outcome = await restoreResult('k', out, ctx);
    expect(outcome?.files).toEqual(files);
    expect(readFileSync(path.join(out, 't-muxed.mov'), 'utf8')).toBe('a muxed video');
  });

  it('a file of the same size but other bytes is no hit: a warning, a miss, and its key is not saved again', async () => {
    const { ctx, log, workspace, failed, unusable } = context({
      restore: () => Promise.resolve(undefined),
      save: () => Promise.resolve(1),
    });
    const { store, saved } = folderStore(workspace);
    ctx.store = store;
    await saveOne(ctx, workspace, 'ID3 the audio that was saved');
    writeFileSync(saved('k', 't.mp3'), 'ID3 the audio that was SAVED');
    const outcome = await restoreResult('k', path.join(workspace, 'out'), ctx);
    expect(outcome).toBeUndefined();
    expect(log.at('warning')).toEqual([
      'cache: the result saved as k cannot be used (t.mp3 does not match the sha256 saved with it); generating it again. ' +
        'The cache keeps an entry under its key until it expires or is deleted (gh cache delete k), so this run saves none.',
    ]);
    expect(unusable).toEqual(['k']);
    // Not the service failing: the other entries still use the cache.
    expect(failed()).toBe(false);
    expect(existsSync(path.join(workspace, 'out')) ? readdirSync(path.join(workspace, 'out')) : []).toEqual(
      [],
    );
    expect(existsSync(path.join(workspace, '.kling-audio-cache'))).toBe(false);
  });

  it('an entry saved by an older version (a manifest without digests) is a miss, with a warning', async () => {
    const { ctx, log, workspace, unusable } = context({
      restore: () => Promise.resolve(undefined),
      save: () => Promise.resolve(1),
    });
    const { store, saved } = folderStore(workspace);
    ctx.store = store;
    await saveOne(ctx, workspace, 'ID3 old');
    const manifest = JSON.parse(readFileSync(saved('k', 'manifest.json'), 'utf8')) as {
      version: number;
      files: Record<string, unknown>[];
    };
    manifest.version = 1;
    for (const file of manifest.files) delete file['sha256'];
    writeFileSync(saved('k', 'manifest.json'), JSON.stringify(manifest));
    expect(await restoreResult('k', path.join(workspace, 'out'), ctx)).toBeUndefined();
    expect(log.at('warning')[0]).toMatch(/cannot be used \(its manifest is version 1, not 2\)/);
    expect(unusable).toEqual(['k']);
  });

  it('keys carry the manifest version: an older version’s entries are never looked up', () => {
    const key = cacheKey(entry({ kind: 'video_id', videoId: '861' }), undefined, inputs);
    const v1 = `kling-video-to-audio-${createHash('sha256')
      .update(
        JSON.stringify([
          1,
          ['video_id', '861'],
          ['cometapi', 'https://api.cometapi.com', '', '', 'false', 'mp3', 'false'],
        ]),
      )
      .digest('hex')
      .slice(0, 40)}`;
    expect(key).not.toBe(v1);
  });
});
