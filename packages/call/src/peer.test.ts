import { describe, expect, it } from 'vitest';
import { CallError } from './errors.ts';
import { toCandidateInit } from './ice-wire.ts';
import { foldLinkState, type LinkState } from './link-state.ts';
import { PeerTransport, type LocalDescription } from './peer.ts';
import { RecordingLogger } from './testing/clock.ts';
import {
  FakePeerConnection,
  FakeStream,
  FakeTrack,
  fakePeerConnectionFactory,
  settle,
} from './testing/fake-peer-connection.ts';
import type { IceCandidateInit } from './webrtc.ts';

function candidate(port: number): IceCandidateInit {
  return { candidate: `candidate:${port} 1 udp 2122260223 192.0.2.7 ${port} typ host`, sdpMid: '0', sdpMLineIndex: 0 };
}

function setup(polite: boolean, waitForRemoteOffer = false) {
  const fakes = fakePeerConnectionFactory();
  const logger = new RecordingLogger();
  const transport = new PeerTransport({ factory: fakes.factory, polite, waitForRemoteOffer, logger });
  const pc = fakes.last();
  const descriptions: LocalDescription[] = [];
  const candidates: (IceCandidateInit | null)[] = [];
  const failures: CallError[] = [];
  const links: LinkState[] = [];
  transport.on('description', (d) => descriptions.push(d));
  transport.on('candidate', (c) => candidates.push(c));
  transport.on('failure', (e) => failures.push(e));
  transport.on('link', (l) => links.push(l));
  return { transport, pc, logger, descriptions, candidates, failures, links };
}

/** An offer as another FakePeerConnection would make it, with one audio track. */
async function remoteOffer(): Promise<{ remote: FakePeerConnection; sdp: string }> {
  const remote = new FakePeerConnection();
  remote.autoGather = false;
  const track = new FakeTrack('audio');
  remote.addTrack(track, new FakeStream([track]));
  await remote.setLocalDescription();
  return { remote, sdp: remote.localDescription!.sdp };
}

async function answerFor(offerSdp: string): Promise<string> {
  const remote = new FakePeerConnection();
  remote.autoGather = false;
  await remote.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  const track = new FakeTrack('audio');
  remote.addTrack(track, new FakeStream([track]));
  await remote.setLocalDescription();
  return remote.localDescription!.sdp;
}

describe('PeerTransport: offer side', () => {
  it('offers when a track is added (negotiationneeded)', async () => {
    const t = setup(false);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    await settle();
    expect(t.descriptions).toHaveLength(1);
    expect(t.descriptions[0]?.type).toBe('offer');
    expect(t.pc.signalingState).toBe('have-local-offer');
    // Local candidates are emitted for the app to send, and end with null.
    expect(t.candidates).toHaveLength(3);
    expect(t.candidates[2]).toBeNull();
  });

  it('queues remote candidates until the answer is set, then flushes them', async () => {
    const t = setup(false);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    await settle();

    await t.transport.addRemoteCandidate(candidate(1));
    await t.transport.addRemoteCandidate(candidate(2));
    expect(t.transport.queuedCandidates).toBe(2);
    expect(t.pc.callsOf('addIceCandidate')).toHaveLength(0);
    expect(t.logger.messages('info')).toContain('Queued candidates: 1');
    expect(t.logger.messages('info')).toContain('Queued candidates: 2');

    await t.transport.handleDescription({ type: 'answer', sdp: await answerFor(t.descriptions[0]!.sdp) });
    expect(t.logger.messages('info')).toContain('Flushing 2 queued ICE candidates');
    expect(t.transport.queuedCandidates).toBe(0);
    expect(t.pc.addedCandidates).toEqual([candidate(1), candidate(2)]);
    // Flushed right after setRemoteDescription, never before it.
    const order = t.pc.calls.map((c) => c.method).filter((m) => m !== 'addTrack');
    expect(order.indexOf('setRemoteDescription')).toBeLessThan(order.indexOf('addIceCandidate'));

    // Once the description is set, candidates go straight in.
    await t.transport.addRemoteCandidate(candidate(3));
    expect(t.pc.addedCandidates).toHaveLength(3);
    expect(t.logger.messages('info')).not.toContain('Queued candidates: 3');
    expect(t.failures).toEqual([]);
  });

  it('offer() makes the first offer without waiting for negotiationneeded, and the event that follows adds none', async () => {
    const t = setup(false);
    // In a page the event is a task of its own, behind whatever the page does next: here it is held.
    const negotiationNeeded = t.pc.onnegotiationneeded;
    t.pc.onnegotiationneeded = null;
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    t.transport.offer();
    await settle();
    expect(t.descriptions.map((d) => d.type)).toEqual(['offer']);
    expect(t.descriptions[0]?.sdp).toContain(`a=fake-track:audio ${track.id}`);

    negotiationNeeded?.({});
    await settle();
    expect(t.pc.callsOf('setLocalDescription')).toHaveLength(1);
    expect(t.descriptions).toHaveLength(1);
    expect(t.failures).toEqual([]);
  });

  it('a negotiationneeded that fires while offer() is under way makes no second offer', async () => {
    const t = setup(false);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    t.transport.offer();
    // The fake fires negotiationneeded as soon as its chain allows, i.e. while the offer is being made.
    t.pc.onnegotiationneeded?.({});
    await settle();
    expect(t.pc.callsOf('setLocalDescription')).toHaveLength(1);
    expect(t.descriptions.map((d) => d.type)).toEqual(['offer']);
  });

  it('offer() does nothing on a side that holds its tracks for the remote offer', async () => {
    const t = setup(true, true);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    t.transport.offer();
    await settle();
    expect(t.pc.callsOf('setLocalDescription')).toHaveLength(0);
    expect(t.descriptions).toEqual([]);
  });

  it('restartIce() leads to a new offer with new ICE credentials', async () => {
    const t = setup(false);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    await settle();
    await t.transport.handleDescription({ type: 'answer', sdp: await answerFor(t.descriptions[0]!.sdp) });
    const firstUfrag = /a=ice-ufrag:(\S+)/.exec(t.descriptions[0]!.sdp)?.[1];

    t.transport.restartIce();
    await settle();
    expect(t.pc.callsOf('restartIce')).toHaveLength(1);
    expect(t.descriptions).toHaveLength(2);
    expect(t.descriptions[1]?.type).toBe('offer');
    const secondUfrag = /a=ice-ufrag:(\S+)/.exec(t.descriptions[1]!.sdp)?.[1];
    expect(secondUfrag).toBeDefined();
    expect(secondUfrag).not.toBe(firstUfrag);
  });
});

