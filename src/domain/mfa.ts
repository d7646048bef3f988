// Second factors: TOTP enrolment and removal, recovery codes, the step-up login, and the proof of factors that
// account changes ask for. TOTP state lives on the user's item, so a login without a second factor costs the same.
import { attemptOwnPassword, checkOwnPassword, type AccountDeps } from './account';
import { currentAccount, sendQuietly } from './email-verification';
import { AppError, incorrectPassword, invalidField } from './errors';
import { attemptOnAccount } from './log-in';
import type { FactorChangeKind } from './mail';
import type { RecoveryCodes, SecretBox, Totp } from './mfa-ports';
import {
  mfaOf,
  type AccessClaims,
  type FactorChange,
  type LoginMethod,
  type RequestContext,
  type UserRecord,
} from './ports';
import { startSession, type TokenPair } from './sessions';
import { ATTEMPTS, retry } from './retry';

export type MfaDeps = AccountDeps & {
  totp: Totp;
  /** Seals TOTP secrets at rest; null when no key is configured (TOTP is then off for the whole service). */
  secretBox: SecretBox | null;
  recoveryCodes: RecoveryCodes;
};

/** A second factor as a request gives it: a TOTP code or a recovery code. */
export type FactorInput = { code?: string | undefined; recoveryCode?: string | undefined };

// An enrolment must be confirmed within this: long enough to find the phone, short enough not to linger.
const PENDING_TOTP_MS = 15 * 60 * 1000;

export const invalidMfaCode = (status?: 400) =>
  new AppError('invalid_mfa_code', 'the authentication code is incorrect', status === undefined ? {} : { details: { status } });
const invalidMfaToken = () => new AppError('invalid_mfa_token', 'the sign-in step has expired or was used: log in again');
const notEnabled = () => new AppError('mfa_not_enabled', 'two-step verification is not on');
const alreadyEnabled = () => new AppError('mfa_already_enabled', 'two-step verification is already on');

const boxOf = (deps: MfaDeps): SecretBox => {
  if (deps.secretBox === null) throw new AppError('not_found', 'no such endpoint');
  return deps.secretBox;
};

/**
 * The session making a factor change must be at the account's credentialVersion: a session a password change ended
 * (its removal still under way, or left behind by a failed clean-up) must not turn a factor on and be carried over.
 */
const assertCurrentSession = async (deps: MfaDeps, claims: AccessClaims, credentialVersion: number) => {
  const session = await deps.sessions.find(claims.uid, claims.sid);
  if (session === null || session.credentialVersion !== credentialVersion) {
    throw new AppError('invalid_token', 'the session has ended');
  }
};

