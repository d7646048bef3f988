// Use case: check a password and start a session. Unknown user and wrong password look the same, and a
// throttled attempt takes the same time.
import { assertLoginPassword } from './credentials';
import { normalizeEmail, notBoth } from './email';
import { AppError, invalidCredentials, invalidField } from './errors';
import { holdsVerifiedAddress } from './email-verification';
import type { EmailClaimStore } from './mail-ports';
import type { Pacer } from './pace';
import type { Sealer } from './mfa-ports';
import {
  mfaOf,
  type AttemptedUser,
  type AttemptLease,
  type AuditLog,
  type EventLog,
  type Ids,
  type PasswordHasher,
  type RequestContext,
  type Timer,
  type UserRecord,
} from './ports';
import { startSession, type SessionDeps, type TokenPair } from './sessions';
import {
  allowance,
  clientWindow,
  countsInOneWrite,
  countUnknownName,
  currentFailures,
  leasesAt,
  tooManyAttempts,
  type ThrottleDeps,
} from './throttle';
import { legacyUsernameKeys, loginUsername } from './username';

export type MfaSettings = { issuer: string; tokenTtlSeconds: number };

export type LogInDeps = SessionDeps &
  ThrottleDeps & {
    hasher: PasswordHasher;
    log: EventLog;
    audit: AuditLog;
    pacer: Pacer;
    timer: Timer;
    ids: Ids;
    /** Seals step-up tokens (`mfaToken`). */
    stepUpTokens: Sealer;
    mfaSettings: MfaSettings;
    /** Whether passkeys are served (a step-up offers them only then). */
    passkeysEnabled: boolean;
  };

/** What a right password of an account with TOTP on answers instead of tokens. */
export type StepUp = { mfaToken: string; methods: readonly ('totp' | 'recovery_code' | 'passkey')[] };

/**
 * A right password of an account with TOTP on: no tokens, a 403 whose body carries the step-up (its token is for
 * the client only, like a token pair: never logged).
 */
export const mfaRequired = (stepUp: StepUp): AppError =>
  new AppError('mfa_required', 'a second factor is required: send a code to /login/mfa', {
    body: { mfaToken: stepUp.mfaToken, methods: stepUp.methods },
  });
export type LogInInput = { username?: string | undefined; email?: string | undefined; password: string };

/**
 * A checked password: the account, and what ends its attempt. `settle` forgets its failures (false if the account
 * changed since); `release` ends it without forgetting them (a second factor is still to come); `fail` counts it as
 * a failure after all (a wrong second factor in the same request).
 */
export type CheckedPassword = AttemptedUser & {
  settle(): Promise<boolean>;
  release(): Promise<void>;
  fail(): Promise<void>;
  /** The lease this attempt holds and the expired ones seen, for a write that ends it itself. */
  lease: { id: string; expired: readonly string[] };
};

// An attempt that waits for others to be checked leaves itself this much of its deadline for its own check.
const CHECK_RESERVE_MS = 250;
// Waits between looks at a busy name: short (a check takes tens of milliseconds), growing, jittered.
const pauseMs = (turn: number) => Math.min(10 * 2 ** turn, 100) * (0.5 + Math.random());

/** An attempt opened on a name, under the throttle: the account (null for a name that is no account) and its lease. */
type OpenedAttempt = {
  user: AttemptedUser | null;
  leaseId: string;
  client: ReturnType<typeof clientWindow>;
  startedAt: number;
  /** Answers a 429 as the throttle wants it (audited, padded), or passes any other error on. */
  throttled(error: unknown, known: boolean, byName?: boolean): Promise<never>;
  /** An attempt answered 503 must not count against the client: its event is taken back. */
  giveBack(error: unknown): Promise<never>;
};

/**
 * Opens an attempt on the name under the throttle. Each attempt on an account holds a lease on its item while it
 * is checked: as many may be checked at once as failures are left before the name's limit, so parallel guesses
 * cannot slip through together, and attempts beyond that wait for those being checked (correct logins never
 * refuse each other). A name past its limit waits (1 s, 2 s, 4 s ...), answered 429, padded to the time of a
 * failed check.
 */
