import { describe, expect, it } from 'vitest';
import { credentialSecrets, isTemporaryKey, readCredentials } from '../../../src/s3/credentials.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret/value+1' };

describe('readCredentials', () => {
  it('reads the key pair, trimming a stray newline from a pasted secret', () => {
    expect(readCredentials({ ...KEYS, AWS_SECRET_ACCESS_KEY: 'secret/value+1\n' }, NOW)).toEqual({
      ok: true,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret/value+1' },
    });
  });

  it('reads the session token and the expiry as the AWS SDK does (configure-aws-credentials, OIDC)', () => {
    const read = readCredentials(
      {
        ...KEYS,
        AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
        AWS_SESSION_TOKEN: 'FwoGZXIv//token==',
        AWS_CREDENTIAL_EXPIRATION: '2025-06-01T13:00:00Z',
      },
      NOW,
    );
    expect(read).toEqual({
      ok: true,
      credentials: {
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret/value+1',
        sessionToken: 'FwoGZXIv//token==',
        expiresAtMs: Date.parse('2025-06-01T13:00:00Z'),
      },
    });
    expect(read.ok && isTemporaryKey(read.credentials)).toBe(true);
  });

  it.each([
    [{}, /no credentials for the store: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/],
    [{ AWS_ACCESS_KEY_ID: ' ', AWS_SECRET_ACCESS_KEY: '' }, /no credentials/],
    [{ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }, /^AWS_SECRET_ACCESS_KEY is not set \(AWS_ACCESS_KEY_ID is\)/],
    [{ AWS_SECRET_ACCESS_KEY: 'secret/value+1' }, /^AWS_ACCESS_KEY_ID is not set/],
    [{ ...KEYS, AWS_CREDENTIAL_EXPIRATION: 'tomorrow' }, /AWS_CREDENTIAL_EXPIRATION is not a date/],
    [
      { ...KEYS, AWS_CREDENTIAL_EXPIRATION: '2025-06-01T11:59:59Z' },
      /credentials expired at 2025-06-01T11:59:59/,
    ],
    [{ ...KEYS, AWS_SECRET_ACCESS_KEY: 'secret value' }, /white space inside/],
  ])('refuses %j', (env, message) => {
    const read = readCredentials(env, NOW);
    expect(read.ok ? undefined : read.problem).toMatch(message);
    expect(JSON.stringify(read)).not.toContain('secret/value');
  });

  it('names how to set them', () => {
    const read = readCredentials({}, NOW);
    expect(read.ok ? '' : read.problem).toContain('aws-actions/configure-aws-credentials');
  });
});

describe('credentialSecrets', () => {
  it('lists the key id, the secret and the token, also as a URL carries it', () => {
    expect(credentialSecrets({ accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 'a+b/c=' })).toEqual(
      ['ASIA1', 's', 'a+b/c=', 'a%2Bb%2Fc%3D'],
    );
    expect(credentialSecrets({ accessKeyId: 'AKIA1', secretAccessKey: 's' })).toEqual(['AKIA1', 's']);
  });
});
