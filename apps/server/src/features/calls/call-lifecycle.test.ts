import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/fake-clock.ts';
import { step } from './call-lifecycle.ts';
import type { ActiveCall, CallEvent, Step } from './call-types.ts';
import { InMemoryQuota } from './call-quota.ts';
import type { ResumeClaim } from './call-registry.ts';
import { matchClaims } from './call-resume.ts';
import { InMemoryScheduler } from './call-scheduler.ts';

// Every expectation below is written out by hand from docs/decisions/004-call-lifecycle.md.

const cfg = { ringTimeoutMs: 45_000, reconnectGraceMs: 10_000, preconnect: true };
const T = 1_800_000_000_000;
const alex = { userId: 'u-alex', deviceId: 'a1' };
const dana1 = { userId: 'u-dana', deviceId: 'd1' };
const dana2 = { userId: 'u-dana', deviceId: 'd2' };
const noor = { userId: 'u-noor', deviceId: 'n1' };

const invite: CallEvent = { type: 'invite', from: alex, fromName: 'Alex', callId: 'c1', kind: 'video', callee: { id: 'u-dana', name: 'Dana' }, invited: ['d1', 'd2'], pushable: false };
const ringing: ActiveCall = {
  id: 'c1',
  kind: 'video',
  caller: { userId: 'u-alex', name: 'Alex', deviceId: 'a1' },
  callee: { userId: 'u-dana', name: 'Dana' },
  phase: 'ringing',
  createdAt: T,
  lost: [],
  invited: ['d1', 'd2'],
  rev: 1,
};
const answered: ActiveCall = { ...ringing, phase: 'accepted', callee: { userId: 'u-dana', name: 'Dana', deviceId: 'd2' }, acceptedAt: T + 5000, rev: 2 };
const run = (call: ActiveCall | null, e: CallEvent, now = T): Step => step(call, e, now, cfg);