describe('PeerTransport: answer side', () => {
  it('queues candidates that arrive before the offer, flushes them after it, then answers', async () => {
    const t = setup(true, true);
    await t.transport.addRemoteCandidate(candidate(1));
    await t.transport.addRemoteCandidate(null);
    expect(t.transport.queuedCandidates).toBe(2);
    expect(t.logger.has('QUEUEING for later')).toBe(true);

    const { sdp } = await remoteOffer();
    await t.transport.handleDescription({ type: 'offer', sdp });
    expect(t.logger.messages('info')).toContain('Flushing 2 queued ICE candidates');
    expect(t.pc.addedCandidates).toEqual([candidate(1), null]);
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer']);
    expect(t.pc.signalingState).toBe('stable');
    expect(t.pc.remoteTracks.size).toBe(1);
  });

  it('sets the answer without waiting for the queued candidates to be added, and right behind them', async () => {
    const t = setup(true, true);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    await t.transport.addRemoteCandidate(candidate(1));
    await t.transport.addRemoteCandidate(candidate(2));
    const { sdp } = await remoteOffer();
    // The first queued candidate takes its time (a busy page resolves it late).
    const release = t.pc.holdAfter('addIceCandidate');
    const applying = t.transport.handleDescription({ type: 'offer', sdp });
    await settle();
    expect(t.pc.callsOf('setLocalDescription')).toHaveLength(1);
    const order = t.pc.calls.map((c) => c.method).filter((m) => m !== 'addTrack');
    expect(order).toEqual(['setRemoteDescription', 'addIceCandidate', 'addIceCandidate', 'setLocalDescription']);

    release();
    await applying;
    // Queued, then applied: both candidates reached the connection, after its remote description.
    expect(t.pc.addedCandidates).toEqual([candidate(1), candidate(2)]);
    expect(t.logger.messages('info')).toContain('Flushing 2 queued ICE candidates');
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer']);
    expect(t.failures).toEqual([]);
  });

  it('tells of the remote tracks of an offer once its answer is out, not ahead of it', async () => {
    const t = setup(true, true);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    const seen: { kind: string; answers: number }[] = [];
    t.transport.on('track', (remote) => seen.push({ kind: remote.kind, answers: t.descriptions.length }));
    const { sdp } = await remoteOffer();
    await t.transport.handleDescription({ type: 'offer', sdp });
    expect(seen).toEqual([{ kind: 'audio', answers: 1 }]);
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer']);
  });

  it('queues candidates that arrive while the offer is still being applied', async () => {
    const t = setup(true, true);
    const { sdp } = await remoteOffer();
    const release = t.pc.hold('setRemoteDescription');
    const applying = t.transport.handleDescription({ type: 'offer', sdp });
    // The offer was received, not yet processed: the candidates behind it wait for it.
    await t.transport.addRemoteCandidate(candidate(1));
    await t.transport.addRemoteCandidate(candidate(2));
    await t.transport.addRemoteCandidate(candidate(3));
    expect(t.pc.callsOf('addIceCandidate')).toHaveLength(0);
    expect(t.logger.messages('info')).toContain('Queued candidates: 3');

    release();
    await applying;
    expect(t.logger.messages('info')).toContain('Flushing 3 queued ICE candidates');
    expect(t.pc.addedCandidates).toHaveLength(3);
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer']);
  });

  it('also queues candidates behind a renegotiation offer, when an older remote description exists', async () => {
    const t = setup(true, true);
    const first = await remoteOffer();
    await t.transport.handleDescription({ type: 'offer', sdp: first.sdp });
    expect(t.pc.remoteDescription).not.toBeNull();

    await first.remote.setRemoteDescription({ type: 'answer', sdp: t.descriptions[0]!.sdp });
    first.remote.restartIce();
    await first.remote.setLocalDescription();
    const release = t.pc.hold('setRemoteDescription');
    const applying = t.transport.handleDescription({ type: 'offer', sdp: first.remote.localDescription!.sdp });
    await t.transport.addRemoteCandidate(candidate(9));
    expect(t.transport.queuedCandidates).toBe(1);
    release();
    await applying;
    expect(t.logger.messages('info')).toContain('Flushing 1 queued ICE candidates');
    expect(t.pc.addedCandidates).toEqual([candidate(9)]);
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer', 'answer']);
  });

  it('holds local tracks until the first offer and attaches them to the answer (no offer of its own)', async () => {
    const t = setup(true, true);
    const track = new FakeTrack('video');
    t.transport.addTrack(track, new FakeStream([track]));
    await settle();
    expect(t.pc.callsOf('addTrack')).toHaveLength(0);
    expect(t.descriptions).toEqual([]);

    const { sdp } = await remoteOffer();
    await t.transport.handleDescription({ type: 'offer', sdp });
    const order = t.pc.calls.map((c) => c.method);
    expect(order.indexOf('setRemoteDescription')).toBeLessThan(order.indexOf('addTrack'));
    expect(order.indexOf('addTrack')).toBeLessThan(order.indexOf('setLocalDescription'));
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer']);
    expect(t.descriptions[0]?.sdp).toContain(`a=fake-track:video ${track.id}`);
    await settle();
    // The answer carried the track: no second negotiation.
    expect(t.descriptions).toHaveLength(1);
  });
});

