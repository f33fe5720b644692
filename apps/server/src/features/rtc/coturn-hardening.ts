/**
 * Peer addresses a TURN relay must never send to: a TURN server relays to any address a client names,
 * so without these it is an open proxy into the server's own network (loopback admin ports, cloud
 * metadata at 169.254.169.254, the LAN behind it). Used by managed coturn, and mirrored line for line
 * in deploy/coturn/turnserver.conf (a test keeps the two equal).
 *
 * Not listed: `::/128` and the deprecated IPv4-compatible `::/96`. coturn 4.6 matches IPv4 peers
 * against any range that starts at `::`, so either line makes it refuse every IPv4 peer (seen in
 * coturn.test.ts's positive control). IPv4 peers written as IPv6 are covered by `::ffff:0:0/96`.
 */
export const DENIED_PEER_RANGES: ReadonlyArray<{ range: string; what: string }> = [
  { range: '0.0.0.0-0.255.255.255', what: '"this network" (0.0.0.0/8)' },
  { range: '10.0.0.0-10.255.255.255', what: 'private (10/8)' },
  { range: '100.64.0.0-100.127.255.255', what: 'carrier-grade NAT (100.64/10)' },
  { range: '127.0.0.0-127.255.255.255', what: 'loopback (127/8)' },
  { range: '169.254.0.0-169.254.255.255', what: 'link-local, cloud metadata (169.254/16)' },
  { range: '172.16.0.0-172.31.255.255', what: 'private (172.16/12)' },
  { range: '192.0.0.0-192.0.0.255', what: 'IETF protocol assignments (192.0.0/24)' },
  { range: '192.0.2.0-192.0.2.255', what: 'documentation TEST-NET-1 (192.0.2/24)' },
  { range: '192.88.99.0-192.88.99.255', what: '6to4 relay anycast (192.88.99/24)' },
  { range: '192.168.0.0-192.168.255.255', what: 'private (192.168/16)' },
  { range: '198.18.0.0-198.19.255.255', what: 'benchmarking (198.18/15)' },
  { range: '198.51.100.0-198.51.100.255', what: 'documentation TEST-NET-2 (198.51.100/24)' },
  { range: '203.0.113.0-203.0.113.255', what: 'documentation TEST-NET-3 (203.0.113/24)' },
  { range: '224.0.0.0-239.255.255.255', what: 'multicast (224/4)' },
  { range: '240.0.0.0-255.255.255.255', what: 'reserved and broadcast (240/4)' },
  { range: '::1-::1', what: 'loopback (::1/128)' },
  { range: '::ffff:0.0.0.0-::ffff:255.255.255.255', what: 'IPv4-mapped (::ffff:0:0/96)' },
  { range: '64:ff9b::-64:ff9b::ffff:ffff', what: 'NAT64 (64:ff9b::/96)' },
  { range: '64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff', what: 'local NAT64 (64:ff9b:1::/48)' },
  { range: '100::-100::ffff:ffff:ffff:ffff', what: 'discard (100::/64)' },
  { range: '2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', what: 'IETF protocol assignments (2001::/23)' },
  { range: '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', what: 'documentation (2001:db8::/32)' },
  { range: '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', what: '6to4 (2002::/16)' },
  { range: 'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', what: 'unique local (fc00::/7)' },
  { range: 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', what: 'link-local (fe80::/10)' },
  { range: 'ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', what: 'multicast (ff00::/8)' },
];

/** coturn options every Parley TURN server runs with (managed mode and the shipped config). */
export const HARDENED_COTURN_FLAGS = [
  '--fingerprint',
  '--no-cli',
  '--no-multicast-peers',
  '--no-software-attribute',
  '--stale-nonce=600',
  '--user-quota=12',
  '--total-quota=1200',
  ...DENIED_PEER_RANGES.map((r) => `--denied-peer-ip=${r.range}`),
];
