/** Proxy settings from the runner's environment (self-hosted runners behind a company proxy). */

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

export function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return PROXY_VARIABLES.some((name) => Boolean(env[name]));
}

/**
 * The secrets inside proxy URLs (`http://user:password@proxy:3128`), to mask before anything runs: an
 * error quoting the proxy URL must not print its password. Both spellings, as written and decoded.
 */
export function proxySecrets(env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  for (const name of PROXY_VARIABLES) {
    const raw = env[name];
    if (!raw) continue;
    let url: URL;
    try {
      url = new URL(raw.includes('://') ? raw : `http://${raw}`);
    } catch {
      continue;
    }
    if (!url.password) continue;
    secrets.add(url.password);
    try {
      secrets.add(decodeURIComponent(url.password));
    } catch {
      // A malformed escape: the raw form is masked already.
    }
  }
  return [...secrets];
}
