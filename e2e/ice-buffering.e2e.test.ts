// Journey f: ICE candidates that reach a device before the offer or answer they belong to.
//
// The old bug: candidates that arrived before setRemoteDescription were added too early, failed,
// and were lost, so the call never connected. Here the test holds back the description on its way
// to one device while letting the candidates through, and the call must still connect with media
// both ways. Connecting alone would not prove it (on loopback, checks from the other side reveal the
// peer anyway), so the delayed device must also know the peer's signalled host candidates, and its
// engine must say it queued the early candidates and flushed them.
import { describe, expect, test } from 'vitest';
import {
  answerCall,
  callDevice,
  callLogLines,
  expectMediaBothWays,
  delaySignalling,
  hangUpAndWait,
  placeCall,
  remoteCandidateTypes,
  waitConnected,
} from './support/call.ts';
import { useJourney } from './support/journey.ts';
import { openConversation, signIn } from './support/ui.ts';
import { ALEX, DANA } from './support/users.ts';

const journey = useJourney();

/** How late the offer or answer reaches the page; candidates follow the description within milliseconds. */
const HOLD_MS = 1_500;
/** The engine's lines about the queue (packages/call/src/peer.ts). */
const QUEUED_LOG = /Queued candidates: \d+/;
const FLUSHED_LOG = /Flushing (\d+) queued/;

describe('ICE candidates before the description', () => {
  for (const side of ['callee', 'caller'] as const) {
    const held = side === 'callee' ? 'the offer' : 'the answer';
    test(`${held} reaches the ${side} ${HOLD_MS} ms after its candidates, and the call still connects`, async () => {
      const admin = await callDevice(journey, 'admin');
      const doctor = await callDevice(journey, 'doctor');
      const delayed = side === 'callee' ? doctor : admin;
      const delay = await delaySignalling(delayed, ['call.offer', 'call.answer'], HOLD_MS);

      await Promise.all([signIn(admin, journey.server.url, ALEX), signIn(doctor, journey.server.url, DANA)]);
      await Promise.all([openConversation(admin, 'Dana', DANA.name), openConversation(doctor, 'Alex', ALEX.name)]);

      await placeCall(admin, 'video');
      await answerCall(doctor);
      await Promise.all([waitConnected(admin), waitConnected(doctor)]);
      await expectMediaBothWays(`ice buffering (${side})`, { name: 'admin', page: admin }, { name: 'doctor', page: doctor }, 'video');

      // The scenario really happened: a description was held and candidates overtook it.
      const heldEvent = side === 'callee' ? 'call.offer' : 'call.answer';
      expect(delay.held[heldEvent] ?? 0, `${heldEvent} frames held back on the ${side}`).toBeGreaterThanOrEqual(1);
      expect(delay.iceWhileHeld, `call.ice frames delivered to the ${side} while ${heldEvent} was held`).toBeGreaterThan(0);

      // The early candidates were used, not lost: the delayed side knows the peer by its signalled
      // (host) candidates, not only as the peer-reflexive address its checks would reveal anyway.
      const remote = await remoteCandidateTypes(delayed);
      expect(remote.host ?? 0, `signalled host candidates the ${side} knows (${JSON.stringify(remote)})`).toBeGreaterThan(0);

      const queued = callLogLines(delayed, QUEUED_LOG);
      const flushed = callLogLines(delayed, FLUSHED_LOG);
      console.log(
        `[ice] ${side}: held ${JSON.stringify(delay.held)}, ${delay.iceWhileHeld} candidate frame(s) overtook it, ` +
          `${delay.iceAfterRelease} came after; remote candidates ${JSON.stringify(remote)}; ` +
          `${queued.length} "Queued candidates" line(s), last: ${queued.at(-1) ?? '(none)'}; flush: ${flushed.join(' | ') || '(none)'}`,
      );
      expect(queued, `"Queued candidates" lines in the ${side}'s console`).not.toHaveLength(0);
      const flushedCount = flushed.map((l) => Number(FLUSHED_LOG.exec(l)![1])).reduce((a, b) => a + b, 0);
      expect(flushedCount, `candidates the ${side} flushed after the description ("Flushing N queued ICE candidates")`).toBeGreaterThan(0);

      await hangUpAndWait(admin, doctor);
    });
  }
});
