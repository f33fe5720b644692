import { CallError } from './errors.ts';

export const CALL_STATES = [
  /** Created; nothing sent or received yet. */
  'idle',
  /** Caller: invite sent, no device has answered. (`remoteRinging` tells whether one rings.) */
  'outgoing',
  /** Callee: an invite arrived and this device is alerting its user. */
  'ringing',
  /** Answered; offer/answer and ICE/DTLS in progress, no media path yet. */
  'connecting',
  /** The media path is up. */
  'connected',
  /** The media path was lost after being up; ICE restarts are under way. */
  'reconnecting',
  /** Over, with an EndReason. Final. */
  'ended',
] as const;
export type CallState = (typeof CALL_STATES)[number];

export const CALL_TRIGGERS = [
  /** The local user starts a call (start()). */
  'dial',
  /** An invite arrives for this device. */
  'invited',
  /** The local user answers (accept()). */
  'accept',
  /** A callee device answered our invite (call.accept). */
  'remote_accept',
  /** ICE and DTLS report the media path up. */
  'media_up',
  /** ICE reports the media path disconnected or failed. */
  'media_down',
  /** Any end: hangup, decline, cancel, busy, timeout, failure. The reason travels separately. */
  'end',
] as const;
export type CallTrigger = (typeof CALL_TRIGGERS)[number];

/** The whole call lifecycle. A move that is not here does not happen. */
export const TRANSITIONS = {
  idle: { dial: 'outgoing', invited: 'ringing', end: 'ended' },
  outgoing: { remote_accept: 'connecting', end: 'ended' },
  ringing: { accept: 'connecting', end: 'ended' },
  connecting: { media_up: 'connected', end: 'ended' },
  connected: { media_down: 'reconnecting', end: 'ended' },
  reconnecting: { media_up: 'connected', end: 'ended' },
  ended: {},
} as const satisfies Record<CallState, Partial<Record<CallTrigger, CallState>>>;

/** The state `trigger` leads to from `from`, or undefined when the table does not allow it. */
export function nextState(from: CallState, trigger: CallTrigger): CallState | undefined {
  const row: Partial<Record<CallTrigger, CallState>> = TRANSITIONS[from];
  return row[trigger];
}

export function canTransition(from: CallState, trigger: CallTrigger): boolean {
  return nextState(from, trigger) !== undefined;
}

/** The one place a call changes state. Throws CallError('invalid_transition') on a move the table does not allow. */
export function transition(from: CallState, trigger: CallTrigger): CallState {
  const to = nextState(from, trigger);
  if (to === undefined) {
    throw new CallError('invalid_transition', `no transition "${trigger}" from state "${from}"`);
  }
  return to;
}
