// The lab's links and NAT routers: a veth from each LAN host to its router and from the router to
// `pub`, the routers' iptables (masquerade, drop unsolicited inbound), and the knobs a scenario
// turns: UDP blocked at the NATs, a LAN's link cut for a while.
import { LAB_ADDRESSES, LANS, SERVICE_IP, run, sleep, type Lan, type Namespaces, type NatKind } from './netns.ts';

/** iptables of a NAT router: masquerade out of `wan`, drop anything unsolicited coming in. */
function natRules(kind: NatKind, blockUdp: boolean): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    // Plain MASQUERADE keeps the source port (endpoint-independent mapping: a "cone"); --random-fully
    // picks a new port per destination (endpoint-dependent: "symmetric"), what breaks hole punching.
    `-A POSTROUTING -o wan -j MASQUERADE${kind === 'symmetric' ? ' --random-fully' : ''}`,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':PLAB-UDP - [0:0]',
    ':PLAB-CUT - [0:0]',
    // Unsolicited inbound is dropped silently: a router that answers with ICMP port-unreachable
    // makes hole punching fail even through a cone NAT (WEBRTC-TESTING.md).
    '-A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -i wan -j DROP',
    '-A FORWARD -j PLAB-CUT',
    '-A FORWARD -i lan -o wan -j PLAB-UDP',
    '-A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A FORWARD -i wan -o lan -j DROP',
    ...(blockUdp ? ['-A PLAB-UDP -p udp -j DROP'] : []),
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Wires the created namespaces into the lab's topology. Each link is created straight between two
 * namespaces, so no interface ever exists in the host's own namespace.
 */
export async function buildTopology(spaces: Namespaces, kind: NatKind, blockUdp: boolean): Promise<void> {
  await Promise.all(LANS.map((lan) => buildLan(spaces, lan, kind, blockUdp)));
  await spaces.ip('pub', 'addr', 'add', `${SERVICE_IP}/32`, 'dev', 'lo');
  // pub routes between the two NATs' wan addresses (srflx↔srflx media); it has no default route,
  // so nothing addressed beyond the lab goes anywhere.
  await spaces.exec('pub', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

async function buildLan(spaces: Namespaces, lan: Lan, kind: NatKind, blockUdp: boolean): Promise<void> {
  const a = LAB_ADDRESSES[lan];
  const nat = a.nat;
  const pubSide = lan === 'lanA' ? 'toA' : 'toB';
  await spaces.ip(lan, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan', 'netns', spaces.names[nat]);
  await spaces.ip(nat, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', pubSide, 'netns', spaces.names.pub);
  await Promise.all([
    (async () => {
      await spaces.ip(lan, 'addr', 'add', `${a.host}/24`, 'dev', 'eth0');
      await spaces.ip(lan, 'link', 'set', 'eth0', 'up');
      await spaces.ip(lan, 'route', 'add', 'default', 'via', a.router);
    })(),
    (async () => {
      await spaces.ip(nat, 'addr', 'add', `${a.router}/24`, 'dev', 'lan');
      await spaces.ip(nat, 'addr', 'add', `${a.wan}/30`, 'dev', 'wan');
      await spaces.ip(nat, 'link', 'set', 'lan', 'up');
      await spaces.ip(nat, 'link', 'set', 'wan', 'up');
      await spaces.ip(nat, 'route', 'add', 'default', 'via', a.pubSide);
      await spaces.exec(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await run('ip', ['netns', 'exec', spaces.names[nat], 'iptables-restore'], natRules(kind, blockUdp));
    })(),
    (async () => {
      await spaces.ip('pub', 'addr', 'add', `${a.pubSide}/30`, 'dev', pubSide);
      await spaces.ip('pub', 'link', 'set', pubSide, 'up');
    })(),
  ]);
}

/** Drops (or lets through again) UDP from both LANs at their NATs. */
export async function setUdpBlocked(spaces: Namespaces, blocked: boolean): Promise<void> {
  await Promise.all(
    (['natA', 'natB'] as const).map(async (nat) => {
      await spaces.exec(nat, ['iptables', '-F', 'PLAB-UDP']);
      if (blocked) await spaces.exec(nat, ['iptables', '-A', 'PLAB-UDP', '-p', 'udp', '-j', 'DROP']);
    }),
  );
}

/**
 * Takes the LAN's link down for `ms` (the NAT's lan-side veth, so the host in the LAN sees its
 * carrier go), then brings it back; `how: 'drop'` instead drops everything both ways in iptables
 * and leaves the link up.
 */
export async function cutLink(spaces: Namespaces, lan: Lan, ms: number, how: 'down' | 'drop' = 'down'): Promise<void> {
  const nat = LAB_ADDRESSES[lan].nat;
  if (how === 'down') {
    await spaces.ip(nat, 'link', 'set', 'lan', 'down');
    try {
      await sleep(ms);
    } finally {
      await spaces.ip(nat, 'link', 'set', 'lan', 'up');
      // Bringing the link up restores the connected route; the default route of the LAN host
      // survives the carrier loss. Only wait until the carrier is back on both ends.
      await waitCarrier(spaces, lan);
    }
    return;
  }
  await spaces.exec(nat, ['sh', '-c', 'iptables -A PLAB-CUT -i lan -j DROP && iptables -A PLAB-CUT -o lan -j DROP']);
  try {
    await sleep(ms);
  } finally {
    await spaces.exec(nat, ['iptables', '-F', 'PLAB-CUT']);
  }
}

async function waitCarrier(spaces: Namespaces, lan: Lan): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const out = await spaces.ip(lan, '-o', 'link', 'show', 'eth0');
    if (/state UP/.test(out)) return;
    await sleep(20);
  }
  throw new Error(`${lan}: eth0 did not come back up within 5 s`);
}