const openUnderThrottle = async (
  deps: LogInDeps,
  username: string,
  context: RequestContext,
  olderKeys: readonly string[],
  hideNameThrottle: boolean,
): Promise<OpenedAttempt> => {
  const startedAt = deps.clock.now().getTime();
  const client = clientWindow(deps, 'login', context.ip);
  const throttled = async (error: unknown, known: boolean, byName = false): Promise<never> => {
    if (error instanceof AppError && error.code === 'too_many_attempts') {
      // A name that is no account may be anything a person typed: logged as a digest.
      deps.audit.record('login.throttled', { username, known, context });
      await deps.pacer.pad(startedAt);
      if (byName && hideNameThrottle) throw invalidCredentials();
    }
    throw error;
  };

  const newLease = (): AttemptLease & { uid: string } => ({
    id: deps.ids.newId(),
    deadline: context.deadline,
    uid: deps.ids.newId(),
  });
  let lease = newLease();
  // Even when the add itself seemed to fail (it may have landed after its answer was lost).
  const giveBack = async (error: unknown): Promise<never> => {
    await client.remove(lease.id).catch(() => undefined);
    throw error;
  };
  // The account's attempt is opened while the client's failures are read: one round trip.
  const [opened, clientFailures] = await Promise.allSettled([
    openOnAnyKey(deps, [username, ...olderKeys], lease),
    client.count(),
  ]);
  if (opened.status === 'rejected') throw opened.reason;
  let user = opened.value;
  try {
    if (clientFailures.status === 'rejected') throw clientFailures.reason;
    client.assertOpen(clientFailures.value);
  } catch (error) {
    if (user !== null) await deps.users.closeAttempt(user.username, lease.id, []).catch(() => undefined);
    return throttled(error, user !== null);
  }

  // Wait for a free place among the attempts being checked (or refuse, past the name's limit).
  for (let turn = 0; user !== null; turn += 1) {
    const now = deps.clock.now().getTime();
    const { slots, waitEnds, failures } = allowance(deps.throttleSettings, user.login, now);
    const { live, expired } = leasesAt(user.login, now);
    // An attempt that waited while the name reached its limit is refused like the others that were checked in
    // its burst, even if it wakes after that wait: a burst of parallel guesses gets at most the limit's checks.
    const refused = slots === 0 || (turn > 0 && failures >= deps.throttleSettings.userFailures);
    if (!refused && live.length <= slots) break;
    await deps.users.closeAttempt(user.username, lease.id, expired);
    if (refused) return throttled(tooManyAttempts((waitEnds - now) / 1000), true, true);
    const pause = pauseMs(turn);
    if (now + pause + CHECK_RESERVE_MS > context.deadline) return throttled(tooManyAttempts(1), true, true);
    await deps.timer.sleep(pause);
    lease = newLease();
    user = await deps.users.openAttempt(user.username, lease);
  }
  return { user, leaseId: lease.id, client, startedAt, throttled, giveBack };
};

/**
 * Counts a failed check of an open attempt, for the name (its lease becomes a failure) and for the client, in one
 * round trip; an attempt whose count did not land is given back to the client and answered 503.
 */
const countFailure = async (deps: LogInDeps, attempt: OpenedAttempt, account: AttemptedUser): Promise<void> => {
  const now = deps.clock.now().getTime();
  const { expired } = leasesAt(account.login, now);
  const forgotten = account.login.failures > 0 && currentFailures(deps.throttleSettings, account.login, now) === 0;
  const failure = { at: now, expired, ...(forgotten ? { restartAfter: account.login.lastFailureAt } : {}) };
  const [recorded, added] = await Promise.allSettled([
    deps.users.recordFailure(account.username, attempt.leaseId, failure),
    attempt.client.add(attempt.leaseId),
  ]);
  if (recorded.status === 'rejected') await attempt.giveBack(recorded.reason);
  if (added.status === 'rejected') await attempt.giveBack(added.reason);
};

/**
 * Checks a password under the throttle and returns the account, or throws invalid_credentials /
 * too_many_attempts. Only failures are counted, for the name and for the client. Names that are no account are
 * counted in the throttle store with the same rules. Login uses it, and so do password change and account
 * deletion (a stolen access token must not be a way around the throttle to guess the current password).
 */
