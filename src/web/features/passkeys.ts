// Passkeys: sign in with one (a button, and the browser's autofill on the Username box through conditional
// mediation), and on the account add, list and remove them. The ceremonies are @simplewebauthn/browser's; the
// options come from the service and its answers go back to it as they are.
import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
  type AuthenticationResponseJSON,
} from '@simplewebauthn/browser';
import { LoginServiceError } from '../../client/index';
import { element, field, type Demo } from '../page';
import type { SecurityForm } from './mfa';

const day = (iso: string) => iso.slice(0, 10);

export const mountPasskeys = (demo: Demo, security: SecurityForm) => {
  const signInActions = element('passkey-sign-in-actions');
  const stepUpButton = element<HTMLButtonElement>('step-up-passkey');
  const section = element('passkeys');
  const list = element('passkey-list');
  const addButton = element<HTMLButtonElement>('passkey-add');
  let signedIn = false;

  /** No WebAuthn in this browser, or no passkeys at this service (their routes answer 404): no passkey controls. */
  const unavailable = () => {
    signInActions.hidden = true;
    stepUpButton.hidden = true;
    stepUpButton.dataset.unavailable = 'true';
    section.hidden = true;
  };
  const isNotConfigured = (error: unknown) => error instanceof LoginServiceError && error.code === 'not_found';

  const logIn = async (response: AuthenticationResponseJSON, how: string) => {
    const pair = await demo.client.loginWithPasskey({ response });
    await demo.showSignedIn();
    return `Logged in as ${pair.user.username} with a passkey ${how}; the access token is valid for ${pair.expiresIn} s`;
  };

  /**
   * Offers the passkeys in the Username box's autofill: a pending request the browser answers when one is
   * picked. Each request has its own options (their challenge works once), so a new one starts at each sign-out
   * and after a ceremony the person cancelled. Not after a passkey the service refused (one removed from the
   * account, say): the browser would offer it again at once, and a device that answers by itself (a test's
   * virtual authenticator) would go round forever. A reload offers them again.
   */
  const startAutofill = async () => {
    if (signedIn || !(await browserSupportsWebAuthnAutofill())) return;
    let response: AuthenticationResponseJSON;
    try {
      response = await startAuthentication({ optionsJSON: await demo.client.passkeyLoginOptions(), useBrowserAutofill: true });
    } catch (error) {
      if (isNotConfigured(error)) unavailable();
      // Aborted by a newer ceremony or a sign-in; anything else is the browser declining autofill: the button
      // still works, so it is not shown as an error.
      return;
    }
    await demo.run(() => logIn(response, "from the browser's autofill"));
  };

  const signInWithPasskey = () =>
    demo.run(async () => {
      // The pending autofill request ends at once (startAuthentication would end it too, but only once the
      // options are here): the passkey the person picks now is this ceremony's.
      WebAuthnAbortService.cancelCeremony();
      const options = await demo.client.passkeyLoginOptions();
      let response: AuthenticationResponseJSON;
      try {
        response = await startAuthentication({ optionsJSON: options });
      } catch (error) {
        // Cancelled, or no passkey of this site on the device: the autofill may still offer one.
        void startAutofill();
        throw error;
      }
      return logIn(response, 'on this device');
    });
  element<HTMLButtonElement>('passkey-sign-in').addEventListener('click', signInWithPasskey);
  stepUpButton.addEventListener('click', signInWithPasskey);

  const removeButton = (id: string, label: string) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'danger';
    button.textContent = 'Remove';
    // Each passkey's own name: several "Remove" buttons would be indistinguishable to a screen reader.
    button.setAttribute('aria-label', `Remove ${label}`);
    button.addEventListener('click', () =>
      demo.run(async () => {
        await demo.client.removePasskey({ id, password: security.password() });
        field(security.form, 'password').value = '';
        await demo.showSignedIn();
        return `Passkey removed: ${label}`;
      }),
    );
    return button;
  };

  const showList = async () => {
    let passkeys;
    try {
      ({ passkeys } = await demo.client.listPasskeys());
    } catch (error) {
      if (!isNotConfigured(error)) throw error;
      unavailable();
      return;
    }
    list.replaceChildren(
      ...passkeys.map((passkey) => {
        const item = document.createElement('li');
        const used = passkey.lastUsedAt === null ? 'not used yet' : `last used ${day(passkey.lastUsedAt)}`;
        const label = `${passkey.name}, added ${day(passkey.createdAt)}`;
        item.append(`${label}, ${used}${passkey.backedUp ? ', synced' : ''} `, removeButton(passkey.id, label));
        return item;
      }),
    );
  };

  addButton.addEventListener('click', () =>
    demo.run(async () => {
      const proof = { password: security.password(), ...(security.totpOn() ? security.factor.read() : {}) };
      const options = await demo.client.passkeyRegistrationOptions(proof);
      const response = await startRegistration({ optionsJSON: options });
      const name = field(security.form, 'passkeyName').value.trim();
      const added = await demo.client.addPasskey({ response, ...(name === '' ? {} : { name }) });
      field(security.form, 'password').value = '';
      field(security.form, 'passkeyName').value = '';
      security.factor.reset();
      await demo.showSignedIn();
      return `Passkey added: ${added.name}; it signs in without the password`;
    }),
  );

  demo.onSignedIn(async () => {
    signedIn = true;
    // The pending autofill request would otherwise stay open behind the account.
    WebAuthnAbortService.cancelCeremony();
    if (!section.hidden) await showList();
  });
  demo.onSignedOut(() => {
    signedIn = false;
    list.replaceChildren();
    void startAutofill();
  });

  if (!browserSupportsWebAuthn()) unavailable();
  else void startAutofill();
};
