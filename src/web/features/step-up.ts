// A login's second step: once the password was right for an account with two-step verification (403
// mfa_required), the sign-in form gives way to this one, which sends the step-up token with a code or a
// recovery code (or offers the account's passkey instead, when it has one).
import type { MfaRequiredError } from '../../client/index';
import { element, type Demo } from '../page';
import { factorInput } from './second-factor';

export type StepUp = {
  /** Shows the second step for the refused login. */
  begin(required: MfaRequiredError): void;
};

export const mountStepUp = (demo: Demo): StepUp => {
  const signInForm = element<HTMLFormElement>('sign-in-form');
  const form = element<HTMLFormElement>('step-up-form');
  const passkeyButton = element<HTMLButtonElement>('step-up-passkey');
  const factor = factorInput(form, 'step-up');
  // Only in memory, and only until this step ends: it finishes one login within a few minutes.
  let mfaToken: string | undefined;

  const end = () => {
    mfaToken = undefined;
    factor.reset();
    form.hidden = true;
    signInForm.hidden = false;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = mfaToken;
    if (token === undefined) return;
    void demo.run(async () => {
      const pair = await demo.client.loginMfa({ mfaToken: token, ...factor.read() });
      end();
      await demo.showSignedIn();
      return `Logged in as ${pair.user.username} with two-step verification; the access token is valid for ${pair.expiresIn} s`;
    });
  });
  element<HTMLButtonElement>('step-up-cancel').addEventListener('click', () => {
    end();
    demo.showSignedOut();
  });
  demo.onSignedOut(end);

  return {
    begin(required) {
      mfaToken = required.mfaToken;
      factor.reset();
      // A passkey stands for the whole login; the passkeys feature wires this button (and hides it without WebAuthn).
      passkeyButton.hidden = !required.methods.includes('passkey') || passkeyButton.dataset.unavailable === 'true';
      signInForm.hidden = true;
      form.hidden = false;
      factor.focus();
    },
  };
};
