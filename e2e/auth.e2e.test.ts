// Journey c: a wrong password is refused with an alert; signing out ends the session; Settings
// signs the person out on every device.
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

  test('Settings › Sign out everywhere ends the session on every device, this one too', async () => {
    const laptop = await journey.device('nurse');
    const phone = await journey.device('nurse');
    await signIn(laptop, journey.server.url, NOOR);
    await signIn(phone, journey.server.url, NOOR);

    await laptop.getByRole('link', { name: 'Settings' }).click();
    await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
    await signInPage(laptop).submit.waitFor();
    expect((await laptop.getByText('You were signed out on every device.').count()) > 0).toBe(true);
    // The other device is told by the server, without reloading.
    await signInPage(phone).submit.waitFor();
    expect(await mainView(phone).search.isVisible()).toBe(false);
    await phone.reload();
    await signInPage(phone).submit.waitFor();
  });
});
