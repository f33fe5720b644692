import type { CallKind, EndReason, ErrorCode } from '@parley/protocol';
import type { ActiveCall, CallEvent, CallEventType, Device, Effect, Emit, EventOf, HistoryEntry, LifecycleConfig, Refusal, Step, Target } from './call-types.ts';
import { deviceKey } from './call-types.ts';

/**
 * The server's call lifecycle as one pure function: `step(call, event, now, config)` gives the
 * call's next record, what to emit to which devices, and what to do besides (timers, history,
 * log lines, notifications). No I/O and no clock of its own, so it runs the same whether calls
 * live in memory or in Redis, and its tests need no server (docs/decisions/004-call-lifecycle.md).
 */

const refuse = (code: ErrorCode, message: string): { refuse: Refusal } => ({ refuse: { code, message } });
const IGNORE = 'ignore' as const;

// ---- who may send what, checked before the phase table ----

/**
 * `signalling`: the bound devices and, while the call rings, the callee devices that pre-connect
 * (their call.ringing said `preconnect`, decision 020).
 */
type Sender = 'party' | 'callee' | 'caller_device' | 'bound' | 'signalling';
/** Events from a device of a known call: which devices may send them. */
const SENDERS: Partial<Record<CallEventType, { who: Sender; message: string }>> = {
  ringing: { who: 'callee', message: 'Only the callee rings' },
  accept: { who: 'callee', message: 'Only the callee can answer' },
  reject: { who: 'callee', message: 'Only the callee can decline' },
  cancel: { who: 'caller_device', message: 'Only the calling device can cancel' },
  relay: { who: 'signalling', message: 'This device is not part of the call' },
  stats: { who: 'bound', message: 'This device is not part of the call' },
  hangup: { who: 'bound', message: 'This device is not part of the call' },
  resume: { who: 'party', message: 'You are not part of this call' },
};

const isParty = (c: ActiveCall, d: Device) => d.userId === c.caller.userId || d.userId === c.callee.userId;
const isBound = (c: ActiveCall, d: Device) =>
  (d.userId === c.caller.userId && d.deviceId === c.caller.deviceId) || (d.userId === c.callee.userId && d.deviceId === c.callee.deviceId);
const isCallerDevice = (c: ActiveCall, d: Device) => d.userId === c.caller.userId && d.deviceId === c.caller.deviceId;
const preconnects = (c: ActiveCall, deviceId: string | undefined): deviceId is string => deviceId !== undefined && (c.preconnected ?? []).includes(deviceId);
const isPreconnecting = (c: ActiveCall, d: Device) => c.phase === 'ringing' && d.userId === c.callee.userId && preconnects(c, d.deviceId);

function senderRefusal(c: ActiveCall, type: CallEventType, from: Device): Refusal | undefined {
  if (!isParty(c, from)) return { code: 'forbidden', message: 'You are not part of this call' };
  const rule = SENDERS[type];
  if (!rule) return undefined;
  const ok =
    rule.who === 'party' ||
    (rule.who === 'callee' && from.userId === c.callee.userId) ||
    (rule.who === 'caller_device' && isCallerDevice(c, from)) ||
    (rule.who === 'bound' && isBound(c, from)) ||
    (rule.who === 'signalling' && (isBound(c, from) || isPreconnecting(c, from)));
  return ok ? undefined : { code: 'forbidden', message: rule.message };
}

// ---- the phase table: what each phase accepts ----

type Handler<T extends CallEventType> = (c: ActiveCall, e: EventOf<T>, now: number, cfg: LifecycleConfig) => Step;
type NewCallHandler<T extends CallEventType> = (e: EventOf<T>, now: number, cfg: LifecycleConfig) => Step;
type Rule = { refuse: Refusal } | typeof IGNORE;
type Row = { [T in CallEventType]: Handler<T> | Rule };

const NO_CALL = refuse('not_found', 'No such call (it may have ended)');
const NOT_ANSWERED = refuse('conflict', 'The call has not been answered yet');
const NOT_THE_PEER = refuse('conflict', 'That device did not answer the call');
const ALREADY_ANSWERED = refuse('conflict', 'The call was already answered: hang up instead');
const ID_IN_USE = refuse('conflict', 'This call id is already in use');

/** No call with this id exists (yet): only an invite, a refused invite or a confirmed resume starts one. */
const NONE: { [T in CallEventType]: NewCallHandler<T> | Rule } = {
  invite: startRinging,
  callee_busy: refusedBusy,
  rebuild: rebuilt,
  ringing: NO_CALL,
  accept: NO_CALL,
  reject: NO_CALL,
  cancel: NO_CALL,
  relay: NO_CALL,
  stats: NO_CALL,
  hangup: NO_CALL,
  resume: NO_CALL,
  device_lost: IGNORE,
  device_back: IGNORE,
  ring_timeout: IGNORE,
  grace_expired: IGNORE,
};

