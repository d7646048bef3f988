// Use cases of an account's email address: the verification mail, verifying it (a verified address is unique),
// resending the link, and changing the address. What they share with password reset: MailDeps and the mail helpers.
import { assertLoginPassword } from './credentials';
import { normalizeEmail } from './email';
import { AppError, invalidField } from './errors';
import type { MailRequest, Notifier } from './mail';
import type { EmailClaim, EmailClaimStore, OneTimeTokenPurpose, OneTimeTokens, OneTimeTokenStore } from './mail-ports';
import type { AccessClaims, AuditLog, EventLog, Ids, RequestContext, UserRecord, UserStore } from './ports';
import { AGAIN, ATTEMPTS, retry } from './retry';
import { clientWindow, takeAccountMail, type ThrottleDeps } from './throttle';

export type EmailSettings = {
  /** How long a verification link works (VERIFY_TTL_SECONDS). */
  verifyTtlSeconds: number;
  /** How long a reset link works (RESET_TTL_SECONDS). */
  resetTtlSeconds: number;
  /** Forgot-password, resend and change-of-address mails one account may get per hour (MAILS_PER_ACCOUNT_PER_HOUR). */
  mailsPerAccountPerHour: number;
};

export type MailDeps = ThrottleDeps & {
  users: UserStore;
  oneTimeTokens: OneTimeTokenStore;
  emailClaims: EmailClaimStore;
  tokenMaker: OneTimeTokens;
  mail: Notifier;
  emailSettings: EmailSettings;
  audit: AuditLog;
  log: EventLog;
  ids: Ids;
};

// Tokens are ours (43 characters); anything much longer names no token and is not worth a digest.
const MAX_TOKEN_LENGTH = 256;

/** The digest of a token from a link, or null when the text cannot be one of ours. */
export const tokenDigest = (deps: Pick<MailDeps, 'tokenMaker'>, token: string): string | null =>
  token.length === 0 || token.length > MAX_TOKEN_LENGTH ? null : deps.tokenMaker.digest(token);

/** Stores a new one-time token for the account (superseding its older ones of that purpose) and returns it. */
export const issueToken = async (
  deps: MailDeps,
  purpose: OneTimeTokenPurpose,
  user: { uid: string; username: string },
  email: string | null,
  ttlSeconds: number,
  credentialVersion?: number,
): Promise<string> => {
  const token = deps.tokenMaker.newToken();
  await deps.oneTimeTokens.issue({
    digest: deps.tokenMaker.digest(token),
    purpose,
    uid: user.uid,
    username: user.username,
    email,
    ...(credentialVersion === undefined ? {} : { credentialVersion }),
    expiresAt: deps.clock.now().getTime() + ttlSeconds * 1000,
  });
  return token;
};

/** Sends a mail the user is waiting for: a failure is logged (never the mail) and answered 503. */
export const sendOrFail = async (deps: MailDeps, request: MailRequest): Promise<void> => {
  try {
    await deps.mail.send(request);
  } catch (error) {
    deps.log.warn('mail not sent', { kind: request.kind, error: error instanceof Error ? error.message : 'unknown' });
    throw new AppError('service_unavailable', 'the mail could not be sent, try again later', { cause: error });
  }
};

/** Sends a mail nobody waits on (a notice, the registration's link): a failure is logged and goes no further. */
export const sendQuietly = async (deps: MailDeps, request: MailRequest): Promise<boolean> =>
  sendOrFail(deps, request).then(
    () => true,
    () => false,
  );

/** Issues a verification token for `email` and mails its link there. */
const sendVerification = async (
  deps: MailDeps,
  user: { uid: string; username: string },
  email: string,
  context: RequestContext,
  send: (deps: MailDeps, request: MailRequest) => Promise<unknown>,
): Promise<void> => {
  const ttl = deps.emailSettings.verifyTtlSeconds;
  const token = await issueToken(deps, 'verify_email', user, email, ttl);
  // A mail that could not go is not recorded as sent (sendQuietly answers false instead of throwing).
  if ((await send(deps, { kind: 'verify_email', to: email, token, expiresInSeconds: ttl })) === false) return;
  deps.audit.record('email.verification_sent', { username: user.username, known: true, context });
};

