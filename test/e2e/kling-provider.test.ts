// provider: kling against the emulator's official routes, with both Kling credential kinds.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from 'jose';
import { ACCESS_KEY, errorMessage, KLING_API_KEY, SECRET_KEY, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => world.close());

const kling = { provider: 'kling', api_key: '' };

describe('provider: kling', () => {
  it('signs a JWT from access_key + secret_key and uses the /v1 routes', async () => {
    const run = await world.run({
      ...kling,
      access_key: ACCESS_KEY,
      secret_key: SECRET_KEY,
      video_url: 'https://example.com/jwt.mp4',
      bgm_prompt: 'drums',
    });
    expect(run.code, run.stdout).toBe(0);
    const api = world.kling.requests.filter((r) => r.route === 'create' || r.route === 'query');
    expect(api.length).toBeGreaterThan(1);
    for (const request of api) {
      expect(request.path.startsWith('/v1/audio/video-to-audio')).toBe(true);
      const claims = decodeJwt(request.authorization!.replace('Bearer ', ''));
      expect(claims.iss).toBe(ACCESS_KEY);
      expect(claims.exp! - claims.nbf!).toBe(1805);
    }
    // The token is masked before its first use.
    const token = api[0]!.authorization!.replace('Bearer ', '');
    expect(run.stdout).toContain(`::add-mask::${token}`);
    expect(run.stdout.indexOf(`::add-mask::${token}`)).toBeLessThan(run.stdout.indexOf('Submitted task'));
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(run.outputs.task_id!).mp3)).toBe(
      true,
    );
  });

  it('sends a console API key as a Bearer token', async () => {
    const run = await world.run({ ...kling, api_key: KLING_API_KEY, video_id: 'vid-1' });
    expect(run.code, run.stdout).toBe(0);
    const create = world.kling.requests.find((r) => r.route === 'create')!;
    expect(create.path).toBe('/v1/audio/video-to-audio');
    expect(create.authorization).toBe(`Bearer ${KLING_API_KEY}`);
  });

  it('re-signs when the token expires mid-poll, and finishes', async () => {
    world.kling.setTimeline({ submittedMs: 100, processingMs: 1500 });
    const running = world.run({
      ...kling,
      access_key: ACCESS_KEY,
      secret_key: SECRET_KEY,
      video_url: 'https://example.com/long.mp4',
      poll_interval_seconds: '0.1',
    });
    // Once polling has begun, move the emulator's clock to just past the first token's expiry.
    await until(() => world.kling.requests.some((r) => r.route === 'query'));
    world.kling.setClockSkewMs(1_800_000 - 1_000);
    const run = await running;
    expect(run.code, run.stdout).toBe(0);
    const queries = world.kling.requests.filter((r) => r.route === 'query');
    expect(queries.some((r) => r.status === 401)).toBe(true);
    expect(new Set(queries.map((r) => r.authorization)).size).toBeGreaterThan(1);
    expect(run.stdout).toContain('signed a fresh one');
  });

  it('rejects half a key pair, or Kling keys with provider cometapi, before any request', async () => {
    const half = await world.run({
      ...kling,
      access_key: ACCESS_KEY,
      video_url: 'https://example.com/a.mp4',
    });
    expect(half.code).toBe(1);
    expect(errorMessage(half)).toContain('access_key is set but secret_key is empty');
    const wrong = await world.run({
      access_key: ACCESS_KEY,
      secret_key: SECRET_KEY,
      video_url: 'https://example.com/a.mp4',
    });
    expect(wrong.code).toBe(1);
    expect(errorMessage(wrong)).toContain('provider: kling');
    expect(world.kling.requests).toHaveLength(0);
  });

  it('a wrong secret gets Kling code 1002 and advice about the credentials', async () => {
    const run = await world.run({
      ...kling,
      access_key: ACCESS_KEY,
      secret_key: 'wrong-secret-value',
      video_url: 'https://example.com/a.mp4',
    });
    expect(run.code).toBe(1);
    expect(errorMessage(run)).toContain('Kling code 1002');
    expect(errorMessage(run)).toMatch(/access_key \+ secret_key/);
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
