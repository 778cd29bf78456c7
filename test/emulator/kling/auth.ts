import { randomUUID } from 'node:crypto';
import { decodeJwt, errors, jwtVerify } from 'jose';
import { cometErrorBody } from './faults.ts';

/** An answer that refuses the request. */
export interface Rejection {
  status: number;
  body: unknown;
}

export interface Credentials {
  apiKeys: ReadonlySet<string>;
  /** access key → secret key bytes. */
  accessKeys: ReadonlyMap<string, Uint8Array>;
}

/** CometAPI takes only its own keys, and refuses in its own envelope. */
export function checkCometAuth(header: string | undefined, credentials: Credentials): Rejection | undefined {
  const token = bearerToken(header);
  if (token && credentials.apiKeys.has(token)) return undefined;
  return { status: 401, body: cometErrorBody('Invalid token') };
}

/** Kling takes a console API key or an HS256 JWT signed by a known access key (reference §6). */
export async function checkKlingAuth(
  header: string | undefined,
  credentials: Credentials,
  nowMs: number,
): Promise<Rejection | undefined> {
  const token = bearerToken(header);
  if (token === '') return klingRejection(1001, 'Authorization is empty');
  if (token === undefined) return klingRejection(1002, 'Authorization is invalid: expected "Bearer <token>"');
  if (credentials.apiKeys.has(token)) return undefined;
  return verifyJwt(token, credentials.accessKeys, nowMs);
}

/** '' when there is no credential at all, undefined when the header is not `Bearer <token>` with one space. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header === 'Bearer') return '';
  return /^Bearer (\S+)$/.exec(header)?.[1];
}

async function verifyJwt(
  token: string,
  accessKeys: ReadonlyMap<string, Uint8Array>,
  nowMs: number,
): Promise<Rejection | undefined> {
  const issuer = unverifiedIssuer(token);
  const secret = issuer === undefined ? undefined : accessKeys.get(issuer);
  if (issuer === undefined || !secret)
    return klingRejection(1002, 'Authorization is invalid: unknown access key');
  try {
    // No clockTolerance: Kling's own example already backdates nbf by 5 s, so the client owns the margin.
    await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer,
      requiredClaims: ['exp'],
      currentDate: new Date(nowMs),
    });
    return undefined;
  } catch (error) {
    if (error instanceof errors.JWTExpired) return klingRejection(1004, 'Authorization is expired');
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') {
      return klingRejection(1003, 'Authorization is not active yet');
    }
    return klingRejection(
      1002,
      `Authorization is invalid: ${error instanceof Error ? error.message : 'bad token'}`,
    );
  }
}

function unverifiedIssuer(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

function klingRejection(code: number, message: string): Rejection {
  return { status: 401, body: { code, message, request_id: randomUUID() } };
}
