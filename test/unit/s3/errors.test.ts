import { describe, expect, it } from 'vitest';
import {
  classifyStoreFailure,
  parseErrorBody,
  redact,
  StoreError,
  type StoreFailure,
} from '../../../src/s3/errors.ts';

const BASE: StoreFailure = {
  operation: 'upload',
  what: 's3://renders/kling/abc.mp4',
  bucket: 'renders',
  region: 'us-east-1',
  resource: 'arn:aws:s3:::renders/kling/*',
};

const R2: Partial<StoreFailure> = { endpoint: 'https://acct.r2.cloudflarestorage.com', region: 'auto' };

function answer(status: number, code?: string, extra: Partial<StoreFailure> = {}): StoreFailure {
  return { ...BASE, status, ...(code ? { body: { code, message: `${code} message` } } : {}), ...extra };
}

describe('parseErrorBody', () => {
  it("reads S3's error document, entities decoded, and nothing else of it", () => {
    const body = parseErrorBody(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
        '<Message>The request signature we calculated does not match &amp; &lt;so on&gt; &#39;x&#x27;</Message>' +
        '<AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20250101T000000Z</StringToSign>' +
        '<RequestId>4442587FB7D0A2F9</RequestId><HostId>abc=</HostId></Error>',
    );
    expect(body).toEqual({
      code: 'SignatureDoesNotMatch',
      message: "The request signature we calculated does not match & <so on> 'x'",
      requestId: '4442587FB7D0A2F9',
    });
  });

  it('reads the region fields of region errors', () => {
    expect(
      parseErrorBody(
        '<Error><Code>PermanentRedirect</Code><Message>m</Message><Endpoint>renders.s3.eu-west-1.amazonaws.com</Endpoint><Region>eu-west-1</Region></Error>',
      ),
    ).toMatchObject({ endpoint: 'renders.s3.eu-west-1.amazonaws.com', region: 'eu-west-1' });
  });

  it('is undefined for anything that is not an S3 error (an HTML page, empty)', () => {
    expect(parseErrorBody('<html><body>Bad gateway</body></html>')).toBeUndefined();
    expect(parseErrorBody('')).toBeUndefined();
  });
});

