// Two Parley devices in Node, each running the engine's CallAgent on werift (the agent the web app
// runs in the browser), call each other through the real server: invite, ring, answer, connected; a data channel carries messages both ways;
// RTP flows both ways at the source's rate, counted by each receiver; the hang-up reaches both
// with its reason. No browser: this is the shape of the load test's peers.
import { acceptDataChannel, openDataChannel, RtpCounter, RtpSource, weriftLocalStream } from '@parley/call/werift';
import type { RTCDataChannel } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeDevice, type NodeCall } from './support/node-device.ts';
import { startServer, type TestServer } from './support/server.ts';
import { ALEX, DANA } from './support/users.ts';
import { describeDirection, measureRtp, type Direction, remoteTracks, waitEnded, waitPhase, waitUpdate } from './support/werift-call.ts';

/** The source's rate: one Opus frame per 20 ms. */
const SOURCE_PPS = 50;
const MEASURE_MS = 2_000;
/** Well below the 50/s sent: what a busy two-core machine must still deliver. */
const MIN_PPS = 20;

/** The messages `from` sends arrive on `to`, in order. */
async function exchange(from: RTCDataChannel, to: RTCDataChannel, messages: readonly string[]): Promise<string[]> {
  const got: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${messages.length} messages arrived`)), 5_000);
    const { unSubscribe } = to.onMessage.subscribe((data) => {
      got.push(data.toString());
      if (got.length === messages.length) {
        clearTimeout(timer);
        unSubscribe();
        resolve();
      }
    });
  });
  for (const m of messages) from.send(m);
  await done;
  return got;
}

describe('two werift devices in Node call each other through the real server', () => {
  let server: TestServer;
  let alex: NodeDevice;
  let dana: NodeDevice;

  beforeAll(async () => {
    server = await startServer();
    [alex, dana] = await Promise.all([NodeDevice.signIn('alex', server.url, ALEX), NodeDevice.signIn('dana', server.url, DANA)]);
  });

  afterAll(async () => {
    alex?.close();
    dana?.close();
    await server?.stop();
  });

  it('invite, ring, answer, connected; data channel and RTP both ways; hang-up seen on both sides', async () => {
    const alexMedia = weriftLocalStream('audio');
    const danaMedia = weriftLocalStream('audio');
    const alexSource = new RtpSource(alexMedia.audio, { packetsPerSecond: SOURCE_PPS });
    const danaSource = new RtpSource(danaMedia.audio, { packetsPerSecond: SOURCE_PPS });

    // Alex calls; the data channel is opened on the caller's connection before its first offer.
    const incoming = dana.nextIncoming();
    let alexChannel: Promise<RTCDataChannel> | undefined;
    const call = await alex.call(dana.userId, 'audio', alexMedia.stream, (pc) => {
      alexChannel = openDataChannel(pc, 'chat');
    });
    const alexPhases = phases(call);
    const alexRemote = remoteTracks(call);

    // Dana's device rings, and Alex hears that it does.
    const answer: NodeCall = await incoming;
    expect(answer.phase).toBe('ringing');
    expect(answer.direction).toBe('incoming');
    expect(answer.peerUserId).toBe(alex.userId);
    expect(answer.peerName).toBe(ALEX.name);
    expect(answer.kind).toBe('audio');
    await waitUpdate(call, () => call.remoteRinging, "Alex hears Dana's device ringing");
    expect(call.phase).toBe('outgoing');

    const danaPhases = phases(answer);
    const danaRemote = remoteTracks(answer);
    // Dana listens for the channel on her connection as it is made: with the offer in the invite, the
    // connection (and the channel) can open before her accept is acknowledged.
    const danaChannel = dana.nextPeerConnection().then((pc) => acceptDataChannel(pc, 'chat'));
    expect(await answer.accept(danaMedia.stream)).toBe(true);

    await Promise.all([waitPhase(call, 'connected'), waitPhase(answer, 'connected')]);
    expect(alexPhases).toEqual(['outgoing', 'connecting', 'connected']);
    expect(danaPhases).toEqual(['ringing', 'connecting', 'connected']);

    // Messages both ways on the data channel.
    const [a, d] = await Promise.all([alexChannel!, danaChannel]);
    const toDana = Array.from({ length: 20 }, (_, i) => `alex → dana #${i}`);
    const toAlex = Array.from({ length: 20 }, (_, i) => `dana → alex #${i}`);
    const [danaGot, alexGot] = await Promise.all([exchange(a, d, toDana), exchange(d, a, toAlex)]);
    expect(danaGot).toEqual(toDana);
    expect(alexGot).toEqual(toAlex);

    // RTP both ways, counted by each receiver over the same window.
    alexSource.start();
    danaSource.start();
    const [alexHears, danaHears] = await Promise.all([alexRemote.audio, danaRemote.audio]);
    const alexCounter = new RtpCounter(alexHears);
    const danaCounter = new RtpCounter(danaHears);
    // Let the first packets arrive before the window opens.
    await waitFor(() => alexCounter.packets > 0 && danaCounter.packets > 0, 5_000, 'first RTP packets both ways');
    const [toDanaRtp, toAlexRtp] = (await measureRtp(
      [
        { source: alexSource, counter: danaCounter },
        { source: danaSource, counter: alexCounter },
      ],
      MEASURE_MS,
    )) as [Direction, Direction];
    console.log(`[werift] ${describeDirection('alex → dana', toDanaRtp)}; ${describeDirection('dana → alex', toAlexRtp)}`);
    for (const dir of [toDanaRtp, toAlexRtp]) {
      expect(dir.received.packetsPerSecond).toBeGreaterThanOrEqual(MIN_PPS);
      // What arrives is what was sent in the same window (give or take the packets in flight).
      expect(dir.received.packets).toBeGreaterThanOrEqual(dir.sent * 0.9);
    }

    // The agent's own measurement (getStats on werift) sees the same call: a direct path, media in.
    await waitUpdate(call, () => (call.details?.inKbps ?? 0) > 0 && (answer.details?.inKbps ?? 0) > 0, 'the agents measure inbound media');
    console.log(`[werift] agent details: alex ${JSON.stringify(call.details)}; dana ${JSON.stringify(answer.details)}`);
    expect(call.details?.path).toBe('direct');
    expect(answer.details?.path).toBe('direct');
    expect(call.oneWay).toBeNull();
    expect(answer.oneWay).toBeNull();

    // Alex hangs up: both ends see user_hangup, Alex as the one who ended it.
    const danaEnd = waitEnded(answer);
    call.hangup();
    expect(await waitEnded(call)).toEqual({ reason: 'user_hangup', by: 'local' });
    expect(await danaEnd).toEqual({ reason: 'user_hangup', by: 'remote' });
    alexSource.stop();
    danaSource.stop();

    // And the media stops with the call: nothing more arrives on Dana's side.
    await new Promise((r) => setTimeout(r, 300));
    const after = await danaCounter.measure(1_000);
    expect(after.packets).toBe(0);
  });
});

/** The phases `call` goes through from now on, each once. */
function phases(call: NodeCall): string[] {
  const seen = [call.phase as string];
  call.on('update', () => {
    if (seen.at(-1) !== call.phase) seen.push(call.phase);
  });
  return seen;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
