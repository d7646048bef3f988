// The demo page in headless Chromium against a real local server: a person's whole walk through the account, and
// one through the mailed links (read from the server's outbox on disk), controls found by role and accessible
// name, part of it by keyboard alone, under the page's strict CSP.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import qrcode from 'qrcode-generator';
import { describe, expect, it } from 'vitest';
import { PAGES } from '../../src/adapters/http/pages';
import { parseOtpauthUri, RECOVERY_CODE } from '../totp-helpers';
import { authenticatorApp } from './authenticator-app';
import { newestLink, useServerAndBrowser, watchPage } from './browser';

// The README's picture is rewritten only when asked (`UPDATE_SCREENSHOT=1 npx vitest run test/browser`): the page
// shows the day, so writing it on every run would leave every later checkout changed.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? resolve('docs/demo.png') : join(tmpdir(), 'login-service-demo.png');

const running = useServerAndBrowser();

const textbox = (page: Page, name: string) => page.getByRole('textbox', { name, exact: true });
const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
/** A form by its heading: where two forms have a box of the same name (Current password). */
const form = (page: Page, name: string) => page.getByRole('form', { name, exact: true });

/** Waits until the live region says `text`, then returns all it says. */
const statusSays = async (page: Page, text: string) => {
  const status = page.getByRole('status');
  try {
    await status.filter({ hasText: text }).waitFor({ timeout: 30_000 });
  } catch (error) {
    // What it said instead is what tells why.
    throw new Error(`the status never said "${text}"; it says: ${await status.innerText().catch(() => '(gone)')}`, { cause: error });
  }
  return status.innerText();
};

/**
 * The visible controls (text boxes, buttons, links) whose role and accessible name some other visible control of
 * the same form shares: a person, or a test finding controls by name, could not tell them apart. The same name in
 * two named forms is told apart by the form (Current password in Change password and in the second factors').
 */
const ambiguousControls = async (page: Page) => {
  const snapshot = await page.locator('body').ariaSnapshot();
  const controls: string[] = [];
  // The named forms around the current line, by their indentation.
  const forms: { indent: number; name: string }[] = [];
  for (const line of snapshot.split('\n')) {
    const indent = line.search(/\S/);
    while (forms.length > 0 && forms.at(-1)!.indent >= indent) forms.pop();
    const form = /^\s*- form "([^"]*)"/.exec(line)?.[1];
    if (form !== undefined) forms.push({ indent, name: form });
    const control = /^\s*- (textbox|button|link) "([^"]*)"/.exec(line);
    if (control !== null) {
      const where = forms.length > 0 ? ` in form "${forms.at(-1)!.name}"` : '';
      controls.push(`${control[1]} "${control[2]}"${where}`);
    }
  }
  // Every state of the page has a button: none found means the snapshot's format changed, not a clean page.
  if (!controls.some((control) => control.startsWith('button '))) throw new Error(`no control in the snapshot:\n${snapshot}`);
  return controls.filter((control, index) => controls.indexOf(control) !== index);
};

/**
 * The QR code the page drew, read back as a module matrix: each module's centre tested against the SVG's shapes
 * (whatever path syntax draws them), so it can be compared with the matrix of the text it should hold.
 */
const drawnQrModules = (page: Page, name: string) =>
  page.getByRole('img', { name, exact: true }).evaluate((svg) => {
    const shapes = [...svg.querySelectorAll<SVGGeometryElement>('path, rect')].filter((shape) => shape.getAttribute('fill') === '#000');
    const [, , width] = (svg.getAttribute('viewBox') ?? '').split(' ').map(Number);
    const rows: boolean[][] = [];
    for (let y = 0; y < (width ?? 0); y += 1) {
      const row: boolean[] = [];
      for (let x = 0; x < (width ?? 0); x += 1) {
        row.push(shapes.some((shape) => shape.isPointInFill(new DOMPoint(x + 0.5, y + 0.5))));
      }
      rows.push(row);
    }
    return rows;
  });