/** Runs a check of an open attempt; if the check itself throws, the attempt's place is given back first. */
const releasingOnError = async <T>(release: () => Promise<void>, check: () => T): Promise<T> => {
  try {
    return check();
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
};

// An empty box is no factor: answered as a missing one (400), never counted as a wrong one.
const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/** The factor a request gives, checked against the account (nothing spent yet): what a write must spend, or null. */
const checkFactor = (
  deps: MfaDeps,
  user: UserRecord & { uid: string },
  input: FactorInput,
): Pick<FactorChange, 'step' | 'recoveryCode'> | null => {
  const totp = mfaOf(user).totp;
  if (totp === null) return null;
  if (given(input.code)) {
    // An account enrolled where a key was, on a service now without one: a fault of the deployment, not of the code.
    if (deps.secretBox === null) throw new AppError('service_unavailable', 'two-step verification is not available: no MFA key is configured');
    const step = deps.totp.check(deps.secretBox.open(totp.secret, user.uid), input.code, deps.clock.now());
    // The same or an earlier step than the last one used is a replay.
    return step !== null && step > totp.lastStep ? { step } : null;
  }
  const typed = input.recoveryCode === undefined ? null : deps.recoveryCodes.normalize(input.recoveryCode);
  if (typed === null) return null;
  const digest = deps.recoveryCodes.digest(typed);
  return mfaOf(user).recoveryCodes.includes(digest) ? { recoveryCode: digest } : null;
};

const assertOneFactor = (input: FactorInput) => {
  if (given(input.code) && given(input.recoveryCode)) {
    throw invalidField('recoveryCode', 'send a code or a recoveryCode, not both');
  }
  if (!given(input.code) && !given(input.recoveryCode)) {
    throw invalidField('code', 'two-step verification is on: a code or a recoveryCode is required');
  }
};

/**
 * The proof an account change asks for: the password (under the login throttle) and, while TOTP is on, a code
 * or a recovery code, which is spent. A wrong code counts as a failed attempt on the name, like a wrong
 * password (a thief with the password and a stolen access token cannot guess codes for free). `change` is made
 * in the same conditional write that spends the code. Returns the account as it is after the write.
 */
export const proveFactors = async (
  deps: MfaDeps,
  claims: AccessClaims,
  input: { password: string } & FactorInput,
  context: RequestContext,
  change: Omit<FactorChange, 'expect' | 'step' | 'recoveryCode' | 'login'> = {},
): Promise<UserRecord & { uid: string }> => {
  const checked = await attemptOwnPassword(deps, claims, input.password, 'password', context);
  const { settle, release, fail, login: _login, lease, ...user } = checked;
  if (user.uid !== claims.uid) {
    await release();
    throw incorrectPassword('password');
  }
  const expect = { uid: user.uid, credentialVersion: user.credentialVersion };
  const changed = { ...user, credentialVersion: user.credentialVersion + (change.bump === true ? 1 : 0) };
  if (mfaOf(user).totp === null) {
    if (!(await settle())) throw incorrectPassword('password');
    if (Object.keys(change).length === 0) return user;
    await assertCurrentSession(deps, claims, user.credentialVersion);
    if (!(await deps.users.updateFactors(user.username, { expect, ...change }))) throw incorrectPassword('password');
    return changed;
  }
  const proof = await releasingOnError(release, () => {
    assertOneFactor(input);
    return checkFactor(deps, user, input);
  });
  if (proof === null) {
    await fail();
    deps.audit.record('mfa.failed', { username: user.username, known: true, context });
    throw invalidMfaCode();
  }
  await assertCurrentSession(deps, claims, user.credentialVersion).catch(async (error: unknown) => {
    await release();
    throw error;
  });
  // One write spends the code, makes the change, ends the attempt and forgets the name's failures: a replay that
  // wins the code meanwhile leaves this attempt to count as a failure.
  const login = { leaseId: lease.id, expired: lease.expired };
  if (!(await deps.users.updateFactors(user.username, { expect, ...proof, ...change, login }))) {
    await fail();
    throw invalidMfaCode();
  }
  return changed;
};

/**
 * After a factor changed and the account's credentialVersion was bumped: every other session ends (a login in
 * flight fails its last write), this one is carried over to the new version, the audit trail records it, and the
 * verified address is told.
 */
export const factorChanged = async (
  deps: MfaDeps,
  claims: AccessClaims,
  user: Pick<UserRecord, 'username' | 'email' | 'emailVerified' | 'credentialVersion'>,
  event: FactorChangeKind,
  context: RequestContext,
): Promise<void> => {
  // The change is made already: a store hiccup here must not answer 503 for it (a confirmation's recovery codes
  // would never be shown), so both writes are tried again. This session is carried over first: until it is, a
  // refresh of its own would find the old version and end it.
  const again = { attempts: ATTEMPTS.cleanUp, retryOnError: () => true };
  await retry(again, () => deps.sessions.carryOver(claims.uid, claims.sid, user.credentialVersion));
  await retry(again, () => deps.sessions.removeOthers(claims.uid, claims.sid));
  deps.audit.record(event, { username: user.username, known: true, context });
  if (user.email !== null && user.emailVerified) {
    await sendQuietly(deps, { kind: 'factor_changed', to: user.email, username: user.username, change: event });
  }
};

/** Starts a TOTP enrolment behind the password: a new secret, kept sealed as pending until a code confirms it. */
export const startTotp = async (
  deps: MfaDeps,
  claims: AccessClaims,
  input: { password: string },
  context: RequestContext,
): Promise<{ secret: string; otpauthUri: string }> => {
  const box = boxOf(deps);
  const user = await checkOwnPassword(deps, claims, input.password, 'password', context);
  if (mfaOf(user).totp !== null) throw alreadyEnabled();
  await assertCurrentSession(deps, claims, user.credentialVersion);
  const secret = deps.totp.newSecret();
  const pendingTotp = { secret: box.seal(secret, user.uid), expiresAt: deps.clock.now().getTime() + PENDING_TOTP_MS };
  if (!(await deps.users.updateFactors(user.username, { expect: { uid: user.uid, credentialVersion: user.credentialVersion }, pendingTotp }))) {
    // Turned on meanwhile (another enrolment confirmed), or the account changed.
    const now = await currentAccount(deps, claims);
    if (mfaOf(now).totp !== null) throw alreadyEnabled();
    throw incorrectPassword('password');
  }
  return { secret, otpauthUri: deps.totp.otpauthUri({ issuer: deps.mfaSettings.issuer, account: user.username, secret }) };
};

/** Confirms the pending enrolment with a code from the app: TOTP goes on, and the first recovery codes are shown. */
export const confirmTotp = async (
  deps: MfaDeps,
  claims: AccessClaims,
  input: { code: string },
  context: RequestContext,
): Promise<{ recoveryCodes: string[] }> => {
  const box = boxOf(deps);
  // Under the name's throttle, as a login's code is: with a stolen access token a thief could otherwise guess the
  // code of an enrolment its owner left pending, and turn TOTP on with its recovery codes in hand.
  const attempt = await attemptOnAccount(deps, claims.username, context);
  if (attempt === null || attempt.uid !== claims.uid) {
    await attempt?.release();
    throw new AppError('invalid_token', 'the account no longer exists');
  }
  const { lease: _lease, fail, release, login: _login, ...user } = attempt;
  const { pendingTotp, totp } = mfaOf(user);
  const now = deps.clock.now();
  if (totp !== null || pendingTotp === null || pendingTotp.expiresAt <= now.getTime()) {
    await release();
    if (totp !== null) throw alreadyEnabled();
    throw new AppError('invalid_request', 'there is no enrolment to confirm: start one with POST /me/mfa/totp');
  }
  const step = await releasingOnError(release, () => deps.totp.check(box.open(pendingTotp.secret, user.uid), input.code, now));
  if (step === null) {
    await fail();
    deps.audit.record('mfa.failed', { username: user.username, known: true, context });
    throw invalidMfaCode(400);
  }
  // A right code is no login: the name's failures stay (only a completed login forgets them).
  await release();
  await assertCurrentSession(deps, claims, user.credentialVersion);
  const codes = deps.recoveryCodes.newCodes();
  const enabled = await deps.users.updateFactors(user.username, {
    expect: { uid: user.uid, credentialVersion: user.credentialVersion },
    // The confirming step counts as used: the same code cannot sign in afterwards.
    totp: { secret: pendingTotp.secret, lastStep: step, now: now.getTime() },
    recoveryCodes: codes.map((code) => deps.recoveryCodes.digest(code)),
    bump: true,
  });
  if (!enabled) {
    // Turned on meanwhile (the same confirmation sent twice), or the enrolment was restarted or the account changed.
    if (mfaOf(await currentAccount(deps, claims)).totp !== null) {
      throw alreadyEnabled();
    }
    throw new AppError('invalid_request', 'the enrolment changed meanwhile: start again');
  }
  await factorChanged(deps, claims, { ...user, credentialVersion: user.credentialVersion + 1 }, 'mfa.enabled', context);
  return { recoveryCodes: codes };
};

/** Turns TOTP off (the password and a code or recovery code): the recovery codes go with it. */
export const disableTotp = async (
  deps: MfaDeps,
  claims: AccessClaims,
  input: { password: string } & FactorInput,
  context: RequestContext,
): Promise<void> => {
  boxOf(deps);
  const account = await currentAccount(deps, claims);
  if (mfaOf(account).totp === null) {
    // Still the password first: the answer about the account's factors is for its owner.
    await checkOwnPassword(deps, claims, input.password, 'password', context);
    throw notEnabled();
  }
  const user = await proveFactors(deps, claims, input, context, { totp: null, recoveryCodes: null, bump: true });
  await factorChanged(deps, claims, user, 'mfa.disabled', context);
};

/** A new set of recovery codes (the old ones stop working), behind the password and a code or an old recovery code. */
export const replaceRecoveryCodes = async (
  deps: MfaDeps,
  claims: AccessClaims,
  input: { password: string } & FactorInput,
  context: RequestContext,
): Promise<{ recoveryCodes: string[] }> => {
  boxOf(deps);
  const account = await currentAccount(deps, claims);
  if (mfaOf(account).totp === null) {
    await checkOwnPassword(deps, claims, input.password, 'password', context);
    throw notEnabled();
  }
  // The password and a code (or one of the old recovery codes): new codes sign in, so a stolen access token and
  // password must not be enough to get them, as for a passkey.
  const codes = deps.recoveryCodes.newCodes();
  const user = await proveFactors(deps, claims, input, context, {
    recoveryCodes: codes.map((code) => deps.recoveryCodes.digest(code)),
    bump: true,
  });
  await factorChanged(deps, claims, user, 'mfa.recovery_codes_replaced', context);
  return { recoveryCodes: codes };
};

/** Whether a step-up token's account is still as it was sealed, with TOTP on and the token unspent. */
const tokenStillUsable = (user: UserRecord, sealed: Record<string, string | number>): boolean => {
  const { totp, mfaSpentAt } = mfaOf(user);
  return user.uid === sealed.id && user.credentialVersion === sealed.v && totp !== null && mfaSpentAt < (sealed.t as number);
};

/**
 * The second step of a login: the step-up token and a code or a recovery code give the token pair. Under the
 * name's throttle, wrong codes counted as wrong passwords are. Four requests: the attempt opened and the client's
 * failures read (one round trip), the session written, and one conditional write that spends the code and the
 * token, forgets the failures and doubles as the check that the account is unchanged.
 */
export const completeStepUp = async (
  deps: MfaDeps,
  input: { mfaToken: string } & FactorInput,
  context: RequestContext,
): Promise<TokenPair> => {
  assertOneFactor(input);
  const sealed = deps.stepUpTokens.open(input.mfaToken, deps.clock.now().getTime());
  if (sealed === null || typeof sealed.u !== 'string' || typeof sealed.t !== 'number') throw invalidMfaToken();
  const attempt = await attemptOnAccount(deps, sealed.u, context);
  if (attempt === null) throw invalidMfaToken();
  const { lease, fail, release, login: _login, ...user } = attempt;
  if (!tokenStillUsable(user, sealed)) {
    await release();
    throw invalidMfaToken();
  }
  const proof = await releasingOnError(release, () => checkFactor(deps, user, input));
  if (proof === null) {
    await fail();
    deps.audit.record('mfa.failed', { username: user.username, known: true, context });
    throw invalidMfaCode();
  }
  const method: LoginMethod = proof.step === undefined ? 'password+recovery_code' : 'password+totp';
  const spend = () =>
    deps.users.updateFactors(user.username, {
      expect: { uid: user.uid, credentialVersion: user.credentialVersion },
      ...proof,
      login: { leaseId: lease.id, expired: lease.expired, mfaIssuedAt: sealed.t as number },
    });
  const pair = await startSession(deps, user, spend).catch(async (error: unknown) => {
    if (!(error instanceof AppError && error.code === 'invalid_credentials')) throw error;
    // The write did not hold, so its lease is still on the item: give it back rather than let it hold a place
    // until its deadline. Then say why, reading the account again (this path only): the token was spent or voided
    // meanwhile (a double submit, a password or factor change: log in again), or only the code was used.
    await release().catch(() => undefined);
    const now = await deps.users.find(user.username).catch(() => null);
    throw now !== null && tokenStillUsable(now, sealed) ? invalidMfaCode() : invalidMfaToken();
  });
  deps.audit.record('login.succeeded', { username: user.username, known: true, context, method });
  return pair;
};
