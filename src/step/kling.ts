/** The Kling client the step's tasks talk through: the provider's routes and the credentials' authorizer. */
import { bearerAuthorizer, jwtAuthorizer, type Credentials } from '../kling/auth.ts';
import { KlingClient } from '../kling/client.ts';
import { routesFor, type ProviderName } from '../kling/routes.ts';
import type { FetchLike } from '../net/http.ts';
import type { RetryContext } from '../net/retry.ts';
import { policy } from '../policy.ts';

export interface ApiSettings {
  provider: ProviderName;
  baseUrl: string;
  credentials: Credentials;
}

export interface ApiContext extends RetryContext {
  fetch: FetchLike;
  userAgent: string;
  /** Every JWT signed is masked (and redacted) before it is sent. */
  mask: (secret: string) => void;
  /** Server text with credentials taken out. */
  redact: (text: string) => string;
}

export function connectKling(settings: ApiSettings, context: ApiContext): KlingClient {
  const { credentials } = settings;
  const auth =
    credentials.kind === 'api_key'
      ? bearerAuthorizer(credentials.apiKey)
      : jwtAuthorizer({ ...credentials, ...policy.jwt, clock: context.clock, mask: context.mask });
  return new KlingClient({
    ...context,
    routes: routesFor(settings.provider, settings.baseUrl),
    auth,
    limits: {
      requestTimeoutMs: policy.request.timeoutMs,
      maxAnswerBytes: policy.request.maxAnswerBytes,
      lookupMalformedAttempts: policy.retry.lookupMalformedAttempts,
      unreachableWithinMs: policy.retry.unreachableWithinMs,
      otherTaskAttempts: policy.retry.otherTaskAttempts,
    },
  });
}
