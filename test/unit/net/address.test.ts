import { describe, expect, it } from 'vitest';
import {
  FORBIDDEN_ADDRESS_CODE,
  guardedLookup,
  isForbiddenAddress,
  resultUrlProblem,
} from '../../../src/net/address.ts';

describe('resultUrlProblem', () => {
  it('accepts https result URLs, and http only while the API is on loopback', () => {
    expect(resultUrlProblem('https://cdn.klingai.com/a.mp3', false)).toBeUndefined();
    expect(resultUrlProblem('http://127.0.0.1:8080/a.mp3', true)).toBeUndefined();
    expect(resultUrlProblem('http://cdn.example.com/a.mp3', false)).toMatch(/http: scheme; only https/);
  });

  it.each([
    ['file:///etc/passwd', 'file:'],
    ['data:audio/mpeg;base64,AAAA', 'data:'],
    ['ftp://example.com/a.mp3', 'ftp:'],
    ['javascript:alert(1)', 'javascript:'],
    ['gopher://x/', 'gopher:'],
  ])('refuses %s, naming its scheme', (url, scheme) => {
    expect(resultUrlProblem(url, true)).toContain(`the ${scheme} scheme`);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'https://169.254.1.1/a.mp3',
    'http://[fd00:ec2::254]/a.mp3',
    'https://[fe80::1]/a.mp3',
    'https://[::ffff:169.254.169.254]/a.mp3',
    // The URL parser normalises other spellings of the metadata address.
    'http://2852039166/a.mp3',
    'http://0xA9FEA9FE/a.mp3',
    'https://metadata.google.internal/computeMetadata/v1/',
  ])('refuses the link-local or metadata address in %s', (url) => {
    expect(resultUrlProblem(url, true)).toMatch(/link-local or cloud metadata/);
  });

  it('refuses a result URL with a user name or password, without repeating them', () => {
    const problem = resultUrlProblem('https://user:hunter2@cdn.example.com/a.mp3', false);
    expect(problem).toBe('it carries a user name or password');
  });

  it('refuses what is not a URL', () => {
    expect(resultUrlProblem('not a url', true)).toMatch(/not an absolute URL/);
  });
});

describe('isForbiddenAddress', () => {
  it('covers 169.254.0.0/16, fe80::/10, fd00:ec2::254 and their IPv4-mapped forms only', () => {
    expect(
      ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254'].map(
        isForbiddenAddress,
      ),
    ).toEqual([true, true, true, true, true]);
    expect(
      ['127.0.0.1', '10.0.0.1', '8.8.8.8', '::1', 'fd00:ec2::253', 'example.com'].map(isForbiddenAddress),
    ).toEqual([false, false, false, false, false, false]);
  });
});

describe('guardedLookup', () => {
  const lookup = (hostname: string, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guardedLookup(hostname, { all }, (error, address) => resolve({ error, address })),
    );

  it('resolves ordinary names as dns.lookup does, in both calling forms', async () => {
    expect((await lookup('localhost', false)).address).toMatch(/^(127\.0\.0\.1|::1)$/);
    const all = await lookup('localhost', true);
    expect(Array.isArray(all.address)).toBe(true);
  });

  it('refuses a name that resolves only to a link-local address', async () => {
    // A numeric string is resolved by dns.lookup itself, without a network.
    const { error } = await lookup('169.254.169.254', false);
    expect(error?.code).toBe(FORBIDDEN_ADDRESS_CODE);
    expect(error?.message).toMatch(/link-local or metadata/);
  });
});
