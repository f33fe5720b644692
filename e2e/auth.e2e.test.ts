// Journey c: a wrong password is refused with an alert; signing out ends the session.
import { describe, expect, test } from 'vitest';
import { screenshot } from './support/browser.ts';
import { useJourney } from './support/journey.ts';
import { alertOf, gotoSignIn, mainView, signIn, signInPage, submitSignIn } from './support/ui.ts';
import { NOOR } from './support/users.ts';

const journey = useJourney();

describe('sign-in', () => {
  test('a wrong password shows an alert and stays on the sign-in page', async () => {
    const page = await journey.device('visitor');
    await gotoSignIn(page, journey.server.url);
    await screenshot(page, 'signin');

    await submitSignIn(page, NOOR.email, 'not-the-password');
    const alert = alertOf(page);
    await alert.waitFor();
    expect((await alert.innerText()).trim()).not.toBe('');

    const form = signInPage(page);
    expect(await form.submit.isVisible()).toBe(true);
    expect(await form.email.isVisible()).toBe(true);
    expect(await mainView(page).search.isVisible()).toBe(false);

    // The right password still works afterwards.
    await submitSignIn(page, NOOR.email, NOOR.password);
    await mainView(page).search.waitFor();
  });

  test('the session survives a reload, and signing out returns to the sign-in page', async () => {
    const page = await journey.device('nurse');
    await signIn(page, journey.server.url, NOOR);

    await page.reload();
    await mainView(page).search.waitFor();

    await mainView(page).signOut.click();
    await signInPage(page).submit.waitFor();
    expect(await mainView(page).search.isVisible()).toBe(false);

    // Signed out for real: a reload does not bring the main view back.
    await page.reload();
    await signInPage(page).submit.waitFor();
    expect(await mainView(page).search.isVisible()).toBe(false);
  });
});
