// One code box, and the recovery-code box it can be swapped for: the step-up and the account's own changes ask for
// a second factor the same way.
import type { SecondFactor } from '../../client/index';
import { element, field } from '../page';

export type FactorInput = {
  /** What the person typed: a code, or a recovery code after "Use a recovery code". */
  read(): SecondFactor;
  /** Back to the code box, both emptied. */
  reset(): void;
  /** Shows or hides the boxes and the toggle (hidden, nothing is asked for). */
  show(visible: boolean, options?: { allowRecovery?: boolean }): void;
  /** The box in use, for the focus. */
  focus(): void;
};

/**
 * `prefix`-code and `prefix`-recovery are the two labels of `form` (inputs named code and recoveryCode), and
 * `prefix`-toggle the button that swaps them.
 */
export const factorInput = (form: HTMLFormElement, prefix: string): FactorInput => {
  const codeLabel = element(`${prefix}-code`);
  const recoveryLabel = element(`${prefix}-recovery`);
  const toggle = element<HTMLButtonElement>(`${prefix}-toggle`);
  const code = field(form, 'code');
  const recoveryCode = field(form, 'recoveryCode');
  let recovery = false;

  const render = () => {
    codeLabel.hidden = recovery;
    recoveryLabel.hidden = !recovery;
    toggle.textContent = recovery ? 'Use the authenticator app' : 'Use a recovery code';
  };
  toggle.addEventListener('click', () => {
    recovery = !recovery;
    render();
    (recovery ? recoveryCode : code).focus();
  });

  return {
    // Spaces are what people type between groups of digits; the service reads recovery codes in any form.
    read: () => (recovery ? { recoveryCode: recoveryCode.value.trim() } : { code: code.value.replace(/\s+/g, '') }),
    reset() {
      recovery = false;
      code.value = '';
      recoveryCode.value = '';
      render();
    },
    show(visible, { allowRecovery = true } = {}) {
      if (!allowRecovery) recovery = false;
      render();
      if (!visible) codeLabel.hidden = recoveryLabel.hidden = true;
      toggle.hidden = !visible || !allowRecovery;
    },
    focus: () => (recovery ? recoveryCode : code).focus(),
  };
};
