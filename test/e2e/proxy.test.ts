// Self-hosted runners behind a company proxy: the built action sends its API calls and downloads
// through HTTP(S)_PROXY, honours NO_PROXY, and never goes around a proxy that refuses it.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ForwardProxy } from '../emulator/forward-proxy.ts';
import { errorMessage, routeRequests, startWorld, type World } from './world.ts';
import { ACTION_TEST_TIMEOUT_MS } from '../support/run-action.ts';

vi.setConfig({ testTimeout: ACTION_TEST_TIMEOUT_MS });

let world: World;
let proxy: ForwardProxy;
let emulatorHost: string;

beforeAll(async () => {
  [world, proxy] = await Promise.all([startWorld(), ForwardProxy.start()]);
  emulatorHost = new URL(world.kling.url).host;
});
afterAll(async () => Promise.all([world.close(), proxy.close()]));
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.refuseWith = undefined;
  proxy.credentials = undefined;
});

const proxyEnv = () => ({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });

describe('behind a forward proxy', () => {
  it('sends every API call and download through HTTP(S)_PROXY and succeeds', async () => {
    const before = world.kling.requests.length;
    const run = await world.run({ video_url: 'https://example.com/clip.mp4' }, { env: proxyEnv() });
    expect(run.code, run.stdout).toBe(0);
    // No runtime warning on the way (undici 6 calls EnvHttpProxyAgent experimental).
    expect(run.stderr).not.toMatch(/warning/i);

    expect(proxy.targets()).toContain(emulatorHost);
    // Each tunnel carries one connection's requests; there must be at least one, and the emulator
    // saw the whole task: a create, its polls, and the download.
    const seen = world.kling.requests.slice(before);
    expect(seen.filter((r) => r.route === 'create')).toHaveLength(1);
    expect(seen.some((r) => r.route === 'download')).toBe(true);
    const taskId = run.outputs.task_id!;
    expect(readFileSync(run.outputs.audio_path!).equals(world.kling.media(taskId).mp3)).toBe(true);
  });

  it('authenticates with credentials from the proxy URL, and masks the password', async () => {
    const password = 'pr0xy-p@ss-7f3e91';
    proxy.credentials = { user: 'builder', password };
    const url = new URL(proxy.url);
    url.username = 'builder';
    url.password = encodeURIComponent(password);
    const run = await world.run(
      { video_url: 'https://example.com/clip.mp4' },
      { env: { HTTPS_PROXY: url.href, HTTP_PROXY: url.href } },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(proxy.targets()).toContain(emulatorHost);
    expect(run.stdout).toContain(`::add-mask::${password}`);
    const rest = `${run.stdout}\n${run.stderr}\n${run.summary}\n${JSON.stringify(run.outputs)}`
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(rest).not.toContain(password);
    expect(rest).not.toContain(encodeURIComponent(password));
  });

  it('goes direct for hosts in NO_PROXY', async () => {
    const run = await world.run(
      { video_url: 'https://example.com/clip.mp4' },
      { env: { ...proxyEnv(), NO_PROXY: '127.0.0.1,localhost' } },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(proxy.targets()).not.toContain(emulatorHost);
  });

  it('fails at once with what to check, and sends nothing around it, when the proxy refuses', async () => {
    proxy.refuseWith = 403;
    const creates = routeRequests(world.kling, 'create').length;
    const before = world.kling.requests.length;
    const run = await world.run({ video_url: 'https://example.com/clip.mp4' }, { env: proxyEnv() });
    expect(run.code).toBe(1);
    expect(proxy.targets()).toContain(emulatorHost);
    expect(world.kling.requests.length).toBe(before);
    expect(routeRequests(world.kling, 'create')).toHaveLength(creates);
    expect(errorMessage(run)).toMatch(/the proxy refused the connection.*Proxy response \(403\)/s);
    expect(errorMessage(run)).toMatch(/NO_PROXY/);
    // A refusal is not worth retrying: the proxy will refuse again.
    expect(run.stdout).not.toMatch(/retrying in/);
  });
});
