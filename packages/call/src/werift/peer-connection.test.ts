import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { MediaStream, MediaStreamTrack, RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { weriftPeerConnectionFactory } from './factory.ts';
import { PeerTransport } from '../peer.ts';
import type { Logger, PeerConnectionFactory } from '../webrtc.ts';
import { WeriftPeerConnection } from './peer-connection.ts';

const turn = () => new Promise((r) => setTimeout(r, 20));

describe('WeriftPeerConnection', () => {
  const open: RTCPeerConnection[] = [];
  const make = () => {
    const pc = new RTCPeerConnection({ iceAdditionalHostAddresses: ['127.0.0.1'] });
    open.push(pc);
    return pc;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((pc) => pc.close()));
  });

  it('fires negotiationneeded once for a data channel and two tracks added in one tick (werift alone fires per change)', async () => {
    const raw = make();
    let rawEvents = 0;
    raw.onnegotiationneeded = () => void rawEvents++;
    raw.createDataChannel('chat');
    raw.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    raw.addTrack(new MediaStreamTrack({ kind: 'video' }));
    await turn();
    expect(rawEvents).toBeGreaterThan(1);

    const wrapped = new WeriftPeerConnection(make());
    let events = 0;
    wrapped.onnegotiationneeded = () => void events++;
    wrapped.pc.createDataChannel('chat');
    wrapped.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    wrapped.addTrack(new MediaStreamTrack({ kind: 'video' }));
    await turn();
    expect(events).toBe(1);
  });

  it('chains two setLocalDescription() calls made at once, so neither is refused as a stale offer', async () => {
    const wrapped = new WeriftPeerConnection(make());
    wrapped.pc.createDataChannel('chat');
    wrapped.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    await expect(Promise.all([wrapped.setLocalDescription(), wrapped.setLocalDescription()])).resolves.toHaveLength(2);
    expect(wrapped.signalingState).toBe('have-local-offer');
    expect(wrapped.localDescription?.sdp).toMatch(/m=audio/);
    expect(wrapped.localDescription?.sdp).toMatch(/m=application/);
  });

  it('holds a negotiationneeded that werift fires while an offer is pending until signaling is stable again', async () => {
    const a = new WeriftPeerConnection(make());
    const b = make();
    let events = 0;
    a.onnegotiationneeded = () => void events++;
    a.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    await turn();
    expect(events).toBe(1);
    await a.setLocalDescription();
    a.addTrack(new MediaStreamTrack({ kind: 'video' })); // while have-local-offer
    await turn();
    expect(events).toBe(1);
    await b.setRemoteDescription(a.localDescription as { type: 'offer'; sdp: string });
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription as { type: 'answer'; sdp: string });
    await turn();
    expect(a.signalingState).toBe('stable');
    expect(events).toBe(2);
  });
});

