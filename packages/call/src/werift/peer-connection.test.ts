import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
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