export const ACCEPTS: { none: typeof NONE; ringing: Row; accepted: Row } = {
  none: NONE,
  ringing: {
    invite: ID_IN_USE,
    callee_busy: ID_IN_USE,
    rebuild: ID_IN_USE,
    ringing: ringingToCaller,
    accept: answered,
    reject: rejected,
    cancel: cancelled,
    relay: preconnectRelayed,
    stats: NOT_ANSWERED,
    hangup: NOT_ANSWERED,
    resume: NOT_ANSWERED,
    // Only the caller's device is bound while ringing: a callee device that disconnects does not
    // end the call (the ring timeout does), the calling device gets the grace period.
    device_lost: deviceLost,
    device_back: ringingDeviceBack,
    ring_timeout: noAnswer,
    grace_expired: graceExpired,
  },
  accepted: {
    invite: ID_IN_USE,
    callee_busy: ID_IN_USE,
    rebuild: ID_IN_USE,
    ringing: IGNORE,
    accept: answeredAgain,
    reject: ALREADY_ANSWERED,
    cancel: ALREADY_ANSWERED,
    relay: relayed,
    stats: measured,
    hangup: hungUp,
    resume: resumedKnown,
    device_lost: deviceLost,
    device_back: deviceBack,
    ring_timeout: IGNORE,
    grace_expired: graceExpired,
  },
};

/** The one dispatcher: sender check, then the phase table. */
export function step(call: ActiveCall | null, event: CallEvent, now: number, cfg: LifecycleConfig): Step {
  const row = call ? ACCEPTS[call.phase] : ACCEPTS.none;
  if (call && 'from' in event) {
    const refusal = senderRefusal(call, event.type, event.from);
    if (refusal) return { call, emits: [], effects: [], refusal };
  }
  const rule = row[event.type] as Handler<CallEventType> | NewCallHandler<CallEventType> | Rule;
  if (rule === IGNORE) return { call, emits: [], effects: [] };
  if (typeof rule !== 'function') return { call, emits: [], effects: [], refusal: rule.refuse };
  return call ? (rule as Handler<CallEventType>)(call, event, now, cfg) : (rule as NewCallHandler<CallEventType>)(event, now, cfg);
}

/** Invite glare: the person `from` calls is already calling `from`, and that call still rings. */
export function isGlare(mine: ActiveCall, from: Device, toUserId: string): boolean {
  return mine.phase === 'ringing' && mine.caller.userId === toUserId && mine.callee.userId === from.userId;
}

// ---- handlers ----

const log = (event: string, callId: string, fields: Record<string, unknown>, level?: 'debug'): Effect => ({
  type: 'log',
  event,
  fields: { callId, ...fields },
  ...(level ? { level } : {}),
});
const callerDeviceOf = (c: ActiveCall): Device => ({ userId: c.caller.userId, deviceId: c.caller.deviceId! });
const callerDevice = (c: ActiveCall): Target => ({ device: callerDeviceOf(c) });
const refused = (c: ActiveCall, refusal: Refusal): Step => ({ call: c, emits: [], effects: [], refusal });
const from = (callId: string, d: Device) => ({ callId, fromUserId: d.userId, fromDeviceId: d.deviceId });
const next = (c: ActiveCall, patch: Partial<ActiveCall>): ActiveCall => ({ ...c, ...patch, rev: c.rev + 1 });

/** The end of a call: its timers go, one log line, one history entry, one notice. */
function end(c: ActiveCall, reason: EndReason, event: string, now: number, emits: Emit[], by?: Device): Step {
  const durationS = c.acceptedAt !== undefined ? Math.round((now - c.acceptedAt) / 1000) : null;
  const effects: Effect[] = [{ type: 'cancel', timer: { kind: 'ring', callId: c.id } }];
  for (const device of c.lost) effects.push({ type: 'cancel', timer: { kind: 'grace', callId: c.id, device } });
  effects.push(
    log(event, c.id, { from: by?.userId, caller: c.caller.userId, callee: c.callee.userId, outcome: reason, durationS, path: c.quality?.path, rttMs: c.quality?.rttMs, lossPct: c.quality?.lossPct }),
    { type: 'history', entry: { callId: c.id, kind: c.kind, callerId: c.caller.userId, calleeId: c.callee.userId, reason, durationS, quality: c.quality ?? null } },
    { type: 'notify', notice: { type: 'ended', callId: c.id, kind: c.kind, callerId: c.caller.userId, calleeId: c.callee.userId, reason, durationS, answered: c.phase === 'accepted' } },
    { type: 'metric', metric: { name: 'ended', reason, opened: true } },
  );
  return { call: null, emits, effects };
}