describe('WeriftPeerConnection and STUN', () => {
  // Every name the process looks up and every UDP datagram it sends, by destination. Loopback
  // passes; anything else is kept on the host (it fails at once, as on a host without a route out).
  const sent: string[] = [];
  const realSend = dgram.Socket.prototype.send;
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    sent.length = 0;
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });
  const watchUdp = () => {
    vi.spyOn(dns.promises, 'lookup').mockImplementation((async (host: string) => {
      sent.push(`lookup ${host}`);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (the test keeps it off the network)`), { code: 'ENOTFOUND' });
    }) as unknown as typeof dns.promises.lookup);
    return vi.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
      const [port, host] = args.slice(1).filter((a) => typeof a === 'number' || typeof a === 'string') as [number, string];
      sent.push(`${host}:${port}`);
      if (net.isIP(host) && (host === '::1' || host.startsWith('127.'))) return (realSend as (...a: unknown[]) => void).apply(this, args);
      const callback = args.find((a) => typeof a === 'function') as ((e: Error) => void) | undefined;
      setImmediate(() => callback?.(new Error(`the test keeps ${host}:${port} off the network`)));
    });
  };
  const offerer = (iceServers: Array<{ urls: string }>) => {
    let raw!: RTCPeerConnection;
    const pc = weriftPeerConnectionFactory({ additionalHostAddresses: ['127.0.0.1'], onPeerConnection: (p) => (raw = p) })({ iceServers });
    open.push(pc);
    raw.createDataChannel('chat');
    pc.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    return pc;
  };

  it('gathers without sending anything when the configuration names no STUN server (werift alone asks stun.l.google.com)', async () => {
    watchUdp();
    const raw = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'] });
    open.push(raw);
    raw.createDataChannel('chat');
    await raw.setLocalDescription(await raw.createOffer());
    expect(sent).toContain('lookup stun.l.google.com');

    sent.length = 0;
    const pc = offerer([]);
    await pc.setLocalDescription();
    expect(pc.localDescription?.sdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(sent).toEqual([]);
  });

  it('still asks the STUN server the configuration names', async () => {
    watchUdp();
    const stun = dgram.createSocket('udp4');
    open.push({ close: () => new Promise<void>((r) => stun.close(() => r())) });
    await new Promise<void>((r) => stun.bind(0, '127.0.0.1', () => r()));
    const request = new Promise<Buffer>((r) => stun.once('message', (m) => r(m)));
    const pc = offerer([{ urls: `stun:127.0.0.1:${stun.address().port}` }]);
    void pc.setLocalDescription().catch(() => undefined); // waits for an answer this server never gives
    const message = await request;
    expect(message.readUInt16BE(0)).toBe(0x0001); // a STUN Binding request
    expect(sent.filter((d) => d.includes('google'))).toEqual([]);
  });
});

describe('WeriftPeerConnection connectionState', () => {
  const open: RTCPeerConnection[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((pc) => pc.close()));
  });
  const make = () => {
    const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
    open.push(pc);
    return pc;
  };

  it('says connected only once DTLS is, also when a renegotiation is answered between ICE and DTLS (werift says connected then)', async () => {
    const a = make();
    const b = new WeriftPeerConnection(make());
    const seen: string[] = [];
    b.onconnectionstatechange = () => seen.push(b.connectionState);
    a.createDataChannel('chat');
    a.addTrack(new MediaStreamTrack({ kind: 'audio' }));
    await a.setLocalDescription(await a.createOffer());
    // The answerer is the DTLS client: once its ICE is connected it waits 100 ms before its
    // ClientHello. A renegotiation answered in that window is what werift counts as connected.
    const early = new Promise<{ raw: string; dtls: string; wrapped: string }>((resolve) => {
      b.pc.iceConnectionStateChange.subscribe((state) => {
        if (state !== 'connected') return;
        void (async () => {
          b.pc.addTransceiver('video', { direction: 'recvonly' });
          await b.setLocalDescription();
          await a.setRemoteDescription(b.localDescription as { type: 'offer'; sdp: string });
          await a.setLocalDescription(await a.createAnswer());
          await b.setRemoteDescription(a.localDescription as { type: 'answer'; sdp: string });
          resolve({ raw: b.pc.connectionState, dtls: b.pc.dtlsTransports[0]!.state, wrapped: b.connectionState });
        })();
      });
    });
    await b.setRemoteDescription(a.localDescription as { type: 'offer'; sdp: string });
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription as { type: 'answer'; sdp: string });
    expect(await early).toEqual({ raw: 'connected', dtls: 'connecting', wrapped: 'connecting' });
    await vi.waitFor(() => expect(b.pc.dtlsTransports[0]!.state).toBe('connected'), { timeout: 10_000 });
    await vi.waitFor(() => expect(seen.at(-1)).toBe('connected'));
    expect(seen.filter((s) => s === 'connected')).toHaveLength(1);
    expect(b.connectionState).toBe('connected');
  });
});

describe('WeriftPeerConnection: no re-offer after an answer', () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });
  const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

  /** A caller and a callee as the engine makes them (the callee holds its tracks for the answer), wired to each other; offers counted per side. */
  const pair = () => {
    const factory: PeerConnectionFactory<MediaStreamTrack, MediaStream> = (configuration) => {
      const pc = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
      open.push(pc);
      return new WeriftPeerConnection(pc, configuration);
    };
    const caller = new PeerTransport<MediaStreamTrack, MediaStream>({ factory, polite: false, logger: quiet });
    const callee = new PeerTransport<MediaStreamTrack, MediaStream>({ factory, polite: true, waitForRemoteOffer: true, logger: quiet });
    open.push(caller, callee);
    const offers = { caller: 0, callee: 0 };
    const wire = (from: typeof caller, to: typeof caller, side: keyof typeof offers) => {
      from.on('description', (d) => {
        if (d.type === 'offer') offers[side]++;
        void to.handleDescription(d);
      });
      from.on('candidate', (c) => void to.addRemoteCandidate(c));
    };
    wire(caller, callee, 'caller');
    wire(callee, caller, 'callee');
    for (const t of [caller, callee]) {
      const stream = new MediaStream();
      t.addTrack(new MediaStreamTrack({ kind: 'audio' }), stream);
      t.addTrack(new MediaStreamTrack({ kind: 'video' }), stream);
    }
    return { caller, callee, offers };
  };
  const settled = async (p: ReturnType<typeof pair>) => {
    await vi.waitFor(() => expect([p.caller.link, p.callee.link]).toEqual(['connected', 'connected']), { timeout: 10_000 });
    await vi.waitFor(() => expect([p.caller.signalingState, p.callee.signalingState]).toEqual(['stable', 'stable']));
    await new Promise((r) => setTimeout(r, 300)); // any negotiationneeded werift still has to fire
  };

  it('the callee sends no offer after answering the first one (werift asks for one as the answer is set: addTrack into the offered transceivers), and a later change still negotiates', async () => {
    const p = pair();
    await settled(p);
    expect(p.offers).toEqual({ caller: 1, callee: 0 });
    // werift's own flag was lowered: an ICE restart on the callee still makes one offer, answered.
    p.callee.restartIce();
    await vi.waitFor(() => expect(p.offers.callee).toBe(1));
    await vi.waitFor(() => expect([p.caller.signalingState, p.callee.signalingState]).toEqual(['stable', 'stable']));
    await new Promise((r) => setTimeout(r, 300));
    expect(p.offers).toEqual({ caller: 1, callee: 1 });
  });
});