describe('the call lifecycle, state by state', () => {
  it('an invite that reaches devices rings every one of them and arms the ring timeout', () => {
    expect(run(null, invite)).toEqual({
      call: ringing,
      emits: [{ to: { user: 'u-dana' }, event: 'call.invite', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', kind: 'video', fromName: 'Alex' } }],
      effects: [
        { type: 'schedule', timer: { kind: 'ring', callId: 'c1' }, at: T + 45_000 },
        { type: 'log', event: 'call.invite', fields: { callId: 'c1', from: 'u-alex', to: 'u-dana', kind: 'video', targets: 2, outcome: 'ringing', pushed: undefined } },
        { type: 'notify', notice: { type: 'ring', callId: 'c1', kind: 'video', caller: { userId: 'u-alex', name: 'Alex', deviceId: 'a1' }, calleeId: 'u-dana', expiresAt: T + 45_000 } },
        { type: 'metric', metric: { name: 'opened' } },
      ],
    });
  });

  it('an invite to nobody online, or to someone in a call, is answered at once and leaves a history entry', () => {
    const unavailable = run(null, { ...invite, invited: [] } as CallEvent);
    expect(unavailable.call).toBeNull();
    expect(unavailable.emits).toEqual([{ to: { device: alex }, event: 'call.ended', payload: { callId: 'c1', reason: 'unavailable' } }]);
    expect(unavailable.effects).toContainEqual({
      type: 'history',
      entry: { callId: 'c1', kind: 'video', callerId: 'u-alex', calleeId: 'u-dana', reason: 'unavailable', durationS: null, quality: null },
    });
    // Nobody online but a browser subscribed to Web Push: it rings (by push) instead.
    const pushed = run(null, { ...invite, invited: [], pushable: true } as CallEvent);
    expect(pushed.call).toEqual({ ...ringing, invited: [] });
    expect(pushed.effects).toContainEqual({ type: 'log', event: 'call.invite', fields: { callId: 'c1', from: 'u-alex', to: 'u-dana', kind: 'video', targets: 0, outcome: 'ringing', pushed: true } });
    const busy = run(null, { type: 'callee_busy', from: alex, callId: 'c1', kind: 'video', calleeId: 'u-dana', targets: 1 });
    expect(busy.call).toBeNull();
    expect(busy.emits).toEqual([{ to: { device: alex }, event: 'call.busy', payload: { callId: 'c1' } }]);
    expect(busy.effects).toContainEqual({ type: 'notify', notice: { type: 'ended', callId: 'c1', kind: 'video', callerId: 'u-alex', calleeId: 'u-dana', reason: 'busy', durationS: null, answered: false } });
    expect(busy.effects).toContainEqual({ type: 'metric', metric: { name: 'ended', reason: 'busy', opened: false } });
  });

  it('the first answer wins: the caller is told, the other devices stop ringing, the ring timeout goes', () => {
    const out = run(ringing, { type: 'accept', from: dana2, otherDevices: 1 }, T + 5000);
    expect(out.call).toEqual(answered);
    expect(out.emits).toEqual([
      { to: { device: alex }, event: 'call.accept', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd2' } },
      { to: { userExceptDevice: dana2 }, event: 'call.answered_elsewhere', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd2' } },
    ]);
    expect(out.effects[0]).toEqual({ type: 'cancel', timer: { kind: 'ring', callId: 'c1' } });
    expect(out.effects[1]).toEqual({ type: 'notify', notice: { type: 'answered', callId: 'c1', calleeId: 'u-dana', deviceId: 'd2' } });
    // The slower device is refused; the winner repeating itself is harmless.
    expect(run(answered, { type: 'accept', from: dana1, otherDevices: 1 }).refusal).toEqual({ code: 'conflict', message: 'The call was answered on another device' });
    expect(run(answered, { type: 'accept', from: dana2, otherDevices: 1 })).toEqual({ call: answered, emits: [], effects: [] });
  });

  it('a callee device that connects while the call rings rings too, once', () => {
    const d3 = { userId: 'u-dana', deviceId: 'd3' };
    const late = run(ringing, { type: 'device_back', device: d3 });
    expect(late.call).toEqual({ ...ringing, invited: ['d1', 'd2', 'd3'], rev: 2 });
    expect(late.emits).toEqual([{ to: { device: d3 }, event: 'call.invite', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', kind: 'video', fromName: 'Alex' } }]);
    expect(run(late.call, { type: 'device_back', device: d3 }).emits).toEqual([]);
    expect(run(ringing, { type: 'device_back', device: dana1 }).emits).toEqual([]);
    expect(run(answered, { type: 'device_back', device: d3 }).emits).toEqual([]);
  });

  it('who may send what', () => {
    const relay = (from: typeof alex): CallEvent => ({ type: 'relay', from, event: 'call.offer', body: { sdp: 'v=0' } });
    expect(run(ringing, relay(alex)).refusal?.code).toBe('conflict'); // not answered yet
    expect(run(ringing, relay(dana1)).refusal?.code).toBe('forbidden'); // not a bound device
    expect(run(answered, relay(dana1)).refusal?.code).toBe('forbidden'); // the device that lost
    expect(run(answered, relay(noor)).refusal).toEqual({ code: 'forbidden', message: 'You are not part of this call' });
    expect(run(ringing, { type: 'cancel', from: dana1, reason: 'cancelled' }).refusal?.code).toBe('forbidden');
    expect(run(ringing, { type: 'accept', from: alex, otherDevices: 0 }).refusal?.code).toBe('forbidden');
    expect(run(answered, { type: 'reject', from: dana2, reason: 'declined' }).refusal?.code).toBe('conflict');
    expect(run(answered, { type: 'cancel', from: alex, reason: 'cancelled' }).refusal?.code).toBe('conflict');
    expect(run(null, relay(alex)).refusal?.code).toBe('not_found');
    expect(run(ringing, invite).refusal).toEqual({ code: 'conflict', message: 'This call id is already in use' });
  });

  it('relays only to the other bound device', () => {
    expect(run(answered, { type: 'relay', from: dana2, event: 'call.ice', body: { candidate: null } }).emits).toEqual([
      { to: { device: alex }, event: 'call.ice', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd2', candidate: null } },
    ]);
    expect(run(answered, { type: 'relay', from: alex, event: 'call.answer', body: { sdp: 'v=0 a' } }).emits).toEqual([
      { to: { device: dana2 }, event: 'call.answer', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', sdp: 'v=0 a' } },
    ]);
  });

  describe('pre-connecting while it rings (docs/decisions/020-preconnect-while-ringing.md)', () => {
    const off = { ...cfg, preconnect: false };
    const rang = (from: typeof alex, preconnect: boolean, c: ActiveCall = ringing, config = cfg) => step(c, { type: 'ringing', from, preconnect }, T, config);
    const relay = (from: typeof alex, to?: string, event: 'call.offer' | 'call.answer' | 'call.ice' = 'call.offer'): CallEvent => ({
      type: 'relay',
      from,
      event,
      body: event === 'call.ice' ? { candidate: null } : { sdp: 'v=0 x' },
      ...(to !== undefined ? { to } : {}),
    });
    // Dana's d1 pre-connects; d2 only rings.
    const preconnecting: ActiveCall = { ...ringing, preconnected: ['d1'], rev: 2 };
    const notAnswered = { code: 'conflict', message: 'The call has not been answered yet' };

    it('a device that says preconnect is recorded once and the caller is told it may offer to it', () => {
      const out = rang(dana1, true);
      expect(out.call).toEqual(preconnecting);
      expect(out.emits).toEqual([{ to: { device: alex }, event: 'call.ringing', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd1', preconnect: true } }]);
      expect(out.effects).toEqual([{ type: 'log', event: 'call.ringing', fields: { callId: 'c1', from: 'u-dana', device: 'd1', to: 'u-alex', preconnect: true } }]);
      // Ringing again changes nothing stored; a second device joins the list.
      const again = rang(dana1, true, preconnecting);
      expect(again.call).toBe(preconnecting);
      expect(again.emits[0]!.payload).toMatchObject({ preconnect: true });
      expect(rang(dana2, true, preconnecting).call).toEqual({ ...ringing, preconnected: ['d1', 'd2'], rev: 3 });
    });

    it('a device that does not ask, or a server with CALL_PRECONNECT off, rings as before: nothing recorded, no preconnect to the caller', () => {
      for (const out of [rang(dana1, false), rang(dana1, true, ringing, off)]) {
        expect(out.call).toBe(ringing);
        expect(out.emits).toEqual([{ to: { device: alex }, event: 'call.ringing', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd1' } }]);
        expect(out.effects).toEqual([{ type: 'log', event: 'call.ringing', fields: { callId: 'c1', from: 'u-dana', device: 'd1', to: 'u-alex' } }]);
      }
    });

    it("the caller's offer, answer and candidates go to the one pre-connecting device it names, and that device's go to the caller", () => {
      const offer = run(preconnecting, relay(alex, 'd1'));
      expect(offer.call).toBe(preconnecting);
      expect(offer.emits).toEqual([{ to: { device: dana1 }, event: 'call.offer', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', sdp: 'v=0 x' } }]);
      expect(offer.effects).toEqual([{ type: 'log', event: 'call.offer', fields: { callId: 'c1', from: 'u-alex', to: 'u-dana', targets: 1, preconnect: true } }]);
      const ice = run(preconnecting, relay(alex, 'd1', 'call.ice'));
      expect(ice.emits).toEqual([{ to: { device: dana1 }, event: 'call.ice', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', candidate: null } }]);
      expect(ice.effects).toEqual([{ type: 'log', event: 'call.ice', fields: { callId: 'c1', from: 'u-alex', to: 'u-dana', preconnect: true }, level: 'debug' }]);

      const answer = run(preconnecting, relay(dana1, undefined, 'call.answer'));
      expect(answer.emits).toEqual([{ to: { device: alex }, event: 'call.answer', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd1', sdp: 'v=0 x' } }]);
      expect(answer.effects).toEqual([{ type: 'log', event: 'call.answer', fields: { callId: 'c1', from: 'u-dana', to: 'u-alex', targets: 1, preconnect: true } }]);
      // Naming the calling device is the same; naming anyone else is not.
      expect(run(preconnecting, relay(dana1, 'a1', 'call.ice')).emits).toEqual([
        { to: { device: alex }, event: 'call.ice', payload: { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd1', candidate: null } },
      ]);
      expect(run(preconnecting, relay(dana1, 'd2', 'call.ice')).refusal).toEqual(notAnswered);
    });

    it('everything else still waits for the answer', () => {
      const refused = (out: Step) => ({ refusal: out.refusal, emits: out.emits, call: out.call });
      // To a device that only rings, and from the caller without naming a device.
      expect(refused(run(preconnecting, relay(alex, 'd2')))).toEqual({ refusal: notAnswered, emits: [], call: preconnecting });
      expect(refused(run(preconnecting, relay(alex, 'd9')))).toEqual({ refusal: notAnswered, emits: [], call: preconnecting });
      expect(refused(run(preconnecting, relay(alex)))).toEqual({ refusal: notAnswered, emits: [], call: preconnecting });
      // From a device that only rings: it is not part of the call yet.
      expect(run(preconnecting, relay(dana2)).refusal).toEqual({ code: 'forbidden', message: 'This device is not part of the call' });
      expect(run(preconnecting, relay(noor, 'd1')).refusal).toEqual({ code: 'forbidden', message: 'You are not part of this call' });
      // Another device of the caller cannot sign for the calling one.
      expect(run(preconnecting, relay({ userId: 'u-alex', deviceId: 'a2' }, 'd1')).refusal?.code).toBe('forbidden');
      // With CALL_PRECONNECT off (say, on the node that handles this one), a recorded device is refused too.
      expect(step(preconnecting, relay(alex, 'd1'), T, off).refusal).toEqual(notAnswered);
      expect(step(preconnecting, relay(dana1), T, off).refusal).toEqual(notAnswered);
      // Only relays: a pre-connecting device is not bound, so it cannot hang up or report stats.
      expect(run(preconnecting, { type: 'hangup', from: dana1, reason: 'user_hangup' }).refusal?.code).toBe('forbidden');
    });

    it('once answered, a signal named for a device that did not answer is refused; the bound peer, named or not, gets it', () => {
      // d1 pre-connected, d2 answered: a candidate the caller trickled to d1 must never reach d2.
      const answeredElsewhere: ActiveCall = { ...answered, preconnected: ['d1'] };
      expect(run(answeredElsewhere, relay(alex, 'd1', 'call.ice'))).toEqual({
        call: answeredElsewhere,
        emits: [],
        effects: [],
        refusal: { code: 'conflict', message: 'That device did not answer the call' },
      });
      // The pre-connecting device that lost is out of the call.
      expect(run(answeredElsewhere, relay(dana1)).refusal).toEqual({ code: 'forbidden', message: 'This device is not part of the call' });
      const toD2 = [{ to: { device: dana2 }, event: 'call.ice', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', candidate: null } }];
      expect(run(answeredElsewhere, relay(alex, 'd2', 'call.ice')).emits).toEqual(toD2);
      expect(run(answeredElsewhere, relay(alex, undefined, 'call.ice')).emits).toEqual(toD2);
      expect(run(answeredElsewhere, relay(alex, undefined, 'call.ice')).effects).toEqual([{ type: 'log', event: 'call.ice', fields: { callId: 'c1', from: 'u-alex', to: 'u-dana' }, level: 'debug' }]);
      // The callee names the caller's device, or nothing.
      expect(run(answered, relay(dana2, 'a1')).emits).toHaveLength(1);
      expect(run(answered, relay(dana2, 'd1')).refusal?.code).toBe('conflict');
    });
  });

  it('a decline on one device declines on all, and is recorded', () => {
    const out = run(ringing, { type: 'reject', from: dana1, reason: 'declined' });
    expect(out.call).toBeNull();
    const e = { callId: 'c1', fromUserId: 'u-dana', fromDeviceId: 'd1', reason: 'declined' };
    expect(out.emits).toEqual([
      { to: { device: alex }, event: 'call.reject', payload: e },
      { to: { userExceptDevice: dana1 }, event: 'call.reject', payload: e },
    ]);
    expect(out.effects).toContainEqual({ type: 'history', entry: { callId: 'c1', kind: 'video', callerId: 'u-alex', calleeId: 'u-dana', reason: 'declined', durationS: null, quality: null } });
  });

  it('the ring timeout ends only a call that still rings', () => {
    const out = run(ringing, { type: 'ring_timeout' }, T + 45_000);
    expect(out.call).toBeNull();
    expect(out.emits).toEqual([
      { to: { user: 'u-dana' }, event: 'call.ended', payload: { callId: 'c1', reason: 'no_answer' } },
      { to: { device: alex }, event: 'call.ended', payload: { callId: 'c1', reason: 'no_answer' } },
    ]);
    expect(run(answered, { type: 'ring_timeout' })).toEqual({ call: answered, emits: [], effects: [] });
    expect(run(null, { type: 'ring_timeout' })).toEqual({ call: null, emits: [], effects: [] });
  });

  it('a bound device that vanishes gets the grace period; after it the other side is told and the call is recorded with its length and quality', () => {
    expect(run(answered, { type: 'device_lost', device: dana2, online: true }).call).toBe(answered); // another socket of it is still up
    expect(run(answered, { type: 'device_lost', device: dana1, online: false }).call).toBe(answered); // not bound
    const lost = run(answered, { type: 'device_lost', device: dana2, online: false }, T + 10_000);
    expect(lost.call).toEqual({ ...answered, lost: ['u-dana:d2'], rev: 3 });
    expect(lost.effects[0]).toEqual({ type: 'schedule', timer: { kind: 'grace', callId: 'c1', device: 'u-dana:d2' }, at: T + 20_000 });
    const back = run(lost.call, { type: 'device_back', device: dana2 });
    expect(back.call).toEqual({ ...answered, lost: [], rev: 4 });
    expect(back.effects[0]).toEqual({ type: 'cancel', timer: { kind: 'grace', callId: 'c1', device: 'u-dana:d2' } });

    const quality = { path: 'relay' as const, protocol: 'udp' as const, rttMs: 40, lossPct: 0.5 };
    const first = run(lost.call, { type: 'stats', from: alex, quality }, T + 12_500);
    expect(first.effects).toContainEqual({ type: 'metric', metric: { name: 'connected', seconds: 12.5 } });
    const measured = first.call!;
    expect(run(measured, { type: 'stats', from: dana2, quality }).effects.filter((e) => e.type === 'metric')).toEqual([]); // the first report only
    // A report of one-way media is kept by later reports that do not repeat it.
    const oneWay = run(measured, { type: 'stats', from: dana2, quality: { ...quality, oneWay: 'inbound' } }).call!;
    expect(run(oneWay, { type: 'stats', from: alex, quality: { ...quality, rttMs: 30 } }).call!.quality).toEqual({ ...quality, rttMs: 30, oneWay: 'inbound' });
    const gone = run(measured, { type: 'grace_expired', device: dana2, online: false }, T + 20_000);
    expect(gone.call).toBeNull();
    expect(gone.emits).toEqual([{ to: { device: alex }, event: 'call.ended', payload: { callId: 'c1', reason: 'peer_disconnected' } }]);
    expect(gone.effects).toContainEqual({ type: 'cancel', timer: { kind: 'grace', callId: 'c1', device: 'u-dana:d2' } });
    expect(gone.effects).toContainEqual({ type: 'history', entry: { callId: 'c1', kind: 'video', callerId: 'u-alex', calleeId: 'u-dana', reason: 'peer_disconnected', durationS: 15, quality } });
    expect(gone.effects).toContainEqual({ type: 'metric', metric: { name: 'ended', reason: 'peer_disconnected', opened: true } });
    // Back just in time: the timer finds the device online and does nothing.
    expect(run(measured, { type: 'grace_expired', device: dana2, online: true }).call).toBe(measured);
  });

  it('a hang up goes to the other device and records the length', () => {
    const out = run(answered, { type: 'hangup', from: alex, reason: 'user_hangup' }, T + 5000 + 192_400);
    expect(out.emits).toEqual([{ to: { device: dana2 }, event: 'call.hangup', payload: { callId: 'c1', fromUserId: 'u-alex', fromDeviceId: 'a1', reason: 'user_hangup' } }]);
    expect(out.effects).toContainEqual({ type: 'history', entry: { callId: 'c1', kind: 'video', callerId: 'u-alex', calleeId: 'u-dana', reason: 'user_hangup', durationS: 192, quality: null } });
  });

  it('a resume for a known call: only its bound devices', () => {
    expect(run(answered, { type: 'resume', from: dana2 }).refusal).toBeUndefined();
    expect(run(answered, { type: 'resume', from: dana1 }).refusal).toEqual({ code: 'conflict', message: 'This call is bound to another device' });
    expect(run(answered, { type: 'resume', from: noor }).refusal?.code).toBe('forbidden');
    expect(run(ringing, { type: 'resume', from: alex }).refusal?.code).toBe('conflict');
  });
});

describe('resume claims after a restart', () => {
  const claim: ResumeClaim = {
    callId: 'c1',
    nonce: 'n',
    from: { ...alex, name: 'Alex' },
    role: 'caller',
    peer: { ...dana2, name: 'Dana' },
    kind: 'video',
    answeredAt: T,
  };
  const mirror = { role: 'callee' as const, peerUserId: 'u-alex', peerDeviceId: 'a1', kind: 'video' as const };
  it('only the named device with the mirror claim confirms', () => {
    expect(matchClaims(claim, dana2, mirror)).toBe('match');
    expect(matchClaims(claim, alex, { ...mirror, role: 'caller' })).toBe('same');
    expect(matchClaims(claim, dana1, mirror)).toBe('mismatch');
    expect(matchClaims(claim, dana2, { ...mirror, role: 'caller' })).toBe('mismatch');
    expect(matchClaims(claim, dana2, { ...mirror, peerDeviceId: 'a2' })).toBe('mismatch');
    expect(matchClaims(claim, dana2, { ...mirror, kind: 'audio' })).toBe('mismatch');
    expect(matchClaims(claim, { userId: 'u-alex', deviceId: 'a2' }, mirror)).toBe('mismatch');
    expect(matchClaims(claim, noor, mirror)).toBe('stranger');
  });
});

describe('timers and quotas on a fake clock', () => {
  it('a timer runs once at its due time; scheduling it again moves it; a cancelled one never runs', async () => {
    const clock = new FakeClock(T);
    const scheduler = new InMemoryScheduler(clock, (err) => {
      throw err;
    });
    const fired: string[] = [];
    scheduler.start(async (t) => void fired.push(`${t.kind}:${t.callId}@${clock.now() - T}`));
    await scheduler.schedule({ kind: 'ring', callId: 'c1' }, T + 100);
    await scheduler.schedule({ kind: 'ring', callId: 'c1' }, T + 200);
    await scheduler.schedule({ kind: 'grace', callId: 'c1', device: 'u:d' }, T + 150);
    await scheduler.schedule({ kind: 'ring', callId: 'c2' }, T + 50);
    await scheduler.cancel({ kind: 'ring', callId: 'c2' });
    clock.advance(199);
    expect(fired).toEqual(['grace:c1@150']);
    clock.advance(1);
    expect(fired).toEqual(['grace:c1@150', 'ring:c1@200']);
    clock.advance(10_000);
    expect(fired).toHaveLength(2);
    expect(scheduler.size).toBe(0);
  });

  it('a sliding window counts per key and says when there is room again', async () => {
    const clock = new FakeClock(T);
    const quota = new InMemoryQuota(clock);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    clock.advance(10_000);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: false, retryAfterMs: 50_000 });
    expect(await quota.take('other', 2, 60_000)).toEqual({ ok: true });
    clock.advance(50_000);
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: true });
    expect(await quota.take('k', 2, 60_000)).toEqual({ ok: false, retryAfterMs: 10_000 });
  });
});
