// The demo page's shared parts: its elements, the status region, and how an action runs and reports.
import { WebAuthnError } from '@simplewebauthn/browser';
import { LoginServiceError, type LoginClient } from '../client/index';

export type Me = Awaited<ReturnType<LoginClient['me']>>['user'];

/** An element the page's HTML must have; a missing one is a bug in index.html, said at start-up. */
export const element = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found as T;
};

/** One field of a form, by its name. */
export const field = (form: HTMLFormElement, name: string): HTMLInputElement => {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) throw new Error(`#${form.id} has no input named ${name}`);
  return input;
};

const setLine = (line: HTMLElement, text: string | undefined) => {
  line.textContent = text ?? '';
  line.hidden = text === undefined;
};

/** The error as a person reads it: code, status and message, and the field or broken rules when there are some. */
export const describeError = (error: unknown): string => {
  if (error instanceof LoginServiceError) {
    const details = [
      error.field === undefined ? undefined : `field: ${error.field}`,
      error.reasons === undefined ? undefined : `reasons: ${error.reasons.join(', ')}`,
      error.retryAfterSeconds === undefined ? undefined : `retry after ${error.retryAfterSeconds} s`,
    ].filter((detail) => detail !== undefined);
    const status = error.status === 0 ? 'no answer' : `HTTP ${error.status}`;
    return `Error ${error.code} (${status}): ${error.message}${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
  }
  // The browser's WebAuthn refusals (the person cancelled, no passkey fits, the device has one already): the
  // library's reading of them when it has one, else the browser's own.
  if (error instanceof WebAuthnError) return `Error ${error.code} (${error.name}): ${error.message}`;
  if (error instanceof DOMException) return `Error passkey_ceremony (${error.name}): ${error.message}`;
  // Not the service's answer: a bug of this page, shown rather than swallowed.
  return `Error page_error: ${error instanceof Error ? error.message : String(error)}`;
};

export type Demo = {
  client: LoginClient;
  /**
   * Runs one action of a person: ignored while another runs (buttons stay enabled, so keyboard focus is never
   * lost), its result or its error shown in the status region. `action` resolves to the result's sentence.
   */
  run(action: () => Promise<string>): Promise<void>;
  /** After a login or a password change: reads /me and shows the account. */
  showSignedIn(): Promise<void>;
  /** After the session ended (logout, deletion, or an answer saying it is gone). */
  showSignedOut(): void;
  /** Called with the account each time showSignedIn shows it (showSignedIn waits for them). */
  onSignedIn(listener: (me: Me) => Promise<void> | void): void;
  /** Called each time the page goes back to signed out. */
  onSignedOut(listener: () => void): void;
};

export const createDemo = (client: LoginClient): Demo => {
  const signedOut = element('signed-out');
  const signedIn = element('signed-in');
  const userLine = element('status-user');
  const resultLine = element('status-result');
  const errorLine = element('status-error');
  let busy = false;
  const signedInListeners: ((me: Me) => Promise<void> | void)[] = [];
  const signedOutListeners: (() => void)[] = [];

  const showUser = (me: Me) => {
    element('me-username').textContent = me.username;
    element('me-name').textContent = me.name;
    // The day is enough for a person (the full time is in the API's answer).
    element('me-created').textContent = me.createdAt?.slice(0, 10) ?? 'before this service (a tutorial-era account)';
    element('me-email').textContent =
      me.email === null ? 'none' : `${me.email} (${me.emailVerified ? 'verified' : 'not verified'})`;
    element('me-pending-email').textContent = me.pendingEmail ?? 'none';
    const left = me.mfa.recoveryCodesLeft;
    element('me-mfa').textContent = me.mfa.totp
      ? `on: authenticator app, ${left} recovery ${left === 1 ? 'code' : 'codes'} left`
      : 'off';
    element('me-passkeys').textContent = String(me.mfa.passkeys);
    // Something awaits a link: the unverified address, or the new one of a change.
    element('resend-actions').hidden = !((me.email !== null && !me.emailVerified) || me.pendingEmail !== null);
    userLine.textContent = `Signed in as ${me.username}`;
    for (const form of signedIn.querySelectorAll('form')) field(form, 'username').value = me.username;
  };

  const demo: Demo = {
    client,
    async run(action) {
      if (busy) return;
      busy = true;
      document.body.setAttribute('aria-busy', 'true');
      try {
        const result = await action();
        setLine(resultLine, result);
        setLine(errorLine, undefined);
      } catch (error) {
        setLine(resultLine, undefined);
        setLine(errorLine, describeError(error));
        // An answer that ended the session (it was logged out elsewhere, the account is gone): say so.
        if (client.session === null && !signedIn.hidden) demo.showSignedOut();
      } finally {
        busy = false;
        document.body.removeAttribute('aria-busy');
      }
    },
    async showSignedIn() {
      const { user } = await client.me();
      // The features first (the passkey list is one more request): the status line says "Signed in" only once
      // the whole account is on the page.
      for (const listener of signedInListeners) await listener(user);
      showUser(user);
      const wasSignedOut = signedIn.hidden;
      signedOut.hidden = true;
      signedIn.hidden = false;
      // The form that had focus is now hidden: keyboard users continue at the account's heading.
      if (wasSignedOut) element('account-heading').focus();
    },
    showSignedOut() {
      userLine.textContent = 'Not signed in';
      signedIn.hidden = true;
      signedOut.hidden = false;
      for (const form of signedIn.querySelectorAll('form')) form.reset();
      for (const listener of signedOutListeners) listener();
      field(element<HTMLFormElement>('sign-in-form'), 'username').focus();
    },
    onSignedIn: (listener) => void signedInListeners.push(listener),
    onSignedOut: (listener) => void signedOutListeners.push(listener),
  };
  return demo;
};
