import { z } from 'zod';
import { Id, type Ack } from './common.ts';

/*
 * Call signalling: 1:1 audio/video calls between one caller device and one callee device.
 *
 * Sequence (decided: the offer goes AFTER the answer, not with the invite):
 *
 *   caller device            server                         callee devices (all of them)
 *   call.invite ──────────▶  checks, fills fromUserId ───▶  call.invite      (each rings)
 *   call.ringing ◀─────────  (one per ringing device) ◀───  call.ringing
 *   call.accept  ◀─────────  binds caller ⇄ this device ◀─  call.accept      (device D answers)
 *                            call.answered_elsewhere ────▶  the other devices stop ringing
 *   call.offer ───────────▶  to D only ─────────────────▶  call.offer
 *   call.answer ◀──────────  ◀─────────────────────────────  call.answer
 *   call.ice  ◀──────────────────────── both ways ─────────▶  call.ice
 *   call.hangup ◀──────────────────────── either ──────────▶  call.hangup
 *
 * Why: SDP (with the caller's candidates and fingerprints) goes to the one device that answered,
 * never to every ringing device, and each call has exactly one RTCPeerConnection per side.
 *
 * Pre-connecting (docs/decisions/020-preconnect-while-ringing.md, CALL_PRECONNECT): a ringing
 * device whose call.ringing says `preconnect` gets the caller's offer while it rings (the caller
 * names it in `toDeviceId`) and answers it; ICE and DTLS come up before the click with no track on
 * any sender. Its accept then needs no offer or answer after it. Devices that do not say so get the
 * sequence above.
 * The caller's engine starts negotiating only when `call.accept` arrives; the callee's engine
 * attaches its media to its first answer, so the first negotiation has no glare.
 * After `call.accept`, offers and answers may flow either way (perfect negotiation: the caller
 * is impolite, the callee polite) for renegotiation: camera added mid-call, ICE restart.
 *
 * Ending: before the answer, the caller sends `call.cancel` and a callee device `call.reject`
 * (a decline on one device declines on all); after it, either side sends `call.hangup`. The server
 * answers an invite to someone already in a call with `call.busy`, and ends calls on its own
 * authority (ring timeout, a device gone for good) with `call.ended`. Every end carries an EndReason.
 *
 * Trust: a client never says who it is. The server sets `fromUserId` from the session and checks
 * that `deviceId` is the device bound to the sending socket; `fromDeviceId` is that checked value.
 * After `call.accept`, the server relays offer/answer/ice/hangup only between the two bound
 * devices of that call and drops anything else.
 */

/** Size limits for call payloads. An SDP has to fit, after JSON escaping, in one socket frame (LIMITS.socketFrameMaxBytes). */
export const CALL_LIMITS = {
  /** Characters in one SDP. Browser offers for audio+video are 3–15 KB. */
  sdpMax: 48 * 1024,
  /** Characters in one `candidate:` line. */
  candidateMax: 1024,
  /** Characters in a device id. */
  deviceIdMax: 64,
} as const;

export const CALL_KINDS = ['audio', 'video'] as const;
export const CallKind = z.enum(CALL_KINDS);
export type CallKind = z.infer<typeof CallKind>;

/** Why a call ended. Each end of a call, on every device, carries exactly one. */
export const END_REASONS = [
  /** Someone pressed hang up on an answered call. */
  'user_hangup',
  /** The callee declined (on any of their devices). */
  'declined',
  /** The caller gave up before anyone answered. */
  'cancelled',
  /** The callee is already in another call. */
  'busy',
  /** Nobody answered before the ring timeout. */
  'no_answer',
  /** The callee cannot be reached: no such active user, or none of their devices is online. */
  'unavailable',
  /** Another device of the callee answered; this one stops ringing. */
  'answered_elsewhere',
  /** The local camera or microphone could not be used. */
  'media_failed',
  /** An offer or answer could not be created or applied (malformed or incompatible SDP). */
  'negotiation_failed',
  /** The media path did not connect, or did not come back within the reconnect window after ICE restarts. */
  'connection_failed',
  /** The other device left the server (closed tab, signed out, network gone) and did not come back. */
  'peer_disconnected',
  /** Something unexpected failed on the server or in the engine; the logs say what. */
  'internal_error',
] as const;
export const EndReason = z.enum(END_REASONS);
export type EndReason = z.infer<typeof EndReason>;

