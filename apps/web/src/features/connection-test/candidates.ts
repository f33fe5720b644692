/*
 * What ICE candidate gathering found, classified: which kinds of address this device can offer
 * to a call (host, server-reflexive, relay over UDP/TCP/TLS), and whether each configured TURN
 * server accepted its credentials. Pure functions over plain data, so the classification is
 * tested on canned candidate lists (candidates.test.ts).
 */

export type CandidateKind = 'host' | 'srflx' | 'prflx' | 'relay';
export type RelayProtocol = 'udp' | 'tcp' | 'tls';

/** One gathered candidate, as the report keeps it. */
export interface GatheredCandidate {
  type: CandidateKind;
  /** Transport of the candidate itself (a relay candidate's is the relayed side, always UDP). */
  protocol: 'udp' | 'tcp' | null;
  /** Relay candidates: how this device reaches the TURN server. Null when the browser does not say. */
  relayProtocol: RelayProtocol | null;
  address: string | null;
  port: number | null;
  /** The STUN or TURN URL that produced it, when the browser says. */
  url: string | null;
  /** Milliseconds from setLocalDescription. */
  atMs: number;
}

/** An `icecandidateerror`: a STUN or TURN server that answered with an error or not at all. */
export interface CandidateError {
  url: string | null;
  /** STUN error code: 401 unauthorised (credentials refused), 701 server not reachable, … */
  errorCode: number;
  errorText: string;
  atMs: number;
}

/** What the browser hands out: RTCIceCandidate fields (all optional across browsers) and the `candidate:` line. */
export interface CandidateLike {
  candidate: string;
  type?: string | null;
  protocol?: string | null;
  address?: string | null;
  port?: number | null;
  relayProtocol?: string | null;
  url?: string | null;
}

const KINDS: readonly string[] = ['host', 'srflx', 'prflx', 'relay'];
const RELAY_PROTOCOLS: readonly string[] = ['udp', 'tcp', 'tls'];

/** Reads a candidate from the browser's fields, falling back to its `candidate:` line. */
export function parseCandidate(c: CandidateLike, atMs: number, fallbackUrl: string | null = null): GatheredCandidate | null {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
  const fields = c.candidate.replace(/^a=/, '').split(/\s+/);
  const typIndex = fields.indexOf('typ');
  const type = (c.type ?? (typIndex > 0 ? fields[typIndex + 1] : undefined))?.toLowerCase();
  if (!type || !KINDS.includes(type)) return null;
  const protocol = (c.protocol ?? fields[2] ?? '').toLowerCase();
  const url = c.url || fallbackUrl || null;
  const declared = c.relayProtocol?.toLowerCase() ?? '';
  const relayProtocol =
    type === 'relay' ? (RELAY_PROTOCOLS.includes(declared) ? (declared as RelayProtocol) : url ? (parseIceUrl(url)?.transport ?? null) : null) : null;
  const port = c.port ?? Number(fields[5]);
  return {
    type: type as CandidateKind,
    protocol: protocol === 'udp' || protocol === 'tcp' ? protocol : null,
    relayProtocol,
    address: c.address ?? fields[4] ?? null,
    port: Number.isFinite(port) ? port : null,
    url,
    atMs,
  };
}

/** A parsed `stun:` / `turn:` / `turns:` URL (RFC 7064, RFC 7065). */
export interface IceUrl {
  url: string;
  scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  host: string;
  port: number | null;
  /** For TURN: how the client reaches the server. `turns:` is TLS over TCP. */
  transport: RelayProtocol;
}

export function parseIceUrl(url: string): IceUrl | null {
  const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return null;
  const scheme = m[1]!.toLowerCase() as IceUrl['scheme'];
  const secure = scheme === 'turns' || scheme === 'stuns';
  const transport: RelayProtocol = secure ? 'tls' : m[4]?.toLowerCase() === 'tcp' ? 'tcp' : 'udp';
  return { url, scheme, host: m[2]!, port: m[3] ? Number(m[3]) : null, transport };
}

