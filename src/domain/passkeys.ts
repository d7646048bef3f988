// Passkeys (WebAuthn): registering one behind the account's factors, listing and removing them, and signing in with
// one instead of the whole password login (a user-verified passkey is two factors in one).
import { checkOwnPassword } from './account';
import { currentAccount, issueToken, sendQuietly, tokenDigest } from './email-verification';
import { AppError } from './errors';
import { factorChanged, proveFactors, type MfaDeps } from './mfa';
import type { Sealer } from './mfa-ports';
import type { Passkey, PasskeyStore, RelyingParty, WebAuthn } from './passkey-ports';
import { mfaOf, type AccessClaims, type AuditEvent, type RequestContext, type UserRecord } from './ports';
import { AGAIN, ATTEMPTS, retry } from './retry';
import { startSession, type TokenPair } from './sessions';
import { clientWindow } from './throttle';

export type PasskeySettings = { rpId: string; rpName: string; origins: readonly string[]; challengeTtlSeconds: number };

export type PasskeyDeps = MfaDeps & {
  passkeys: PasskeyStore;
  webauthn: WebAuthn;
  passkeySettings: PasskeySettings;
  /** Seals login challenges (their expiry inside), so the options, which anyone may ask for, write nothing. */
  loginChallenges: Sealer;
};

export type PasskeySummary = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };

const DEFAULT_NAME = 'Passkey';
const MAX_NAME_CHARS = 64;

/**
 * One answer for every failed passkey ceremony, whichever check failed: a 401 at login, a 400 at registration
 * (where the caller is already signed in and the response is a bad request, not a bad credential).
 */
const invalidPasskey = (status?: 400, message = 'the passkey could not be verified') =>
  new AppError('invalid_passkey', message, status === undefined ? {} : { details: { status } });

const sessionEnded = () => new AppError('invalid_token', 'the session has ended');

/** Like the TOTP routes without a key: no passkeys configured, no such endpoints. */
const assertEnabled = (deps: PasskeyDeps) => {
  if (!deps.passkeysEnabled) throw new AppError('not_found', 'no such endpoint');
};

const relyingParty = (deps: PasskeyDeps): RelyingParty => ({
  rpId: deps.passkeySettings.rpId,
  origins: deps.passkeySettings.origins,
});

const ttlMs = (deps: PasskeyDeps) => deps.passkeySettings.challengeTtlSeconds * 1000;

/** The label a user gave, trimmed and cut to 64 characters (whole code points); "Passkey" when none. */
const passkeyName = (name: string | undefined): string => {
  const trimmed = Array.from((name ?? '').trim()).slice(0, MAX_NAME_CHARS).join('').trim();
  return trimmed === '' ? DEFAULT_NAME : trimmed;
};

/**
 * Counts one passkey more or fewer on the account and bumps its credentialVersion, then ends the other sessions
 * and carries this one over (factorChanged). A write that loses to another change of the account is tried again
 * only while this session still stands at the account's current version (the other change was made through it,
 * or was one of its own requests at the same moment): a session that a password change ended, or one left behind
 * by a failed clean-up, must not be carried over. False when it does not stand (nothing counted).
 */
const countPasskeyChange = async (
  deps: PasskeyDeps,
  claims: AccessClaims,
  user: UserRecord & { uid: string },
  passkeys: 1 | -1,
  event: Extract<AuditEvent, `passkey.${string}`>,
  context: RequestContext,
): Promise<boolean> => {
  let current = user;
  const counted = await retry({ attempts: ATTEMPTS.compareAndSwap }, async () => {
    const session = await deps.sessions.find(claims.uid, claims.sid);
    if (session === null || session.credentialVersion !== current.credentialVersion) return false;
    const expect = { uid: current.uid, credentialVersion: current.credentialVersion };
    if (await deps.users.updateFactors(current.username, { expect, passkeys, bump: true })) return true;
    const fresh = await deps.users.find(current.username);
    if (fresh === null || fresh.uid !== current.uid) return false;
    current = { ...fresh, uid: current.uid };
    return AGAIN;
  });
  if (counted !== true) return false;
  await factorChanged(deps, claims, { ...current, credentialVersion: current.credentialVersion + 1 }, event, context);
  return true;
};

/**
 * The registration options for `startRegistration`, behind the password (under the login throttle) and, while
 * TOTP is on, a code or a recovery code: a stolen access token alone cannot add a factor that signs in. The
 * challenge is a one-time token (only its digest is stored; the newest one of the account works, once).
 */
