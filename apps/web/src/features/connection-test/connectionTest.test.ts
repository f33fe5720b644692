import { describe, expect, it } from 'vitest';
import { ConnectionTest, type ConnectionTestDeps } from './connectionTest.ts';

const HOST = 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0';
const SRFLX = 'candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 192.168.1.20 rport 54321 generation 0';
const RELAY = 'candidate:3 1 udp 41885439 198.51.100.9 61000 typ relay raddr 203.0.113.7 rport 54321 generation 0';
const TURN = 'turn:relay.clinic.example:3478?transport=udp';
const USERNAME = '1767225600:someone';
const CREDENTIAL = 'bWludGVkLWNyZWRlbnRpYWw=';

interface Script {
  /** What gathering (policy `all`) yields, in order; `end: false` never finishes. */
  candidates: { candidate: string; url?: string; relayProtocol?: string }[];
  errors?: { url: string; errorCode: number; errorText: string }[];
  end?: boolean;
  /** Two peer connections with policy `relay`: connect with this pair RTT (s), or fail. */
  relayPair: number | 'fail';
}

/** Just enough RTCPeerConnection for the probes: events, descriptions, stats. */
class FakePeerConnection extends EventTarget {
  iceGatheringState = 'new';
  iceConnectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  closed = false;
  constructor(
    readonly configuration: RTCConfiguration,
    readonly script: Script,
  ) {
    super();
  }
  createDataChannel(): void {}
  async setLocalDescription(): Promise<void> {
    this.localDescription = { type: 'offer', sdp: 'v=0\r\n' };
    if (this.configuration.iceTransportPolicy === 'relay') return;
    setTimeout(() => {
      for (const e of this.script.errors ?? []) this.dispatchEvent(Object.assign(new Event('icecandidateerror'), e));
      for (const c of this.script.candidates) {
        this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { candidate: c.candidate, relayProtocol: c.relayProtocol }, url: c.url ?? null }));
      }
      if (this.script.end !== false) {
        this.iceGatheringState = 'complete';
        this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: null }));
      }
    }, 1);
  }
  async setRemoteDescription(): Promise<void> {
    setTimeout(() => {
      this.iceConnectionState = this.script.relayPair === 'fail' ? 'failed' : 'connected';
      this.dispatchEvent(new Event('iceconnectionstatechange'));
    }, 1);
  }
  async addIceCandidate(): Promise<void> {}
  async getStats(): Promise<Map<string, unknown>> {
    return new Map<string, unknown>([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', currentRoundTripTime: this.script.relayPair }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'relay', relayProtocol: 'udp' }],
    ]);
  }
  close(): void {
    this.closed = true;
  }
}

function setup(script: Script, overrides: Partial<ConnectionTestDeps> = {}) {
  const pcs: FakePeerConnection[] = [];
  const test = new ConnectionTest({
    fetchConfig: async () => ({ iceServers: [{ urls: ['stun:relay.clinic.example:3478'] }, { urls: [TURN], username: USERNAME, credential: CREDENTIAL }], iceTransportPolicy: 'all' }),
    getUserMedia: null,
    createPeerConnection: (c) => {
      const pc = new FakePeerConnection(c, script);
      pcs.push(pc);
      return pc as unknown as RTCPeerConnection;
    },
    gatherTimeoutMs: 200,
    relayTimeoutMs: 200,
    ...overrides,
  });
  return { test, pcs };
}

describe('ConnectionTest', () => {
  it('finds a working relay, measures the round trip through it and closes every connection', async () => {
    const { test, pcs } = setup({ candidates: [{ candidate: HOST }, { candidate: SRFLX }, { candidate: RELAY, url: TURN, relayProtocol: 'udp' }], relayPair: 0.048 });
    const seen: string[] = [];
    test.subscribe(() => seen.push(test.getSnapshot().status));
    await test.run();
    const s = test.getSnapshot();
    expect(s.status).toBe('done');
    expect(seen[0]).toBe('running');
    expect(s.network).toMatchObject({ error: null, turn: 'ok', found: { host: true, srflx: true, relayUdp: true } });
    expect(s.relayRtt.result).toEqual({ method: 'relay-pair', rttMs: 24, pairRttMs: 48, relayProtocol: 'udp' });
    // No camera API here (getUserMedia null): the verdict says so, after the network's good news.
    expect(s.verdict?.findings[0]).toEqual({ level: 'good', text: 'Calls should work on any network' });
    expect(s.verdict?.headline).toBe('This browser cannot use the microphone here (calls need a secure https connection)');
    expect(pcs).toHaveLength(3);
    expect(pcs.every((pc) => pc.closed)).toBe(true);
    expect(pcs[1]?.configuration.iceTransportPolicy).toBe('relay');
  });

  it('falls back to an estimate (and says so) when the relay will not connect two local peers', async () => {
    const { test } = setup({ candidates: [{ candidate: HOST }, { candidate: RELAY, url: TURN, relayProtocol: 'udp' }], relayPair: 'fail' });
    await test.run();
    const rtt = test.getSnapshot().relayRtt.result;
    expect(rtt).toMatchObject({ method: 'estimate', note: expect.stringMatching(/^Could not measure through the relay/) });
  });

  it('reports rejected credentials and keeps them out of the report', async () => {
    const { test } = setup({
      candidates: [{ candidate: HOST }, { candidate: SRFLX }],
      errors: [{ url: TURN, errorCode: 401, errorText: 'Unauthorized' }],
      relayPair: 'fail',
    });
    await test.run();
    const s = test.getSnapshot();
    expect(s.network.turn).toBe('rejected');
    expect(s.relayRtt.result).toEqual({ method: 'none', note: 'Could not measure: no relay reachable' });
    expect(s.verdict?.findings.map((f) => f.text)).toContain(
      'Calls will work on this network and with people on open networks, but may fail with people behind strict firewalls: no relay reachable',
    );
    const json = JSON.stringify(test.report('test-agent'));
    expect(json).toContain('"errorCode":401');
    expect(json).not.toContain(USERNAME);
    expect(json).not.toContain(CREDENTIAL);
  });

  it('stops gathering at its time limit', async () => {
    const { test } = setup({ candidates: [{ candidate: HOST }], end: false, relayPair: 'fail' });
    await test.run();
    expect(test.getSnapshot().network.gathering).toMatchObject({ complete: false, candidates: [{ type: 'host' }] });
  });

  it('says so when the ICE servers cannot be fetched', async () => {
    const { test } = setup({ candidates: [], relayPair: 'fail' }, { fetchConfig: () => Promise.reject(new Error('offline')) });
    await test.run();
    expect(test.getSnapshot().verdict?.headline).toMatch(/^Could not test the network: the connection settings could not be fetched/);
    expect(test.report()).not.toBeNull();
  });
});
