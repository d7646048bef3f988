// The account's email address: change it (with the password), and resend the link of one awaiting verification.
import { element, field, type Demo } from '../page';

export const mountEmail = (demo: Demo) => {
  const form = element<HTMLFormElement>('email-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void demo.run(async () => {
      const email = field(form, 'email').value.trim();
      await demo.client.changeEmail({ email, password: field(form, 'password').value });
      form.reset();
      await demo.showSignedIn();
      return `Verification link sent to ${email}: the address changes once it is opened`;
    });
  });

  element<HTMLButtonElement>('resend').addEventListener('click', () =>
    demo.run(async () => {
      const { message } = await demo.client.resendVerification();
      await demo.showSignedIn();
      return `Verification link sent again (earlier links no longer work): ${message}`;
    }),
  );
};
