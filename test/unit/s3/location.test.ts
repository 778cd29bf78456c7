import { describe, expect, it } from 'vitest';
import {
  bucketNameProblem,
  objectKey,
  objectName,
  objectUrl,
  parseEndpoint,
  parseS3Url,
  regionProblem,
} from '../../../src/s3/location.ts';

const problem = (raw: string) => {
  const parsed = parseS3Url(raw);
  return parsed.ok ? undefined : parsed;
};

describe('parseS3Url', () => {
  it.each([
    ['s3://renders', { bucket: 'renders', prefix: '' }],
    ['s3://renders/', { bucket: 'renders', prefix: '' }],
    ['s3://renders/kling/staging', { bucket: 'renders', prefix: 'kling/staging' }],
    ['  s3://renders/kling/staging//  ', { bucket: 'renders', prefix: 'kling/staging' }],
    ['s3://my.renders-2024/a b/é', { bucket: 'my.renders-2024', prefix: 'a b/é' }],
    ['s3://gcs_bucket_ok/p', { bucket: 'gcs_bucket_ok', prefix: 'p' }],
  ])('reads %s', (raw, value) => {
    expect(parseS3Url(raw)).toEqual({ ok: true, value });
  });

  it.each([
    ['', /it is empty/],
    ['s3://', /no bucket/],
    ['s3:///prefix', /no bucket/],
    ['S3://renders', /s3:\/\/ in lower case/],
    ['renders/prefix', /must start with s3:\/\//],
    ['ftp://renders/x', /must start with s3:\/\//],
    ['s3://Renders/x', /lower case/],
    ['s3://ab', /3 to 63 characters/],
    [`s3://${'a'.repeat(64)}`, /3 to 63 characters/],
    ['s3://-renders', /start and end with a letter or digit/],
    ['s3://ren..ders', /two dots/],
    ['s3://192.168.1.10', /IP address/],
    ['s3://ren ders', /only lower-case letters/],
    ['s3://renders/a//b', /empty path segment/],
    ['s3://renders/a/../b', /\. or \.\. segments/],
    ['s3://renders/a?b', /\?, # or/],
    ['s3://renders/a\nb', /control characters/],
    [`s3://renders/${'p'.repeat(513)}`, /at most 512 bytes/],
  ])('refuses %j: %s', (raw, message) => {
    expect(problem(raw)?.problem).toMatch(message);
  });

  it('never quotes credentials written into the URL', () => {
    const refused = problem('s3://AKIAXXXX:secret123@renders/p');
    expect(refused?.problem).toMatch(/must not carry credentials/);
    expect(JSON.stringify(refused)).not.toContain('secret123');
  });

  it.each([
    ['https://renders.s3.eu-west-1.amazonaws.com/kling/', { url: 's3://renders/kling' }],
    ['https://renders.s3.amazonaws.com', { url: 's3://renders' }],
    ['https://s3.eu-west-1.amazonaws.com/renders/kling', { url: 's3://renders/kling' }],
    [
      'https://0123abc.r2.cloudflarestorage.com/renders/kling',
      { url: 's3://renders/kling', endpoint: 'https://0123abc.r2.cloudflarestorage.com' },
    ],
    ['gs://renders/kling', { url: 's3://renders/kling', endpoint: 'https://storage.googleapis.com' }],
    ['arn:aws:s3:::renders/kling/*', { url: 's3://renders/kling' }],
  ])('suggests the s3:// form (and endpoint) for %s', (raw, suggestion) => {
    expect(problem(raw)?.suggestion).toEqual(suggestion);
  });

  it('says why an http URL is refused', () => {
    expect(problem('https://example.com/renders')?.problem).toMatch(
      /https URL; give the bucket as s3:\/\/bucket\/prefix, and the store's address as its endpoint/,
    );
  });
});

describe('bucketNameProblem', () => {
  it('allows dotted names up to 222 characters (GCS)', () => {
    expect(bucketNameProblem(`${'a'.repeat(100)}.${'b'.repeat(100)}`)).toBeUndefined();
  });
});

describe('parseEndpoint', () => {
  it.each([
    ['https://0123abc.r2.cloudflarestorage.com', 'https://0123abc.r2.cloudflarestorage.com'],
    ['https://storage.googleapis.com/', 'https://storage.googleapis.com'],
    ['https://minio.example.org:9000', 'https://minio.example.org:9000'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['http://localhost:9000', 'http://localhost:9000'],
  ])('takes %s', (raw, origin) => {
    expect(parseEndpoint(raw)).toEqual({ ok: true, value: origin });
  });

  it.each([
    ['storage.googleapis.com', /absolute https URL/],
    ['http://minio.example.org:9000', /must use https/],
    ['ftp://store.example.org', /ftp: scheme/],
    ['https://key:secret@store.example.org', /must not carry credentials/],
    ['https://169.254.169.254', /link-local or cloud metadata/],
    ['https://store.example.org/?x=1', /query or a fragment/],
  ])('refuses %s', (raw, message) => {
    const parsed = parseEndpoint(raw);
    expect(parsed.ok ? undefined : parsed.problem).toMatch(message);
    expect(JSON.stringify(parsed)).not.toContain('secret');
  });

  it('suggests moving a bucket written into the endpoint to the s3:// URL', () => {
    expect(parseEndpoint('https://0123abc.r2.cloudflarestorage.com/renders/kling')).toEqual({
      ok: false,
      problem: "it must be the store's origin only; the bucket goes in s3://bucket/prefix",
      suggestion: { url: 's3://renders/kling', endpoint: 'https://0123abc.r2.cloudflarestorage.com' },
    });
  });
});

describe('regionProblem', () => {
  it('takes Amazon regions on Amazon, and any store name with an endpoint', () => {
    expect(regionProblem('eu-west-1', true)).toBeUndefined();
    expect(regionProblem('us-gov-west-1', true)).toBeUndefined();
    expect(regionProblem('auto', false)).toBeUndefined();
    expect(regionProblem('nyc3', false)).toBeUndefined();
  });

  it('refuses auto and made-up names on Amazon, and anything that is not a name', () => {
    expect(regionProblem('auto', true)).toMatch(/R2 or Google Cloud Storage/);
    expect(regionProblem('europe', true)).toMatch(/look like eu-west-1/);
    expect(regionProblem('EU West', false)).toMatch(/lower-case letters/);
  });
});

describe('objectUrl', () => {
  const key = 'kling/a b+c.mp4';
  it('is virtual-hosted on Amazon S3, path-style for a dotted bucket, .com.cn in China', () => {
    expect(objectUrl({ bucket: 'renders', region: 'eu-west-1' }, key)).toBe(
      'https://renders.s3.eu-west-1.amazonaws.com/kling/a%20b%2Bc.mp4',
    );
    expect(objectUrl({ bucket: 'my.renders', region: 'us-east-1' }, 'k.mp4')).toBe(
      'https://s3.us-east-1.amazonaws.com/my.renders/k.mp4',
    );
    expect(objectUrl({ bucket: 'renders', region: 'cn-north-1' }, 'k.mp4')).toBe(
      'https://renders.s3.cn-north-1.amazonaws.com.cn/k.mp4',
    );
  });

  it('is path-style on a custom endpoint, every segment encoded as SigV4 has it', () => {
    expect(
      objectUrl(
        { bucket: 'renders', region: 'auto', endpoint: 'https://acct.r2.cloudflarestorage.com' },
        "p/it's (1)*!.mp4",
      ),
    ).toBe('https://acct.r2.cloudflarestorage.com/renders/p/it%27s%20%281%29%2A%21.mp4');
  });

  it('joins prefix and name, and names objects by s3:// only', () => {
    expect(objectKey('', 'a.mp4')).toBe('a.mp4');
    expect(objectKey('p/q', 'a.mp4')).toBe('p/q/a.mp4');
    expect(objectName('renders', 'p/a.mp4')).toBe('s3://renders/p/a.mp4');
  });
});