/** Reasons a caller may give in `call.cancel`. */
export const CancelReason = z.enum(['cancelled', 'no_answer']);
export type CancelReason = z.infer<typeof CancelReason>;

/** Reasons a callee device may give in `call.reject`. `busy`: the device is already in a call. */
export const RejectReason = z.enum(['declined', 'busy', 'media_failed', 'internal_error']);
export type RejectReason = z.infer<typeof RejectReason>;

/** Reasons either party may give in `call.hangup`. */
export const HangupReason = z.enum([
  'user_hangup',
  'media_failed',
  'negotiation_failed',
  'connection_failed',
  'internal_error',
]);
export type HangupReason = z.infer<typeof HangupReason>;

/**
 * A device's id, given in the socket handshake (`auth.deviceId`) and bound to that socket by the server.
 * The web app makes one per page load and keeps it in memory, across socket reconnects but not across
 * reloads: a reloaded page is a new device, so its old call ends (docs/decisions/004-call-lifecycle.md).
 */
export const DeviceId = z
  .string()
  .min(1, 'must not be empty')
  .max(CALL_LIMITS.deviceIdMax)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
export type DeviceId = z.infer<typeof DeviceId>;

export const Sdp = z
  .string()
  .min(1, 'must not be empty')
  .max(CALL_LIMITS.sdpMax, `must be at most ${CALL_LIMITS.sdpMax} characters`);

/** RTCIceCandidateInit as `RTCIceCandidate.toJSON()` gives it. */
export const IceCandidate = z.strictObject({
  /** The `candidate:` attribute; an empty string marks the end of one generation. */
  candidate: z.string().max(CALL_LIMITS.candidateMax),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});
export type IceCandidate = z.infer<typeof IceCandidate>;

// ---- client → server payloads (strict: an unknown field is a bad_request) ----

const Sent = { callId: Id, deviceId: DeviceId };

/** Start a call. `callId` is chosen by the caller (a UUID) and names the call in every later message. */
export const CallInvite = z.strictObject({ ...Sent, toUserId: Id, kind: CallKind });
export type CallInvite = z.infer<typeof CallInvite>;

/**
 * A callee device is alerting its user. `preconnect`: it will take the caller's offer while it
 * rings and connect ICE and DTLS before anyone answers, with no media sent before its user's
 * click (docs/decisions/020-preconnect-while-ringing.md).
 */
export const CallRinging = z.strictObject({ ...Sent, preconnect: z.boolean().optional() });
export type CallRinging = z.infer<typeof CallRinging>;

/** A callee device answers. The first accept wins; a later one gets `conflict`. */
export const CallAccept = z.strictObject({ ...Sent });
export type CallAccept = z.infer<typeof CallAccept>;

/** A callee device declines before answering. */
export const CallReject = z.strictObject({ ...Sent, reason: RejectReason });
export type CallReject = z.infer<typeof CallReject>;

/** The caller gives up before an answer. */
export const CallCancel = z.strictObject({ ...Sent, reason: CancelReason });
export type CallCancel = z.infer<typeof CallCancel>;

/**
 * Names the one callee device a caller's offer, answer or candidate is for while the call rings
 * (pre-connecting: only a device whose `call.ringing` said `preconnect`). After the answer the
 * server relays only to the bound peer device and refuses one named for any other device.
 */
const To = { toDeviceId: DeviceId.optional() };

/** An SDP offer, to the bound peer device (first from the caller; later from either side), or while ringing to a pre-connecting device. */
export const CallOffer = z.strictObject({ ...Sent, ...To, sdp: Sdp });
export type CallOffer = z.infer<typeof CallOffer>;

/** An SDP answer, to the bound peer device. */
export const CallAnswer = z.strictObject({ ...Sent, ...To, sdp: Sdp });
export type CallAnswer = z.infer<typeof CallAnswer>;

/** One trickled ICE candidate; `null` means this side has gathered all its candidates. */
export const CallIce = z.strictObject({ ...Sent, ...To, candidate: IceCandidate.nullable() });
export type CallIce = z.infer<typeof CallIce>;

