// Journey a: two people message each other live, and a person's second device shares the
// conversation both ways.
import { describe, expect, test } from 'vitest';
import { PHONE, screenshot } from './support/browser.ts';
import { useJourney } from './support/journey.ts';
import {
  countMessage,
  logText,
  markPage,
  openConversation,
  sendMessage,
  signIn,
  stillSamePage,
  waitForMessage,
} from './support/ui.ts';
import { ALEX, DANA } from './support/users.ts';

const journey = useJourney();

describe('chat', () => {
  test('admin and doctor exchange messages live, and the doctor’s second device joins in', async () => {
    const url = journey.server.url;
    const admin = await journey.device('admin');
    const doctor = await journey.device('doctor');
    await Promise.all([signIn(admin, url, ALEX), signIn(doctor, url, DANA)]);

    const sent = [
      'Good morning Dana, the 10:30 appointment has arrived early.',
      'Thanks Alex, I will see them in five minutes.',
      'Great, they are in the waiting room by the window.',
      'Seen them, all done. Sent from my phone.',
    ] as const;

    await openConversation(admin, 'Dana', DANA.name);
    await sendMessage(admin, sent[0]);

    await openConversation(doctor, 'Alex', ALEX.name);
    await waitForMessage(doctor, sent[0]);

    // From here on every message must arrive without the page reloading.
    await Promise.all([markPage(admin), markPage(doctor)]);

    await sendMessage(doctor, sent[1]);
    await waitForMessage(admin, sent[1]);

    await sendMessage(admin, sent[2]);
    await waitForMessage(doctor, sent[2]);

    // The doctor's second device (a phone) sees the whole conversation and can add to it.
    const phone = await journey.device('doctor-phone', PHONE);
    await signIn(phone, url, DANA);
    await openConversation(phone, 'Alex', ALEX.name);
    for (const text of sent.slice(0, 3)) await waitForMessage(phone, text);

    await sendMessage(phone, sent[3]);
    await Promise.all([waitForMessage(doctor, sent[3]), waitForMessage(admin, sent[3])]);

    expect(await stillSamePage(admin), 'the admin page reloaded').toBe(true);
    expect(await stillSamePage(doctor), 'the first doctor page reloaded').toBe(true);

    // Every device shows every message exactly once, in the order sent.
    for (const [label, page] of Object.entries({ admin, doctor, phone })) {
      const text = await logText(page);
      const positions = sent.map((m) => text.indexOf(m));
      expect(positions, `order of messages on ${label}`).toEqual([...positions].sort((a, b) => a - b));
      for (const m of sent) expect(await countMessage(page, m), `"${m}" on ${label}`).toBe(1);
    }

    await screenshot(admin, 'conversation');
    await screenshot(phone, 'mobile-conversation');
  });
});