export const attemptPassword = async (
  deps: LogInDeps,
  username: string,
  password: string,
  context: RequestContext,
  /** Older keys the account may be stored under (see legacyUsernameKeys): tried together with `username`. */
  olderKeys: readonly string[] = [],
  /**
   * Answer a name that must wait as a failed login (padded alike), not 429: by email, the account's wait would tell
   * which address is whose (lock a known name, then see which address answers 429).
   */
  hideNameThrottle = false,
): Promise<CheckedPassword> => {
  const attempt = await openUnderThrottle(deps, username, context, olderKeys, hideNameThrottle);
  const { user, leaseId, client, startedAt } = attempt;

  if (user === null) {
    // No such account: counted as a failure of the name (it can only fail) before the equal work of a check.
    await countUnknownName(deps, username, leaseId).catch((error: unknown) => attempt.throttled(error, false, true));
    const [, added] = await Promise.allSettled([deps.hasher.verifyDummy(password), client.add(leaseId)]);
    if (added.status === 'rejected') return attempt.giveBack(added.reason);
    deps.audit.record('login.failed', { username, known: false, context });
    deps.pacer.record(startedAt);
    throw invalidCredentials();
  }

  const account = user;
  // Equal work: where an unknown name would be read and swapped (past the limit, or forgotten failures), a known
  // one takes the same two extra round trips, so the state of a name cannot tell whether it is an account.
  if (!countsInOneWrite(deps.throttleSettings, account.login, deps.clock.now().getTime())) {
    await deps.throttle.readFailures(username);
    await deps.throttle.readFailures(username);
  }
  const check = await deps.hasher.verify(account.passwordHash, password);
  if (!check.valid) {
    await countFailure(deps, attempt, account);
    deps.audit.record('login.failed', { username: account.username, known: true, context });
    deps.pacer.record(startedAt);
    throw invalidCredentials();
  }
  const upgraded = check.needsRehash ? await upgradeHash(deps, account, password) : undefined;
  const { expired } = leasesAt(account.login, deps.clock.now().getTime());
  return {
    ...account,
    ...(upgraded === undefined ? {} : { passwordHash: upgraded }),
    lease: { id: leaseId, expired },
    settle: () =>
      deps.users.recordSuccess(account.username, leaseId, {
        uid: account.uid,
        credentialVersion: account.credentialVersion,
        expired,
      }),
    release: () => deps.users.closeAttempt(account.username, leaseId, expired),
    fail: () => countFailure(deps, attempt, account),
  };
};

/**
 * Opens an attempt on a known account for a check that is not a password (a second factor): the same throttle,
 * the same leases, the same count of failures. Null when the account is gone.
 */
export const attemptOnAccount = async (
  deps: LogInDeps,
  username: string,
  context: RequestContext,
): Promise<(AttemptedUser & { lease: { id: string; expired: readonly string[] }; fail(): Promise<void>; release(): Promise<void> }) | null> => {
  const attempt = await openUnderThrottle(deps, username, context, [], false);
  const account = attempt.user;
  if (account === null) return null;
  const { expired } = leasesAt(account.login, deps.clock.now().getTime());
  return {
    ...account,
    lease: { id: attempt.leaseId, expired },
    fail: () => countFailure(deps, attempt, account),
    release: () => deps.users.closeAttempt(account.username, attempt.leaseId, expired),
  };
};

/**
 * Opens the attempt under the account's key, or under an older key when only that exists (an account stored
 * before today's normalization, or by the tutorial); leases opened on more than one are withdrawn but one.
 */
const openOnAnyKey = async (
  deps: Pick<LogInDeps, 'users'>,
  keys: readonly string[],
  lease: AttemptLease & { uid: string },
): Promise<AttemptedUser | null> => {
  if (keys.length === 1) return deps.users.openAttempt(keys[0] as string, lease);
  const found = await Promise.all(keys.map((key) => deps.users.openAttempt(key, lease)));
  const chosen = found.find((user) => user !== null) ?? null;
  await Promise.all(
    found.map((user) =>
      user === null || user === chosen ? undefined : deps.users.closeAttempt(user.username, lease.id, []),
    ),
  );
  return chosen;
};