/** The modules of `text`'s QR code (error correction M), with the 4-module quiet zone around them. */
const qrModules = (text: string) => {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const count = code.getModuleCount();
  return Array.from({ length: count + 8 }, (_, y) =>
    Array.from({ length: count + 8 }, (_, x) => {
      const [row, col] = [y - 4, x - 4];
      return row >= 0 && row < count && col >= 0 && col < count && code.isDark(row, col);
    }),
  );
};

/** Chromium's virtual authenticator (DevTools protocol): a platform passkey with user verification, always present. */
const addVirtualAuthenticator = async (page: Page) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
};

const credentialsOf = async (cdp: CDPSession, authenticatorId: string) =>
  (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;

const focusedName = (page: Page) =>
  page.evaluate(() => {
    const active = document.activeElement;
    return active?.getAttribute('aria-label') ?? active?.closest('label')?.textContent?.trim() ?? active?.textContent?.trim();
  });

describe('demo page in Chromium', () => {
  it('takes a person from registration through login, /me, verify, refresh, password change, logouts and deletion', async () => {
    const page = await running.browser.context.newPage();
    const watch = await watchPage(page, running.server.url);

    // The page and its Content-Security-Policy header.
    const answer = await page.goto(`${running.server.url}/`);
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toBe(PAGES.demo.csp);
    expect(PAGES.demo.csp).toMatch(/default-src 'self'/);
    expect(PAGES.demo.csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(await statusSays(page, 'Not signed in')).toContain('Not signed in');
    // An icon of its own, or the browser asks for /favicon.ico (a 404, logged as a console error, after a while).
    const icon = await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href ?? '');
    expect(new URL(icon).origin).toBe(new URL(running.server.url).origin);
    expect((await fetch(icon)).status).toBe(200);

    // Register.
    await textbox(page, 'Name').fill('Ada Lovelace');
    await textbox(page, 'Username').fill('Ada');
    await textbox(page, 'Password').fill('analytical engine');
    await button(page, 'Register').click();
    expect(await statusSays(page, 'Registered ada')).toContain('log in');

    // The same name again: the error with its code and message.
    watch.expectStatus(409, 'POST', '/register');
    await button(page, 'Register').click();
    expect(await statusSays(page, 'username_taken')).toContain('this username is already taken');

    // A wrong password, then the right one.
    watch.expectStatus(401, 'POST', '/login');
    await textbox(page, 'Password').fill('wrong password');
    await button(page, 'Log in').click();
    expect(await statusSays(page, 'invalid_credentials')).toMatch(/HTTP 401/);

    await textbox(page, 'Password').fill('analytical engine');
    await button(page, 'Log in').click();
    const signedIn = await statusSays(page, 'Signed in as ada');
    expect(signedIn).not.toContain('invalid_credentials');

    // Who am I: the user from /me.
    const account = page.getByRole('region', { name: 'Your account' });
    await expect(account.getByText('Ada Lovelace', { exact: true }).isVisible()).resolves.toBe(true);
    await expect(account.getByText(/^\d{4}-\d\d-\d\d$/).isVisible()).resolves.toBe(true);
    expect(watch.requests.some((url) => new URL(url).pathname === '/me')).toBe(true);

    // Verify and refresh.
    await button(page, 'Verify').click();
    expect(await statusSays(page, 'Verified')).toContain('for ada');
    await button(page, 'Refresh').click();
    expect(await statusSays(page, 'Refreshed')).toContain('Signed in as ada');

    // Password change: a weak one is refused with its reasons, then a good one.
    watch.expectStatus(400, 'POST', '/me/password');
    await form(page, 'Change password').getByRole('textbox', { name: 'Current password', exact: true }).fill('analytical engine');
    await textbox(page, 'New password').fill('ada');
    await button(page, 'Change password').click();
    expect(await statusSays(page, 'weak_password')).toMatch(/reasons: .*too_short/);

    await textbox(page, 'New password').fill('difference engine');
    await button(page, 'Change password').click();
    expect(await statusSays(page, 'Password changed')).toContain('Signed in as ada');
    await page.screenshot({ path: (mkdirSync(dirname(SCREENSHOT), { recursive: true }), SCREENSHOT), fullPage: true });

    // Log out: back to the sign-in form, the keyboard focus on Username.
    await button(page, 'Log out').click();
    expect(await statusSays(page, 'Logged out')).toContain('Not signed in');
    expect(await focusedName(page)).toBe('Username');

    // Log in again by keyboard alone: type, Tab, type, Enter (Log in is the form's default button).
    await page.keyboard.type('ada');
    await page.keyboard.press('Tab');
    expect(await focusedName(page)).toBe('Password');
    await page.keyboard.type('difference engine');
    await page.keyboard.press('Enter');
    expect(await statusSays(page, 'Signed in as ada')).toContain('Logged in');
    // Focus moved to the account; Tab reaches Verify, Enter presses it.
    await page.keyboard.press('Tab');
    expect(await focusedName(page)).toBe('Verify');
    await page.keyboard.press('Enter');
    expect(await statusSays(page, 'Verified')).toContain('for ada');

    // Log out everywhere, then in once more.
    await button(page, 'Log out everywhere').click();
    expect(await statusSays(page, 'Logged out everywhere')).toContain('Not signed in');
    await textbox(page, 'Username').fill('ada');
    await textbox(page, 'Password').fill('difference engine');
    await button(page, 'Log in').click();
    await statusSays(page, 'Signed in as ada');

    // Delete the account (a wrong password first), by keyboard: the form's Password box, then Enter.
    watch.expectStatus(401, 'DELETE', '/me');
    await textbox(page, 'Password').fill('not my password');
    await textbox(page, 'Password').press('Enter');
    expect(await statusSays(page, 'invalid_credentials')).toContain('Signed in as ada');
    await textbox(page, 'Password').fill('difference engine');
    await textbox(page, 'Password').press('Enter');
    expect(await statusSays(page, 'Account deleted')).toContain('Not signed in');

    // The account is gone: its password no longer logs in.
    await textbox(page, 'Username').fill('ada');
    await textbox(page, 'Password').fill('difference engine');
    await button(page, 'Log in').click();
    expect(await statusSays(page, 'invalid_credentials')).toContain('Not signed in');

    expect(watch.problems).toEqual([]);
    expect(watch.requests.every((url) => new URL(url).origin === new URL(running.server.url).origin)).toBe(true);
    await page.close();
    // About 15 argon2id hashes and 40 requests: generous for a loaded 2-core machine; nothing here is timed.
  }, 120_000);

  it('registers with an email, follows the mailed links to verify it and to reset a forgotten password, then logs in by username and by email', async () => {
    const page = await running.browser.context.newPage();
    const watch = await watchPage(page, running.server.url);
    const home = `${running.server.url}/`;
    const account = page.getByRole('region', { name: 'Your account' });
    await page.goto(home);
    await statusSays(page, 'Not signed in');

    // Register with an address: the account keeps it unverified, and a link goes to it.
    await textbox(page, 'Name').fill('Grace Hopper');
    await textbox(page, 'Username').fill('Grace');
    await textbox(page, 'Password').fill('compiler pioneer');
    await textbox(page, 'Email').fill('grace@example.com');
    await button(page, 'Register').click();
    expect(await statusSays(page, 'Registered grace')).toContain('a verification link went to grace@example.com');

    // Until it is verified the address does not log in.
    watch.expectStatus(401, 'POST', '/login');
    await button(page, 'Log in with email').click();
    expect(await statusSays(page, 'invalid_credentials')).toContain('Not signed in');

    // The mailed link opens this page at /verify-email#token=...: it verifies at once, and the token leaves the URL.
    const verifyLink = await newestLink(running.outbox, 'grace@example.com', 'verify-email');
    expect(new URL(verifyLink).origin).toBe(new URL(home).origin);
    const linkPage = await page.goto(verifyLink);
    expect(linkPage?.headers()['content-security-policy']).toBe(PAGES.demo.csp);
    expect(await statusSays(page, 'Email verified')).toContain('grace@example.com is now the address of grace');
    expect(page.url()).toBe(home);

    // Forgot password: the form opens with the focus in its box; an address is looked up as one.
    await button(page, 'Forgot password').click();
    expect(await focusedName(page)).toBe('Username or email');
    expect(await ambiguousControls(page)).toEqual([]);
    await page.keyboard.type('grace@example.com');
    await page.keyboard.press('Enter');
    expect(await statusSays(page, 'Reset link requested')).toContain('a reset link is on its way');

    // The reset link: a form with New password in place of the sign-in form, the token gone from the URL.
    await page.goto(await newestLink(running.outbox, 'grace@example.com', 'reset-password'));
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    expect(page.url()).toBe(home);
    expect(await focusedName(page)).toBe('New password');
    expect(await textbox(page, 'Username').count()).toBe(0);
    expect(await ambiguousControls(page)).toEqual([]);
    watch.expectStatus(400, 'POST', '/password/reset');
    await textbox(page, 'New password').fill('grace');
    await button(page, 'Reset password').click();
    expect(await statusSays(page, 'weak_password')).toMatch(/reasons: .*too_short/);
    // The token stays usable after a weak password: the good one goes through, by keyboard.
    await textbox(page, 'New password').fill('nanoseconds of wire');
    await textbox(page, 'New password').press('Enter');
    expect(await statusSays(page, 'Password reset')).toContain('Not signed in');
    expect(await focusedName(page)).toBe('Username');

    // The old password no longer logs in; the new one does, by username.
    await textbox(page, 'Username').fill('grace');
    await textbox(page, 'Password').fill('compiler pioneer');
    await button(page, 'Log in').click();
    expect(await statusSays(page, 'invalid_credentials')).toContain('Not signed in');
    await textbox(page, 'Password').fill('nanoseconds of wire');
    await button(page, 'Log in').click();
    await statusSays(page, 'Signed in as grace');
    await account.getByText('grace@example.com (verified)', { exact: true }).waitFor();
    expect(await button(page, 'Resend verification').count()).toBe(0);
    expect(await ambiguousControls(page)).toEqual([]);

    // A change of address waits for its link (the verified one stays), and its link can be sent again.
    await textbox(page, 'New email').fill('grace@navy.example');
    await textbox(page, 'Password for the change').fill('nanoseconds of wire');
    await button(page, 'Change email').click();
    expect(await statusSays(page, 'Verification link sent to grace@navy.example')).toContain('Signed in as grace');
    await account.getByText('grace@navy.example', { exact: true }).waitFor();
    await expect(account.getByText('grace@example.com (verified)', { exact: true }).isVisible()).resolves.toBe(true);
    const firstChangeLink = await newestLink(running.outbox, 'grace@navy.example', 'verify-email');
    await button(page, 'Resend verification').click();
    expect(await statusSays(page, 'Verification link sent again')).toContain('Signed in as grace');
    const changeLink = await newestLink(running.outbox, 'grace@navy.example', 'verify-email');
    expect(changeLink).not.toBe(firstChangeLink);

    // The new address's link (opening it reloads the page, which logs out: the session lived in its memory).
    await page.goto(changeLink);
    expect(await statusSays(page, 'Email verified')).toContain('grace@navy.example is now the address of grace');

    // Log in by the new address: Enter in the Email box with Username left empty.
    await textbox(page, 'Email').fill('grace@navy.example');
    await textbox(page, 'Password').fill('nanoseconds of wire');
    await textbox(page, 'Email').press('Enter');
    expect(await statusSays(page, 'Signed in as grace')).toContain('Logged in as grace');
    await account.getByText('grace@navy.example (verified)', { exact: true }).waitFor();
    await button(page, 'Log out').click();
    await statusSays(page, 'Logged out');

    // And with the Log in with email button.
    await textbox(page, 'Email').fill('grace@navy.example');
    await textbox(page, 'Password').fill('nanoseconds of wire');
    await button(page, 'Log in with email').click();
    expect(await statusSays(page, 'Signed in as grace')).toContain('Logged in as grace');

    // A link whose token the service never made (or a used one): its error code in the status region.
    watch.expectStatus(400, 'POST', '/email/verify');
    await page.goto(`${running.server.url}/verify-email#token=not-a-token-of-this-service`);
    expect(await statusSays(page, 'invalid_verification_token')).toMatch(/HTTP 400/);
    expect(page.url()).toBe(home);
    await page.goto(changeLink);
    expect(await statusSays(page, 'invalid_verification_token')).toMatch(/HTTP 400/);

    expect(watch.problems).toEqual([]);
    expect(watch.requests.every((url) => new URL(url).origin === new URL(home).origin)).toBe(true);
    await page.close();
  }, 120_000);

  it('runs under a CSP that refuses inline script, and the watch sees the violation as a console error', async () => {
    const page = await running.browser.context.newPage();
    const watch = await watchPage(page, running.server.url);
    await page.goto(`${running.server.url}/`);
    await statusSays(page, 'Not signed in');

    // An injected inline script, as an XSS would add: refused by the page's policy.
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'document.body.dataset.injected = "ran"';
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return document.body.dataset.injected ?? 'refused';
    });

    expect(ran).toBe('refused');
    expect(watch.problems.join('\n')).toMatch(/console error: .*Content Security Policy/);
    await page.close();
  });
});

