// Use cases of account recovery: asking for a reset link (which reveals nothing, in content or in time) and
// resetting the password with it; and the notice that a password changed.
import { assertAcceptablePassword, type PasswordPolicy } from './credentials';
import { normalizeEmail, notBoth } from './email';
import {
  countClientMail,
  holdsVerifiedAddress,
  issueToken,
  linkGuard,
  sendQuietly,
  tokenDigest,
  type MailDeps,
} from './email-verification';
import { AppError } from './errors';
import type { Pacer } from './pace';
import type { PasswordHasher, RequestContext, SessionStore, UserRecord } from './ports';
import { endAllSessions } from './sessions';
import { takeAccountMail } from './throttle';
import { loginUsername } from './username';

export type PasswordResetDeps = MailDeps & {
  sessions: SessionStore;
  hasher: PasswordHasher;
  passwordPolicy: PasswordPolicy;
  /** Pads every forgot-password answer to the time of one that sent a link (its own pacer: other work, other time). */
  forgotPacer: Pacer;
};

export type ForgotPasswordInput = { username?: string | undefined; email?: string | undefined };

export const FORGOT_PASSWORD_MESSAGE = 'if that account has a verified email address, a reset link is on its way';

/**
 * Mails a reset link to the account's verified address, if it has one and its hourly mails are not used up. The
 * answer is the same whatever happened, and so is its time: every request is padded to the time of one that sent
 * a link. Unknown or unverified targets get no mail at all (a notice would make us a relay for anyone's address).
 */
export const forgotPassword = async (
  deps: PasswordResetDeps,
  input: ForgotPasswordInput,
  context: RequestContext,
): Promise<{ message: string }> => {
  notBoth(input);
  if (input.username === undefined && input.email === undefined) {
    throw new AppError('invalid_request', 'send a username or an email');
  }
  const byEmail = input.email !== undefined;
  const target = byEmail ? normalizeEmail(input.email as string) : loginUsername(input.username as string);
  const startedAt = deps.clock.now().getTime();
  await countClientMail(deps, context);
  const user = byEmail ? await findByEmail(deps, target) : await deps.users.find(target);
  deps.audit.record('password.reset_requested', { username: user?.username ?? target, known: user !== null, context });
  let sentAt: number | undefined;
  if (user !== null && user.uid !== null && user.emailVerified && user.email !== null) {
    const account = { ...user, uid: user.uid, email: user.email };
    try {
      if (await takeAccountMail(deps, account.uid, deps.emailSettings.mailsPerAccountPerHour)) {
        const ttl = deps.emailSettings.resetTtlSeconds;
        // Bound to the address it goes to and the password it replaces: a new verified address or a password
        // change voids it, even where revoking it failed.
        const token = await issueToken(deps, 'reset_password', account, account.email, ttl, account.credentialVersion);
        const sent = await sendQuietly(deps, { kind: 'reset_password', to: account.email, username: account.username, token, expiresInSeconds: ttl });
        // Only sends that went teach the pad: quick failures would pull it below what a real send takes.
        if (sent) sentAt = deps.clock.now().getTime();
      }
    } catch (error) {
      // The answer must not differ for a real account: a store fault here is logged, and the user may ask again.
      deps.log.warn('reset link not sent', { error: error instanceof AppError ? error.code : 'unknown' });
    }
  }
  // Padded by what earlier sends took, then this one is learnt: a process's first send waits like every answer
  // before it (the start value), instead of setting the pad by itself and answering sooner than they did.
  await deps.forgotPacer.pad(startedAt);
  if (sentAt !== undefined) deps.forgotPacer.record(startedAt, sentAt);
  return { message: FORGOT_PASSWORD_MESSAGE };
};

/** The account holding a verified address (the claim, and the account agreeing), or null. */
export const findByEmail = async (deps: MailDeps, email: string): Promise<UserRecord | null> => {
  const claim = await deps.emailClaims.find(email);
  if (claim === null) return null;
  const user = await deps.users.find(claim.username);
  return user !== null && holdsVerifiedAddress(user, claim) ? user : null;
};

const invalidResetToken = () =>
  new AppError('invalid_reset_token', 'the reset link is invalid, used, superseded or expired');

export type ResetPasswordInput = { token: string; newPassword: string };

/**
 * Sets a new password with a reset link's token: the token works once, and only the account's newest. Every session
 * ends and the name's failed logins are forgotten; the user then logs in with the new password.
 */
export const resetPassword = async (
  deps: PasswordResetDeps,
  input: ResetPasswordInput,
  context: RequestContext,
): Promise<void> => {
  const refuse = await linkGuard(deps, context, invalidResetToken);
  const digest = tokenDigest(deps, input.token);
  if (digest === null) return refuse();
  // Looked at first, used only once the new password passes the policy: a refused password leaves the link working.
  const found = await deps.oneTimeTokens.peek(digest, 'reset_password', deps.clock.now().getTime());
  if (found === null) return refuse();
  const user = await deps.users.find(found.username);
  if (user === null || user.uid !== found.uid) return refuse();
  const stillTheAccounts =
    (found.email === null || (found.email === user.email && user.emailVerified)) &&
    (found.credentialVersion === undefined || found.credentialVersion === user.credentialVersion);
  if (!stillTheAccounts) return refuse();
  await assertAcceptablePassword(deps.passwordPolicy, input.newPassword, user);
  const newHash = await deps.hasher.hash(input.newPassword);
  // The one write that decides: of two resets with one token exactly one passes it.
  if ((await deps.oneTimeTokens.consume(digest, 'reset_password', deps.clock.now().getTime())) === null) return refuse();
  if (!(await deps.users.resetPassword(user.username, found.uid, newHash))) return refuse();
  // The user changed first, then its sessions go: a login racing with us sees the new version and drops its own.
  await endAllSessions(deps, found.uid);
  deps.audit.record('password.reset', { username: user.username, known: true, context });
  await notifyPasswordChanged(deps, user);
};

/** "Your password was changed", to the verified address, if there is one (after a reset or a change). */
export const notifyPasswordChanged = async (
  deps: MailDeps,
  user: Pick<UserRecord, 'username' | 'email' | 'emailVerified'>,
): Promise<void> => {
  if (user.email !== null && user.emailVerified) {
    await sendQuietly(deps, { kind: 'password_changed', to: user.email, username: user.username });
  }
};
