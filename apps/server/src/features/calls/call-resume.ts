import { randomUUID } from 'node:crypto';
import type { CallResume } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { deviceKey, type Device, type TimerRef } from './call-types.ts';
import type { CallManager } from './call-manager.ts';
import type { ResumeClaim } from './call-registry.ts';

export type ClaimVerdict =
  /** The device that made the claim, saying it again. */
  | 'same'
  /** The other device named in the claim, naming this call, these two devices and the other role: the call is confirmed. */
  | 'match'
  /** One of the two people, but another device or other claims. */
  | 'mismatch'
  /** Neither of the two people. */
  | 'stranger';

/** How a second call.resume for a call the server does not know relates to the claim stored first. Pure. */
export function matchClaims(claim: ResumeClaim, from: Device, p: Pick<CallResume, 'role' | 'peerUserId' | 'peerDeviceId' | 'kind'>): ClaimVerdict {
  if (from.userId === claim.from.userId) return from.deviceId === claim.from.deviceId ? 'same' : 'mismatch';
  if (from.userId !== claim.peer.userId) return 'stranger';
  const mirrors =
    from.deviceId === claim.peer.deviceId && p.peerUserId === claim.from.userId && p.peerDeviceId === claim.from.deviceId && p.role !== claim.role && p.kind === claim.kind;
  return mirrors ? 'match' : 'mismatch';
}

const resumeTimer = (claim: ResumeClaim): TimerRef => ({ kind: 'resume', callId: claim.callId, device: deviceKey(claim.from) });

/**
 * call.resume: a device in an answered call telling the server, after its socket reconnected,
 * that it is still in the call.
 *
 * - A call the server knows: its own bound device coming back ends its grace period; any other
 *   device is refused.
 * - A call the server does not know (it restarted): the claim is stored, and it makes nobody busy
 *   and emits nothing to anyone else. Only when the other device named in it resumes with the mirror
 *   claim does the call exist again, with both people in it. A claim nobody confirms within
 *   CALL_RECONNECT_GRACE_S ends for its own device with `peer_disconnected`, without history.
 *   So an invented call id naming someone else can never make that person busy (issue 10).
 */
export class CallResumes {
  constructor(private readonly calls: CallManager) {}

  async resume(from: Device, p: CallResume): Promise<object> {
    const { registry, ctx } = this.calls;
    if (await registry.get(p.callId)) return this.calls.apply(p.callId, () => ({ type: 'resume', from }));
    if (p.peerUserId === from.userId) throw new AppError('forbidden', 'You cannot be in a call with yourself');
    const [peer, self, ended] = await Promise.all([ctx.users.byId(p.peerUserId), ctx.users.byId(from.userId), ctx.chat.hasMessage(p.callId)]);
    if (!peer) throw new AppError('not_found', 'No such user');
    // A call with a history entry has ended: it cannot be brought back.
    if (ended) throw new AppError('not_found', 'This call has ended');

    for (let attempt = 0; attempt < 8; attempt++) {
      // The other device's resume may have rebuilt the call meanwhile.
      if (await registry.get(p.callId)) return this.calls.apply(p.callId, () => ({ type: 'resume', from }));
      const claim = await registry.getClaim(p.callId);
      if (!claim) {
        if (await registry.callOfUser(from.userId)) throw new AppError('conflict', 'Already in another call');
        const mine: ResumeClaim = {
          callId: p.callId,
          nonce: randomUUID(),
          from: { ...from, name: self?.name ?? '' },
          role: p.role,
          peer: { userId: peer.id, deviceId: p.peerDeviceId, name: peer.name },
          kind: p.kind,
          answeredAt: p.answeredAt,
        };
        if (!(await registry.putClaimIfAbsent(mine))) continue;
        await this.calls.scheduler.schedule(resumeTimer(mine), this.calls.clock.now() + this.calls.config.reconnectGraceMs);
        this.log(p.callId, { from: from.userId, device: from.deviceId, role: p.role, outcome: 'waiting_for_peer' });
        return {};
      }
      const verdict = matchClaims(claim, from, p);
      if (verdict === 'same') return {};
      if (verdict === 'stranger') throw new AppError('forbidden', 'You are not part of this call');
      if (verdict === 'mismatch') throw new AppError('conflict', 'This call is bound to another device');
      if (!(await registry.takeClaim(claim.callId, claim.nonce))) continue;
      await this.calls.scheduler.cancel(resumeTimer(claim));
      const me = { ...from, name: self?.name ?? '' };
      const started = await this.calls.start({
        type: 'rebuild',
        from,
        callId: p.callId,
        kind: claim.kind,
        caller: claim.role === 'caller' ? claim.from : me,
        callee: claim.role === 'callee' ? claim.from : me,
        answeredAt: Math.min(claim.answeredAt, p.answeredAt),
      });
      if (started.ok) return {};
      // One of the two got into another call meanwhile: this one cannot come back.
      this.log(p.callId, { from: from.userId, device: from.deviceId, outcome: 'refused_busy' });
      this.calls.send({ to: { device: claim.from }, event: 'call.ended', payload: { callId: p.callId, reason: 'peer_disconnected' } });
      throw new AppError('conflict', 'Already in another call');
    }
    throw new AppError('conflict', 'The call changed while this was handled; try again');
  }

  /** Nobody confirmed the claim in time: the device that made it is told the call is over. */
  async expire(timer: TimerRef): Promise<void> {
    const claim = await this.calls.registry.getClaim(timer.callId);
    if (!claim || deviceKey(claim.from) !== timer.device) return;
    if (!(await this.calls.registry.takeClaim(claim.callId, claim.nonce))) return;
    this.calls.send({ to: { device: claim.from }, event: 'call.ended', payload: { callId: claim.callId, reason: 'peer_disconnected' } });
    this.calls.log.info({ callId: claim.callId, event: 'resume_timeout', from: claim.from.userId, caller: claim.role === 'caller' ? claim.from.userId : claim.peer.userId, outcome: 'peer_disconnected' }, 'call resume_timeout');
  }

  private log(callId: string, fields: Record<string, unknown>): void {
    this.calls.log.info({ callId, event: 'call.resume', ...fields }, 'call call.resume');
  }
}