/** An invite that rings nobody: the caller is told at once and the callee gets a missed call. */
function refusedAtOnce(e: { from: Device; callId: string; kind: CallKind; calleeId: string; targets: number }, reason: 'busy' | 'unavailable'): Step {
  const emit: Emit =
    reason === 'busy'
      ? { to: { device: e.from }, event: 'call.busy', payload: { callId: e.callId } }
      : { to: { device: e.from }, event: 'call.ended', payload: { callId: e.callId, reason: 'unavailable' } };
  const entry: HistoryEntry = { callId: e.callId, kind: e.kind, callerId: e.from.userId, calleeId: e.calleeId, reason, durationS: null, quality: null };
  return {
    call: null,
    emits: [emit],
    effects: [
      log('call.invite', e.callId, { from: e.from.userId, to: e.calleeId, kind: e.kind, targets: e.targets, outcome: reason }),
      { type: 'history', entry },
      { type: 'notify', notice: { type: 'ended', callId: e.callId, kind: e.kind, callerId: e.from.userId, calleeId: e.calleeId, reason, durationS: null, answered: false } },
      { type: 'metric', metric: { name: 'ended', reason, opened: false } },
    ],
  };
}

function startRinging(e: EventOf<'invite'>, now: number, cfg: LifecycleConfig): Step {
  const targets = e.invited.length;
  if (targets === 0 && !e.pushable) return refusedAtOnce({ ...e, calleeId: e.callee.id, targets }, 'unavailable');
  const call: ActiveCall = {
    id: e.callId,
    kind: e.kind,
    caller: { userId: e.from.userId, name: e.fromName, deviceId: e.from.deviceId },
    callee: { userId: e.callee.id, name: e.callee.name },
    phase: 'ringing',
    createdAt: now,
    lost: [],
    invited: e.invited,
    rev: 1,
  };
  return {
    call,
    emits: [{ to: { user: e.callee.id }, event: 'call.invite', payload: { ...from(e.callId, e.from), kind: e.kind, fromName: e.fromName } }],
    effects: [
      { type: 'schedule', timer: { kind: 'ring', callId: e.callId }, at: now + cfg.ringTimeoutMs },
      log('call.invite', e.callId, { from: e.from.userId, to: e.callee.id, kind: e.kind, targets, outcome: 'ringing', pushed: (targets === 0 && e.pushable) || undefined }),
      {
        type: 'notify',
        notice: { type: 'ring', callId: e.callId, kind: e.kind, caller: { userId: e.from.userId, name: e.fromName, deviceId: e.from.deviceId }, calleeId: e.callee.id, expiresAt: now + cfg.ringTimeoutMs },
      },
      { type: 'metric', metric: { name: 'opened' } },
    ],
  };
}

function refusedBusy(e: EventOf<'callee_busy'>): Step {
  return refusedAtOnce(e, 'busy');
}

/** Both devices of a call confirmed it after a server restart (call-resume.ts): it carries on, answered. */
function rebuilt(e: EventOf<'rebuild'>, now: number): Step {
  const call: ActiveCall = {
    id: e.callId,
    kind: e.kind,
    caller: e.caller,
    callee: e.callee,
    phase: 'accepted',
    createdAt: now,
    acceptedAt: Math.min(e.answeredAt, now),
    lost: [],
    // Its set-up happened before this server knew it.
    setupMeasured: true,
    rev: 1,
  };
  return {
    call,
    emits: [],
    effects: [log('call.resume', e.callId, { from: e.from.userId, device: e.from.deviceId, outcome: 'rebuilt' }), { type: 'metric', metric: { name: 'opened' } }],
  };
}

/** A callee device rings; one that pre-connects (and may: CALL_PRECONNECT) is recorded, once, and the caller is told so. */
function ringingToCaller(c: ActiveCall, e: EventOf<'ringing'>, _now: number, cfg: LifecycleConfig): Step {
  const preconnect = e.preconnect && cfg.preconnect;
  const fields = { from: e.from.userId, device: e.from.deviceId, to: c.caller.userId, ...(preconnect ? { preconnect } : {}) };
  const call = preconnect && !preconnects(c, e.from.deviceId) ? next(c, { preconnected: [...(c.preconnected ?? []), e.from.deviceId] }) : c;
  return {
    call,
    emits: [{ to: callerDevice(c), event: 'call.ringing', payload: { ...from(c.id, e.from), ...(preconnect ? { preconnect } : {}) } }],
    effects: [log('call.ringing', c.id, fields)],
  };
}

