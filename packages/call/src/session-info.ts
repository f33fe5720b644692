import type { CallKind } from '@parley/protocol';
import type { CandidateType } from './diagnosis.ts';
import { TypedEmitter } from './emitter.ts';
import type { MediaPath } from './media-path.ts';
import type { LinkState } from './link-state.ts';
import type { CallEnd, CallSessionEvents } from './session-types.ts';
import type { CallState } from './states.ts';
import type { PeerConfiguration, StreamLike, TrackLike } from './webrtc.ts';

/** What a session knows about its call; CallSession writes it, the getters read it. */
export interface CallFacts {
  state: CallState;
  callId: string | null;
  kind: CallKind | null;
  direction: 'outgoing' | 'incoming' | null;
  peerUserId: string | null;
  peerDeviceId: string | null;
  peerName: string | null;
  remoteRinging: boolean;
  connectedAt: number | null;
  answeredAt: number | null;
  end: CallEnd | null;
}

/** The read side of a CallSession: who and what the call is, and how its media path stands. */
export abstract class CallSessionInfo<Track extends TrackLike, Stream extends StreamLike<Track>> extends TypedEmitter<
  CallSessionEvents<Track, Stream>
> {
  protected readonly facts: CallFacts = {
    state: 'idle',
    callId: null,
    kind: null,
    direction: null,
    peerUserId: null,
    peerDeviceId: null,
    peerName: null,
    remoteRinging: false,
    connectedAt: null,
    answeredAt: null,
    end: null,
  };
  /** The media connection, from the answer on; kept after the end for what it learnt. */
  protected path: MediaPath<Track, Stream> | null = null;
  /** The ICE servers for the peer connection until it exists. */
  protected rtcConfiguration: PeerConfiguration = {};

  get state(): CallState {
    return this.facts.state;
  }
  get callId(): string | null {
    return this.facts.callId;
  }
  get kind(): CallKind | null {
    return this.facts.kind;
  }
  get direction(): 'outgoing' | 'incoming' | null {
    return this.facts.direction;
  }
  /** The other party: the callee for an outgoing call, the caller for an incoming one. */
  get peerUserId(): string | null {
    return this.facts.peerUserId;
  }
  /** The caller's name as the server gave it (incoming calls). */
  get peerName(): string | null {
    return this.facts.peerName;
  }
  /** The other device, once the call is answered (for the callee: the caller's device from the invite). */
  get peerDeviceId(): string | null {
    return this.facts.peerDeviceId;
  }
  /** Caller: at least one callee device reported ringing. */
  get remoteRinging(): boolean {
    return this.facts.remoteRinging;
  }
  /** Clock time of the first `connected`, for a call timer. */
  get connectedAt(): number | null {
    return this.facts.connectedAt;
  }
  /** Set once the call has ended. */
  get end(): CallEnd | null {
    return this.facts.end;
  }
  /** Candidate types seen so far: gathered here (`local`) and received from the peer (`remote`). */
  get candidateTypes(): { local: CandidateType[]; remote: CandidateType[] } {
    return this.path?.candidateTypes ?? { local: [], remote: [] };
  }
  /** The ICE servers this call's peer connection has (or will have), as last fetched. */
  get configuration(): PeerConfiguration {
    return this.path?.configuration ?? this.rtcConfiguration;
  }
  /** Perfect-negotiation role: the callee is polite. Null before answer. */
  get polite(): boolean | null {
    return this.path?.polite ?? null;
  }
  /** The peer connection's iceConnectionState; `new` before there is one. */
  get iceConnectionState(): string {
    return this.live()?.iceConnectionState ?? 'new';
  }
  /** The peer connection's connectionState; `new` before there is one. */
  get connectionState(): string {
    return this.live()?.connectionState ?? 'new';
  }
  /** The folded ICE/DTLS state of the media path; `new` before there is a peer connection. */
  get link(): LinkState {
    return this.live()?.link ?? 'new';
  }

  /** The media path while it is open. */
  protected live(): MediaPath<Track, Stream> | null {
    return this.path && !this.path.closed ? this.path : null;
  }
}
