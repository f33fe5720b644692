import type { ConnectionDiagnosis } from '@parley/call';
import type { EndReason } from '@parley/protocol';

export interface EndTextContext {
  /** This device's side of the call. */
  direction: 'outgoing' | 'incoming';
  /** The other person's name. */
  peerName: string;
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
  connection_failed: () => 'Call failed: could not connect',
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

/** Why a call that never connected failed, from the engine's diagnosis: what an administrator should look at. */
export const DIAGNOSIS_TEXT: { readonly [C in ConnectionDiagnosis['code']]: string } = {
  no_turn: 'No direct connection was possible, and no relay (TURN) server is set up',
  turn_unreachable: 'The relay (TURN) server could not be reached',
  no_pair: 'No network path between the two devices worked',
};
