import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerAuthorizer, jwtAuthorizer } from '../../../src/kling/auth.ts';
import { policy } from '../../../src/policy.ts';
import { FakeClock } from '../../support/fakes.ts';

const ACCESS_KEY = 'AK-test-0001';
const SECRET_KEY = 'SK-secret-do-not-log';
const secret = new TextEncoder().encode(SECRET_KEY);

function setup() {
  const clock = new FakeClock();
  const masked: string[] = [];
  const auth = jwtAuthorizer({
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    ...policy.jwt,
    clock,
    mask: (token) => masked.push(token),
  });
  return { clock, masked, auth };
}

const tokenOf = (header: string) => {
  expect(header).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  return header.slice('Bearer '.length);
};

describe('jwtAuthorizer (reference §6)', () => {
  it('signs an HS256 JWT that verifies against the secret key with iss, exp = now+1800, nbf = now-5', async () => {
    const { clock, auth } = setup();
    const token = tokenOf(await auth.header());
    const now = Math.floor(clock.now() / 1000);

    const { payload, protectedHeader } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ACCESS_KEY,
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toEqual({ iss: ACCESS_KEY, exp: now + 1800, nbf: now - 5 });
  });

  it('does not verify with another secret', async () => {
    const { auth } = setup();
    const token = tokenOf(await auth.header());
    await expect(jwtVerify(token, new TextEncoder().encode('wrong'))).rejects.toThrow();
  });

  it('masks the token before returning it', async () => {
    const { masked, auth } = setup();
    const token = tokenOf(await auth.header());
    expect(masked).toEqual([token]);
  });

  it('reuses the cached token while more than 5 minutes remain', async () => {
    const { clock, masked, auth } = setup();
    const first = await auth.header();
    clock.advance(1_000);
    expect(await auth.header()).toBe(first);
    clock.advance(1_499_000 - 1_000); // 1499 s after signing: 301 s remain
    expect(await auth.header()).toBe(first);
    expect(masked).toHaveLength(1);
  });

  it('re-signs once less than 5 minutes remain, then caches the new token', async () => {
    const { clock, masked, auth } = setup();
    const first = await auth.header();
    clock.advance(1_501_000); // 299 s remain
    const second = await auth.header();
    expect(second).not.toBe(first);
    const { payload } = await jwtVerify(tokenOf(second), secret, { currentDate: new Date(clock.now()) });
    expect(payload.exp).toBe(Math.floor(clock.now() / 1000) + 1800);
    expect(masked).toHaveLength(2);
    expect(masked[1]).toBe(tokenOf(second));

    clock.advance(60_000);
    expect(await auth.header()).toBe(second);
    expect(masked).toHaveLength(2);
  });

  it('refresh() forces a freshly signed token', async () => {
    const { clock, masked, auth } = setup();
    const first = await auth.header();
    clock.advance(10_000);
    expect(auth.refresh()).toBe(true);
    const second = await auth.header();
    expect(masked).toHaveLength(2);
    expect(second).not.toBe(first);
    const { payload } = await jwtVerify(tokenOf(second), secret, { currentDate: new Date(clock.now()) });
    expect(payload.nbf).toBe(Math.floor(clock.now() / 1000) - 5);
  });

  it('honours custom ttl and refresh margin', async () => {
    const clock = new FakeClock();
    const auth = jwtAuthorizer({
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      clock,
      mask: () => {},
      ttlSeconds: 60,
      refreshMarginSeconds: 10,
      notBeforeSkewSeconds: 5,
    });
    const first = tokenOf(await auth.header());
    const { payload } = await jwtVerify(first, secret, { currentDate: new Date(clock.now()) });
    expect(payload.exp).toBe(Math.floor(clock.now() / 1000) + 60);
    expect(decodeProtectedHeader(first).alg).toBe('HS256');
    clock.advance(49_000);
    expect(tokenOf(await auth.header())).toBe(first);
    clock.advance(2_000);
    expect(tokenOf(await auth.header())).not.toBe(first);
  });
});

describe('bearerAuthorizer', () => {
  it('sends the key as is and has nothing to refresh', async () => {
    const auth = bearerAuthorizer('sk-comet-123');
    expect(await auth.header()).toBe('Bearer sk-comet-123');
    expect(auth.refresh()).toBe(false);
    expect(await auth.header()).toBe('Bearer sk-comet-123');
  });
});