/** End an answered call. */
export const CallHangup = z.strictObject({ ...Sent, reason: HangupReason });
export type CallHangup = z.infer<typeof CallHangup>;

/** How a call's media travelled, as a device measured it (getStats on the selected candidate pair). */
export const CallQuality = z.strictObject({
  /** `relay` when either end of the selected pair is a TURN relay candidate. */
  path: z.enum(['direct', 'relay']),
  /** Transport to the relay (or of the direct path): udp, tcp, or tls (TURNS). */
  protocol: z.enum(['udp', 'tcp', 'tls']),
  /** Average round-trip time over the call, in milliseconds. */
  rttMs: z.number().nonnegative().max(60_000).nullable(),
  /** Share of inbound packets lost over the call, in percent. */
  lossPct: z.number().min(0).max(100).nullable(),
  /**
   * Optional (older clients leave it out): the media went one way only for a while, as this device
   * saw it after an ICE restart did not help. `inbound`: nothing arrived from the peer;
   * `outbound`: the peer's receiver reports said it got nothing from this device.
   */
  oneWay: z.enum(['inbound', 'outbound']).optional(),
});
export type CallQuality = z.infer<typeof CallQuality>;

/** A device's latest measurement of an answered call; the server keeps it for the history entry. */
export const CallStats = z.strictObject({ ...Sent, quality: CallQuality });
export type CallStats = z.infer<typeof CallStats>;

/**
 * After a reconnect, a device in an answered call says so. A server that still knows the call just
 * cancels that device's grace period; a server that restarted (and so forgot its calls) rebuilds
 * the call once both devices have resumed it with matching claims, so hang up and renegotiation
 * work again. Media never stopped: it does not pass through the server.
 */
export const CallResume = z.strictObject({
  ...Sent,
  role: z.enum(['caller', 'callee']),
  peerUserId: Id,
  peerDeviceId: DeviceId,
  kind: CallKind,
  /** When the call was answered (ms since the epoch), for the duration in the history. */
  answeredAt: z.number().int().positive(),
});
export type CallResume = z.infer<typeof CallResume>;

/** Schema per client event: the server safeParses each payload with the schema of its event name. */
export const CALL_CLIENT_SCHEMAS = {
  'call.invite': CallInvite,
  'call.ringing': CallRinging,
  'call.accept': CallAccept,
  'call.reject': CallReject,
  'call.cancel': CallCancel,
  'call.offer': CallOffer,
  'call.answer': CallAnswer,
  'call.ice': CallIce,
  'call.hangup': CallHangup,
  'call.resume': CallResume,
  'call.stats': CallStats,
} as const;
export type CallClientEventName = keyof typeof CALL_CLIENT_SCHEMAS;
export type CallClientPayloads = { [K in CallClientEventName]: z.infer<(typeof CALL_CLIENT_SCHEMAS)[K]> };

// ---- server → client events (the server fills in `from*` from the session) ----

const From = { callId: Id, fromUserId: Id, fromDeviceId: DeviceId };

/** To every device of the callee. */
export const CallInviteEvent = z.object({ ...From, kind: CallKind, fromName: z.string() });
export type CallInviteEvent = z.infer<typeof CallInviteEvent>;

/**
 * To the caller: one callee device is ringing. `preconnect`: that device pre-connects and the
 * server allows it (CALL_PRECONNECT): the caller may offer to it now, naming it in `toDeviceId`.
 */
export const CallRingingEvent = z.object({ ...From, preconnect: z.boolean().optional() });
export type CallRingingEvent = z.infer<typeof CallRingingEvent>;

/** To the caller: device `fromDeviceId` answered; send the offer now. */
export const CallAcceptEvent = z.object({ ...From });
export type CallAcceptEvent = z.infer<typeof CallAcceptEvent>;

/** To the callee's other devices: `fromDeviceId` answered. */
export const CallAnsweredElsewhereEvent = z.object({ ...From });
export type CallAnsweredElsewhereEvent = z.infer<typeof CallAnsweredElsewhereEvent>;

/** To the caller and to the callee's other devices. */
export const CallRejectEvent = z.object({ ...From, reason: RejectReason });
export type CallRejectEvent = z.infer<typeof CallRejectEvent>;

/** To every ringing callee device. */
export const CallCancelEvent = z.object({ ...From, reason: CancelReason });
export type CallCancelEvent = z.infer<typeof CallCancelEvent>;