export const passkeyRegistrationOptions = async (
  deps: PasskeyDeps,
  claims: AccessClaims,
  input: { password: string; code?: string; recoveryCode?: string },
  context: RequestContext,
): Promise<unknown> => {
  assertEnabled(deps);
  const user = await proveFactors(deps, claims, input, context);
  // The account's user handle is made once, at its first registration, and kept (two first registrations at once
  // agree on whichever was written first).
  const known = mfaOf(user).userHandle;
  const [userHandle, existing] = await Promise.all([
    known ?? deps.users.ensureUserHandle(user.username, user.uid, deps.webauthn.newUserHandle()),
    deps.passkeys.listFor(user.uid),
  ]);
  if (userHandle === null) throw sessionEnded();
  const { challengeTtlSeconds } = deps.passkeySettings;
  const challenge = await issueToken(deps, 'passkey_registration', user, null, challengeTtlSeconds);
  return deps.webauthn.registrationOptions({
    rp: { ...relyingParty(deps), name: deps.passkeySettings.rpName },
    userName: user.username,
    userDisplayName: user.name,
    userHandle,
    challenge,
    excludeCredentials: existing,
    timeoutMs: ttlMs(deps),
  });
};

/**
 * Verifies a registration against the account's newest challenge (spent here, whatever the outcome) and stores the
 * passkey; the account's other sessions end. 400 invalid_passkey for any failed check.
 */
export const addPasskey = async (
  deps: PasskeyDeps,
  claims: AccessClaims,
  input: { response: unknown; name?: string },
  context: RequestContext,
): Promise<{ id: string; name: string; createdAt: string }> => {
  assertEnabled(deps);
  const read = deps.webauthn.readRegistration(input.response);
  const digest = read === null ? null : tokenDigest(deps, read.challenge);
  if (read === null || digest === null) throw invalidPasskey(400);
  const user = await currentAccount(deps, claims);
  const now = deps.clock.now();
  const challenge = await deps.oneTimeTokens.consume(digest, 'passkey_registration', now.getTime());
  const userHandle = mfaOf(user).userHandle;
  // Another account's challenge is refused (and spent: it was used).
  if (challenge === null || challenge.uid !== user.uid || userHandle === null) throw invalidPasskey(400);
  const credential = await deps.webauthn.verifyRegistration({ rp: relyingParty(deps), response: input.response, challenge: read.challenge });
  if (credential === null) throw invalidPasskey(400);
  const passkey: Passkey = {
    ...credential,
    uid: user.uid,
    username: user.username,
    userHandle,
    name: passkeyName(input.name),
    createdAt: now.toISOString(),
    lastUsedAt: null,
  };
  // WebAuthn: a credential id registered already (to this account or any other) must be refused.
  if (!(await deps.passkeys.add(passkey))) throw invalidPasskey(400, 'this passkey is registered already');
  if (!(await countPasskeyChange(deps, claims, user, 1, 'passkey.added', context))) {
    // This session was ended meanwhile (a password change): the passkey must not stay behind.
    await retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.passkeys.remove(passkey.id, user.uid));
    throw sessionEnded();
  }
  return { id: passkey.id, name: passkey.name, createdAt: passkey.createdAt };
};

/** The account's passkeys, oldest first (one query). */
export const listPasskeys = async (deps: PasskeyDeps, claims: AccessClaims): Promise<{ passkeys: PasskeySummary[] }> => {
  assertEnabled(deps);
  const passkeys = await deps.passkeys.listFor(claims.uid);
  return {
    passkeys: passkeys.map(({ id, name, createdAt, lastUsedAt, backedUp }) => ({ id, name, createdAt, lastUsedAt, backedUp })),
  };
};

/** Removes one of the account's passkeys, behind the password; the other sessions end. 404 for any other id. */
export const removePasskey = async (
  deps: PasskeyDeps,
  claims: AccessClaims,
  id: string,
  input: { password: string },
  context: RequestContext,
): Promise<void> => {
  assertEnabled(deps);
  const user = await checkOwnPassword(deps, claims, input.password, 'password', context);
  if (!(await deps.passkeys.remove(id, user.uid))) throw new AppError('not_found', 'no such passkey');
  if (await countPasskeyChange(deps, claims, user, -1, 'passkey.removed', context)) return;
  // This session no longer stands, but the passkey is gone: the account still counts it one fewer, and every
  // session ends (none is carried over); the owner is told.
  const counted = await retry({ attempts: ATTEMPTS.compareAndSwap }, async () => {
    const fresh = await deps.users.find(user.username);
    if (fresh === null || fresh.uid !== user.uid) return false;
    const expect = { uid: user.uid, credentialVersion: fresh.credentialVersion };
    return (await deps.users.updateFactors(user.username, { expect, passkeys: -1, bump: true })) ? fresh : AGAIN;
  });
  if (counted === undefined || counted === false) return;
  await retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.sessions.removeAll(user.uid));
  deps.audit.record('passkey.removed', { username: user.username, known: true, context });
  if (counted.email !== null && counted.emailVerified) {
    await sendQuietly(deps, { kind: 'factor_changed', to: counted.email, username: user.username, change: 'passkey.removed' });
  }
};

