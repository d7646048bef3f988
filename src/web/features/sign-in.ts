// Register and log in: one form, two submit buttons (Log in first, so Enter in a field logs in).
import { element, field, type Demo } from '../page';

export const mountSignIn = (demo: Demo) => {
  const form = element<HTMLFormElement>('sign-in-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = event.submitter as HTMLButtonElement | null;
    const username = field(form, 'username').value;
    const password = field(form, 'password').value;
    if (submitter?.value === 'register') {
      void demo.run(async () => {
        const registered = await demo.client.register({ name: field(form, 'name').value, username, password });
        return `Registered ${registered.username}: log in with the same password`;
      });
      return;
    }
    void demo.run(async () => {
      const pair = await demo.client.login({ username, password });
      // The password leaves the page's memory with the form; the tokens stay only in the client's memory.
      form.reset();
      await demo.showSignedIn();
      return `Logged in as ${pair.user.username}; the access token is valid for ${pair.expiresIn} s`;
    });
  });
};
