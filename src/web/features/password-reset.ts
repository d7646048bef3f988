// Forgot password (a reset link by mail) and the links the mails hold: the page opened at /verify-email#token=...
// verifies at once, at /reset-password#token=... it asks for the new password. The token is read from the URL's
// fragment (never sent to a server by the browser) and then removed from the address bar and the history.
import { element, field, type Demo } from '../page';

type Link = { page: 'verify-email' | 'reset-password'; token: string | null };

/** The mailed link this page was opened by, if any (its last path segment names it). */
const linkOpened = (): Link | undefined => {
  const page = location.pathname.split('/').at(-1);
  if (page !== 'verify-email' && page !== 'reset-password') return undefined;
  return { page, token: new URLSearchParams(location.hash.slice(1)).get('token') };
};

// Good enough to tell the two apart; the service decides what an address is. A username may hold an @ too, so
// one shaped like an address is looked up as an email address (the page's hint says so).
const looksLikeAddress = (text: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text);

export const mountPasswordReset = (demo: Demo) => {
  const forgotButton = element<HTMLButtonElement>('forgot');
  const forgotForm = element<HTMLFormElement>('forgot-form');
  forgotButton.addEventListener('click', () => {
    forgotForm.hidden = !forgotForm.hidden;
    forgotButton.setAttribute('aria-expanded', String(!forgotForm.hidden));
    if (!forgotForm.hidden) field(forgotForm, 'account').focus();
  });
  forgotForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void demo.run(async () => {
      const account = field(forgotForm, 'account').value.trim();
      const { message } = await demo.client.forgotPassword(
        looksLikeAddress(account) ? { email: account } : { username: account },
      );
      return `Reset link requested: ${message}`;
    });
  });

  const link = linkOpened();
  if (link === undefined) return;
  // Off the address bar at once, so the token is not left in the history or a bookmark; a reload shows the
  // page's own start (its folder: behind an API stage that is /stage/).
  history.replaceState(null, '', new URL('.', document.baseURI).href);
  const { token } = link;
  if (token === null || token === '') {
    void demo.run(() => Promise.reject(new Error(`this ${link.page} link has no token: open the link from the mail whole`)));
    return;
  }

  if (link.page === 'verify-email') {
    void demo.run(async () => {
      const verified = await demo.client.verifyEmail({ token });
      return `Email verified: ${verified.email} is now the address of ${verified.username}`;
    });
    return;
  }

  // The reset form stands in for the sign-in form until it is done.
  const signedOut = element('signed-out');
  const reset = element('reset');
  const resetForm = element<HTMLFormElement>('reset-form');
  signedOut.hidden = true;
  reset.hidden = false;
  field(resetForm, 'newPassword').focus();
  resetForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void demo.run(async () => {
      await demo.client.resetPassword({ token, newPassword: field(resetForm, 'newPassword').value });
      resetForm.reset();
      reset.hidden = true;
      demo.showSignedOut();
      return 'Password reset: every session of the account has ended; log in with the new password';
    });
  });
};
