// cache: true on the built action, with the real @actions/cache against a local fake of the cache
// service (v2): save, then restore in a later run; a changed source or prompt misses; a service that
// is down only warns.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CacheService } from '../emulator/cache-service.ts';
import { routeRequests, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
let cache: CacheService;
beforeEach(async () => {
  world = await startWorld();
  cache = await CacheService.start();
});
afterEach(async () => {
  await Promise.all([world.close(), cache.close()]);
});

// The cache service shares ACTIONS_RESULTS_URL with the artifact service: these runs skip the artifact.
const inputs = (extra: Record<string, string> = {}) => ({
  video_id: '861254119619698760',
  cache: 'true',
  upload_artifact: 'false',
  ...extra,
});
const run = (extra: Record<string, string> = {}, runId = '100') =>
  world.run(inputs(extra), { env: { ...cache.env(), GITHUB_RUN_ID: runId } });
const creates = () => routeRequests(world.kling, 'create').length;

describe('cache: true', () => {
  it('saves a result; a later run restores it, sets the same outputs and creates no task', async () => {
    const first = await run();
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs.cache_hit).toBe('false');
    expect(cache.entries().filter((e) => e.finalized)).toHaveLength(1);

    const before = creates();
    const later = await run({}, '101');
    expect(later.code, later.stdout).toBe(0);
    expect(creates()).toBe(before);
    expect(later.outputs.cache_hit).toBe('true');
    expect(later.outputs.task_id).toBe(first.outputs.task_id);
    expect(readFileSync(later.outputs.audio_path!).equals(readFileSync(first.outputs.audio_path!))).toBe(
      true,
    );
    expect(later.summary).toMatch(/restored from an earlier run, no task paid for/);
  });

  it('a restored file of the same size but other bytes is no hit: regenerated like a miss, with a warning', async () => {
    const first = await run();
    expect(first.code, first.stdout).toBe(0);
    const audio = readFileSync(first.outputs.audio_path!);
    const [entry] = cache.entries();
    // Storage that went bad: one byte of the saved audio flipped, the archive as valid as before.
    cache.alterArchive(entry!.key, (tar) => {
      const at = tar.indexOf(audio);
      expect(at).toBeGreaterThanOrEqual(0);
      const changed = Buffer.from(tar);
      changed[at + Math.floor(audio.length / 2)]! ^= 0xff;
      return changed;
    });

    const before = creates();
    const later = await run({}, '104');
    expect(later.code, later.stdout).toBe(0);
    expect(later.outputs.cache_hit).toBe('false');
    expect(creates()).toBe(before + 1);
    expect(later.outputs.task_id).not.toBe(first.outputs.task_id);
    expect(later.stdout).toMatch(
      /::warning::cache: the result saved as kling-video-to-audio-[0-9a-f]{40} cannot be used \(\S+ does not match the sha256 saved with it\); generating it again/,
    );
    expect(later.summary).not.toMatch(/restored from an earlier run/);
    const fresh = readFileSync(later.outputs.audio_path!);
    expect(fresh.length).toBe(audio.length);
    // The key holds the bad entry: this run does not try to save under it again.
    expect(cache.calls.filter((c) => c.method === 'CreateCacheEntry')).toHaveLength(1);
  });

  it('a changed source or prompt misses and generates', async () => {
    expect((await run()).code).toBe(0);
    const before = creates();
    const otherVideo = await run({ video_id: '861254119619698761' }, '102');
    const otherPrompt = await run({ bgm_prompt: 'brass band' }, '103');
    expect([otherVideo.outputs.cache_hit, otherPrompt.outputs.cache_hit]).toEqual(['false', 'false']);
    expect(creates()).toBe(before + 2);
  });

  it('a cache service that is down only warns: the task is generated and the step succeeds', async () => {
    cache.inject({ kind: 'down' });
    const result = await run();
    expect(result.code, result.stdout).toBe(0);
    expect(result.outputs.task_id).toBeTruthy();
    expect(result.outputs.cache_hit).toBe('false');
    // @actions/cache warns itself and answers as for a miss.
    expect(result.stdout).toMatch(/::warning::Failed to restore/);
    expect(creates()).toBe(1);
  });
});
