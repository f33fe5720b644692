import { describe, expect, it } from 'vitest';
import {
  firstRelayMs,
  foundKinds,
  hasRelay,
  iceUrls,
  parseCandidate,
  parseIceUrl,
  turnAuth,
  turnUrlResults,
  type CandidateError,
  type CandidateLike,
  type GatheredCandidate,
} from './candidates.ts';

// Canned candidates as Chrome hands them out (RTCIceCandidate fields and the candidate line).
const HOST = 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0 ufrag abcd network-id 1';
const HOST_TCP = 'candidate:4 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0';
const SRFLX = 'candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 192.168.1.20 rport 54321 generation 0';
const RELAY = (priority: number, port: number) => `candidate:3 1 udp ${priority} 198.51.100.9 ${port} typ relay raddr 203.0.113.7 rport 54321 generation 0`;

const TURN_UDP = 'turn:relay.clinic.example:3478?transport=udp';
const TURN_TCP = 'turn:relay.clinic.example:3478?transport=tcp';
const TURNS = 'turns:relay.clinic.example:443?transport=tcp';
const STUN = 'stun:relay.clinic.example:3478';

const parse = (c: CandidateLike, at = 0, url: string | null = null) => parseCandidate(c, at, url)!;

describe('parseCandidate', () => {
  it('reads type, protocol, address and port from the candidate line when the fields are missing', () => {
    expect(parse({ candidate: SRFLX })).toEqual({ type: 'srflx', protocol: 'udp', relayProtocol: null, address: '203.0.113.7', port: 54321, url: null, atMs: 0 });
    expect(parse({ candidate: HOST })).toMatchObject({ type: 'host', protocol: 'udp', address: '192.168.1.20' });
    expect(parse({ candidate: `a=${HOST_TCP}` })).toMatchObject({ type: 'host', protocol: 'tcp', port: 9 });
  });

  it('takes the relay protocol from the browser, else from the TURN URL that produced the candidate', () => {
    expect(parse({ candidate: RELAY(41885439, 61000), type: 'relay', relayProtocol: 'tls', url: TURNS }, 30)).toMatchObject({
      type: 'relay',
      relayProtocol: 'tls',
      url: TURNS,
      atMs: 30,
    });
    expect(parse({ candidate: RELAY(25108223, 61001) }, 12, TURN_TCP)).toMatchObject({ relayProtocol: 'tcp', url: TURN_TCP });
    expect(parse({ candidate: RELAY(41885439, 61002) }).relayProtocol).toBeNull();
  });

  it('ignores an end-of-candidates marker and junk', () => {
    expect(parseCandidate({ candidate: '' }, 0)).toBeNull();
    expect(parseCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ weird' }, 0)).toBeNull();
  });
});

describe('parseIceUrl', () => {
  it('knows how a TURN URL reaches its server', () => {
    expect(parseIceUrl(TURN_UDP)).toMatchObject({ scheme: 'turn', host: 'relay.clinic.example', port: 3478, transport: 'udp' });
    expect(parseIceUrl('turn:10.0.0.1')).toMatchObject({ port: null, transport: 'udp' });
    expect(parseIceUrl(TURN_TCP)?.transport).toBe('tcp');
    expect(parseIceUrl(TURNS)?.transport).toBe('tls');
    expect(parseIceUrl('turn:[2001:db8::1]:3478')).toMatchObject({ host: '[2001:db8::1]', port: 3478 });
    expect(parseIceUrl('https://example.com')).toBeNull();
  });

  it('flattens the servers of an RTCConfiguration', () => {
    expect(iceUrls([{ urls: STUN }, { urls: [TURN_UDP, TURN_TCP] }])).toEqual([STUN, TURN_UDP, TURN_TCP]);
  });
});

const c = (type: GatheredCandidate['type'], relayProtocol: GatheredCandidate['relayProtocol'] = null, url: string | null = null, atMs = 0): GatheredCandidate => ({
  type,
  protocol: 'udp',
  relayProtocol,
  address: '198.51.100.9',
  port: 1,
  url,
  atMs,
});
const err = (url: string, errorCode: number, errorText = ''): CandidateError => ({ url, errorCode, errorText, atMs: 5 });

describe('classification', () => {
  it('lists which kinds of address were found', () => {
    const found = foundKinds([c('host'), c('srflx'), c('relay', 'udp'), c('relay', 'tls')]);
    expect(found).toEqual({ host: true, srflx: true, relayUdp: true, relayTcp: false, relayTls: true, relayOther: false });
    expect(hasRelay(found)).toBe(true);
    expect(foundKinds([c('prflx')]).srflx).toBe(true);
    expect(hasRelay(foundKinds([c('host')]))).toBe(false);
  });

  it('a relay candidate from a TURN URL means its credentials worked', () => {
    const results = turnUrlResults([STUN, TURN_UDP, TURN_TCP], [c('host'), c('relay', 'udp', TURN_UDP)], [err(TURN_TCP, 701, 'TURN host lookup received error.')]);
    expect(results).toEqual([
      { url: TURN_UDP, transport: 'udp', status: 'ok', errorText: null },
      { url: TURN_TCP, transport: 'tcp', status: 'unreachable', errorText: 'TURN host lookup received error.' },
    ]);
    expect(turnAuth(results, foundKinds([c('relay', 'udp', TURN_UDP)]))).toBe('ok');
  });

  it('says the relay rejected the credentials on a 401 and no relay candidate', () => {
    const results = turnUrlResults([TURN_UDP, TURN_TCP], [c('host'), c('srflx')], [err(TURN_UDP, 401, 'Unauthorized'), err(TURN_TCP, 701)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'unreachable']);
    expect(turnAuth(results, foundKinds([c('host'), c('srflx')]))).toBe('rejected');
  });

  it('says unreachable when every TURN URL timed out, failed when nothing was said at all', () => {
    const unreachable = turnUrlResults([TURN_UDP, TURNS], [c('host')], [err(TURN_UDP, 701), err(TURNS, 701)]);
    expect(turnAuth(unreachable, foundKinds([c('host')]))).toBe('unreachable');
    const silent = turnUrlResults([TURN_UDP], [c('host'), c('srflx')], []);
    expect(silent[0]?.status).toBe('failed');
    expect(turnAuth(silent, foundKinds([c('host'), c('srflx')]))).toBe('failed');
  });

  it('matches relays by transport when the browser does not say which URL produced them', () => {
    const results = turnUrlResults([TURN_UDP, TURN_TCP], [c('relay', 'tcp')], []);
    expect(results.map((r) => r.status)).toEqual(['failed', 'ok']);
  });

  it('has nothing to say about TURN when none is configured', () => {
    expect(turnUrlResults([STUN], [c('host'), c('srflx')], [])).toEqual([]);
    expect(turnAuth([], foundKinds([c('host')]))).toBe('not_configured');
  });

  it('times the first relay candidate', () => {
    expect(firstRelayMs([c('host', null, null, 1), c('relay', 'udp', null, 48), c('relay', 'tcp', null, 31)])).toBe(31);
    expect(firstRelayMs([c('host')])).toBeNull();
  });
});
