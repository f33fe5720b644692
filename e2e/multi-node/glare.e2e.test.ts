// Issue #8, test 3: glare across nodes. Alex on node A and Dana on node B call each other at the same
// moment (werift devices running the engine's CallAgent). The shared registry lets one invite win;
// the other device's invite merges into that call: one call, connected on both sides with media both
// ways, one history entry.
import { RtpCounter, RtpSource, weriftLocalStream } from '@parley/call/werift';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { ALEX, DANA } from '../support/users.ts';
import { describeDirection, measureRtp, remoteTracks, waitEnded, waitPhase, type Direction } from '../support/werift-call.ts';

const MIN_PPS = 20;

describe('several nodes: glare', () => {
  const fixture = useCluster();

  it('both people call each other from different nodes at once: one call, media both ways, one history entry', { timeout: 90_000 }, async () => {
    const { cluster, nodes: [a, b] } = fixture;
    const alex = await fixture.signIn('alex-on-A', a.url, ALEX);
    const dana = await fixture.signIn('dana-on-B', b.url, DANA);
    await cluster.devicesCounted(alex.userId, [alex.deviceId]);
    await cluster.devicesCounted(dana.userId, [dana.deviceId]);
    const alexMedia = weriftLocalStream('audio');
    const danaMedia = weriftLocalStream('audio');

    const [fromAlex, fromDana] = await Promise.all([alex.call(dana.userId, 'audio', alexMedia.stream), dana.call(alex.userId, 'audio', danaMedia.stream)]);
    const alexRemote = remoteTracks(fromAlex);
    const danaRemote = remoteTracks(fromDana);
    await Promise.all([waitPhase(fromAlex, 'connected'), waitPhase(fromDana, 'connected')]);
    expect(fromAlex.callId).toBeTruthy();
    expect(fromDana.callId).toBe(fromAlex.callId);
    // One device placed the call that won; the other answered it.
    expect([fromAlex.direction, fromDana.direction].sort()).toEqual(['incoming', 'outgoing']);

    const alexSource = new RtpSource(alexMedia.audio, { packetsPerSecond: 50 });
    const danaSource = new RtpSource(danaMedia.audio, { packetsPerSecond: 50 });
    alexSource.start();
    danaSource.start();
    const [alexHears, danaHears] = await Promise.all([alexRemote.audio, danaRemote.audio]);
    const toDana = new RtpCounter(danaHears);
    const toAlex = new RtpCounter(alexHears);
    const deadline = Date.now() + 5_000;
    while (toDana.packets === 0 || toAlex.packets === 0) {
      if (Date.now() > deadline) throw new Error('no RTP both ways within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const [d, x] = (await measureRtp(
      [
        { source: alexSource, counter: toDana },
        { source: danaSource, counter: toAlex },
      ],
      2_000,
    )) as [Direction, Direction];
    console.log(`[glare] one call ${fromAlex.callId!.slice(0, 8)} (alex ${fromAlex.direction}, dana ${fromDana.direction}): ${describeDirection('alex → dana', d)}; ${describeDirection('dana → alex', x)}`);
    for (const dir of [d, x]) expect(dir.received.packetsPerSecond).toBeGreaterThanOrEqual(MIN_PPS);

    const danaEnd = waitEnded(fromDana);
    fromAlex.hangup();
    expect(await waitEnded(fromAlex)).toEqual({ reason: 'user_hangup', by: 'local' });
    expect(await danaEnd).toEqual({ reason: 'user_hangup', by: 'remote' });
    alexSource.stop();
    danaSource.stop();

    expect((await fixture.callStored(fromAlex.callId!)).map((e) => e.id)).toEqual([fromAlex.callId]);
    for (const n of [a, b]) expect(n.output()).not.toMatch(/uncaught|unhandled/i);
  });
});
