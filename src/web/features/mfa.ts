// Two-step verification on the account: set up an authenticator app (its otpauth URI as a QR code and its setup
// key as text, then a code to confirm), new recovery codes, turning it off. Recovery codes are shown once, as they
// arrive, and leave the page at the next change or sign-out.
import { element, field, type Demo, type Me } from '../page';
import { qrSvg } from '../qr';
import { factorInput, type FactorInput } from './second-factor';

/** The security form's shared parts, for the passkeys feature too. */
export type SecurityForm = {
  form: HTMLFormElement;
  factor: FactorInput;
  password(): string;
  /** The account has TOTP on, so its changes need a code. */
  totpOn(): boolean;
};

export const mountMfa = (demo: Demo): SecurityForm => {
  const form = element<HTMLFormElement>('security-form');
  const factor = factorInput(form, 'security');
  const enrolment = element('totp-enrolment');
  const qr = element('totp-qr');
  const secretText = element('totp-secret');
  const link = element<HTMLAnchorElement>('totp-link');
  const startButton = element<HTMLButtonElement>('totp-start');
  const confirmButton = element<HTMLButtonElement>('totp-confirm');
  const replaceButton = element<HTMLButtonElement>('recovery-replace');
  const disableButton = element<HTMLButtonElement>('totp-disable');
  const codesSection = element('recovery-codes');
  const codesList = element('recovery-list');
  let totp = false;
  let pending = false;

  const render = () => {
    enrolment.hidden = !pending;
    startButton.hidden = totp || pending;
    confirmButton.hidden = !pending;
    replaceButton.hidden = disableButton.hidden = !totp;
    // A code is asked for to confirm the app (from the app only) and for every change once it is on.
    factor.show(totp || pending, { allowRecovery: totp });
  };

  const showCodes = (codes: readonly string[] | undefined) => {
    codesList.replaceChildren(
      ...(codes ?? []).map((code) => {
        const item = document.createElement('li');
        item.textContent = code;
        return item;
      }),
    );
    codesSection.hidden = codes === undefined;
  };

  const endEnrolment = () => {
    pending = false;
    qr.replaceChildren();
    secretText.textContent = '';
    link.removeAttribute('href');
  };

  const password = () => field(form, 'password').value;
  /** Runs a change: the last recovery codes leave the page first; the boxes are emptied once it worked. */
  const change = (action: () => Promise<string>) =>
    demo.run(async () => {
      showCodes(undefined);
      const result = await action();
      field(form, 'password').value = '';
      factor.reset();
      return result;
    });

  startButton.addEventListener('click', () =>
    change(async () => {
      const { secret, otpauthUri } = await demo.client.startTotp({ password: password() });
      pending = true;
      qr.replaceChildren(qrSvg(otpauthUri, 'QR code for your authenticator app'));
      secretText.textContent = secret;
      link.href = otpauthUri;
      render();
      factor.focus();
      return 'Authenticator app setup started: scan the QR code (or type the setup key), then confirm with a code';
    }),
  );

  confirmButton.addEventListener('click', () =>
    change(async () => {
      const { recoveryCodes } = await demo.client.confirmTotp({ code: factor.read().code ?? '' });
      endEnrolment();
      await demo.showSignedIn();
      showCodes(recoveryCodes);
      element('recovery-heading').focus();
      return 'Two-step verification is on: keep the recovery codes below, they are shown only now';
    }),
  );

  replaceButton.addEventListener('click', () =>
    change(async () => {
      // The password and a code (or one of the old recovery codes, by the toggle): new codes sign in, so the
      // password alone does not get them.
      const { recoveryCodes } = await demo.client.replaceRecoveryCodes({ password: password(), ...factor.read() });
      await demo.showSignedIn();
      showCodes(recoveryCodes);
      element('recovery-heading').focus();
      return 'New recovery codes: the old ones no longer work; keep these, they are shown only now';
    }),
  );

  disableButton.addEventListener('click', () =>
    change(async () => {
      await demo.client.disableTotp({ password: password(), ...factor.read() });
      await demo.showSignedIn();
      return 'Two-step verification is off: the password alone logs in, and the recovery codes no longer work';
    }),
  );

  // Many buttons and no default one: Enter submits nothing, except the code box's Enter while confirming a setup.
  form.addEventListener('submit', (event) => event.preventDefault());
  field(form, 'code').addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || !pending) return;
    event.preventDefault();
    confirmButton.click();
  });

  demo.onSignedIn((me: Me) => {
    totp = me.mfa.totp;
    // A started setup stays on the page until it is confirmed (or TOTP turned on elsewhere).
    if (totp) endEnrolment();
    render();
  });
  demo.onSignedOut(() => {
    totp = false;
    endEnrolment();
    showCodes(undefined);
    factor.reset();
    render();
  });

  return { form, factor, password, totpOn: () => totp };
};
