// Steps through Parley's UI by roles and accessible names only: the same contract people using a
// screen reader rely on. If one of these breaks, the UI's contract changed, not just its looks.
import type { Locator, Page } from 'playwright-core';
import type { TestUser } from './users.ts';

/** How long a message may take to reach another device before we call it not delivered. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export const signInPage = (page: Page) => ({
  email: page.getByLabel('Email', { exact: true }),
  password: page.getByLabel('Password', { exact: true }),
  submit: page.getByRole('button', { name: 'Sign in', exact: true }),
});

export const mainView = (page: Page) => ({
  search: page.getByLabel('Search people', { exact: true }),
  signOut: page.getByRole('button', { name: 'Sign out', exact: true }),
  adminLink: page.getByRole('link', { name: 'Admin', exact: true }),
  message: page.getByLabel('Message', { exact: true }),
  send: page.getByRole('button', { name: 'Send', exact: true }),
  log: page.getByRole('log'),
});

/** A visible alert with some text in it (empty live regions are ignored). */
export const alertOf = (page: Page): Locator => page.getByRole('alert').filter({ hasText: /\S/ }).first();

/** Opens the app and waits for the sign-in form. */
export async function gotoSignIn(page: Page, baseUrl: string): Promise<void> {
  await page.goto(baseUrl);
  await signInPage(page).submit.waitFor();
}

/** Fills the sign-in form and submits it, without waiting for the outcome. */
export async function submitSignIn(page: Page, email: string, password: string): Promise<void> {
  const form = signInPage(page);
  await form.email.fill(email);
  await form.password.fill(password);
  await form.submit.click();
}

/** Signs `user` in from the sign-in page and waits for the main view; an alert instead fails loudly. */
export async function signIn(page: Page, baseUrl: string, user: TestUser): Promise<void> {
  await gotoSignIn(page, baseUrl);
  await submitSignIn(page, user.email, user.password);
  const { search } = mainView(page);
  const alert = alertOf(page);
  await search.or(alert).first().waitFor();
  if (!(await search.isVisible())) {
    throw new Error(`Signing in as ${user.email} showed an alert instead of the main view: "${await alert.innerText()}"`);
  }
}

/** Searches for `query` and opens the conversation with the person named exactly `name`. */
export async function openConversation(page: Page, query: string, name: string): Promise<void> {
  const view = mainView(page);
  await view.search.fill(query);
  // A person may also be listed among recent conversations under the same name; either opens the same chat.
  await page.getByRole('button', { name, exact: true }).first().click();
  await view.message.waitFor();
}

/** Types `text` into the open conversation, sends it and waits until it shows in this device's log. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const view = mainView(page);
  await view.message.fill(text);
  await view.send.click();
  await waitForMessage(page, text);
}

/** Waits until `text` appears in the message log of `page`. */
export async function waitForMessage(page: Page, text: string, timeout = DELIVERY_TIMEOUT_MS): Promise<void> {
  await mainView(page).log.getByText(text).first().waitFor({ timeout });
}

/** How many times `text` appears in the message log (a duplicate delivery would make it 2). */
export async function countMessage(page: Page, text: string): Promise<number> {
  return mainView(page).log.getByText(text).count();
}

/** The text of the message log, to check the order messages appear in. */
export async function logText(page: Page): Promise<string> {
  return (await mainView(page).log.allInnerTexts()).join('\n');
}

/**
 * Puts a marker in the page's JavaScript realm. A reload or full navigation wipes it, so
 * `stillSamePage` proves a later message arrived live rather than through a reload.
 */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __parleyE2eMark?: boolean }).__parleyE2eMark = true;
  });
}

export async function stillSamePage(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __parleyE2eMark?: boolean }).__parleyE2eMark === true);
}