describe('PeerTransport: candidates across an ICE restart', () => {
  const withUfrag = (port: number, usernameFragment: string): IceCandidateInit => ({ ...candidate(port), usernameFragment });

  /** A callee transport that answered one offer from `remote`. */
  async function answered() {
    const t = setup(true, true);
    const first = await remoteOffer();
    await t.transport.handleDescription({ type: 'offer', sdp: first.sdp });
    await first.remote.setRemoteDescription({ type: 'answer', sdp: t.descriptions[0]!.sdp });
    return { ...t, remote: first.remote };
  }

  it('queues candidates with new credentials that overtake the restart offer, and flushes them after it', async () => {
    const t = await answered();
    const oldUfrag = t.remote.ufrag;
    await t.transport.addRemoteCandidate(withUfrag(1, oldUfrag));
    expect(t.pc.addedCandidates).toHaveLength(1);

    t.remote.restartIce();
    await t.remote.setLocalDescription();
    // werift sends these before the offer they belong to.
    await t.transport.addRemoteCandidate(withUfrag(2, t.remote.ufrag));
    await t.transport.addRemoteCandidate(withUfrag(3, t.remote.ufrag));
    expect(t.transport.queuedCandidates).toBe(2);
    expect(t.logger.messages('info')).toContain('Queued candidates: 2');

    await t.transport.handleDescription({ type: 'offer', sdp: t.remote.localDescription!.sdp });
    expect(t.logger.messages('info')).toContain('Flushing 2 queued ICE candidates');
    expect(t.pc.addedCandidates.slice(1)).toEqual([withUfrag(2, t.remote.ufrag), withUfrag(3, t.remote.ufrag)]);
    expect(t.logger.messages('warn')).toEqual([]);

    // A late candidate of the old generation is dropped, not queued and not an error.
    await t.transport.addRemoteCandidate(withUfrag(4, oldUfrag));
    expect(t.transport.queuedCandidates).toBe(0);
    expect(t.pc.addedCandidates).toHaveLength(3);
    expect(t.logger.has('earlier ICE generation')).toBe(true);
  });

  it('on the restarting side, holds the answerer\'s new candidates until its answer is set', async () => {
    const t = setup(false);
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    await settle();
    const remote = new FakePeerConnection();
    remote.autoGather = false;
    await remote.setRemoteDescription({ type: 'offer', sdp: t.descriptions[0]!.sdp });
    await remote.setLocalDescription();
    await t.transport.handleDescription({ type: 'answer', sdp: remote.localDescription!.sdp });

    t.transport.restartIce();
    await settle();
    await remote.setRemoteDescription({ type: 'offer', sdp: t.descriptions[1]!.sdp });
    remote.restartIce(); // the answer to a restart carries new credentials too
    await remote.setLocalDescription();
    await t.transport.addRemoteCandidate(withUfrag(5, remote.ufrag));
    expect(t.transport.queuedCandidates).toBe(1);
    await t.transport.handleDescription({ type: 'answer', sdp: remote.localDescription!.sdp });
    expect(t.pc.addedCandidates).toEqual([withUfrag(5, remote.ufrag)]);
    expect(t.logger.messages('warn')).toEqual([]);
  });
});

