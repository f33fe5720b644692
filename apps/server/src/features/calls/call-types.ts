import type { CallCancel, CallHangup, CallIce, CallKind, CallQuality, CallReject, EndReason, ErrorCode, ServerToClientCallEvents } from '@parley/protocol';

/** The data of the server's call lifecycle (call-lifecycle.ts): plain JSON records, events and effects. */

export interface Device {
  userId: string;
  deviceId: string;
}

export interface Party {
  userId: string;
  name: string;
  /** The device that placed (caller) or answered (callee) the call. Unset for a callee still ringing. */
  deviceId?: string;
}

export type Phase = 'ringing' | 'accepted';

/** One call as a registry stores it: plain JSON, so a Redis registry can keep it as a string. */
export interface ActiveCall {
  id: string;
  kind: CallKind;
  caller: Party;
  callee: Party;
  phase: Phase;
  createdAt: number;
  acceptedAt?: number;
  /** Bound devices whose sockets all closed (`deviceKey`), each with a grace timer running. */
  lost: string[];
  /** The latest measurement a device reported (call.stats), for the history entry. */
  quality?: CallQuality;
  /** Callee devices that were sent the invite; one that connects while it rings gets it then. */
  invited?: string[];
  /**
   * Callee devices whose call.ringing said `preconnect` while the server allowed it: while the call
   * rings, the caller's device and each of these exchange offers, answers and candidates
   * (docs/decisions/020-preconnect-while-ringing.md).
   */
  preconnected?: string[];
  /** A device already reported the call connected (the set-up time counts the first report only). */
  setupMeasured?: boolean;
  /** Bumped on every write: the registry's compare-and-set checks it. */
  rev: number;
}

export interface LifecycleConfig {
  ringTimeoutMs: number;
  reconnectGraceMs: number;
  /** CALL_PRECONNECT: ringing devices may pre-connect with the caller's device. */
  preconnect: boolean;
}

/** A timer a call needs; one id per (kind, call, device), so scheduling it again moves it. */
export interface TimerRef {
  kind: 'ring' | 'grace' | 'resume';
  callId: string;
  /** `deviceKey` of the device, for grace and resume timers. */
  device?: string;
}

export type Target = { user: string } | { device: Device } | { userExceptDevice: Device };
export type CallEmitName = keyof ServerToClientCallEvents;
export interface Emit {
  to: Target;
  event: CallEmitName;
  payload: Parameters<ServerToClientCallEvents[CallEmitName]>[0];
}

/** What ends up in the two people's conversation (message id = call id), worded per viewer. */
export interface HistoryEntry {
  callId: string;
  kind: CallKind;
  callerId: string;
  calleeId: string;
  reason: EndReason;
  /** Null when the call was never answered. */
  durationS: number | null;
  quality: CallQuality | null;
}

/** For whoever tells people about calls outside the app (Web Push): the callee rang, or a call ended. */
export type CallNotice =
  | { type: 'ring'; callId: string; kind: CallKind; caller: { userId: string; name: string; deviceId: string }; calleeId: string; expiresAt: number }
  | { type: 'answered'; callId: string; calleeId: string; deviceId: string }
  | { type: 'ended'; callId: string; kind: CallKind; callerId: string; calleeId: string; reason: EndReason; durationS: number | null; answered: boolean };

export type Effect =
  | { type: 'schedule'; timer: TimerRef; at: number }
  | { type: 'cancel'; timer: TimerRef }
  | { type: 'history'; entry: HistoryEntry }
  | { type: 'log'; event: string; fields: Record<string, unknown>; level?: 'info' | 'debug' }
  | { type: 'notify'; notice: CallNotice }
  | { type: 'metric'; metric: CallMetric };

/** For the node's metrics (features/metrics): a call opened, ended (`opened`: it had been counted open), or connected. */
export type CallMetric = { name: 'opened' } | { name: 'ended'; reason: EndReason; opened: boolean } | { name: 'connected'; seconds: number };

export type RelayEvent = 'call.offer' | 'call.answer' | 'call.ice';
export type RelayBody = { sdp: string } | { candidate: CallIce['candidate'] };

/** Everything that can happen to a call. Facts the function cannot look up itself (devices online) come in the event. */
export type CallEvent =
  | {
      type: 'invite';
      from: Device;
      fromName: string;
      callId: string;
      kind: CallKind;
      callee: { id: string; name: string };
      /** The callee's devices online now (they all ring). */
      invited: string[];
      /** No device online, but a subscribed browser can be rung by Web Push. */
      pushable: boolean;
    }
  | { type: 'callee_busy'; from: Device; callId: string; kind: CallKind; calleeId: string; targets: number }
  | { type: 'rebuild'; from: Device; callId: string; kind: CallKind; caller: Required<Party>; callee: Required<Party>; answeredAt: number }
  | { type: 'ringing'; from: Device; preconnect: boolean }
  | { type: 'accept'; from: Device; otherDevices: number }
  | { type: 'reject'; from: Device; reason: CallReject['reason'] }
  | { type: 'cancel'; from: Device; reason: CallCancel['reason'] }
  /** `to`: the payload's toDeviceId, the one device the signal is for. */
  | { type: 'relay'; from: Device; event: RelayEvent; body: RelayBody; to?: string }
  | { type: 'stats'; from: Device; quality: CallQuality }
  | { type: 'hangup'; from: Device; reason: CallHangup['reason'] }
  | { type: 'resume'; from: Device }
  | { type: 'device_lost'; device: Device; online: boolean }
  | { type: 'device_back'; device: Device }
  | { type: 'ring_timeout' }
  | { type: 'grace_expired'; device: Device; online: boolean };
export type CallEventType = CallEvent['type'];
export type EventOf<T extends CallEventType> = Extract<CallEvent, { type: T }>;

export interface Refusal {
  code: ErrorCode;
  message: string;
}

export interface Step {
  /** The record to store: the same object when nothing changed, null when the call is over (or never began). */
  call: ActiveCall | null;
  emits: Emit[];
  effects: Effect[];
  /** Extra fields for the sender's acknowledgement. */
  reply?: object;
  /** Set when the event is refused: nothing else in the step happens. */
  refusal?: Refusal;
}

export const deviceKey = (d: Device): string => `${d.userId}:${d.deviceId}`;
