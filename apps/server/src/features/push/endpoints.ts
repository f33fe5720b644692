import net from 'node:net';

// Addresses a push service never has. The server POSTs to whatever endpoint a signed-in browser
// hands it, so without this a user could make Parley send requests into its own network.
const local = new net.BlockList();
for (const [addr, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10], ['0.0.0.0', 8]] as const) {
  local.addSubnet(addr, prefix, 'ipv4');
}
for (const [addr, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10], ['::', 128]] as const) local.addSubnet(addr, prefix, 'ipv6');

/** Why this endpoint is refused, or undefined when it may be used. `https:` is checked by the schema. */
export function endpointProblem(endpoint: string, allowLocal: boolean): string | undefined {
  if (allowLocal) return undefined;
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a push endpoint cannot be on this machine';
  const kind = net.isIP(host);
  if (kind && local.check(host, kind === 4 ? 'ipv4' : 'ipv6')) return 'a push endpoint cannot be a loopback or private address';
  return undefined;
}