/** The URLs of an RTCConfiguration's iceServers, flattened. */
export function iceUrls(servers: readonly { urls: string | readonly string[] }[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
}

export const isTurnUrl = (url: string): boolean => /^turns?:/i.test(url.trim());
export const isStunUrl = (url: string): boolean => /^stuns?:/i.test(url.trim());

/** Which kinds of address were found. */
export interface FoundKinds {
  host: boolean;
  srflx: boolean;
  relayUdp: boolean;
  relayTcp: boolean;
  relayTls: boolean;
  /** A relay whose transport the browser did not say. */
  relayOther: boolean;
}

export function foundKinds(candidates: readonly GatheredCandidate[]): FoundKinds {
  const relays = candidates.filter((c) => c.type === 'relay');
  return {
    host: candidates.some((c) => c.type === 'host'),
    srflx: candidates.some((c) => c.type === 'srflx' || c.type === 'prflx'),
    relayUdp: relays.some((c) => c.relayProtocol === 'udp'),
    relayTcp: relays.some((c) => c.relayProtocol === 'tcp'),
    relayTls: relays.some((c) => c.relayProtocol === 'tls'),
    relayOther: relays.some((c) => c.relayProtocol === null),
  };
}

export const hasRelay = (found: FoundKinds): boolean => found.relayUdp || found.relayTcp || found.relayTls || found.relayOther;

/** How one TURN URL fared. */
export type TurnUrlStatus = 'ok' | 'rejected' | 'unreachable' | 'failed';

export interface TurnUrlResult {
  url: string;
  transport: RelayProtocol;
  status: TurnUrlStatus;
  /** The browser's error text, when it gave one. */
  errorText: string | null;
}

/**
 * Per configured TURN URL: a relay candidate from it means its credentials worked; else its
 * `icecandidateerror` says why (401 credentials refused, 701 unreachable). Browsers that do not
 * say which URL produced a relay candidate are matched by transport.
 */
export function turnUrlResults(
  urls: readonly string[],
  candidates: readonly GatheredCandidate[],
  errors: readonly CandidateError[],
): TurnUrlResult[] {
  const relays = candidates.filter((c) => c.type === 'relay');
  const knowsUrls = relays.some((c) => c.url !== null);
  return urls.filter(isTurnUrl).map((url) => {
    const parsed = parseIceUrl(url);
    const transport = parsed?.transport ?? 'udp';
    const ok = knowsUrls ? relays.some((c) => c.url === url) : relays.some((c) => c.relayProtocol === transport || c.relayProtocol === null);
    const mine = errors.filter((e) => e.url === url);
    const error = mine.find((e) => e.errorCode === 401) ?? mine.find((e) => e.errorCode === 701) ?? mine[0];
    const status: TurnUrlStatus = ok ? 'ok' : error?.errorCode === 401 ? 'rejected' : error?.errorCode === 701 ? 'unreachable' : 'failed';
    return { url, transport, status, errorText: ok ? null : (error?.errorText || null) };
  });
}

/** Did the relay accept this device, overall. */
export type TurnAuth = 'not_configured' | 'ok' | 'rejected' | 'unreachable' | 'failed';

export function turnAuth(results: readonly TurnUrlResult[], found: FoundKinds): TurnAuth {
  if (results.length === 0) return 'not_configured';
  if (hasRelay(found) || results.some((r) => r.status === 'ok')) return 'ok';
  if (results.some((r) => r.status === 'rejected')) return 'rejected';
  if (results.every((r) => r.status === 'unreachable')) return 'unreachable';
  return 'failed';
}

export const TURN_AUTH_TEXT: Record<TurnAuth, string> = {
  not_configured: 'No relay (TURN) server is configured',
  ok: 'The relay (TURN) server accepted the credentials',
  rejected: 'The relay rejected the credentials',
  unreachable: 'The relay (TURN) server is unreachable from this network',
  failed: 'No relay address was obtained: authentication or reachability failed',
};

export const TURN_URL_TEXT: Record<TurnUrlStatus, string> = {
  ok: 'works',
  rejected: 'the relay rejected the credentials',
  unreachable: 'unreachable',
  failed: 'no answer',
};

/** Milliseconds from setLocalDescription to the first relay candidate: about two round trips (challenge, then allocation). */
export function firstRelayMs(candidates: readonly GatheredCandidate[]): number | null {
  const times = candidates.filter((c) => c.type === 'relay').map((c) => c.atMs);
  return times.length > 0 ? Math.min(...times) : null;
}
