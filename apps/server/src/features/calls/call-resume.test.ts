import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent, startTestServer, type TestServer, type TestSocket } from '../../testing/harness.ts';

const emit = (s: TestSocket, event: string, payload: unknown) => (s.emitWithAck as (e: string, p: unknown) => Promise<any>)(event, payload);

describe('calls survive a restart of the Parley server', () => {
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function callInProgress() {
    const first = await startTestServer({ fakeClock: true, env: { CALL_RECONNECT_GRACE_S: '0.8' } });
    servers.push(first);
    const alex = await first.login('admin@example.com');
    const dana = await first.login('doctor@example.com');
    const alexId = (await first.request('GET', '/api/me', { cookie: alex })).body.user.id as string;
    const danaId = (await first.request('GET', '/api/me', { cookie: dana })).body.user.id as string;
    const a = await first.connect(alex, { deviceId: 'alex-laptop' });
    const d = await first.connect(dana, { deviceId: 'dana-phone' });
    const callId = randomUUID();
    await emit(a, 'call.invite', { callId, deviceId: 'alex-laptop', toUserId: danaId, kind: 'video' });
    await emit(d, 'call.accept', { callId, deviceId: 'dana-phone' });
    const answeredAt = Date.now() - 5000;
    // The server goes away; the database stays (same sessions, same history).
    const database = first.ctx.config.database;
    if (database.kind === 'sqlite') dirs.push(path.dirname(database.file));
    a.disconnect();
    d.disconnect();
    await first.app.close();
    servers.pop();
    const second = await startTestServer({ database, fakeClock: true, env: { CALL_RECONNECT_GRACE_S: '0.8' } });
    servers.push(second);
    const resumeOf = (role: 'caller' | 'callee') =>
      role === 'caller'
        ? { callId, deviceId: 'alex-laptop', role, peerUserId: danaId, peerDeviceId: 'dana-phone', kind: 'video', answeredAt }
        : { callId, deviceId: 'dana-phone', role, peerUserId: alexId, peerDeviceId: 'alex-laptop', kind: 'video', answeredAt };
    return { second, alex, dana, alexId, danaId, callId, resumeOf };
  }

  it('rebuilds the call when both devices resume: relay and hang up work, and the history has its length', async () => {
    const { second, alex, dana, callId, resumeOf } = await callInProgress();
    const a = await second.connect(alex, { deviceId: 'alex-laptop' });
    const d = await second.connect(dana, { deviceId: 'dana-phone' });
    expect(await emit(a, 'call.resume', resumeOf('caller'))).toEqual({ ok: true });
    // Until the other device is back, nothing can be relayed.
    expect(await emit(a, 'call.offer', { callId, deviceId: 'alex-laptop', sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await emit(d, 'call.resume', resumeOf('callee'))).toEqual({ ok: true });
    const offer = nextEvent(d, 'call.offer');
    expect(await emit(a, 'call.offer', { callId, deviceId: 'alex-laptop', sdp: 'v=0 restart' })).toEqual({ ok: true });
    expect((await offer).sdp).toBe('v=0 restart');
    const hungUp = nextEvent(a, 'call.hangup');
    const history = nextEvent(a, 'message.new');
    expect(await emit(d, 'call.hangup', { callId, deviceId: 'dana-phone', reason: 'user_hangup' })).toEqual({ ok: true });
    expect((await hungUp).reason).toBe('user_hangup');
    const entry = (await history).message;
    expect(entry).toMatchObject({ id: callId, kind: 'call', call: { reason: 'user_hangup' } });
    expect(entry.call!.durationS).toBeGreaterThanOrEqual(5);
    // Ended is ended: the same call cannot be resumed again.
    expect(await emit(a, 'call.resume', resumeOf('caller'))).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('ends a rebuilt call whose other device never comes back, without a history entry', async () => {
    const { second, alex, dana, callId, resumeOf } = await callInProgress();
    const a = await second.connect(alex, { deviceId: 'alex-laptop' });
    expect(await emit(a, 'call.resume', resumeOf('caller'))).toEqual({ ok: true });
    second.clock!.advance(799);
    expect(await emit(a, 'call.offer', { callId, deviceId: 'alex-laptop', sdp: 'v=0' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const ended = nextEvent(a, 'call.ended');
    second.clock!.advance(1);
    expect(await ended).toEqual({ callId, reason: 'peer_disconnected' });
    expect(await second.calls.count()).toBe(0);
    // The claim is gone: the other device coming back late finds nothing to confirm.
    const d = await second.connect(dana, { deviceId: 'dana-phone' });
    expect(await emit(d, 'call.resume', resumeOf('callee'))).toEqual({ ok: true });
    expect(await second.calls.count()).toBe(0);
    const conv = (await second.request('GET', '/api/conversations', { cookie: dana })).body.conversations[0];
    expect(conv?.lastMessage?.id).not.toBe(callId);
  });

  it('refuses claims that do not match the call, and strangers', async () => {
    const { second, alex, dana, alexId, danaId, callId, resumeOf } = await callInProgress();
    const a = await second.connect(alex, { deviceId: 'alex-laptop' });
    await emit(a, 'call.resume', resumeOf('caller'));
    const wrongDevice = await second.connect(dana, { deviceId: 'dana-tablet' });
    expect(await emit(wrongDevice, 'call.resume', { ...resumeOf('callee'), deviceId: 'dana-tablet' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const noor = await second.connect(await second.login('nurse@example.com'), { deviceId: 'noor-desk' });
    expect(await emit(noor, 'call.resume', { ...resumeOf('callee'), deviceId: 'noor-desk' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await emit(noor, 'call.resume', { ...resumeOf('callee'), deviceId: 'noor-desk', callId: randomUUID(), peerUserId: 'nope' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    // None of that touched the claim: the real other device still confirms the call.
    expect(await second.calls.callOf(danaId)).toBeUndefined();
    const d = await second.connect(dana, { deviceId: 'dana-phone' });
    expect(await emit(d, 'call.resume', resumeOf('callee'))).toEqual({ ok: true });
    expect((await second.calls.callOf(danaId))?.id).toBe(callId);
    expect((await second.calls.callOf(alexId))?.id).toBe(callId);
  });
});
