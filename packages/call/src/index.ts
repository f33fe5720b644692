export { CallSession, DEFAULT_CALL_TIMEOUTS, candidateType } from './call.ts';
export type {
  CandidateType,
  ConnectionDiagnosis,
  BrowserCallSession,
  CallEnd,
  CallSessionEvents,
  CallSessionOptions,
  CallTimeouts,
  IncomingCallSignal,
  OutgoingCallSignal,
  StartCallParams,
} from './call.ts';
export { CALL_STATES, CALL_TRIGGERS, TRANSITIONS, canTransition, nextState, transition } from './states.ts';
export type { CallState, CallTrigger } from './states.ts';
export { CALL_ERROR_REASONS, CallError, isCallError } from './errors.ts';
export type { CallErrorReason } from './errors.ts';
export { PeerTransport, foldLinkState } from './peer.ts';
export type { LinkState, LocalDescription, PeerTransportEvents, PeerTransportOptions } from './peer.ts';
export { TypedEmitter } from './emitter.ts';
export { browserPeerConnectionFactory, prefixLogger, systemClock } from './webrtc.ts';
export type {
  Clock,
  IceCandidateInit,
  Logger,
  PeerConfiguration,
  PeerConnectionFactory,
  PeerConnectionLike,
  SenderLike,
  StreamLike,
  TrackLike,
} from './webrtc.ts';
