/**
 * Credentials from the standard variables, read as the AWS SDK's environment provider reads them:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION.
 * aws-actions/configure-aws-credentials (OIDC included) sets them; so can a workflow from secrets.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working (ms since epoch), if the environment says. */
  expiresAtMs?: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export type CredentialsRead = { ok: true; credentials: Credentials } | { ok: false; problem: string };

const HOW =
  "set them with aws-actions/configure-aws-credentials, or from secrets in the step's env (for R2 or Google Cloud Storage: the store's HMAC key pair)";

/** The credentials, or what is missing or wrong (never quoting a value). */
export function readCredentials(env: Environment, nowMs: number): CredentialsRead {
  const accessKeyId = env['AWS_ACCESS_KEY_ID']?.trim() ?? '';
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY']?.trim() ?? '';
  const sessionToken = env['AWS_SESSION_TOKEN']?.trim() ?? '';
  const expiration = env['AWS_CREDENTIAL_EXPIRATION']?.trim() ?? '';
  const missing = [
    ...(accessKeyId ? [] : ['AWS_ACCESS_KEY_ID']),
    ...(secretAccessKey ? [] : ['AWS_SECRET_ACCESS_KEY']),
  ];
  if (missing.length === 2)
    return {
      ok: false,
      problem: `no credentials for the store: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; ${HOW}`,
    };
  if (missing.length === 1)
    return { ok: false, problem: `${missing[0]} is not set (${other(missing[0]!)} is); ${HOW}` };
  if (/\s/.test(accessKeyId) || /\s/.test(secretAccessKey) || /\s/.test(sessionToken))
    return { ok: false, problem: 'an AWS_* credential holds white space inside it; copy the value again' };
  const credentials: Credentials = { accessKeyId, secretAccessKey };
  if (sessionToken) credentials.sessionToken = sessionToken;
  if (expiration) {
    const expiresAtMs = Date.parse(expiration);
    if (Number.isNaN(expiresAtMs))
      return {
        ok: false,
        problem: 'AWS_CREDENTIAL_EXPIRATION is not a date (ISO 8601, as the AWS SDK writes it)',
      };
    if (expiresAtMs <= nowMs)
      return {
        ok: false,
        problem: `the credentials expired at ${new Date(expiresAtMs).toISOString()} (AWS_CREDENTIAL_EXPIRATION); get fresh ones before this step`,
      };
    credentials.expiresAtMs = expiresAtMs;
  }
  return { ok: true, credentials };
}

function other(name: string): string {
  return name === 'AWS_ACCESS_KEY_ID' ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
}

/**
 * What must be masked before anything prints: the secret, the session token (also as it appears
 * URL-encoded in a presigned URL) and the key id, which configure-aws-credentials masks too.
 */
export function credentialSecrets(credentials: Credentials): string[] {
  const token = credentials.sessionToken;
  const secrets = [credentials.accessKeyId, credentials.secretAccessKey];
  if (token)
    secrets.push(token, encodeURIComponent(token), new URLSearchParams({ t: token }).toString().slice(2));
  return [...new Set(secrets)];
}

/** Temporary AWS keys (from STS) start with ASIA and only work with their session token. */
export function isTemporaryKey(credentials: Credentials): boolean {
  return credentials.accessKeyId.startsWith('ASIA');
}
