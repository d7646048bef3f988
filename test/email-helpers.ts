// Small steps the email and reset tests share: register with an address, verify by the mailed link, log in, read a JWT.
import type { LoginAnswer, TestApp } from './app-harness';

export const PASSWORD = 'correct horse battery';
export const NEW_PASSWORD = 'quiet meadow lantern 42';
export const FORGOT_MESSAGE = 'if that account has a verified email address, a reset link is on its way';

/** Registers `username` with `email` (201 expected by the caller's assertions). */
export const registerWithEmail = (t: TestApp, username: string, email: string, password = PASSWORD) =>
  t.post('/register', { name: 'Mail User', username, password, email });

/** Follows the newest verification link mailed to `email`. */
export const verifyByMail = async (t: TestApp, email: string, peer?: string) =>
  t.post(
    '/email/verify',
    { token: await t.outbox.tokenFor(email, 'verify-email') },
    peer === undefined ? {} : { 'X-Test-Peer': peer },
  );

/** An account with a verified address, logged in. */
export const verifiedAccount = async (t: TestApp, username: string, email: string, password = PASSWORD) => {
  await registerWithEmail(t, username, email, password);
  const verified = await verifyByMail(t, email);
  if (verified.status !== 200) throw new Error(`verification of ${email} answered ${verified.status}`);
  return logIn(t, { username, password });
};

export const logIn = async (t: TestApp, body: Record<string, string>): Promise<LoginAnswer> => {
  const response = await t.post('/login', body);
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
  return (await response.json()) as LoginAnswer;
};

/** The payload of a JWT, unverified: the test looks at claims, the server has already signed them. */
export const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The newest reset token mailed to `email`. */
export const resetTokenFor = (t: TestApp, email: string) => t.outbox.tokenFor(email, 'reset-password');

/** How many mails went to `email` with a subject starting with `subject`. */
export const mailsTo = async (t: TestApp, email: string, subject = '') =>
  (await t.outbox.to(email)).filter((mail) => mail.subject.startsWith(subject)).length;
