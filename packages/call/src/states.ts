import type { CallServerEventName } from '@parley/protocol';
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

/**
 * What a session does with each server signal in each state. A signal missing from a state's row
 * is refused: logged and dropped (server events carry no ack, so there is nobody to answer).
 * - `ring`: an invite for this idle session; it rings and says so (call.ringing).
 * - `remote_ringing`: a callee device rings. `remote_accept`: a callee device answered.
 * - `end`: the server or the peer ended the call; the payload's reason is the end reason.
 * - `declined_elsewhere`: another device of mine declined; this one stops ringing as declined.
 * - `answered_elsewhere`: another device of mine answered.
 * - `early`: the caller's offer or candidate before this device answered: applied to the
 *   connection made while ringing (preconnect(), decision 020), else kept for accept() (a glare
 *   merge lets the caller's offer race our accept; a pre-connecting device's connection may not
 *   be made yet).
 * - `preconnect`: a ringing callee device's answer or candidate for the caller's connection to it
 *   made while ringing (decision 020); dropped when there is none for that device.
 * - `apply`: a description or candidate from the peer device, for the peer connection.
 * - `peer_hangup`: the peer device hung up.
 */
export const SIGNAL_ACTIONS = [
  'ring',
  'remote_ringing',
  'remote_accept',
  'end',
  'declined_elsewhere',
  'answered_elsewhere',
  'early',
  'preconnect',
  'apply',
  'peer_hangup',
] as const;
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

const ANSWERED = {
  'call.ended': 'end',
  'call.offer': 'apply',
  'call.answer': 'apply',
  'call.ice': 'apply',
  'call.hangup': 'peer_hangup',
} as const;

export const ACCEPTS = {
  idle: { 'call.invite': 'ring' },
  outgoing: {
    'call.ringing': 'remote_ringing',
    'call.accept': 'remote_accept',
    'call.reject': 'end',
    'call.busy': 'end',
    'call.ended': 'end',
    'call.answer': 'preconnect',
    'call.offer': 'preconnect',
    'call.ice': 'preconnect',
  },
  ringing: {
    'call.answered_elsewhere': 'answered_elsewhere',
    'call.reject': 'declined_elsewhere',
    'call.cancel': 'end',
    'call.ended': 'end',
    'call.offer': 'early',
    'call.ice': 'early',
  },
  // call.cancel: our accept crossed the caller's cancel.
  connecting: { ...ANSWERED, 'call.cancel': 'end' },
  connected: ANSWERED,
  reconnecting: ANSWERED,
  ended: {},
} as const satisfies Record<CallState, Partial<Record<CallServerEventName, SignalAction>>>;

/** What `state` does with `signal`, or undefined when the state refuses it. */
export function acceptedAction(state: CallState, signal: CallServerEventName): SignalAction | undefined {
  const row: Partial<Record<CallServerEventName, SignalAction>> = ACCEPTS[state];
  return row[signal];
}

/** The local commands of a session, checked against COMMANDS before they run. */
export type CallCommand =
  | 'start'
  | 'accept'
  | 'reject'
  | 'changeTracks'
  | 'restartIce'
  | 'resume'
  | 'reportQuality'
  | 'preconnect';

/**
 * Which commands each state allows. `start`, `accept`, `reject`, `changeTracks` and `restartIce`
 * throw CallError('invalid_state') where refused; `resume`, `reportQuality` and `preconnect`
 * quietly do nothing.
 */
export const COMMANDS = {
  idle: { start: true, changeTracks: true },
  outgoing: { changeTracks: true },
  ringing: { accept: true, reject: true, changeTracks: true, preconnect: true },
  connecting: { changeTracks: true, restartIce: true, resume: true, reportQuality: true },
  connected: { changeTracks: true, restartIce: true, resume: true, reportQuality: true },
  reconnecting: { changeTracks: true, restartIce: true, resume: true, reportQuality: true },
  ended: {},
} as const satisfies Record<CallState, Partial<Record<CallCommand, true>>>;

export function allows(state: CallState, command: CallCommand): boolean {
  const row: Partial<Record<CallCommand, true>> = COMMANDS[state];
  return row[command] === true;
}

/**
 * What hangup() sends from each state: an outgoing call is cancelled, a ringing one declined, an
 * answered one hung up (with the reason given); an idle one ends without a word. Nothing once ended.
 */
export const HANGUP = {
  idle: { signal: null, reason: 'cancelled' },
  outgoing: { signal: 'call.cancel', reason: 'cancelled' },
  ringing: { signal: 'call.reject', reason: 'declined' },
  connecting: { signal: 'call.hangup', reason: 'given' },
  connected: { signal: 'call.hangup', reason: 'given' },
  reconnecting: { signal: 'call.hangup', reason: 'given' },
  ended: null,
} as const satisfies Record<
  CallState,
  { signal: 'call.cancel' | 'call.reject' | 'call.hangup' | null; reason: 'cancelled' | 'declined' | 'given' } | null
>;

/** An answered call: the media path is being set up, is up, or is being restored. */
export function isAnswered(state: CallState): boolean {
  return allows(state, 'restartIce');
}
