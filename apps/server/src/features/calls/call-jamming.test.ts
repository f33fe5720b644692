import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

// Issue 10, defect 2: call.resume with an invented call id and a victim's user id, repeated every
// 2 s, held a nurse "in a call": calls to her were answered busy, her own calls were refused, and
// "Missed video call" entries were written, while she saw nothing. Only socket events and REST
// are used here, so the same file runs against the code before the fix.

const emit = (s: TestSocket, event: string, payload: unknown) => (s.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, payload);

describe('nobody can jam someone else’s calls with call.resume', () => {
  let s: TestServer;
  const ids = {} as Record<'attacker' | 'nurse' | 'doctor', string>;
  const cookies = {} as Record<'attacker' | 'nurse' | 'doctor', string>;

  beforeAll(async () => {
    s = await startTestServer({ fakeClock: true });
    for (const [who, email] of [['attacker', 'admin@example.com'], ['nurse', 'nurse@example.com'], ['doctor', 'doctor@example.com']] as const) {
      cookies[who] = await s.login(email);
      ids[who] = (await s.request('GET', '/api/me', { cookie: cookies[who] })).body.user.id;
    }
  });
  afterAll(async () => s?.close());

  it('an invented call.resume naming the nurse, repeated every 2 s, never makes her busy, writes nothing and shows her nothing', async () => {
    const attacker = await s.connect(cookies.attacker, { deviceId: 'attacker-1' });
    const nurse = await s.connect(cookies.nurse, { deviceId: 'nurse-desk' });
    const doctor = await s.connect(cookies.doctor, { deviceId: 'doctor-phone' });
    const seenByNurse: { event: string; callId?: string; messageId?: string }[] = [];
    nurse.onAny((event: string, payload: any) => seenByNurse.push({ event, callId: payload?.callId, messageId: payload?.message?.id }));

    const rounds = 6;
    const real = new Set<string>();
    const tally = { resumesAccepted: 0, callsToHerRang: 0, callsToHerBusy: 0, herCallsAccepted: 0, herCallsRefused: 0 };
    const invented = randomUUID();
    for (let round = 0; round < rounds; round++) {
      // The attack: the same invented id and a fresh one each round, both naming the nurse.
      for (const callId of [invented, randomUUID()]) {
        const ack = await emit(attacker, 'call.resume', {
          callId,
          deviceId: 'attacker-1',
          role: 'caller',
          peerUserId: ids.nurse,
          peerDeviceId: 'nurse-desk',
          kind: 'video',
          answeredAt: Date.now() - 60_000,
        });
        if (ack.ok) tally.resumesAccepted++;
      }

      // The doctor calls her: it must ring on her device, not come back busy.
      const toHer = randomUUID();
      real.add(toHer);
      const rang = nextEvent(nurse, 'call.invite').then((e) => e.callId === toHer);
      const busy = nextEvent(doctor, 'call.busy', 1000).then(
        () => true,
        () => false,
      );
      expect(await emit(doctor, 'call.invite', { callId: toHer, deviceId: 'doctor-phone', toUserId: ids.nurse, kind: 'video' })).toEqual({ ok: true });
      const outcome = await Promise.race([rang.then((ok) => (ok ? 'rang' : 'other')), busy.then((b) => (b ? 'busy' : 'timeout'))]);
      if (outcome === 'rang') {
        tally.callsToHerRang++;
        const accepted = nextEvent(doctor, 'call.accept');
        expect(await emit(nurse, 'call.accept', { callId: toHer, deviceId: 'nurse-desk' })).toEqual({ ok: true });
        await accepted;
        const hung = nextEvent(nurse, 'call.hangup');
        expect(await emit(doctor, 'call.hangup', { callId: toHer, deviceId: 'doctor-phone', reason: 'user_hangup' })).toEqual({ ok: true });
        await hung;
      } else if (outcome === 'busy') tally.callsToHerBusy++;

      // She calls the doctor: it must not be refused "You are already in a call".
      const fromHer = randomUUID();
      real.add(fromHer);
      const doctorRang = nextEvent(doctor, 'call.invite');
      const ack = await emit(nurse, 'call.invite', { callId: fromHer, deviceId: 'nurse-desk', toUserId: ids.doctor, kind: 'audio' });
      if (ack.ok) {
        tally.herCallsAccepted++;
        await doctorRang;
        const accepted = nextEvent(nurse, 'call.accept');
        await emit(doctor, 'call.accept', { callId: fromHer, deviceId: 'doctor-phone' });
        await accepted;
        await emit(nurse, 'call.hangup', { callId: fromHer, deviceId: 'nurse-desk', reason: 'user_hangup' });
      } else tally.herCallsRefused++;

      s.clock?.advance(2000);
    }
    // A round trip on her socket, so everything sent to her before has arrived.
    expect(await emit(nurse, 'call.ringing', { callId: randomUUID(), deviceId: 'nurse-desk' })).toMatchObject({ ok: false });
    const foreign = seenByNurse.filter((e) => (e.callId !== undefined && !real.has(e.callId)) || (e.messageId !== undefined && !real.has(e.messageId)));
    const conversations = (await s.request('GET', '/api/conversations', { cookie: cookies.nurse })).body.conversations as any[];
    const entries: any[] = [];
    for (const c of conversations) {
      const page = (await s.request('GET', `/api/conversations/${c.id}/messages?limit=100`, { cookie: cookies.nurse })).body;
      entries.push(...page.messages.filter((m: any) => m.kind === 'call'));
    }
    const unanswered = entries.filter((m) => m.call.durationS === null);
    console.info(`[jamming] ${rounds} rounds: ${JSON.stringify(tally)}; her history: ${entries.length} call entries, ${unanswered.length} unanswered (${unanswered.map((m) => m.body).join(', ')})`);

    expect(tally).toMatchObject({ callsToHerRang: rounds, callsToHerBusy: 0, herCallsAccepted: rounds, herCallsRefused: 0 });
    // She saw only her own calls and their history entries.
    expect(foreign).toEqual([]);
    // Her history holds exactly the calls she took part in, all answered; no missed, busy or unavailable entries.
    expect(entries.map((m) => m.call.reason).sort()).toEqual(Array(rounds * 2).fill('user_hangup'));
    expect(unanswered).toEqual([]);
    expect(conversations.map((c) => c.peer.id)).toEqual([ids.doctor]);
    attacker.disconnect();
    nurse.disconnect();
    doctor.disconnect();
  });

  it('the attacker cannot make himself and the nurse one call either: a claim needs her real device to confirm', async () => {
    const attacker = await s.connect(cookies.attacker, { deviceId: 'attacker-2' });
    const attacker2 = await s.connect(cookies.attacker, { deviceId: 'attacker-3' });
    const callId = randomUUID();
    const claim = { callId, role: 'caller', peerUserId: ids.nurse, peerDeviceId: 'nurse-desk', kind: 'video', answeredAt: Date.now() - 1000 };
    await emit(attacker, 'call.resume', { ...claim, deviceId: 'attacker-2' });
    // His second device cannot stand in for hers, nor can he claim the mirror side himself.
    expect(await emit(attacker2, 'call.resume', { ...claim, deviceId: 'attacker-3' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await emit(attacker2, 'call.resume', { ...claim, deviceId: 'attacker-3', role: 'callee', peerUserId: ids.attacker, peerDeviceId: 'attacker-2' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' }, // a call with himself
    });
    expect(await emit(attacker2, 'call.resume', { ...claim, deviceId: 'attacker-3', role: 'callee' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    // She is free: the doctor's call rings her.
    const nurse = await s.connect(cookies.nurse, { deviceId: 'nurse-desk' });
    const doctor = await s.connect(cookies.doctor, { deviceId: 'doctor-tab' });
    const rang = nextEvent(nurse, 'call.invite');
    const call = randomUUID();
    await emit(doctor, 'call.invite', { callId: call, deviceId: 'doctor-tab', toUserId: ids.nurse, kind: 'audio' });
    expect((await rang).callId).toBe(call);
    await emit(doctor, 'call.cancel', { callId: call, deviceId: 'doctor-tab', reason: 'cancelled' });
    for (const sock of [attacker, attacker2, nurse, doctor]) sock.disconnect();
  });
});
