/** The API's address, and its credentials: a bearer key, or (provider kling) an access key + secret key pair. */
import { Inputs } from '../constants.ts';
import type { Credentials } from '../kling/auth.ts';
import type { ProviderName } from '../kling/routes.ts';
import { isLoopbackHost } from '../net/address.ts';
import { HEADER_SAFE, type InputReader } from './reader.ts';

export type { Credentials };

export function readCredentials(provider: ProviderName, reader: InputReader): Credentials | undefined {
  const apiKey = reader.get(Inputs.ApiKey);
  const accessKey = reader.get(Inputs.AccessKey);
  const secretKey = reader.get(Inputs.SecretKey);
  const unusable = [
    [Inputs.ApiKey, apiKey],
    [Inputs.AccessKey, accessKey],
    [Inputs.SecretKey, secretKey],
  ].filter(([, value]) => value && !HEADER_SAFE.test(value));
  // Never quote the value: it is a secret, and masking does not cover every fragment of it.
  if (unusable.length > 0)
    return reader.problem(
      `${unusable.map(([name]) => name).join(' and ')} cannot be sent in an HTTP header: it holds a line break, a control character or an invisible character such as a zero-width space (from copying). Paste the secret again without them.`,
    );
  if (provider === 'cometapi') {
    if (accessKey || secretKey)
      return reader.problem(
        `${Inputs.AccessKey}/${Inputs.SecretKey} are Kling credentials: set ${Inputs.Provider}: kling to use them, or pass your CometAPI key as ${Inputs.ApiKey}.`,
      );
    if (!apiKey)
      return reader.problem(
        `${Inputs.ApiKey} is required for provider cometapi: pass it from a secret, e.g. \${{ secrets.COMETAPI_KEY }}.`,
      );
    return { kind: 'api_key', apiKey };
  }
  if (apiKey && (accessKey || secretKey))
    return reader.problem(
      `Give either ${Inputs.ApiKey} or ${Inputs.AccessKey} + ${Inputs.SecretKey} for provider kling, not both.`,
    );
  if (apiKey) return { kind: 'api_key', apiKey };
  if (accessKey && !secretKey)
    return reader.problem(`${Inputs.AccessKey} is set but ${Inputs.SecretKey} is empty: give both.`);
  if (secretKey && !accessKey)
    return reader.problem(`${Inputs.SecretKey} is set but ${Inputs.AccessKey} is empty: give both.`);
  if (!accessKey)
    return reader.problem(
      `Provider kling needs credentials: ${Inputs.AccessKey} + ${Inputs.SecretKey}, or a console API key as ${Inputs.ApiKey}.`,
    );
  return { kind: 'access_key', accessKey, secretKey };
}

export function readBaseUrl(raw: string, reader: InputReader): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return reader.problem(
      `${Inputs.BaseUrl} must be an absolute URL such as https://api.cometapi.com, got "${raw}".`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return reader.problem(
      `${Inputs.BaseUrl} must use https (http is allowed only for 127.0.0.1/localhost), got "${raw}".`,
    );
  if (url.search || url.hash || url.username || url.password)
    return reader.problem(
      `${Inputs.BaseUrl} must be an origin (optionally with a path), without query, fragment or credentials.`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