describe('demo page in Chromium: second factors and passkeys', () => {
  it('sets up an authenticator app from its QR code, logs in with a code and with a recovery code, then adds a passkey and signs in with it through the virtual authenticator', async () => {
    const page = await running.browser.context.newPage();
    const watch = await watchPage(page, running.server.url);
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
    // WebAuthn needs a host name: the page's origin is the one passkeys are made for.
    expect(new URL(running.server.url).hostname).toBe('localhost');
    /**
     * Runs `steps` (from signed in) as in a browser without passkey autofill: the virtual authenticator answers
     * an autofill request at once, as if the person picked the passkey, so while one is pending a test cannot
     * tell which ceremony signed in. Here the page starts none, and only the button's can.
     */
    const withoutAutofill = async (steps: () => Promise<unknown>) => {
      const set = (available: boolean) =>
        page.evaluate((on) => {
          const credential = PublicKeyCredential as { isConditionalMediationAvailable?: () => Promise<boolean> } & {
            browserOwn?: () => Promise<boolean>;
          };
          credential.browserOwn ??= credential.isConditionalMediationAvailable;
          credential.isConditionalMediationAvailable = on ? credential.browserOwn : () => Promise.resolve(false);
        }, available);
      await set(false);
      try {
        await steps();
      } finally {
        await set(true);
      }
    };
    const security = form(page, 'Two-step verification and passkeys');
    const account = page.getByRole('region', { name: 'Your account' });
    const logIn = async () => {
      await textbox(page, 'Username').fill('katherine');
      await textbox(page, 'Password').fill('orbital mechanics');
      await button(page, 'Log in').click();
    };
    const logOut = async () => {
      await button(page, 'Log out').click();
      await statusSays(page, 'Logged out');
    };
    await page.goto(`${running.server.url}/`);
    await statusSays(page, 'Not signed in');
    // The Username box offers passkeys in the browser's autofill.
    expect(await textbox(page, 'Username').getAttribute('autocomplete')).toBe('username webauthn');

    await textbox(page, 'Name').fill('Katherine Johnson');
    await textbox(page, 'Username').fill('Katherine');
    await textbox(page, 'Password').fill('orbital mechanics');
    await button(page, 'Register').click();
    await statusSays(page, 'Registered katherine');
    await logIn();
    await statusSays(page, 'Signed in as katherine');
    await account.getByText('off', { exact: true }).waitFor();

    // Set up the authenticator app: the password again, then the QR code and the setup key.
    watch.expectStatus(401, 'POST', '/me/mfa/totp');
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('not my password');
    await button(page, 'Set up authenticator app').click();
    expect(await statusSays(page, 'invalid_credentials')).toContain('Signed in as katherine');
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await button(page, 'Set up authenticator app').click();
    await statusSays(page, 'Authenticator app setup started');
    const secret = (await security.getByText(/^Setup key:/).innerText()).replace('Setup key:', '').trim();
    const otpauthUri = (await page.getByRole('link', { name: 'Open in an authenticator app on this device' }).getAttribute('href')) ?? '';
    expect(parseOtpauthUri(otpauthUri)).toMatchObject({ issuer: 'login-service', label: 'katherine', secret, digits: 6, period: 30 });
    // The QR code holds exactly that URI, drawn on the page (no image was fetched for it).
    expect(await drawnQrModules(page, 'QR code for your authenticator app')).toEqual(qrModules(otpauthUri));
    expect(await ambiguousControls(page)).toEqual([]);

    // Confirm with a code the app computes: the recovery codes are shown, once.
    const app = authenticatorApp(secret);
    watch.expectStatus(400, 'POST', '/me/mfa/totp/confirm');
    await textbox(page, 'Authentication code').fill(app.wrong());
    await button(page, 'Confirm').click();
    expect(await statusSays(page, 'invalid_mfa_code')).toMatch(/HTTP 400/);
    // By keyboard: Enter in the code box confirms.
    await textbox(page, 'Authentication code').fill(await app.code());
    await textbox(page, 'Authentication code').press('Enter');
    await statusSays(page, 'Two-step verification is on');
    expect(await focusedName(page)).toBe('Your recovery codes');
    const codesRegion = page.getByRole('region', { name: 'Your recovery codes' });
    const recoveryCodes = await codesRegion.getByRole('listitem').allInnerTexts();
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    await account.getByText('on: authenticator app, 10 recovery codes left', { exact: true }).waitFor();
    expect(await page.getByRole('img', { name: 'QR code for your authenticator app' }).count()).toBe(0);
    expect(await button(page, 'Set up authenticator app').count()).toBe(0);
    expect(await ambiguousControls(page)).toEqual([]);

    // Log out and in: the password is not enough, the step-up asks for a code (a wrong one first).
    await logOut();
    expect(await codesRegion.count()).toBe(0);
    watch.expectStatus(403, 'POST', '/login');
    await logIn();
    expect(await statusSays(page, 'Password accepted')).toContain('Not signed in');
    expect(await focusedName(page)).toBe('Authentication code');
    expect(await textbox(page, 'Password').count()).toBe(0);
    expect(await ambiguousControls(page)).toEqual([]);
    watch.expectStatus(401, 'POST', '/login/mfa');
    await textbox(page, 'Authentication code').fill(app.wrong());
    await button(page, 'Verify code').click();
    expect(await statusSays(page, 'invalid_mfa_code')).toContain('Not signed in');
    // The step-up token survives a wrong code.
    await textbox(page, 'Authentication code').fill(await app.code());
    await button(page, 'Verify code').click();
    expect(await statusSays(page, 'Signed in as katherine')).toContain('with two-step verification');
    // Shown once: the codes are not on the page again.
    expect(await codesRegion.count()).toBe(0);

    // Again with a recovery code, which then counts as used.
    await logOut();
    await logIn();
    await statusSays(page, 'Password accepted');
    await button(page, 'Use a recovery code').click();
    expect(await focusedName(page)).toBe('Recovery code');
    await textbox(page, 'Recovery code').fill(recoveryCodes[0]!);
    await button(page, 'Verify code').click();
    await statusSays(page, 'Signed in as katherine');
    await account.getByText('on: authenticator app, 9 recovery codes left', { exact: true }).waitFor();

    // Add a passkey: with the app on it needs a second factor too (here a recovery code).
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await security.getByRole('button', { name: 'Use a recovery code', exact: true }).click();
    await security.getByRole('textbox', { name: 'Recovery code', exact: true }).fill(recoveryCodes[1]!);
    await textbox(page, 'Passkey name').fill('Work laptop');
    await button(page, 'Add a passkey').click();
    expect(await statusSays(page, 'Passkey added: Work laptop')).toContain('Signed in as katherine');
    const [credential, ...others] = await credentialsOf(cdp, authenticatorId);
    expect(others).toEqual([]);
    expect(credential).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    const today = new Date().toISOString().slice(0, 10);
    await account.getByText(`Work laptop, added ${today}, not used yet`).waitFor();
    await account.getByText('8 recovery codes left', { exact: false }).waitFor();

    // Sign in with it, no password, no code: from the Username box's autofill (conditional mediation), which the
    // virtual authenticator answers at once, as a person picking the passkey there (so soon that "Logged out"
    // may never be seen).
    await button(page, 'Log out').click();
    expect(await statusSays(page, "with a passkey from the browser's autofill")).toContain('Signed in as katherine');
    await account.getByText(`Work laptop, added ${today}, last used ${today}`).waitFor();

    // And by the button.
    await withoutAutofill(async () => {
      await logOut();
      await button(page, 'Sign in with a passkey').click();
      expect(await statusSays(page, 'Signed in as katherine')).toContain('with a passkey on this device');
    });
    await account.getByText(`Work laptop, added ${today}, last used ${today}`).waitFor();
    expect((await credentialsOf(cdp, authenticatorId))[0]?.signCount).toBeGreaterThan(credential!.signCount);

    // The step-up offers the passkey too, now that the account has one (the autofill waits meanwhile).
    await withoutAutofill(async () => {
      await logOut();
      await logIn();
      await statusSays(page, 'Password accepted');
      expect(await ambiguousControls(page)).toEqual([]);
      await button(page, 'Sign in with a passkey').click();
      expect(await statusSays(page, 'Signed in as katherine')).toContain('with a passkey on this device');
    });

    // New recovery codes (they sign in, so the password and a code from the app), then turn the app off with one.
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await security.getByRole('textbox', { name: 'Authentication code', exact: true }).fill(await app.code());
    await button(page, 'New recovery codes').click();
    await statusSays(page, 'New recovery codes');
    expect(await focusedName(page)).toBe('Your recovery codes');
    const newCodes = await codesRegion.getByRole('listitem').allInnerTexts();
    expect(newCodes).toHaveLength(10);
    expect(newCodes.filter((code) => recoveryCodes.includes(code))).toEqual([]);
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await security.getByRole('button', { name: 'Use a recovery code', exact: true }).click();
    await security.getByRole('textbox', { name: 'Recovery code', exact: true }).fill(newCodes[0]!);
    await button(page, 'Turn off authenticator app').click();
    await statusSays(page, 'Two-step verification is off');
    await account.getByText('off', { exact: true }).waitFor();
    expect(await codesRegion.count()).toBe(0);

    // The device already holds a passkey of this account: it refuses a second one (the options exclude it).
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await button(page, 'Add a passkey').click();
    expect(await statusSays(page, 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED')).toContain('(InvalidStateError)');
    expect(await credentialsOf(cdp, authenticatorId)).toHaveLength(1);
    expect(await account.getByRole('listitem').filter({ hasText: 'Work laptop' }).count()).toBe(1);

    // Remove the passkey (the password again): it no longer signs in.
    await security.getByRole('textbox', { name: 'Current password', exact: true }).fill('orbital mechanics');
    await button(page, `Remove Work laptop, added ${today}`).click();
    await statusSays(page, 'Passkey removed');
    expect(await account.getByText('Work laptop').count()).toBe(0);
    // The device still holds it, and offers it: the service refuses it.
    watch.expectStatus(401, 'POST', '/login/passkey');
    await withoutAutofill(async () => {
      await logOut();
      await button(page, 'Sign in with a passkey').click();
      expect(await statusSays(page, 'invalid_passkey')).toContain('Not signed in');

      // And the password alone logs in again.
      await logIn();
      expect(await statusSays(page, 'Signed in as katherine')).toContain('Logged in as katherine');
    });

    expect(watch.problems).toEqual([]);
    expect(watch.requests.every((url) => new URL(url).origin === new URL(running.server.url).origin)).toBe(true);
    await page.close();
  }, 120_000);
});
