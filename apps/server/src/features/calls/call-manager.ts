import {
  CallAccept,
  CallAnswer,
  CallCancel,
  CallHangup,
  CallIce,
  CallInvite,
  CallOffer,
  CallReject,
  CallResume,
  CallRinging,
  CallStats,
  type CallQuality,
  type CallInviteEvent,
  type CallKind,
  type EndReason,
} from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../lib/errors.ts';
import { onEvent } from '../../realtime/on-event.ts';
import type { ParleySocket } from '../../realtime/realtime.ts';

interface Party {
  userId: string;
  name: string;
  /** The device that placed (caller) or answered (callee) the call. Unset for a callee still ringing. */
  deviceId?: string;
}

export interface ActiveCall {
  id: string;
  kind: CallKind;
  /** The caller's device is known from the invite on; only a resumed call may wait for it. */
  caller: Party;
  callee: Party;
  state: 'ringing' | 'accepted';
  createdAt: number;
  acceptedAt?: number;
  ringTimer?: NodeJS.Timeout;
  /** Per bound device that lost its socket: ends the call unless the device reconnects in time. */
  graceTimers: Map<string, NodeJS.Timeout>;
  /** The latest measurement a device reported (call.stats), for the history entry. */
  quality?: CallQuality;
  /** Whether a device already reported the call connected (parley_call_setup_seconds counts the first). */
  setupMeasured?: boolean;
  /** Rebuilt from call.resume after a server restart: set while the second device has not resumed. */
  awaitingResume?: { deviceId: string; timer: NodeJS.Timeout };
  /** The callee's devices that have been sent the invite; one that connects later gets it then. */
  invited?: Set<string>;
}

type Sender = { userId: string; deviceId: string };

/**
 * The server's side of every call: who may call whom, who rings, who answered, and when a call
 * ends — with a reason on every end and an entry in the conversation's history. State lives in
 * memory on this node (docs/architecture.md, "Calls").
 */
export class CallManager {
  private readonly calls = new Map<string, ActiveCall>();
  /** A user takes part in at most one call at a time, ringing or answered, as caller or callee. */
  private readonly byUser = new Map<string, string>();

