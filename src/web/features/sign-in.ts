// Register and log in: one form, three submit buttons (Log in first, so Enter in a field logs in), by username
// or by a verified email address. An account with two-step verification goes on to the step-up form.
import { MfaRequiredError } from '../../client/index';
import { element, field, type Demo } from '../page';
import type { StepUp } from './step-up';

export const mountSignIn = (demo: Demo, stepUp: StepUp) => {
  const form = element<HTMLFormElement>('sign-in-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = event.submitter as HTMLButtonElement | null;
    const username = field(form, 'username').value;
    const email = field(form, 'email').value.trim();
    const password = field(form, 'password').value;
    if (submitter?.value === 'register') {
      void demo.run(async () => {
        const registered = await demo.client.register({
          name: field(form, 'name').value,
          username,
          password,
          ...(email === '' ? {} : { email }),
        });
        const mailed = email === '' ? '' : `; a verification link went to ${email}`;
        return `Registered ${registered.username}: log in with the same password${mailed}`;
      });
      return;
    }
    // Log in with email, or Enter with Username left empty and an address typed: the address logs in.
    const byEmail = submitter?.value === 'log-in-email' || (username === '' && email !== '');
    void demo.run(async () => {
      let pair;
      try {
        pair = await demo.client.login(byEmail ? { email, password } : { username, password });
      } catch (error) {
        if (!(error instanceof MfaRequiredError)) throw error;
        // The password was right: it is not needed again, the step-up token stands for it now.
        form.reset();
        stepUp.begin(error);
        return 'Password accepted: two-step verification is on for this account, enter a code to finish';
      }
      // The password leaves the page's memory with the form; the tokens stay only in the client's memory.
      form.reset();
      await demo.showSignedIn();
      return `Logged in as ${pair.user.username}; the access token is valid for ${pair.expiresIn} s`;
    });
  });
};