export const CallOfferEvent = z.object({ ...From, sdp: Sdp });
export type CallOfferEvent = z.infer<typeof CallOfferEvent>;

export const CallAnswerEvent = z.object({ ...From, sdp: Sdp });
export type CallAnswerEvent = z.infer<typeof CallAnswerEvent>;

export const CallIceEvent = z.object({ ...From, candidate: IceCandidate.nullable() });
export type CallIceEvent = z.infer<typeof CallIceEvent>;

export const CallHangupEvent = z.object({ ...From, reason: HangupReason });
export type CallHangupEvent = z.infer<typeof CallHangupEvent>;

/** To the caller: the callee is in another call; nothing rang. */
export const CallBusyEvent = z.object({ callId: Id });
export type CallBusyEvent = z.infer<typeof CallBusyEvent>;

/** The server ended the call on its own authority (ring timeout, peer gone, …). */
export const CallEndedEvent = z.object({ callId: Id, reason: EndReason });
export type CallEndedEvent = z.infer<typeof CallEndedEvent>;

/** Schema per server event: clients safeParse what they receive too. */
export const CALL_SERVER_SCHEMAS = {
  'call.invite': CallInviteEvent,
  'call.ringing': CallRingingEvent,
  'call.accept': CallAcceptEvent,
  'call.answered_elsewhere': CallAnsweredElsewhereEvent,
  'call.reject': CallRejectEvent,
  'call.cancel': CallCancelEvent,
  'call.offer': CallOfferEvent,
  'call.answer': CallAnswerEvent,
  'call.ice': CallIceEvent,
  'call.hangup': CallHangupEvent,
  'call.busy': CallBusyEvent,
  'call.ended': CallEndedEvent,
} as const;
export type CallServerEventName = keyof typeof CALL_SERVER_SCHEMAS;
export type CallServerPayloads = { [K in CallServerEventName]: z.infer<(typeof CALL_SERVER_SCHEMAS)[K]> };

/**
 * Call events a client emits; merge into ClientToServerEvents. Payloads are `unknown`: the server
 * safeParses each with CALL_CLIENT_SCHEMAS[event]. Ack errors: `bad_request`, `payload_too_large`,
 * `not_found` (no such user or call), `recipient_inactive`, `forbidden` (not a party to the call,
 * or calling oneself), `conflict` (callId reused; accept after another device answered), `rate_limited`.
 */
export interface ClientToServerCallEvents {
  /**
   * Payload: CallInvite. `merged`: the callee was already calling this user (glare); instead of a
   * second call, the server answered theirs on this device. Drop the outgoing call without a
   * cancel and continue as the callee of `merged` (accept it; the server treats that accept as done).
   */
  'call.invite': (payload: unknown, ack: (res: Ack<{ merged?: CallInviteEvent }>) => void) => void;
  /** Payload: CallRinging. */
  'call.ringing': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallAccept. */
  'call.accept': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallReject. */
  'call.reject': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallCancel. */
  'call.cancel': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallOffer. */
  'call.offer': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallAnswer. */
  'call.answer': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallIce. */
  'call.ice': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallHangup. */
  'call.hangup': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallResume. */
  'call.resume': (payload: unknown, ack: (res: Ack) => void) => void;
  /** Payload: CallStats. */
  'call.stats': (payload: unknown, ack: (res: Ack) => void) => void;
}

/** Call events the server emits; merge into ServerToClientEvents. */
export interface ServerToClientCallEvents {
  'call.invite': (e: CallInviteEvent) => void;
  'call.ringing': (e: CallRingingEvent) => void;
  'call.accept': (e: CallAcceptEvent) => void;
  'call.answered_elsewhere': (e: CallAnsweredElsewhereEvent) => void;
  'call.reject': (e: CallRejectEvent) => void;
  'call.cancel': (e: CallCancelEvent) => void;
  'call.offer': (e: CallOfferEvent) => void;
  'call.answer': (e: CallAnswerEvent) => void;
  'call.ice': (e: CallIceEvent) => void;
  'call.hangup': (e: CallHangupEvent) => void;
  'call.busy': (e: CallBusyEvent) => void;
  'call.ended': (e: CallEndedEvent) => void;
}