  constructor(
    private readonly ctx: AppContext,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The call a user is part of, if any (for tests and diagnostics). */
  callOf(userId: string): ActiveCall | undefined {
    const id = this.byUser.get(userId);
    return id ? this.calls.get(id) : undefined;
  }

  get size(): number {
    return this.calls.size;
  }

  register(): void {
    this.ctx.realtime.handle((socket) => this.attach(socket));
  }

  private attach(socket: ParleySocket): void {
    const log = this.log;
    const me = (deviceId: string): Sender => {
      // The payload names its device so logs and peers can tell devices apart; it must be this socket's.
      if (deviceId !== socket.data.deviceId) throw new AppError('forbidden', 'deviceId is not the device of this connection');
      return { userId: socket.data.user.id, deviceId };
    };
    onEvent(socket, log, 'call.invite', CallInvite, async (p) => this.invite(me(p.deviceId), socket.data.user.name, p));
    onEvent(socket, log, 'call.ringing', CallRinging, async (p) => this.ringing(me(p.deviceId), p.callId));
    onEvent(socket, log, 'call.accept', CallAccept, async (p) => this.accept(me(p.deviceId), p.callId));
    onEvent(socket, log, 'call.reject', CallReject, async (p) => this.reject(me(p.deviceId), p.callId, p.reason));
    onEvent(socket, log, 'call.cancel', CallCancel, async (p) => this.cancel(me(p.deviceId), p.callId, p.reason));
    onEvent(socket, log, 'call.offer', CallOffer, async (p) => this.relay(me(p.deviceId), 'call.offer', p.callId, { sdp: p.sdp }));
    onEvent(socket, log, 'call.answer', CallAnswer, async (p) => this.relay(me(p.deviceId), 'call.answer', p.callId, { sdp: p.sdp }));
    onEvent(socket, log, 'call.ice', CallIce, async (p) => this.relay(me(p.deviceId), 'call.ice', p.callId, { candidate: p.candidate }));
    onEvent(socket, log, 'call.hangup', CallHangup, async (p) => this.hangup(me(p.deviceId), p.callId, p.reason));
    onEvent(socket, log, 'call.resume', CallResume, async (p) => this.resume(me(p.deviceId), p));
    onEvent(socket, log, 'call.stats', CallStats, async (p) => this.stats(me(p.deviceId), p.callId, p.quality));

    const device: Sender = { userId: socket.data.user.id, deviceId: socket.data.deviceId };
    this.reconnected(device);
    this.inviteLateDevice(device);
    socket.on('disconnect', () => this.maybeGone(device));
  }

  private event(callId: string, event: string, fields: Record<string, unknown>): void {
    // Never SDP, candidates or credentials: ids, counts and outcomes only.
    this.log.info({ callId, event, ...fields }, `call ${event}`);
  }

  private find(callId: string, who: Sender): ActiveCall {
    const call = this.calls.get(callId);
    if (!call) throw new AppError('not_found', 'No such call (it may have ended)');
    if (who.userId !== call.caller.userId && who.userId !== call.callee.userId) throw new AppError('forbidden', 'You are not part of this call');
    return call;
  }

  async invite(from: Sender, fromName: string, p: CallInvite): Promise<{ merged?: CallInviteEvent }> {
    if (p.toUserId === from.userId) throw new AppError('forbidden', 'You cannot call yourself');
    const callee = await this.ctx.users.byId(p.toUserId);
    if (!callee) throw new AppError('not_found', 'No such user');
    if (callee.active !== 1) throw new AppError('recipient_inactive', `${callee.name}'s account is deactivated`);
    // With no device online, a subscribed browser can still be rung by push (features/push).
    const pushable = this.ctx.realtime.deviceCount(p.toUserId) === 0 && (await this.ctx.push.canRing(p.toUserId));
    // Everything below is synchronous: no other event can interleave with these checks.
    if (this.calls.has(p.callId)) throw new AppError('conflict', 'This call id is already in use');

    const mine = this.callOf(from.userId);
    if (mine) {
      // Glare: the person I am calling is already calling me. The earlier call wins and this device
      // answers it, so both people end up in that one call (docs/decisions/004-call-lifecycle.md).
      if (mine.state === 'ringing' && mine.caller.userId === p.toUserId && mine.callee.userId === from.userId) {
        this.event(p.callId, 'call.invite', { from: from.userId, to: p.toUserId, outcome: 'glare_merged', into: mine.id });
        this.accept(from, mine.id);
        return { merged: { callId: mine.id, fromUserId: mine.caller.userId, fromDeviceId: mine.caller.deviceId!, kind: mine.kind, fromName: mine.caller.name } };
      }
      throw new AppError('conflict', 'You are already in a call');
    }

    const targets = this.ctx.realtime.deviceCount(p.toUserId);
    const base = { from: from.userId, to: p.toUserId, kind: p.kind, targets };
    if (this.byUser.has(p.toUserId)) {
      this.event(p.callId, 'call.invite', { ...base, outcome: 'busy' });
      this.ctx.realtime.toDevice(from.userId, from.deviceId).emit('call.busy', { callId: p.callId });
      this.ctx.metrics.callEnded('busy', false);
      void this.record({ id: p.callId, kind: p.kind, callerId: from.userId, calleeId: p.toUserId }, 'busy', null);
      return {};
    }
    if (targets === 0 && !pushable) {
      this.event(p.callId, 'call.invite', { ...base, outcome: 'unavailable' });
      this.ctx.realtime.toDevice(from.userId, from.deviceId).emit('call.ended', { callId: p.callId, reason: 'unavailable' });
      this.ctx.metrics.callEnded('unavailable', false);
      void this.record({ id: p.callId, kind: p.kind, callerId: from.userId, calleeId: p.toUserId }, 'unavailable', null);
      return {};
    }

    const call: ActiveCall = {
      id: p.callId,
      kind: p.kind,
      caller: { userId: from.userId, name: fromName, deviceId: from.deviceId },
      callee: { userId: callee.id, name: callee.name },
      state: 'ringing',
      createdAt: Date.now(),
      graceTimers: new Map(),
    };
    this.calls.set(call.id, call);
    this.byUser.set(call.caller.userId, call.id);
    this.byUser.set(call.callee.userId, call.id);
    this.ctx.metrics.callOpened();
    call.ringTimer = setTimeout(() => this.ringTimeout(call.id), this.ctx.config.calls.ringTimeoutMs);
    this.ctx.realtime
      .toUsers(callee.id)
      .emit('call.invite', { callId: call.id, fromUserId: from.userId, fromDeviceId: from.deviceId, kind: p.kind, fromName });
    call.invited = this.ctx.realtime.deviceIds(callee.id);
    this.ctx.push.callRinging({ callId: call.id, calleeId: callee.id, callerName: fromName, kind: p.kind, expiresAt: call.createdAt + this.ctx.config.calls.ringTimeoutMs });
    this.event(call.id, 'call.invite', { ...base, outcome: 'ringing', pushed: pushable || undefined });
    return {};
  }

  ringing(from: Sender, callId: string): object {
    const call = this.find(callId, from);
    if (from.userId !== call.callee.userId) throw new AppError('forbidden', 'Only the callee rings');
    if (call.state !== 'ringing') return {};
    this.ctx.realtime.toDevice(call.caller.userId, call.caller.deviceId!).emit('call.ringing', { callId, fromUserId: from.userId, fromDeviceId: from.deviceId });
    this.event(callId, 'call.ringing', { from: from.userId, device: from.deviceId, to: call.caller.userId });
    return {};
  }

  accept(from: Sender, callId: string): object {
    const call = this.find(callId, from);
    if (from.userId !== call.callee.userId) throw new AppError('forbidden', 'Only the callee can answer');
    if (call.state === 'accepted') {
      if (call.callee.deviceId === from.deviceId) return {};
      throw new AppError('conflict', 'The call was answered on another device');
    }
    call.state = 'accepted';
    call.callee.deviceId = from.deviceId;
    call.acceptedAt = Date.now();
    clearTimeout(call.ringTimer);
    this.ctx.push.callClosed(callId, 'answered_elsewhere');
    const rt = this.ctx.realtime;
    rt.toDevice(call.caller.userId, call.caller.deviceId!).emit('call.accept', { callId, fromUserId: from.userId, fromDeviceId: from.deviceId });
    rt.toUserExceptDevice(from.userId, from.deviceId).emit('call.answered_elsewhere', { callId, fromUserId: from.userId, fromDeviceId: from.deviceId });
    this.event(callId, 'call.accept', { from: from.userId, device: from.deviceId, to: call.caller.userId, otherDevices: rt.deviceCount(from.userId) - 1 });
    return {};
  }

  reject(from: Sender, callId: string, reason: CallReject['reason']): object {
    const call = this.find(callId, from);
    if (from.userId !== call.callee.userId) throw new AppError('forbidden', 'Only the callee can decline');
    if (call.state !== 'ringing') throw new AppError('conflict', 'The call was already answered: hang up instead');
    const e = { callId, fromUserId: from.userId, fromDeviceId: from.deviceId, reason };
    this.ctx.realtime.toDevice(call.caller.userId, call.caller.deviceId!).emit('call.reject', e);
    // Declining on one device declines on all of them.
    this.ctx.realtime.toUserExceptDevice(from.userId, from.deviceId).emit('call.reject', e);
    this.end(call, reason, 'call.reject', from);
    return {};
  }

  cancel(from: Sender, callId: string, reason: CallCancel['reason']): object {
    const call = this.find(callId, from);
    if (from.userId !== call.caller.userId || from.deviceId !== call.caller.deviceId) throw new AppError('forbidden', 'Only the calling device can cancel');
    if (call.state !== 'ringing') throw new AppError('conflict', 'The call was already answered: hang up instead');
    this.ctx.realtime.toUsers(call.callee.userId).emit('call.cancel', { callId, fromUserId: from.userId, fromDeviceId: from.deviceId, reason });
    this.end(call, reason, 'call.cancel', from);
    return {};
  }

  /** The device on the other end of an answered call, or a refusal for anyone else. */
  private peerOf(call: ActiveCall, from: Sender): Sender {
    const isCaller = from.userId === call.caller.userId && from.deviceId === call.caller.deviceId;
    const isCallee = from.userId === call.callee.userId && from.deviceId === call.callee.deviceId;
    if (!isCaller && !isCallee) throw new AppError('forbidden', 'This device is not part of the call');
    if (call.state !== 'accepted') throw new AppError('conflict', 'The call has not been answered yet');
    const other = isCaller ? call.callee : call.caller;
    if (!other.deviceId) throw new AppError('conflict', 'The other device has not reconnected yet');
    return { userId: other.userId, deviceId: other.deviceId };
  }

  /**
   * A device in an answered call reconnected. Known call: its grace period ends. Unknown call (this
   * server restarted and forgot it): rebuild it from the device's claims, and bind the other device
   * when it resumes with matching claims; if it does not within the grace period, the call is over.
   */
  async resume(from: Sender, p: CallResume): Promise<object> {
    const known = this.calls.get(p.callId);
    if (known) {
      this.rebind(known, from, p);
      return {};
    }
    if (p.peerUserId === from.userId) throw new AppError('forbidden', 'You cannot be in a call with yourself');
    const [peer, self, ended] = await Promise.all([
      this.ctx.users.byId(p.peerUserId),
      this.ctx.users.byId(from.userId),
      this.ctx.chat.hasMessage(p.callId),
    ]);
    if (!peer) throw new AppError('not_found', 'No such user');
    // A call with a history entry has ended: it cannot be brought back.
    if (ended) throw new AppError('not_found', 'This call has ended');
    // From here on synchronous: the other device's resume may have rebuilt the call meanwhile.
    const raced = this.calls.get(p.callId);
    if (raced) {
      this.rebind(raced, from, p);
      return {};
    }
    if (this.byUser.has(from.userId) || this.byUser.has(peer.id)) throw new AppError('conflict', 'Already in another call');
    const me = { userId: from.userId, name: self?.name ?? '', deviceId: from.deviceId };
    const them = { userId: peer.id, name: peer.name };
    const call: ActiveCall = {
      id: p.callId,
      kind: p.kind,
      caller: p.role === 'caller' ? me : them,
      callee: p.role === 'callee' ? me : them,
      state: 'accepted',
      createdAt: Date.now(),
      acceptedAt: Math.min(p.answeredAt, Date.now()),
      graceTimers: new Map(),
      // Its set-up happened before this server knew it.
      setupMeasured: true,
    };
    call.awaitingResume = {
      deviceId: p.peerDeviceId,
      timer: setTimeout(() => {
        if (this.calls.get(call.id) !== call || !call.awaitingResume) return;
        this.ctx.realtime.toDevice(from.userId, from.deviceId).emit('call.ended', { callId: call.id, reason: 'peer_disconnected' });
        this.end(call, 'peer_disconnected', 'resume_timeout', undefined, { history: false });
      }, this.ctx.config.calls.reconnectGraceMs),
    };
    this.calls.set(call.id, call);
    this.byUser.set(call.caller.userId, call.id);
    this.byUser.set(call.callee.userId, call.id);
    this.ctx.metrics.callOpened();
    this.event(call.id, 'call.resume', { from: from.userId, device: from.deviceId, role: p.role, outcome: 'rebuilt_waiting_for_peer' });
    return {};
  }

  /** A resume for a call this server knows: the same device coming back, or the awaited second device. */
  private rebind(call: ActiveCall, from: Sender, p: CallResume): void {
    const isCaller = from.userId === call.caller.userId;
    if (!isCaller && from.userId !== call.callee.userId) throw new AppError('forbidden', 'You are not part of this call');
    if (call.state !== 'accepted') throw new AppError('conflict', 'The call has not been answered yet');
    const side = isCaller ? call.caller : call.callee;
    const other = isCaller ? call.callee : call.caller;
    if (side.deviceId === from.deviceId) {
      this.reconnected(from);
      return;
    }
    const awaited = call.awaitingResume;
    const claimsMatch =
      awaited?.deviceId === from.deviceId && p.role === (isCaller ? 'caller' : 'callee') && p.peerUserId === other.userId && p.peerDeviceId === other.deviceId;
    if (side.deviceId || !awaited || !claimsMatch) throw new AppError('conflict', 'This call is bound to another device');
    clearTimeout(awaited.timer);
    delete call.awaitingResume;
    side.deviceId = from.deviceId;
    this.event(call.id, 'call.resume', { from: from.userId, device: from.deviceId, outcome: 'rebuilt' });
  }

  relay(from: Sender, event: 'call.offer' | 'call.answer' | 'call.ice', callId: string, body: { sdp: string } | { candidate: CallIce['candidate'] }): object {
    const call = this.find(callId, from);
    const to = this.peerOf(call, from);
    const e = { callId, fromUserId: from.userId, fromDeviceId: from.deviceId, ...body };
    (this.ctx.realtime.toDevice(to.userId, to.deviceId).emit as (ev: string, payload: unknown) => void)(event, e);
    if (event !== 'call.ice') this.event(callId, event, { from: from.userId, to: to.userId, targets: 1 });
    else this.log.debug({ callId, event, from: from.userId, to: to.userId }, 'call ice relayed');
    return {};
  }

  stats(from: Sender, callId: string, quality: CallQuality): object {
    const call = this.find(callId, from);
    this.peerOf(call, from); // only the two devices of an answered call
    call.quality = quality;
    if (!call.setupMeasured) {
      call.setupMeasured = true;
      this.ctx.metrics.callConnected((Date.now() - call.createdAt) / 1000);
    }
    this.log.debug({ callId, event: 'call.stats', from: from.userId, ...quality }, 'call stats');
    return {};
  }

  hangup(from: Sender, callId: string, reason: CallHangup['reason']): object {
    const call = this.find(callId, from);
    const to = this.peerOf(call, from);
    this.ctx.realtime.toDevice(to.userId, to.deviceId).emit('call.hangup', { callId, fromUserId: from.userId, fromDeviceId: from.deviceId, reason });
    this.end(call, reason, 'call.hangup', from);
    return {};
  }

  private ringTimeout(callId: string): void {
    const call = this.calls.get(callId);
    if (!call || call.state !== 'ringing') return;
    this.ctx.realtime.toUsers(call.callee.userId).emit('call.ended', { callId, reason: 'no_answer' });
    this.ctx.realtime.toDevice(call.caller.userId, call.caller.deviceId!).emit('call.ended', { callId, reason: 'no_answer' });
    this.end(call, 'no_answer', 'timeout');
  }

  /** A socket closed: if it was the last of a device bound to a call, give the device a grace period. */
  private maybeGone(device: Sender): void {
    const call = this.callOf(device.userId);
    if (!call) return;
    const bound =
      (device.userId === call.caller.userId && device.deviceId === call.caller.deviceId) ||
      (device.userId === call.callee.userId && device.deviceId === call.callee.deviceId);
    if (!bound || this.ctx.realtime.isDeviceOnline(device.userId, device.deviceId)) return;
    const key = `${device.userId}:${device.deviceId}`;
    if (call.graceTimers.has(key)) return;
    this.event(call.id, 'device_lost', { user: device.userId, device: device.deviceId, graceMs: this.ctx.config.calls.reconnectGraceMs });
    call.graceTimers.set(
      key,
      setTimeout(() => {
        call.graceTimers.delete(key);
        if (this.calls.get(call.id) !== call || this.ctx.realtime.isDeviceOnline(device.userId, device.deviceId)) return;
        const rt = this.ctx.realtime;
        const e = { callId: call.id, reason: 'peer_disconnected' as const };
        const other = device.userId === call.caller.userId ? call.callee : call.caller;
        if (other.deviceId) rt.toDevice(other.userId, other.deviceId).emit('call.ended', e);
        else rt.toUsers(other.userId).emit('call.ended', e);
        this.end(call, 'peer_disconnected', 'device_gone', device);
      }, this.ctx.config.calls.reconnectGraceMs),
    );
  }

  /** A callee device that connects while its call rings (woken by a push, a new tab) rings too. */
  private inviteLateDevice(device: Sender): void {
    const call = this.callOf(device.userId);
    if (call?.state !== 'ringing' || call.callee.userId !== device.userId || call.invited?.has(device.deviceId)) return;
    call.invited?.add(device.deviceId);
    const { caller } = call;
    this.ctx.realtime.toDevice(device.userId, device.deviceId).emit('call.invite', { callId: call.id, fromUserId: caller.userId, fromDeviceId: caller.deviceId!, kind: call.kind, fromName: caller.name });
    this.event(call.id, 'call.invite', { to: device.userId, device: device.deviceId, outcome: 'late_device_invited' });
  }

  private reconnected(device: Sender): void {
    const call = this.callOf(device.userId);
    const key = `${device.userId}:${device.deviceId}`;
    const timer = call?.graceTimers.get(key);
    if (!call || !timer) return;
    clearTimeout(timer);
    call.graceTimers.delete(key);
    this.event(call.id, 'device_back', { user: device.userId, device: device.deviceId });
  }

  private end(call: ActiveCall, reason: EndReason, event: string, by?: Sender, opts: { history: boolean } = { history: true }): void {
    if (this.calls.get(call.id) !== call) return;
    clearTimeout(call.ringTimer);
    clearTimeout(call.awaitingResume?.timer);
    for (const t of call.graceTimers.values()) clearTimeout(t);
    this.calls.delete(call.id);
    this.ctx.metrics.callEnded(reason, true);
    this.ctx.push.callClosed(call.id, reason);
    for (const u of [call.caller.userId, call.callee.userId]) if (this.byUser.get(u) === call.id) this.byUser.delete(u);
    const durationS = call.acceptedAt ? Math.round((Date.now() - call.acceptedAt) / 1000) : null;
    this.event(call.id, event, { from: by?.userId, caller: call.caller.userId, callee: call.callee.userId, outcome: reason, durationS, path: call.quality?.path, rttMs: call.quality?.rttMs, lossPct: call.quality?.lossPct });
    // A rebuilt call whose second device never came back is unconfirmed: no history entry for it.
    if (!opts.history) return;
    void this.record({ id: call.id, kind: call.kind, callerId: call.caller.userId, calleeId: call.callee.userId }, reason, durationS, call.quality);
  }

  private async record(
    c: { id: string; kind: CallKind; callerId: string; calleeId: string },
    reason: EndReason,
    durationS: number | null,
    quality?: CallQuality,
  ): Promise<void> {
    try {
      const message = await this.ctx.chat.appendCall({ callId: c.id, kind: c.kind, callerId: c.callerId, reason, durationS, quality: quality ?? null }, c.calleeId);
      this.ctx.realtime.toUsers(c.callerId, c.calleeId).emit('message.new', { message });
    } catch (err) {
      this.log.error({ err, callId: c.id }, 'could not write the call into the history');
    }
  }

  /** Ends every call (server shutdown), without history: the calls may go on peer-to-peer. */
  close(): void {
    for (const call of this.calls.values()) {
      clearTimeout(call.ringTimer);
      clearTimeout(call.awaitingResume?.timer);
      for (const t of call.graceTimers.values()) clearTimeout(t);
    }
    this.calls.clear();
    this.byUser.clear();
  }
}