/** After a registration with an address: its link. The account stands whether or not the mail could go. */
export const sendRegistrationMail = (
  deps: MailDeps,
  user: { uid: string; username: string },
  email: string,
  context: RequestContext,
): Promise<void> =>
  sendVerification(deps, user, email, context, sendQuietly).catch((error: unknown) => {
    deps.log.warn('verification token not issued', { error: error instanceof AppError ? error.code : 'unknown' });
  });

const invalidVerificationToken = () =>
  new AppError('invalid_verification_token', 'the verification link is invalid, used, superseded or expired');

export type VerifiedEmail = { username: string; email: string; emailVerified: true };

/**
 * Bad link tokens count toward the client's failed-login ceiling, as guessing a link is guessing a password: 429
 * past it before any work; otherwise the `refuse` that counts one and throws `invalid()`.
 */
export const linkGuard = async (
  deps: ThrottleDeps & { ids: Ids },
  context: RequestContext,
  invalid: () => AppError,
): Promise<() => Promise<never>> => {
  const guard = clientWindow(deps, 'login', context.ip);
  guard.assertOpen(await guard.count());
  return async () => {
    await guard.add(deps.ids.newId()).catch(() => undefined);
    throw invalid();
  };
};

/**
 * Verifies the address a link was sent to. The address is claimed by one conditional write in the verified-address
 * table, so of two accounts verifying one address exactly one gets it (the other: 409 email_taken). A change of
 * address takes effect here: the old address is released and told.
 */
export const verifyEmail = async (
  deps: MailDeps,
  input: { token: string },
  context: RequestContext,
): Promise<VerifiedEmail> => {
  const refuse = await linkGuard(deps, context, invalidVerificationToken);
  const digest = tokenDigest(deps, input.token);
  const record = digest === null ? null : await deps.oneTimeTokens.consume(digest, 'verify_email', deps.clock.now().getTime());
  if (record === null || record.email === null) return refuse();
  const { email, uid, username } = record;
  const user = await deps.users.find(username);
  if (user === null || user.uid !== uid || (user.email !== email && user.pendingEmail !== email)) return refuse();
  if (!(await claimAddress(deps, { email, uid, username }))) {
    throw new AppError('email_taken', 'another account has verified this email address');
  }
  const confirmed = await deps.users.confirmEmail(username, uid, email);
  if (confirmed === false) {
    // The account changed meanwhile (deleted, or another change of address): the claim must not stay behind.
    await releaseClaim(deps, email, uid);
    return refuse();
  }
  deps.audit.record('email.verified', { username, known: true, context });
  // From the write's old image, or from the read before it: a retried write (its first landed, its answer lost)
  // sees the new state as old, and the change must still release and tell the old address.
  const replaced = confirmed.replaced ?? (user.emailVerified && user.pendingEmail === email ? user.email : null);
  if (replaced !== null && replaced !== email) {
    await releaseClaim(deps, replaced, uid);
    // A reset link went to the old address, which is no longer the account's: it stops working.
    await deps.oneTimeTokens.revoke(uid, 'reset_password').catch(() => undefined);
    deps.audit.record('email.changed', { username, known: true, context });
    await sendQuietly(deps, { kind: 'email_changed', to: replaced, username });
  }
  return { username, email, emailVerified: true };
};

/**
 * Claims an address for an account: true when it was free, is this account's, or was held by a claim left behind
 * (its account deleted, or using another address now: a release that failed must not keep the address from its
 * next owner for good). An account that holds it, or is verifying it right now, keeps it.
 */
const claimAddress = async (deps: MailDeps, claim: EmailClaim): Promise<boolean> => {
  if ((await deps.emailClaims.claim(claim)) === 'claimed') return true;
  const holder = await deps.emailClaims.find(claim.email);
  if (holder === null) return (await deps.emailClaims.claim(claim)) === 'claimed';
  if (holder.uid === claim.uid) return true;
  const owner = await deps.users.find(holder.username);
  const stillUses =
    owner !== null && owner.uid === holder.uid && (owner.email === claim.email || owner.pendingEmail === claim.email);
  return !stillUses && (await deps.emailClaims.replace(claim.email, holder.uid, claim));
};