describe('classifyStoreFailure', () => {
  it.each([
    [answer(404, 'NoSuchBucket'), 'no-such-bucket', false],
    [answer(403, 'AccessDenied'), 'access-denied', false],
    [answer(403), 'access-denied', false],
    [answer(403, 'RequestTimeTooSkewed'), 'clock-skew', false],
    [answer(403, 'InvalidAccessKeyId'), 'unknown-key', false],
    [answer(403, 'SignatureDoesNotMatch'), 'signature', false],
    [answer(400, 'ExpiredToken'), 'token-expired', false],
    [answer(400, 'InvalidToken'), 'token-invalid', false],
    [answer(400, 'XAmzContentSHA256Mismatch'), 'content-changed', false],
    [answer(400, 'BadDigest'), 'content-changed', false],
    [answer(503, 'SlowDown'), 'busy', true],
    [answer(503, 'ServiceUnavailable'), 'busy', true],
    [answer(503), 'busy', true],
    [answer(429), 'busy', true],
    [answer(500, 'InternalError'), 'server', true],
    [answer(400, 'RequestTimeout'), 'server', true],
    [answer(502), 'server', true],
    [answer(400, 'InvalidArgument'), 'refused', false],
    [answer(200), 'unexpected', false],
    [{ ...BASE, transport: 'reset' as const }, 'transport', true],
    [{ ...BASE, transport: 'refused' as const }, 'transport', true],
    [{ ...BASE, transport: 'forbidden' as const }, 'transport', false],
    [{ ...BASE, transport: 'proxy' as const }, 'transport', false],
  ])('%j → %s (retryable %s)', (failure, kind, retryable) => {
    expect(classifyStoreFailure(failure)).toMatchObject({ kind, retryable });
  });

  it.each([
    [
      answer(400, 'AuthorizationHeaderMalformed', {
        body: { code: 'AuthorizationHeaderMalformed', region: 'eu-west-1' },
      }),
    ],
    [
      answer(301, 'PermanentRedirect', {
        body: { code: 'PermanentRedirect', endpoint: 'renders.s3.eu-west-1.amazonaws.com' },
      }),
    ],
    [answer(301, undefined, { bucketRegion: 'eu-west-1' })],
    [answer(400, undefined, { bucketRegion: 'eu-west-1' })],
  ])('finds the right region in %j', (failure) => {
    const error = new StoreError(failure);
    expect([error.kind, error.rightRegion]).toEqual(['wrong-region', 'eu-west-1']);
  });

  it('does not take x-amz-bucket-region on another answer for a region problem (some stores always send it)', () => {
    expect(classifyStoreFailure(answer(403, 'AccessDenied', { bucketRegion: 'us-west-2' })).kind).toBe(
      'access-denied',
    );
  });

  it('names the permission each operation needs, in IAM words on Amazon and bucket access on R2/GCS', () => {
    const advice = (operation: StoreFailure['operation'], extra: Partial<StoreFailure> = {}) =>
      classifyStoreFailure({ ...answer(403, 'AccessDenied', extra), operation }).advice;
    expect(advice('upload')).toBe(
      'Allow s3:PutObject on arn:aws:s3:::renders/kling/* in the IAM policy of the role or user, and check the bucket policy.',
    );
    expect(advice('delete')).toMatch(/^Allow s3:DeleteObject on/);
    expect(advice('look-up')).toMatch(/^Allow s3:GetObject on .*s3:ListBucket too/);
    expect(advice('upload', R2)).toBe(
      'Give the key s3:PutObject on arn:aws:s3:::renders/kling/*: on R2 or GCS, object read and write access to the bucket.',
    );
  });
});

describe('StoreError', () => {
  it('says what failed, the code and status, the store’s words, what to do and the request id', () => {
    const error = new StoreError({
      ...BASE,
      status: 404,
      body: { code: 'NoSuchBucket', message: 'The specified bucket does not exist', requestId: 'REQ1' },
    });
    expect(error.message).toBe(
      'Upload of s3://renders/kling/abc.mp4 failed [NoSuchBucket, HTTP 404]: no bucket named renders on Amazon S3 (us-east-1). Store said: "The specified bucket does not exist". Check the bucket name and the region, or create the bucket. (request id REQ1)',
    );
    expect(error.withAdvice('Fix staging_url.')).toBe(
      'Upload of s3://renders/kling/abc.mp4 failed [NoSuchBucket, HTTP 404]: no bucket named renders on Amazon S3 (us-east-1). Store said: "The specified bucket does not exist". Fix staging_url. (request id REQ1)',
    );
  });

  it('quotes a transport failure as detail, not as the store’s words', () => {
    const error = new StoreError({
      ...BASE,
      ...R2,
      transport: 'dns',
      detail: 'ENOTFOUND: getaddrinfo ENOTFOUND acct',
    });
    expect(error.message).toBe(
      'Upload of s3://renders/kling/abc.mp4 failed: network error (dns). Detail: "ENOTFOUND: getaddrinfo ENOTFOUND acct". Check the store\'s address (https://acct.r2.cloudflarestorage.com) and the runner\'s network or proxy.',
    );
  });
});

describe('redact', () => {
  it('cuts every secret out of server text', () => {
    expect(redact('key AKIA1234 and secret s3cr3t-v4lue', ['AKIA1234', 's3cr3t-v4lue'])).toBe(
      'key *** and secret ***',
    );
    // A test's short token must not cut words out of "malformed or otherwise invalid".
    expect(redact('malformed or otherwise invalid', ['other'])).toBe('malformed or otherwise invalid');
    expect(redact(undefined, ['x'])).toBeUndefined();
  });
});
