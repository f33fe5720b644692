import dns from 'node:dns';
import { Agent } from 'node:https';
import net, { type LookupFunction } from 'node:net';

// Addresses a push service never has. The server POSTs to whatever endpoint a signed-in browser
// hands it, so without this a user could make Parley send requests into its own network.
const local = new net.BlockList();
for (const [addr, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10], ['0.0.0.0', 8]] as const) {
  local.addSubnet(addr, prefix, 'ipv4');
}
// ::ffff:0:0/96 is IPv4 written as IPv6 (::ffff:127.0.0.1); push services never use it.
for (const [addr, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10], ['::', 128], ['::ffff:0:0', 96]] as const) local.addSubnet(addr, prefix, 'ipv6');

/** True for loopback, private, link-local, shared (CGNAT) and unspecified addresses. */
export function isLocalAddress(ip: string): boolean {
  const kind = net.isIP(ip);
  return kind !== 0 && local.check(ip, kind === 4 ? 'ipv4' : 'ipv6');
}

const hostOf = (endpoint: string) => new URL(endpoint).hostname.replace(/^\[|\]$/g, '');

/** Why this endpoint is refused, or undefined when it may be used. `https:` is checked by the schema. */
export function endpointProblem(endpoint: string, allowLocal: boolean): string | undefined {
  if (allowLocal) return undefined;
  const host = hostOf(endpoint);
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a push endpoint cannot be on this machine';
  if (isLocalAddress(host)) return 'a push endpoint cannot be a loopback or private address';
  return undefined;
}

/**
 * endpointProblem, and for a name, what it resolves to now: a name pointing at a private address
 * is refused when the browser hands it over. A name that does not resolve is let through; the
 * send refuses it later if it then points inside (pushAgent).
 */
export async function resolvedEndpointProblem(endpoint: string, allowLocal: boolean): Promise<string | undefined> {
  const problem = endpointProblem(endpoint, allowLocal);
  const host = hostOf(endpoint);
  if (problem || allowLocal || net.isIP(host)) return problem;
  const addresses = await dns.promises.lookup(host, { all: true }).catch(() => []);
  return addresses.some((a) => isLocalAddress(a.address)) ? 'a push endpoint cannot resolve to a loopback or private address' : undefined;
}

/** A DNS lookup that fails for names resolving to a local address: checked on every connection. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const inside = addresses.find((a) => isLocalAddress(a.address));
    if (inside) {
      const refused = Object.assign(new Error(`push endpoint ${hostname} resolves to ${inside.address}, a local address`), { code: 'EPUSHLOCAL' });
      return callback(refused, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`push endpoint ${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

/**
 * The HTTPS agent pushes go through. Unless local endpoints are allowed, every connection's DNS
 * answer is checked too, so a name that was public when subscribed and points inside later (DNS
 * rebinding) is still refused. `ca`: trust this certificate instead (tests: the local push service).
 */
export function pushAgent(o: { allowLocal: boolean; ca?: string }): Agent {
  return new Agent({ keepAlive: false, ...(o.ca ? { ca: o.ca } : {}), ...(o.allowLocal ? {} : { lookup: publicOnlyLookup }) });
}
