// Journey b: an admin creates an account; the new person signs in and writes to the admin.
import { describe, test } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot } from './support/browser.ts';
import { useJourney } from './support/journey.ts';
import { alertOf, mainView, openConversation, sendMessage, signIn, waitForMessage } from './support/ui.ts';
import { ALEX, type TestUser } from './support/users.ts';

const journey = useJourney();

const SAM: TestUser = { name: 'Sam Nurse', email: 'sam@example.com', password: 'sam-first-day-2026', role: 'nurse' };

const adminPage = (page: Page) => ({
  name: page.getByLabel('Name', { exact: true }),
  email: page.getByLabel('Email', { exact: true }),
  role: page.getByLabel('Role', { exact: true }),
  password: page.getByLabel('Initial password', { exact: true }),
  create: page.getByRole('button', { name: 'Create user', exact: true }),
  messagesLink: page.getByRole('link', { name: 'Messages', exact: true }),
});

describe('admin', () => {
  test('an admin creates a user, who signs in and messages the admin', async () => {
    const url = journey.server.url;
    const admin = await journey.device('admin');
    await signIn(admin, url, ALEX);

    await mainView(admin).adminLink.click();
    const form = adminPage(admin);
    await form.name.fill(SAM.name);
    await form.email.fill(SAM.email);
    // The option may be labelled "Nurse" with value "nurse"; either matches.
    await form.role.selectOption([SAM.role, 'Nurse']);
    await form.password.fill(SAM.password);
    await form.create.click();

    // The new person is listed (input values are not text, so this only matches the list).
    try {
      await admin.getByText(SAM.email, { exact: true }).first().waitFor();
    } catch (err) {
      const alert = alertOf(admin);
      const said = (await alert.isVisible()) ? ` The page shows an alert: "${await alert.innerText()}".` : '';
      throw new Error(`${SAM.email} did not appear on the admin page after "Create user".${said}`, { cause: err });
    }
    await screenshot(admin, 'admin');

    await form.messagesLink.click();
    await mainView(admin).search.waitFor();

    const sam = await journey.device('sam');
    await signIn(sam, url, SAM);
    // "admin" finds Alex Admin (by name, and by role where the server searches roles).
    await openConversation(sam, 'admin', ALEX.name);
    const hello = 'Hi Alex, Sam here. My account works, thank you!';
    await sendMessage(sam, hello);

    await openConversation(admin, 'Sam', SAM.name);
    await waitForMessage(admin, hello);
  });
});
