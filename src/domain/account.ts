// Use cases on one's own account, behind a verified access token: read it, change the password, delete it.
import { assertAcceptablePassword, type PasswordPolicy } from './credentials';
import { AppError, incorrectPassword } from './errors';
import { attemptPassword, type LogInDeps } from './log-in';
import { mfaOf, type AccessClaims, type RequestContext, type UserRecord } from './ports';
import type { PasskeyStore } from './passkey-ports';
import { endAllSessions, startSession, type TokenPair } from './sessions';
import {
  changeEmail as requestNewEmail,
  currentAccount,
  releaseClaim,
  type ChangeEmailInput,
  type MailDeps,
} from './email-verification';
import { notifyPasswordChanged } from './password-reset';

export type AccountDeps = LogInDeps &
  MailDeps & {
    passwordPolicy: PasswordPolicy;
    /** Where the account's passkeys are, so they go with it. */
    passkeys?: Pick<PasskeyStore, 'removeAllFor'>;
  };

/**
 * The token's account's password, checked under the login throttle, its attempt still open. A wrong one is
 * reported as the password's fault: the login's "invalid username or password" would name a username nobody sent.
 */
export const attemptOwnPassword = (
  deps: LogInDeps,
  claims: AccessClaims,
  password: string,
  what: 'password' | 'current password',
  context: RequestContext,
) =>
  attemptPassword(deps, claims.username, password, context).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'invalid_credentials' ? incorrectPassword(what, error) : error;
  });

/** The token's account, if this is its current password (see attemptOwnPassword); the attempt ends here. */
export const checkOwnPassword = async (
  deps: AccountDeps,
  claims: AccessClaims,
  password: string,
  what: 'password' | 'current password',
  context: RequestContext,
): Promise<UserRecord & { uid: string }> => {
  const checked = await attemptOwnPassword(deps, claims, password, what, context);
  const { settle, release, fail: _fail, lease: _lease, login: _login, ...user } = checked;
  if (mfaOf(user).totp !== null) {
    // A right password alone does not forget the name's failures while TOTP is on: otherwise a route that asks only
    // for the password would wipe the count of wrong codes, and a thief with the password could guess codes forever.
    await release();
    if (user.uid !== claims.uid) throw incorrectPassword(what);
    return user;
  }
  if (!(await settle()) || user.uid !== claims.uid) throw incorrectPassword(what);
  return user;
};

export type Me = {
  username: string;
  name: string;
  createdAt: string | null;
  email: string | null;
  emailVerified: boolean;
  pendingEmail: string | null;
  mfa: { totp: boolean; passkeys: number; recoveryCodesLeft: number };
};

/** What GET /me says of the account's second factors. */
const factorSummary = (user: Pick<UserRecord, 'mfa'>): Me['mfa'] => {
  const mfa = mfaOf(user);
  return {
    totp: mfa.totp !== null,
    passkeys: mfa.passkeys,
    recoveryCodesLeft: mfa.totp === null ? 0 : mfa.recoveryCodes.length,
  };
};

export const getMe = async (deps: AccountDeps, claims: AccessClaims): Promise<Me> => {
  const user = await currentAccount(deps, claims);
  const { username, name, createdAt, email, emailVerified, pendingEmail } = user;
  return { username, name, createdAt, email, emailVerified, pendingEmail, mfa: factorSummary(user) };
};

export type ChangePasswordInput = { currentPassword: string; newPassword: string };

/** Changes the password, ends every session (this one included), and starts a new one. */
export const changePassword = async (
  deps: AccountDeps,
  claims: AccessClaims,
  input: ChangePasswordInput,
  context: RequestContext,
): Promise<TokenPair> => {
  const user = await checkOwnPassword(deps, claims, input.currentPassword, 'current password', context);
  await assertAcceptablePassword(deps.passwordPolicy, input.newPassword, user);
  const newHash = await deps.hasher.hash(input.newPassword);
  // The user changes first, then its sessions go: a login racing with us sees the new version and drops its own.
  if (!(await deps.users.changePassword(user.username, user.passwordHash, newHash))) {
    throw incorrectPassword('current password');
  }
  await endAllSessions(deps, claims.uid);
  deps.audit.record('password.changed', { username: user.username, known: true, context });
  // A reset link mailed before must not undo the change: it stops working.
  await deps.oneTimeTokens.revoke(claims.uid, 'reset_password').catch(() => undefined);
  const pair = await startSession(deps, { ...user, credentialVersion: user.credentialVersion + 1 });
  await notifyPasswordChanged(deps, user);
  return pair;
};

/** Deletes the account and every session; the name becomes free. */
export const deleteAccount = async (
  deps: AccountDeps,
  claims: AccessClaims,
  input: { password: string },
  context: RequestContext,
): Promise<void> => {
  const current = await deps.users.find(claims.username);
  if (current === null || current.uid !== claims.uid) {
    // The account is gone (an earlier deletion whose clean-up failed, or the name now belongs to someone
    // else): finish the job for the sessions of this account. Only a repeat whose own session was left behind
    // gets here; once every session is gone, the bearer check answers the token as ended (401).
    await endAllSessions(deps, claims.uid);
    return;
  }
  const user = await checkOwnPassword(deps, claims, input.password, 'password', context);
  if (!(await deps.users.remove(user.username, user.passwordHash))) throw incorrectPassword('password');
  await endAllSessions(deps, claims.uid);
  // Its factors were on its item, gone with it; its passkeys are in their own table. (One left behind by a failed
  // clean-up can never sign in: its account is gone, and a new account of the name has another uid.)
  if (mfaOf(user).passkeys > 0) await deps.passkeys?.removeAllFor(claims.uid).catch(() => undefined);
  // The verified address is free for another account; links already sent stop working.
  if (user.email !== null && user.emailVerified) await releaseClaim(deps, user.email, claims.uid);
  await Promise.all(
    (['verify_email', 'reset_password'] as const).map((purpose) =>
      deps.oneTimeTokens.revoke(claims.uid, purpose).catch(() => undefined),
    ),
  );
  deps.audit.record('user.deleted', { username: user.username, known: true, context });
};

/** A new address for the account, behind its current password (checked under the login throttle). */
export const changeEmail = (deps: AccountDeps, claims: AccessClaims, input: ChangeEmailInput, context: RequestContext) =>
  requestNewEmail(deps, claims, input, context, (password) => checkOwnPassword(deps, claims, password, 'password', context));
