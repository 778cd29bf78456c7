/**
 * Where the action may connect. Result files come from hosts the API names, so an API (or a redirect)
 * must not be able to point the runner at file:, data: or other schemes, or at the link-local and
 * cloud metadata addresses that hold the runner's cloud credentials.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');
const METADATA_NAMES = /^(metadata\.google\.internal|metadata\.goog|instance-data(\.ec2\.internal)?)\.?$/i;

/** The error code a refused connection carries (readNetworkError maps it). */
export const FORBIDDEN_ADDRESS_CODE = 'ERR_KLING_FORBIDDEN_ADDRESS';

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A host on this machine (tests, the demo, a local store): plain http is accepted only there. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** Why a result URL must not be fetched, or undefined when it may be. */
export function resultUrlProblem(raw: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not an absolute URL';
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:'))
    return `it uses the ${scheme}: scheme; only https result URLs are fetched${allowHttp ? ' (http too, while the API is on loopback)' : ''}`;
  // A user name or password would be sent to whoever serves the file (and fetch refuses it anyway).
  if (url.username || url.password) return 'it carries a user name or password';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isForbiddenAddress(host) || METADATA_NAMES.test(host))
    return `it points at a link-local or cloud metadata address (${host})`;
  return undefined;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup for sockets, refusing names that resolve to a forbidden address (a literal IP is checked by URL). */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const allowed = addresses.filter((a) => !isForbiddenAddress(a.address));
    if (allowed.length === 0) {
      const refused = Object.assign(
        new Error(`refusing to connect to ${hostname}: it resolves to a link-local or metadata address`),
        { code: FORBIDDEN_ADDRESS_CODE },
      );
      return callback(refused, []);
    }
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}
