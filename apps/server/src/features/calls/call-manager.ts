import type { CallInvite, CallInviteEvent, CallResume } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../lib/errors.ts';
import { CallHistory } from './call-history.ts';
import { isGlare, step } from './call-lifecycle.ts';
import type { ActiveCall, CallEvent, Device, Emit, LifecycleConfig, Step, TimerRef } from './call-types.ts';
import { pushCallNotifier, type CallNotifier } from './call-notifier.ts';
import { InMemoryQuota, type CallQuota } from './call-quota.ts';
import { InMemoryCallRegistry, type CallRegistry, type CreateResult } from './call-registry.ts';
import { CallResumes } from './call-resume.ts';
import { InMemoryScheduler, systemClock, type CallScheduler, type Clock } from './call-scheduler.ts';
import { registerCallSocket } from './call-socket.ts';

/** What the call feature is built from; each has an in-memory default, and the multi-node setup swaps in Redis ones. */
export interface CallDeps {
  clock?: Clock;
  registry?: CallRegistry;
  scheduler?: CallScheduler;
  quota?: CallQuota;
  notifier?: CallNotifier;
}

/** A compare-and-set that lost this many races in a row gives up (only a hot loop of writers could cause it). */
const MAX_ATTEMPTS = 8;
const INVITE_WINDOW_MS = 60_000;
const withMe = (call: ActiveCall, me: Device): boolean => call.caller.userId === me.userId || call.callee.userId === me.userId;

/**
 * Runs the call lifecycle (call-lifecycle.ts) against the registry: reads a call, asks `step` what
 * happens, stores the result with compare-and-set (retrying when another event changed the call
 * meanwhile), then emits, schedules and records what the step said. It holds no call state itself.
 */
export class CallManager {
  readonly clock: Clock;
  readonly registry: CallRegistry;
  readonly scheduler: CallScheduler;
  private readonly quota: CallQuota;
  private readonly notifier: CallNotifier;
  private readonly history: CallHistory;
  private readonly resumes: CallResumes;
  readonly config: LifecycleConfig & { invitesPerMinute: number };

  constructor(
    readonly ctx: AppContext,
    readonly log: FastifyBaseLogger,
    deps: CallDeps = {},
  ) {
    const c = ctx.config.calls;
    this.config = { ringTimeoutMs: c.ringTimeoutMs, reconnectGraceMs: c.reconnectGraceMs, preconnect: c.preconnect, invitesPerMinute: c.invitesPerMinute };
    this.clock = deps.clock ?? systemClock;
    this.registry = deps.registry ?? new InMemoryCallRegistry();
    this.scheduler = deps.scheduler ?? new InMemoryScheduler(this.clock, (err, timer) => log.error({ err, timer }, 'call timer failed'));
    this.quota = deps.quota ?? new InMemoryQuota(this.clock);
    this.notifier = deps.notifier ?? pushCallNotifier(ctx.push);
    this.history = new CallHistory(ctx.chat, ctx.realtime, this.quota, c.unansweredPer10Min, log);
    this.resumes = new CallResumes(this);
    this.scheduler.start((timer) => this.onTimer(timer));
  }

  register(): void {
    registerCallSocket(this.ctx.realtime, this);
  }

  /** The call a user is part of, if any (for tests and diagnostics). */
  callOf(userId: string): Promise<ActiveCall | undefined> {
    return this.registry.callOfUser(userId);
  }

  count(): Promise<number> {
    return this.registry.count();
  }

