import type { Clock } from '../runtime.ts';

/** A bearer key (CometAPI, or a Kling console API key), or a Kling access key + secret key pair. */
export type Credentials =
  { kind: 'api_key'; apiKey: string } | { kind: 'access_key'; accessKey: string; secretKey: string };

/** Supplies the Authorization header for each request. */
export interface Authorizer {
  header(): Promise<string>;
  /** After a 401 "token expired": make a fresh credential; false when there is nothing to refresh. */
  refresh(): boolean;
}

/** A CometAPI key or a Kling console API key, sent as is. */
export function bearerAuthorizer(apiKey: string): Authorizer {
  return { header: () => Promise.resolve(`Bearer ${apiKey}`), refresh: () => false };
}

export interface JwtOptions {
  accessKey: string;
  secretKey: string;
  clock: Clock;
  /** Called with every token before it is used, so the runner masks it (core.setSecret). */
  mask: (token: string) => void;
  ttlSeconds: number;
  /** Re-sign when less than this remains, so a token never expires in flight during long polls. */
  refreshMarginSeconds: number;
  /** nbf lies this far in the past. */
  notBeforeSkewSeconds: number;
}

/** Kling access key + secret key: HS256 JWT `{iss, exp, nbf}` as Kling documents it, cached and re-signed before expiry. */
export function jwtAuthorizer(options: JwtOptions): Authorizer {
  const ttl = options.ttlSeconds;
  const margin = options.refreshMarginSeconds;
  const secret = new TextEncoder().encode(options.secretKey);
  let cached: { token: string; exp: number } | undefined;

  return {
    async header() {
      const now = Math.floor(options.clock.now() / 1000);
      if (!cached || cached.exp - now <= margin) {
        const exp = now + ttl;
        // Loaded on first use: a step with an API key never pays for it.
        const { SignJWT } = await import('jose');
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setIssuer(options.accessKey)
          .setExpirationTime(exp)
          // Kling's example backdates nbf (5 s) to absorb small clock differences.
          .setNotBefore(now - options.notBeforeSkewSeconds)
          .sign(secret);
        options.mask(token);
        cached = { token, exp };
      }
      return `Bearer ${cached.token}`;
    },
    refresh() {
      cached = undefined;
      return true;
    },
  };
}