function answered(c: ActiveCall, e: EventOf<'accept'>, now: number): Step {
  const payload = from(c.id, e.from);
  return {
    call: next(c, { phase: 'accepted', callee: { ...c.callee, deviceId: e.from.deviceId }, acceptedAt: now }),
    emits: [
      { to: callerDevice(c), event: 'call.accept', payload },
      { to: { userExceptDevice: e.from }, event: 'call.answered_elsewhere', payload },
    ],
    effects: [
      { type: 'cancel', timer: { kind: 'ring', callId: c.id } },
      { type: 'notify', notice: { type: 'answered', callId: c.id, calleeId: c.callee.userId, deviceId: e.from.deviceId } },
      log('call.accept', c.id, { from: e.from.userId, device: e.from.deviceId, to: c.caller.userId, otherDevices: e.otherDevices }),
    ],
  };
}

function answeredAgain(c: ActiveCall, e: EventOf<'accept'>): Step {
  if (c.callee.deviceId === e.from.deviceId) return { call: c, emits: [], effects: [] };
  return { call: c, emits: [], effects: [], refusal: { code: 'conflict', message: 'The call was answered on another device' } };
}

function rejected(c: ActiveCall, e: EventOf<'reject'>, now: number): Step {
  const payload = { ...from(c.id, e.from), reason: e.reason };
  // Declining on one device declines on all of them.
  const emits: Emit[] = [
    { to: callerDevice(c), event: 'call.reject', payload },
    { to: { userExceptDevice: e.from }, event: 'call.reject', payload },
  ];
  return end(c, e.reason, 'call.reject', now, emits, e.from);
}

function cancelled(c: ActiveCall, e: EventOf<'cancel'>, now: number): Step {
  const emits: Emit[] = [{ to: { user: c.callee.userId }, event: 'call.cancel', payload: { ...from(c.id, e.from), reason: e.reason } }];
  return end(c, e.reason, 'call.cancel', now, emits, e.from);
}

function noAnswer(c: ActiveCall, _e: EventOf<'ring_timeout'>, now: number): Step {
  const payload = { callId: c.id, reason: 'no_answer' as const };
  const emits: Emit[] = [
    { to: { user: c.callee.userId }, event: 'call.ended', payload },
    { to: callerDevice(c), event: 'call.ended', payload },
  ];
  return end(c, 'no_answer', 'timeout', now, emits);
}

/** The other side's bound device (no device id for a callee still ringing). */
function peerDevice(c: ActiveCall, d: Device): { userId: string; deviceId: string | undefined } {
  const other = d.userId === c.caller.userId && d.deviceId === c.caller.deviceId ? c.callee : c.caller;
  return { userId: other.userId, deviceId: other.deviceId };
}
const boundPeer = (c: ActiveCall, d: Device): Device => peerDevice(c, d) as Device;

/** An offer, answer or candidate to one device; the log line has ids only, never SDP or candidates. */
function relayTo(c: ActiveCall, e: EventOf<'relay'>, to: Device, extra: { preconnect?: true } = {}): Step {
  const ice = e.event === 'call.ice';
  return {
    call: c,
    emits: [{ to: { device: to }, event: e.event, payload: { ...from(c.id, e.from), ...e.body } as Emit['payload'] }],
    effects: [log(e.event, c.id, { from: e.from.userId, to: to.userId, ...(ice ? {} : { targets: 1 }), ...extra }, ice ? 'debug' : undefined)],
  };
}

/**
 * Answered: only between the two bound devices. A signal named for another device is refused, so
 * a candidate the caller trickled to a pre-connecting device that did not answer never reaches the one that did.
 */
function relayed(c: ActiveCall, e: EventOf<'relay'>): Step {
  const to = boundPeer(c, e.from);
  if (e.to !== undefined && e.to !== to.deviceId) return refused(c, NOT_THE_PEER.refuse);
  return relayTo(c, e, to);
}

/**
 * Ringing (decision 020): the calling device and a pre-connecting callee device it names in
 * `toDeviceId`, both ways. Anything else waits for the answer, as does everything with CALL_PRECONNECT off.
 */
