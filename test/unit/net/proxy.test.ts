import { describe, expect, it } from 'vitest';
import { proxyConfigured, proxySecrets } from '../../../src/net/proxy.ts';

describe('proxySecrets', () => {
  it('finds the password in each proxy variable, as written and decoded', () => {
    expect(
      proxySecrets({
        HTTPS_PROXY: 'http://build:p%40ss%2Fword@proxy.corp:3128',
        http_proxy: 'proxy.corp:8080',
        HTTP_PROXY: 'http://other:s3cret@proxy.corp:3128',
      }).sort(),
    ).toEqual(['p%40ss%2Fword', 'p@ss/word', 's3cret']);
  });

  it('finds nothing without credentials, and skips values that are not URLs', () => {
    expect(proxySecrets({ HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://user@proxy' })).toEqual(
      [],
    );
    expect(proxySecrets({ HTTPS_PROXY: 'http://[not a url' })).toEqual([]);
    expect(proxySecrets({})).toEqual([]);
  });

  it('a password with a broken escape is still masked as written', () => {
    expect(proxySecrets({ https_proxy: 'http://u:bad%zzpw@proxy:1' })).toEqual(['bad%zzpw']);
  });
});

describe('proxyConfigured', () => {
  it('is true when any spelling of the proxy variables is set and not empty', () => {
    expect(proxyConfigured({ https_proxy: 'http://p:1' })).toBe(true);
    expect(proxyConfigured({ HTTP_PROXY: 'http://p:1' })).toBe(true);
    expect(proxyConfigured({ HTTPS_PROXY: '' })).toBe(false);
    expect(proxyConfigured({ NO_PROXY: '*' })).toBe(false);
  });
});
