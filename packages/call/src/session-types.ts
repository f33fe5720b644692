import type {
  CallClientEventName,
  CallClientPayloads,
  CallKind,
  CallServerEventName,
  CallServerPayloads,
  EndReason,
  ErrorCode,
} from '@parley/protocol';
import type { CallState } from './states.ts';
import type { ConnectionDiagnosis } from './diagnosis.ts';
import type { Clock, Logger, PeerConfiguration, PeerConnectionFactory, StreamLike, TrackLike } from './webrtc.ts';

/** A message for the server: `socket.emit(signal.type, signal.payload, ack)`. */
export type OutgoingCallSignal = {
  [K in CallClientEventName]: { type: K; payload: CallClientPayloads[K] };
}[CallClientEventName];

/** A message from the server, already validated with CALL_SERVER_SCHEMAS[type]. */
export type IncomingCallSignal = {
  [K in CallServerEventName]: { type: K; payload: CallServerPayloads[K] };
}[CallServerEventName];

export interface CallEnd {
  reason: EndReason;
  /** `local`: this device ended the call; `remote`: the peer or the server did. */
  by: 'local' | 'remote';
  /** On a `connection_failed`: what was gathered with the ICE servers this call had, and so what is wrong. */
  diagnosis?: ConnectionDiagnosis;
  /** When the server refused a signal of this call (a failed ack): its error code, e.g. `conflict`. */
  refusal?: ErrorCode;
}

export interface CallSessionEvents<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** A message to carry to the server. The engine never sends anything itself. */
  signal: (signal: OutgoingCallSignal) => void;
  /** The state changed (matrix-js-sdk's `(state, oldState)`). */
  state: (state: CallState, oldState: CallState) => void;
  /** Caller: a callee device reports ringing (each ringing device reports once). */
  remoteRinging: (deviceId: string) => void;
  /** A remote track arrived, also mid-call (the peer turned its camera on). Once per track. */
  track: (track: Track, streams: readonly Stream[]) => void;
  /** A remote stream seen for the first time: attach it to the <video>/<audio> element. */
  remoteStream: (stream: Stream) => void;
  /** The peer connection's iceConnectionState or connectionState changed (a status line). */
  transport: (ice: string, connection: string) => void;
  /** The call ended. Emitted once, right after `state` reports `ended`. */
  ended: (end: CallEnd) => void;
}

export const DEFAULT_CALL_TIMEOUTS = {
  /** Caller: no device answered → call.cancel(no_answer). */
  ringMs: 45_000,
  /** Callee: still ringing with no word from the caller or server → stop ringing (no_answer). */
  incomingRingMs: 60_000,
  /** From answer to the first connected media path → connection_failed (with a diagnosis): well inside 20 s. */
  connectMs: 18_000,
  /** ICE `disconnected` for this long → restart ICE (`failed` restarts at once). */
  restartAfterDisconnectedMs: 2_000,
  /** From losing the media path to giving up → connection_failed. */
  reconnectMs: 30_000,
};
export type CallTimeouts = typeof DEFAULT_CALL_TIMEOUTS;

export interface CallSessionOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** This device's id; sent in every signal. */
  deviceId: string;
  /** Creates the RTCPeerConnection: browserPeerConnectionFactory in the web app, werift in Node. */
  peerConnectionFactory: PeerConnectionFactory<Track, Stream>;
  /** ICE servers when start()/accept() are not given any (STUN, and TURN with minted credentials). */
  rtcConfiguration?: PeerConfiguration;
  /**
   * Fetches fresh ICE servers (new TURN credentials); called before every ICE restart, so a
   * restart never runs on credentials that have expired. Optional.
   */
  refreshConfiguration?: () => Promise<PeerConfiguration>;
  /** Defaults to `console`, each line prefixed with `[call <id>]`. */
  logger?: Logger;
  clock?: Clock;
  timeouts?: Partial<CallTimeouts>;
  /** Stop the local tracks this session was given when the call ends. Default true. */
  stopLocalTracksOnEnd?: boolean;
  /**
   * Connect while it rings (docs/decisions/020-preconnect-while-ringing.md). As callee: say so in
   * `call.ringing` and, once preconnect() gives the ICE servers, take the caller's offer while
   * ringing; as caller: offer to each ringing device whose `call.ringing` says `preconnect`. No
   * track goes on a sender before the answer (accept() here, `call.accept` there), so nothing is
   * sent before it; ICE candidates are. Default false: the offer follows the accept (decision 004).
   */
  preconnect?: boolean;
}

export interface StartCallParams<Stream> {
  toUserId: string;
  kind: CallKind;
  /** The caller's media; it must hold at least one track (the caller makes the first offer). */
  localStream: Stream;
  /** Defaults to a fresh UUID. */
  callId?: string;
  /** The ICE servers for this call (fetched for it); defaults to the session's rtcConfiguration. */
  configuration?: PeerConfiguration;
}