function preconnectRelayed(c: ActiveCall, e: EventOf<'relay'>, _now: number, cfg: LifecycleConfig): Step {
  if (!cfg.preconnect) return refused(c, NOT_ANSWERED.refuse);
  if (isCallerDevice(c, e.from) && preconnects(c, e.to)) return relayTo(c, e, { userId: c.callee.userId, deviceId: e.to }, { preconnect: true });
  const toCaller = e.to === undefined || e.to === c.caller.deviceId;
  if (isPreconnecting(c, e.from) && toCaller) return relayTo(c, e, callerDeviceOf(c), { preconnect: true });
  return refused(c, NOT_ANSWERED.refuse);
}

function measured(c: ActiveCall, e: EventOf<'stats'>, now: number): Step {
  const effects: Effect[] = [log('call.stats', c.id, { from: e.from.userId, ...e.quality }, 'debug')];
  // A device reports stats once its call is connected: the first report gives the set-up time.
  if (!c.setupMeasured) effects.push({ type: 'metric', metric: { name: 'connected', seconds: (now - c.createdAt) / 1000 } });
  // Media that went one way stays a fact of the call, even if a later report no longer says so.
  const oneWay = e.quality.oneWay ?? c.quality?.oneWay;
  const quality = oneWay ? { ...e.quality, oneWay } : e.quality;
  return { call: next(c, { quality, setupMeasured: true }), emits: [], effects };
}

function hungUp(c: ActiveCall, e: EventOf<'hangup'>, now: number): Step {
  const emits: Emit[] = [{ to: { device: boundPeer(c, e.from) }, event: 'call.hangup', payload: { ...from(c.id, e.from), reason: e.reason } }];
  return end(c, e.reason, 'call.hangup', now, emits, e.from);
}

/** call.resume for a call this server knows: only its own bound device coming back. */
function resumedKnown(c: ActiveCall, e: EventOf<'resume'>): Step {
  if (!isBound(c, e.from)) return { call: c, emits: [], effects: [], refusal: { code: 'conflict', message: 'This call is bound to another device' } };
  return deviceBack(c, { type: 'device_back', device: e.from });
}

function deviceLost(c: ActiveCall, e: EventOf<'device_lost'>, now: number, cfg: LifecycleConfig): Step {
  const key = deviceKey(e.device);
  if (!isBound(c, e.device) || e.online || c.lost.includes(key)) return { call: c, emits: [], effects: [] };
  return {
    call: next(c, { lost: [...c.lost, key] }),
    emits: [],
    effects: [
      { type: 'schedule', timer: { kind: 'grace', callId: c.id, device: key }, at: now + cfg.reconnectGraceMs },
      log('device_lost', c.id, { user: e.device.userId, device: e.device.deviceId, graceMs: cfg.reconnectGraceMs }),
    ],
  };
}

function deviceBack(c: ActiveCall, e: EventOf<'device_back'>): Step {
  const key = deviceKey(e.device);
  if (!c.lost.includes(key)) return { call: c, emits: [], effects: [] };
  return {
    call: next(c, { lost: c.lost.filter((k) => k !== key) }),
    emits: [],
    effects: [{ type: 'cancel', timer: { kind: 'grace', callId: c.id, device: key } }, log('device_back', c.id, { user: e.device.userId, device: e.device.deviceId })],
  };
}

/** While it rings, a callee device that connects (woken by a push, a new tab) rings too. */
function ringingDeviceBack(c: ActiveCall, e: EventOf<'device_back'>): Step {
  const invited = c.invited ?? [];
  if (e.device.userId !== c.callee.userId || invited.includes(e.device.deviceId)) return deviceBack(c, e);
  const { caller } = c;
  return {
    call: next(c, { invited: [...invited, e.device.deviceId] }),
    emits: [{ to: { device: e.device }, event: 'call.invite', payload: { callId: c.id, fromUserId: caller.userId, fromDeviceId: caller.deviceId!, kind: c.kind, fromName: caller.name } }],
    effects: [log('call.invite', c.id, { to: e.device.userId, device: e.device.deviceId, outcome: 'late_device_invited' })],
  };
}

function graceExpired(c: ActiveCall, e: EventOf<'grace_expired'>, now: number): Step {
  if (!c.lost.includes(deviceKey(e.device)) || e.online) return { call: c, emits: [], effects: [] };
  // A callee still ringing has no device yet: all of theirs stop ringing.
  const other = peerDevice(c, e.device);
  const to: Target = other.deviceId ? { device: { userId: other.userId, deviceId: other.deviceId } } : { user: other.userId };
  const emits: Emit[] = [{ to, event: 'call.ended', payload: { callId: c.id, reason: 'peer_disconnected' } }];
  return end(c, 'peer_disconnected', 'device_gone', now, emits, e.device);
}
