import type { ConnectionDiagnosis } from '@parley/call';
import type { EndReason } from '@parley/protocol';

export interface EndTextContext {
  /** This device's side of the call. */
  direction: 'outgoing' | 'incoming';
  /** The other person's name. */
  peerName: string;
  /** On a `connection_failed` this device diagnosed: what was gathered, and so what is wrong. */
  diagnosis?: ConnectionDiagnosis['code'] | null;
}

/** How each end reads on this device, in plain words. Typed over every EndReason: a new reason will not compile without its text. */
export const END_REASON_TEXT: { readonly [R in EndReason]: (c: EndTextContext) => string } = {
  user_hangup: () => 'Call ended',
  declined: () => 'Declined',
  cancelled: (c) => (c.direction === 'incoming' ? 'Missed call' : 'Call cancelled'),
  busy: () => 'Busy',
  no_answer: (c) => (c.direction === 'incoming' ? 'Missed call' : 'No answer'),
  unavailable: (c) => `Unavailable — ${c.peerName} is not online`,
  answered_elsewhere: () => 'Answered on another device',
  media_failed: () => 'Call failed: camera or microphone unavailable',
  negotiation_failed: () => 'Call failed: could not connect',
  connection_failed: (c) => (c.diagnosis ? DIAGNOSIS_TEXT[c.diagnosis](c) : 'Call failed: could not connect'),
  peer_disconnected: (c) => `Call ended: ${c.peerName}'s connection was lost`,
  internal_error: () => 'Call failed',
};

export function endText(reason: EndReason, context: EndTextContext): string {
  return END_REASON_TEXT[reason](context);
}

/** How long an ended call stays on screen with its reason before the call view closes. */
export const END_DISPLAY_MS = 4_000;

/** Ends that close the call UI at once: another device of mine took the call, nothing to tell. */
export function closesAtOnce(reason: EndReason): boolean {
  return reason === 'answered_elsewhere';
}

const NO_RELAY = "Can't reach the relay (TURN) server — calls between different networks need one";

/**
 * Why a call that never connected failed, from the engine's diagnosis, in words a person can act
 * on. Browser tests in the network lab look for "Can't reach the relay (TURN) server".
 */
export const DIAGNOSIS_TEXT: { readonly [C in ConnectionDiagnosis['code']]: (c: EndTextContext) => string } = {
  no_turn: () => NO_RELAY,
  turn_unreachable: () => NO_RELAY,
  no_pair: (c) => `Reached the relay server, but no connection could be made with ${c.peerName}'s device — their network may block it`,
};

/** The line under the diagnosis: what to do about it. */
export const DIAGNOSIS_DETAIL: { readonly [C in ConnectionDiagnosis['code']]: string } = {
  no_turn: 'None is configured for Parley: please ask an administrator to set one up.',
  turn_unreachable:
    'One is configured, but this network blocks it or it refused the sign-in. "Test my connection" shows what works here; an administrator can check the relay.',
  no_pair: 'Calls within the same network may still work. An administrator can check the relay server’s settings.',
};