/**
 * The step-up a right password of an account with TOTP on gets instead of tokens: a sealed token bound to the
 * account and its credentialVersion (a password change voids it), spent by the second step.
 */
export const stepUpFor = (deps: LogInDeps, user: UserRecord & { uid: string }): StepUp => {
  const issuedAt = deps.clock.now().getTime();
  const mfaToken = deps.stepUpTokens.seal(
    { u: user.username, id: user.uid, v: user.credentialVersion, t: issuedAt },
    issuedAt + deps.mfaSettings.tokenTtlSeconds * 1000,
  );
  const passkeys = deps.passkeysEnabled && mfaOf(user).passkeys > 0;
  return { mfaToken, methods: ['totp', 'recovery_code', ...(passkeys ? (['passkey'] as const) : [])] };
};

/**
 * A right password ends here: the session, or for an account with TOTP on the step-up (its attempt released
 * without forgetting the name's failures: only a completed login does, or a thief who knows the password could
 * guess codes forever).
 */
const finishPasswordLogin = async (
  deps: LogInDeps,
  checked: CheckedPassword,
  context: RequestContext,
): Promise<TokenPair> => {
  const { settle, release, fail: _fail, lease: _lease, ...user } = checked;
  if (mfaOf(user).totp !== null) {
    await release();
    throw mfaRequired(stepUpFor(deps, user));
  }
  // Forgetting the failures is the session's last write: it stands only if the account has not changed since
  // (deleted, or a new password), so it doubles as the check that no session outlives its user or password.
  const pair = await startSession(deps, user, settle);
  deps.audit.record('login.succeeded', { username: user.username, known: true, context, method: 'password' });
  return pair;
};

export const logIn = async (
  deps: LogInDeps & { emailClaims: EmailClaimStore },
  input: LogInInput,
  context: RequestContext,
): Promise<TokenPair> => {
  notBoth(input);
  if (input.email !== undefined) return logInByEmail(deps, normalizeEmail(input.email), input.password, context);
  if (input.username === undefined) throw invalidField('username', 'username is required');
  const username = loginUsername(input.username);
  assertLoginPassword(input.password);
  const checked = await attemptPassword(deps, username, input.password, context, legacyUsernameKeys(input.username));
  return finishPasswordLogin(deps, checked, context);
};

/**
 * A login by verified address: the address's account is checked under its own name's throttle (two ways in, one
 * count of failures). An address nobody verified goes through the same steps as a name that is no account (its
 * failures counted under the address), so neither the answer nor its time tells the two apart.
 */
const logInByEmail = async (
  deps: LogInDeps & { emailClaims: EmailClaimStore },
  email: string,
  password: string,
  context: RequestContext,
): Promise<TokenPair> => {
  assertLoginPassword(password);
  const claim = await deps.emailClaims.find(email);
  // `mailto:` cannot begin a username (no colon is allowed), so an unknown address is never some account's name.
  const key = claim?.username ?? `mailto:${email}`;
  const checked = await attemptPassword(deps, key, password, context, [], true);
  // The right password of an account that no longer holds the address (a claim left behind by a change whose
  // release failed), or of a tutorial-era name that happens to read `mailto:...`: no session; the lease ends at
  // its deadline.
  if (claim === null || !holdsVerifiedAddress(checked, claim)) {
    throw invalidCredentials();
  }
  return finishPasswordLogin(deps, checked, context);
};

/**
 * Replaces a legacy or weaker hash; returns the new hash when stored. A failed upgrade must not fail the login:
 * the old hash still works, and the next login tries again.
 */
const upgradeHash = async (
  deps: Pick<LogInDeps, 'users' | 'hasher' | 'log'>,
  user: UserRecord,
  password: string,
): Promise<string | undefined> => {
  try {
    const newHash = await deps.hasher.hash(password);
    if (await deps.users.replacePasswordHash(user.username, user.passwordHash, newHash)) return newHash;
    deps.log.warn('password hash upgrade skipped: the hash changed meanwhile', { username: user.username });
  } catch (error) {
    deps.log.warn('password hash upgrade failed', { username: user.username, error: errorSummary(error) });
  }
  return undefined;
};

const errorSummary = (error: unknown) =>
  error instanceof AppError ? error.code : error instanceof Error ? error.name : 'unknown';