/**
 * The options for `startAuthentication` (also the browser's passkey autofill): no allowCredentials, so they say
 * nothing about any account. Anyone may ask, so nothing is stored: the challenge is sealed with its expiry and a
 * random nonce, and spent at the login. Calls are counted against the client's ceiling.
 */
export const passkeyLoginOptions = async (deps: PasskeyDeps, context: RequestContext): Promise<unknown> => {
  assertEnabled(deps);
  await clientWindow(deps, 'passkey', context.ip).take(deps.ids.newId());
  const now = deps.clock.now().getTime();
  const challenge = deps.loginChallenges.seal({ n: deps.tokenMaker.newToken() }, now + ttlMs(deps));
  return deps.webauthn.authenticationOptions({ rp: relyingParty(deps), challenge, timeoutMs: ttlMs(deps) });
};

/** Where a login challenge is spent: a window of one event that lasts as long as the challenge could. */
const spentChallengeKey = (nonce: string) => `passkey-challenge#${nonce}`;

/**
 * A login with a passkey: the token pair, with no password and no second step (a user-verified passkey is both
 * factors). Every failure is one 401 invalid_passkey, counted as a failed login of the client.
 */
export const logInWithPasskey = async (
  deps: PasskeyDeps,
  input: { response: unknown },
  context: RequestContext,
): Promise<TokenPair> => {
  assertEnabled(deps);
  const client = clientWindow(deps, 'login', context.ip);
  const read = deps.webauthn.readAuthentication(input.response);
  // The client's failures are read while the passkey is looked up (one read by credential id): one round trip.
  const [failures, passkey] = await Promise.all([
    client.count(),
    read === null ? Promise.resolve(null) : deps.passkeys.find(read.credentialId),
  ]);
  client.assertOpen(failures);
  const refuse = async (username?: string): Promise<never> => {
    await client.add(deps.ids.newId()).catch(() => undefined);
    if (username !== undefined) deps.audit.record('login.failed', { username, known: true, context });
    throw invalidPasskey();
  };

  const now = deps.clock.now().getTime();
  const sealed = read === null ? null : deps.loginChallenges.open(read.challenge, now);
  if (read === null || sealed === null || typeof sealed.n !== 'string' || passkey === null) return refuse();
  const user = await deps.users.find(passkey.username);
  // The handle the authenticator returned names the account it made the credential for: it must be the
  // credential's, and the account's (a name deleted and registered again is another account).
  if (user === null || user.uid !== passkey.uid || read.userHandle !== passkey.userHandle || mfaOf(user).userHandle !== passkey.userHandle) {
    return refuse();
  }
  const use = await deps.webauthn.verifyAuthentication({
    rp: relyingParty(deps),
    response: input.response,
    challenge: read.challenge,
    credential: passkey,
  });
  if (use === null) return refuse(user.username);
  // Spent once: a window of cap 1 keyed by the challenge's nonce; a fresh event id per attempt, so a replay finds
  // it full while this attempt's own retried write still fits.
  if (!(await deps.throttle.addToWindow(spentChallengeKey(sealed.n), deps.ids.newId(), now + ttlMs(deps), 1))) {
    return refuse(user.username);
  }
  // Only against the counter the assertion was verified with: of a cloned assertion racing the real one, one wins.
  const recorded = await deps.passkeys.recordUse(passkey.id, passkey.uid, {
    counter: use.counter,
    lastUsedAt: new Date(now).toISOString(),
    backedUp: use.backedUp,
    expectedCounter: passkey.counter,
  });
  if (!recorded) return refuse(user.username);
  const pair = await startSession(deps, { ...user, uid: passkey.uid }).catch((error: unknown) => {
    // The account changed meanwhile (deleted, or a new password): no session.
    if (error instanceof AppError && error.code === 'invalid_credentials') return refuse(user.username);
    throw error;
  });
  deps.audit.record('login.succeeded', { username: user.username, known: true, context, method: 'passkey' });
  return pair;
};
