// An authenticator app on the real clock, for the tests that drive a real server (the browser test and the
// client's): the codes come from the independent otpauth package (test/totp-helpers.ts), not from our own TOTP.
import { totpCode, wrongCode } from '../totp-helpers';

const STEP_MS = 30_000;

/**
 * The app for one secret. Each code is of a later time step than the last one it gave, since the server takes a
 * step once (and no earlier one after it); it also takes one step either side of its own, so two codes come at
 * once and a third waits for the clock to reach the step before its own (up to 30 s).
 */
export const authenticatorApp = (secret: string) => {
  let lastStep = Number.NEGATIVE_INFINITY;
  return {
    code: async (): Promise<string> => {
      const current = Math.floor(Date.now() / STEP_MS);
      const step = Math.max(lastStep + 1, current);
      const wait = (step - 1) * STEP_MS - Date.now() + 100;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastStep = step;
      return totpCode(secret, step * STEP_MS);
    },
    /** None of the codes the server would take now. */
    wrong: (): string => wrongCode(secret, Date.now()),
  };
};