describe('PeerTransport: an offer never overtakes the answer in progress', () => {
  it('defers a negotiationneeded that fires mid-answer (werift does) until the answer is out', async () => {
    const t = setup(true, true);
    // Like werift: no operations chain, and setLocalDescription(answer) applies at once but
    // resolves only after gathering, while negotiationneeded fires in between.
    t.pc.chained = false;
    const track = new FakeTrack('audio');
    t.transport.addTrack(track, new FakeStream([track]));
    const { sdp } = await remoteOffer();
    const release = t.pc.holdAfter('setLocalDescription');
    const applying = t.transport.handleDescription({ type: 'offer', sdp });
    await settle();
    expect(t.pc.signalingState).toBe('stable');
    t.pc.onnegotiationneeded?.({});
    await settle();
    release();
    await applying;
    await settle();
    expect(t.descriptions.map((d) => d.type)).toEqual(['answer', 'offer']);
    expect(t.failures).toEqual([]);
  });
});

describe('PeerTransport: perfect negotiation on glare', () => {
  /** Two transports, both adding a track at once, so both offer before either offer arrives. */
  async function glare() {
    const polite = setup(true);
    const impolite = setup(false);
    const a = new FakeTrack('audio');
    const b = new FakeTrack('audio');
    polite.transport.addTrack(a, new FakeStream([a]));
    impolite.transport.addTrack(b, new FakeStream([b]));
    await settle();
    expect(polite.descriptions.map((d) => d.type)).toEqual(['offer']);
    expect(impolite.descriptions.map((d) => d.type)).toEqual(['offer']);
    return { polite, impolite };
  }

  it('the polite side rolls back and answers; the impolite side ignores the remote offer', async () => {
    const { polite, impolite } = await glare();
    const politeOffer = polite.descriptions[0]!;
    const impoliteOffer = impolite.descriptions[0]!;

    // The offers cross.
    await impolite.transport.handleDescription(politeOffer);
    await polite.transport.handleDescription(impoliteOffer);

    expect(impolite.logger.has('impolite side ignores the remote offer')).toBe(true);
    expect(impolite.pc.callsOf('setRemoteDescription')).toHaveLength(0);
    expect(impolite.pc.signalingState).toBe('have-local-offer');

    expect(polite.logger.has('polite side rolls back')).toBe(true);
    expect(polite.pc.signalingHistory).toEqual(['stable', 'have-local-offer', 'rollback', 'stable', 'have-remote-offer', 'stable']);
    expect(polite.descriptions.map((d) => d.type)).toEqual(['offer', 'answer']);

    // The impolite side takes the answer; both are stable and have each other's track.
    await impolite.transport.handleDescription(polite.descriptions[1]!);
    await settle();
    expect(impolite.pc.signalingState).toBe('stable');
    expect(polite.pc.signalingState).toBe('stable');
    expect(polite.pc.remoteTracks.size).toBe(1);
    expect(impolite.pc.remoteTracks.size).toBe(1);
    expect(polite.failures).toEqual([]);
    expect(impolite.failures).toEqual([]);
  });

  it('the impolite side quietly drops candidates of the offer it ignored', async () => {
    const { polite, impolite } = await glare();
    await impolite.transport.handleDescription(polite.descriptions[0]!);
    // Candidates of the ignored offer arrive with no remote description: queued, never an error.
    await impolite.transport.addRemoteCandidate(candidate(1));
    expect(impolite.transport.queuedCandidates).toBe(1);
    expect(impolite.logger.messages('warn')).toEqual([]);
  });
});