/** Whether the account is the claim's and has that address verified (a claim left behind is not). */
export const holdsVerifiedAddress = (
  user: Pick<UserRecord, 'uid' | 'email' | 'emailVerified'>,
  claim: Pick<EmailClaim, 'uid' | 'email'>,
): boolean => user.uid === claim.uid && user.email === claim.email && user.emailVerified;

/** Gives up a verified address; tried again, as a claim left behind would keep the address from its next owner. */
export const releaseClaim = (deps: Pick<MailDeps, 'emailClaims'>, email: string, uid: string) =>
  retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.emailClaims.release(email, uid)).catch(
    () => undefined,
  );

/** The account behind an access token, or invalid_token when it is gone (or its name is another account's now). */
export const currentAccount = async (deps: Pick<MailDeps, 'users'>, claims: AccessClaims): Promise<UserRecord & { uid: string }> => {
  const user = await deps.users.find(claims.username);
  if (user === null || user.uid !== claims.uid) throw new AppError('invalid_token', 'the account no longer exists');
  return { ...user, uid: user.uid };
};

/** The address an account waits to verify: a pending change, or its own unverified one; null when none. */
export const awaitingVerification = (user: Pick<UserRecord, 'email' | 'emailVerified' | 'pendingEmail'>) =>
  user.pendingEmail ?? (user.email !== null && !user.emailVerified ? user.email : null);

/** A mail asked for by a client, counted in one conditional write: 429 past its ceiling, even in a burst. */
export const countClientMail = (deps: ThrottleDeps & { ids: Ids }, context: RequestContext) =>
  clientWindow(deps, 'mail', context.ip).take(deps.ids.newId());

/** A fresh verification link for the address waiting to be verified (older links stop working). */
export const resendVerification = async (deps: MailDeps, claims: AccessClaims, context: RequestContext): Promise<void> => {
  const user = await currentAccount(deps, claims);
  const target = awaitingVerification(user);
  if (target === null) throw new AppError('invalid_request', 'there is no email address waiting for verification');
  await countClientMail(deps, context);
  // Past the account's hourly mails: the same answer, and nothing sent.
  if (!(await takeAccountMail(deps, user.uid, deps.emailSettings.mailsPerAccountPerHour))) return;
  await sendVerification(deps, user, target, context, sendOrFail);
};

export type ChangeEmailInput = { email: string; password: string };

/**
 * Asks for a new address (the password checked under the login throttle by `checkPassword`). A verified address
 * stays in force until the new one is verified; an unverified one is simply replaced. The new address gets its
 * link even when another account has verified it (its verification then answers 409), so this reveals nothing.
 */
export const changeEmail = async (
  deps: MailDeps,
  claims: AccessClaims,
  input: ChangeEmailInput,
  context: RequestContext,
  checkPassword: (password: string) => Promise<UserRecord & { uid: string }>,
): Promise<void> => {
  const email = normalizeEmail(input.email);
  assertLoginPassword(input.password);
  // The client's ceiling before the password check: a refused request costs no hash.
  await countClientMail(deps, context);
  let user = await checkPassword(input.password);
  const requested = await retry({ attempts: ATTEMPTS.compareAndSwap }, async (turn) => {
    if (turn > 1) user = await currentAccount(deps, claims);
    if (user.emailVerified && user.email === email) {
      throw invalidField('email', 'this is already the verified email address of the account');
    }
    return (await deps.users.requestEmail(user.username, user.uid, email, user.emailVerified)) ? true : AGAIN;
  });
  if (requested === undefined) throw new AppError('service_unavailable', 'the account is busy, try again');
  if (!(await takeAccountMail(deps, user.uid, deps.emailSettings.mailsPerAccountPerHour))) return;
  await sendVerification(deps, user, email, context, sendOrFail);
};
