export { CallAgent } from './agent.ts';
export type { CallAgentEvents, CallAgentOptions } from './agent.ts';
export { AgentCall } from './agent-call.ts';
export type { AgentCallEvents, CallPhase } from './agent-call.ts';
export { readAck } from './signal-channel.ts';
export type { AckResult, IceServerProvider, SignalChannel } from './signal-channel.ts';
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
export { diagnose, hasTurnServer } from './diagnosis.ts';
export { CallMonitor } from './call-monitor.ts';
export { DEFAULT_WATCHDOG, MediaWatchdog } from './media-watchdog.ts';
export type { OneWay, WatchdogOptions, WatchdogVerdict } from './media-watchdog.ts';
export { QualityMeter, intervalDetails, lossPercent, pathOf, readSample, POOR_LOSS_PCT, POOR_RTT_MS, POOR_SUSTAIN_MS } from './quality.ts';
export type { CallDetails, MediaPath, MediaProtocol, QualityWarning, StatsSample } from './quality.ts';
export { entryOf, numberField, pairCandidates, selectedPair, statsEntries, stringField } from './stats.ts';
export type { StatsEntry } from './stats.ts';
export {
  ACCEPTS,
  CALL_STATES,
  CALL_TRIGGERS,
  COMMANDS,
  HANGUP,
  SIGNAL_ACTIONS,
  TRANSITIONS,
  acceptedAction,
  allows,
  canTransition,
  isAnswered,
  nextState,
  transition,
} from './states.ts';
export type { CallCommand, CallState, CallTrigger, SignalAction } from './states.ts';
export { CALL_ERROR_REASONS, CallError, isCallError } from './errors.ts';
export type { CallErrorReason } from './errors.ts';
export { PeerTransport } from './peer.ts';
export type { LocalDescription, PeerTransportEvents, PeerTransportOptions } from './peer.ts';
export { foldLinkState, type LinkState } from './link-state.ts';
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
  StatsReportLike,
  StreamLike,
  TrackLike,
} from './webrtc.ts';