  async invite(from: Device, fromName: string, p: CallInvite): Promise<{ merged?: CallInviteEvent }> {
    if (p.toUserId === from.userId) throw new AppError('forbidden', 'You cannot call yourself');
    const room = await this.quota.take(`invite:${from.userId}`, this.config.invitesPerMinute, INVITE_WINDOW_MS);
    if (!room.ok) {
      const retryAfterS = Math.ceil(room.retryAfterMs / 1000);
      this.log.debug({ callId: p.callId, event: 'call.invite', from: from.userId, to: p.toUserId, outcome: 'rate_limited', retryAfterS }, 'call call.invite');
      throw new AppError('rate_limited', `Too many calls started: try again in ${retryAfterS} s`, undefined, retryAfterS);
    }
    const callee = await this.ctx.users.byId(p.toUserId);
    if (!callee) throw new AppError('not_found', 'No such user');
    if (callee.active !== 1) throw new AppError('recipient_inactive', `${callee.name}'s account is deactivated`);

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (await this.registry.get(p.callId)) throw new AppError('conflict', 'This call id is already in use');
      const mine = await this.registry.callOfUser(from.userId);
      if (mine) {
        // Glare: the person I am calling is already calling me. The earlier call wins and this device
        // answers it, so both people end up in that one call (docs/decisions/004-call-lifecycle.md).
        if (!isGlare(mine, from, p.toUserId)) throw new AppError('conflict', 'You are already in a call');
        this.log.info({ callId: p.callId, event: 'call.invite', from: from.userId, to: p.toUserId, outcome: 'glare_merged', into: mine.id }, 'call call.invite');
        const otherDevices = (await this.ctx.realtime.deviceCount(from.userId)) - 1;
        await this.apply(mine.id, () => ({ type: 'accept', from, otherDevices }));
        return { merged: { callId: mine.id, fromUserId: mine.caller.userId, fromDeviceId: mine.caller.deviceId!, kind: mine.kind, fromName: mine.caller.name } };
      }
      const invited = [...(await this.ctx.realtime.deviceIds(callee.id))];
      const targets = invited.length;
      const busy: CallEvent = { type: 'callee_busy', from, callId: p.callId, kind: p.kind, calleeId: callee.id, targets };
      // The callee's call may be the other side of a glare placed since `mine` was read: look again.
      const theirs = await this.registry.callOfUser(callee.id);
      if (theirs && withMe(theirs, from)) continue;
      if (theirs) {
        await this.start(busy);
        return {};
      }
      // With no device online, a subscribed browser can still be rung by push (features/push).
      const pushable = targets === 0 && (await this.ctx.push.canRing(callee.id));
      const started = await this.start({ type: 'invite', from, fromName, callId: p.callId, kind: p.kind, callee: { id: callee.id, name: callee.name }, invited, pushable });
      if (started.ok) return {};
      if (started.reason === 'id_taken') throw new AppError('conflict', 'This call id is already in use');
      // The caller or the callee got into a call meanwhile (a glare, or another caller): the next pass
      // reads both again and merges, answers busy, or refuses.
    }
    throw new AppError('conflict', 'You are already in a call');
  }

  ringing(from: Device, callId: string, preconnect: boolean): Promise<object> {
    return this.apply(callId, () => ({ type: 'ringing', from, preconnect }));
  }

  async accept(from: Device, callId: string): Promise<object> {
    const otherDevices = (await this.ctx.realtime.deviceCount(from.userId)) - 1;
    return this.apply(callId, () => ({ type: 'accept', from, otherDevices }));
  }

  /** The remaining device-sent events carry everything the lifecycle needs. */
  async handle(callId: string, event: Extract<CallEvent, { type: 'reject' | 'cancel' | 'relay' | 'stats' | 'hangup' }>): Promise<object> {
    try {
      return await this.apply(callId, () => event);
    } catch (err) {
      // A call waiting for its second device after a restart is not a call yet, but its parties are told so.
      const claim = err instanceof AppError && err.code === 'not_found' ? await this.registry.getClaim(callId) : undefined;
      if (claim && (claim.from.userId === event.from.userId || claim.peer.userId === event.from.userId)) {
        throw new AppError('conflict', 'The other device has not reconnected yet');
      }
      throw err;
    }
  }

  resume(from: Device, p: CallResume): Promise<object> {
    return this.resumes.resume(from, p);
  }

  /** A socket of this device connected: if its call was counting down its grace period, that stops. */
  deviceBack(device: Device): Promise<void> {
    return this.onDevice(device, () => ({ type: 'device_back', device }));
  }

  /** A socket of this device closed (on any node, or its node died): if that was its last and it is bound to a call, its grace period starts. */
  deviceLost(device: Device): Promise<void> {
    return this.onDevice(device, async () => ({ type: 'device_lost', device, online: await this.ctx.realtime.isDeviceOnline(device.userId, device.deviceId) }));
  }

  /** `make` reads its facts (is the device online anywhere?) once the device is known to be in a call. */
  private async onDevice(device: Device, make: () => CallEvent | Promise<CallEvent>): Promise<void> {
    try {
      const call = await this.registry.callOfUser(device.userId);
      if (!call) return;
      const event = await make();
      await this.apply(call.id, () => event);
    } catch (err) {
      this.log.error({ err, userId: device.userId }, 'call presence update failed');
    }
  }

  private async onTimer(timer: TimerRef): Promise<void> {
    if (timer.kind === 'resume') return this.resumes.expire(timer);
    if (timer.kind === 'ring') {
      await this.apply(timer.callId, () => ({ type: 'ring_timeout' }));
      return;
    }
    const [userId = '', deviceId = ''] = (timer.device ?? '').split(':');
    const device = { userId, deviceId };
    const online = await this.ctx.realtime.isDeviceOnline(userId, deviceId);
    await this.apply(timer.callId, () => ({ type: 'grace_expired', device, online }));
  }

  /**
   * One event on an existing call: read, step, compare-and-set, then carry out. `make` builds the
   * event from facts read just now, so a retry after a lost race sees fresh ones.
   */
  async apply(callId: string, make: (call: ActiveCall | null) => CallEvent): Promise<object> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const call = (await this.registry.get(callId)) ?? null;
      const out = step(call, make(call), this.clock.now(), this.config);
      if (out.refusal) throw new AppError(out.refusal.code, out.refusal.message);
      if (!(await this.commit(call, out.call))) continue;
      await this.perform(out);
      return out.reply ?? {};
    }
    throw new AppError('conflict', 'The call changed while this was handled; try again');
  }

  /** An event that may start a call: the registry claims both people atomically, or says who is busy. */
  async start(event: CallEvent): Promise<CreateResult> {
    const out = step(null, event, this.clock.now(), this.config);
    if (out.refusal) throw new AppError(out.refusal.code, out.refusal.message);
    if (out.call) {
      const created = await this.registry.create(out.call);
      if (!created.ok) return created;
    }
    await this.perform(out);
    return { ok: true };
  }

  private async commit(prev: ActiveCall | null, next: ActiveCall | null): Promise<boolean> {
    if (prev === next) return true;
    if (!prev) return next ? (await this.registry.create(next)).ok : true;
    if (!next) return this.registry.remove(prev.id, prev.rev);
    return this.registry.update(next, prev.rev);
  }

  /** Carries out a stored step: emits first, then timers, log lines, history and notices. */
  async perform(out: Pick<Step, 'emits' | 'effects'>): Promise<void> {
    for (const e of out.emits) this.send(e);
    for (const effect of out.effects) {
      switch (effect.type) {
        case 'schedule':
          await this.scheduler.schedule(effect.timer, effect.at);
          break;
        case 'cancel':
          await this.scheduler.cancel(effect.timer);
          break;
        case 'log':
          // Never SDP, candidates or credentials: ids, counts and outcomes only.
          if (effect.level === 'debug') this.log.debug({ event: effect.event, ...effect.fields }, `call ${effect.event}`);
          else this.log.info({ event: effect.event, ...effect.fields }, `call ${effect.event}`);
          break;
        case 'history':
          // Awaited, so an acknowledgement comes after the entry is stored; write() never throws.
          await this.history.write(effect.entry);
          break;
        case 'metric': {
          const m = effect.metric;
          if (m.name === 'opened') this.ctx.metrics.callOpened();
          else if (m.name === 'ended') this.ctx.metrics.callEnded(m.reason, m.opened);
          else this.ctx.metrics.callConnected(m.seconds);
          break;
        }
        case 'notify':
          try {
            void Promise.resolve(this.notifier.notify(effect.notice)).catch((err: unknown) => this.log.error({ err, callId: effect.notice.callId }, 'call notifier failed'));
          } catch (err) {
            this.log.error({ err, callId: effect.notice.callId }, 'call notifier failed');
          }
          break;
      }
    }
  }

  send(e: Emit): void {
    const rt = this.ctx.realtime;
    const to = 'user' in e.to ? rt.toUsers(e.to.user) : 'device' in e.to ? rt.toDevice(e.to.device.userId, e.to.device.deviceId) : rt.toUserExceptDevice(e.to.userExceptDevice.userId, e.to.userExceptDevice.deviceId);
    (to.emit as (event: string, payload: unknown) => void)(e.event, e.payload);
  }

  /** This node shuts down: its timers stop and its in-memory calls go, without history (the calls may go on peer to peer). */
  async close(): Promise<void> {
    this.scheduler.close();
    await this.registry.close();
  }
}