describe('PeerTransport: failures, state and close', () => {
  it('emits a negotiation_failed CallError when a remote description cannot be applied', async () => {
    const t = setup(true, true);
    await t.transport.handleDescription({ type: 'offer', sdp: 'not an sdp' });
    expect(t.failures).toHaveLength(1);
    expect(t.failures[0]).toBeInstanceOf(CallError);
    expect(t.failures[0]?.reason).toBe('negotiation_failed');
    expect(t.logger.messages('error')[0]).toContain('OperationError');
  });

  it('emits a failure for an answer that arrives with no offer outstanding', async () => {
    const t = setup(false);
    const { sdp } = await remoteOffer();
    await t.transport.handleDescription({ type: 'answer', sdp });
    expect(t.failures[0]?.reason).toBe('negotiation_failed');
    expect(t.failures[0]?.message).toContain('InvalidStateError');
  });

  it('folds ICE and DTLS states into one link state', async () => {
    const t = setup(false);
    t.pc.setIceConnectionState('checking');
    t.pc.setConnectionState('connecting');
    t.pc.setIceConnectionState('connected');
    t.pc.setConnectionState('connected');
    t.pc.setIceConnectionState('disconnected');
    t.pc.setIceConnectionState('failed');
    t.pc.setIceConnectionState('connected');
    expect(t.links).toEqual(['connecting', 'connected', 'disconnected', 'failed', 'connected']);
    expect(t.logger.messages('info')).toContain('PeerConnection state: connected');
    expect(t.logger.messages('info')).toContain('ICE: disconnected');
  });

  it.each([
    ['new', 'new', 'new'],
    ['checking', 'new', 'connecting'],
    ['connected', 'connecting', 'connecting'],
    ['completed', 'connected', 'connected'],
    ['disconnected', 'connected', 'disconnected'],
    ['failed', 'connected', 'failed'],
    ['connected', 'failed', 'failed'],
    ['closed', 'closed', 'closed'],
  ])('foldLinkState(%s, %s) = %s', (ice, connection, expected) => {
    expect(foldLinkState(ice, connection)).toBe(expected);
  });

  it('passes local candidates on as plain RTCIceCandidateInit, null (or werift undefined) as end', () => {
    const t = setup(false);
    const rich = { ...candidate(5), usernameFragment: 'abc', foundation: '1', toJSON: () => ({}) };
    t.pc.onicecandidate?.({ candidate: rich });
    t.pc.onicecandidate?.({ candidate: undefined });
    t.pc.onicecandidate?.({ candidate: null });
    expect(t.candidates).toEqual([{ ...candidate(5), usernameFragment: 'abc' }, null, null]);
    expect(toCandidateInit({ candidate: 'x' })).toEqual({ candidate: 'x' });
  });

  it('close() closes the connection once, drops the queue and emits nothing afterwards', async () => {
    const t = setup(false);
    await t.transport.addRemoteCandidate(candidate(1));
    t.transport.close();
    t.transport.close();
    expect(t.pc.callsOf('close')).toHaveLength(1);
    expect(t.transport.queuedCandidates).toBe(0);
    expect(t.transport.closed).toBe(true);
    t.pc.emitCandidate(candidate(2));
    expect(t.candidates).toEqual([]);
    await t.transport.handleDescription({ type: 'offer', sdp: (await remoteOffer()).sdp });
    expect(t.pc.callsOf('setRemoteDescription')).toHaveLength(0);
    expect(() => t.transport.addTrack(new FakeTrack('audio'))).toThrow(CallError);
  });

  it('wraps a factory that throws in a CallError', () => {
    expect(
      () =>
        new PeerTransport({
          factory: () => {
            throw new Error('RTCPeerConnection is not defined');
          },
          polite: false,
          logger: new RecordingLogger(),
        }),
    ).toThrow(expect.objectContaining({ reason: 'peer_connection_failed' }));
  });

  it('a throwing listener does not break candidate handling', async () => {
    const t = setup(false);
    t.transport.on('candidate', () => {
      throw new Error('transport bug');
    });
    t.pc.emitCandidate(candidate(1));
    t.pc.emitCandidate(candidate(2));
    expect(t.candidates).toHaveLength(2);
    expect(t.logger.messages('error').filter((m) => m.includes('listener for "candidate" threw'))).toHaveLength(2);
  });
});
