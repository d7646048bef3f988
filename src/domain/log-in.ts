// Use case: check a password and start a session. Unknown user and wrong password look the same, and a
// throttled attempt takes the same time.
import { assertLoginPassword } from './credentials';
import { AppError, invalidCredentials } from './errors';
import type { Pacer } from './pace';
import type { AuditLog, EventLog, PasswordHasher, RequestContext, UserRecord } from './ports';
import { startSession, type SessionDeps, type TokenPair } from './sessions';
import { reserveLogin, type ThrottleDeps } from './throttle';
import { loginUsername } from './username';

export type LogInDeps = SessionDeps &
  ThrottleDeps & { hasher: PasswordHasher; log: EventLog; audit: AuditLog; pacer: Pacer };
export type LogInInput = { username: string; password: string };

/** The stored user if this is its password; null otherwise (after equal work when the user is unknown). */
const verifyCredentials = async (
  deps: Pick<LogInDeps, 'users' | 'hasher' | 'log'>,
  stored: UserRecord | null,
  password: string,
): Promise<{ user: UserRecord | null; known: boolean }> => {
  if (stored === null) {
    await deps.hasher.verifyDummy(password);
    return { user: null, known: false };
  }
  const check = await deps.hasher.verify(stored.passwordHash, password);
  if (!check.valid) return { user: null, known: true };
  const upgraded = check.needsRehash ? await upgradeHash(deps, stored, password) : undefined;
  return { user: upgraded === undefined ? stored : { ...stored, passwordHash: upgraded }, known: true };
};

/**
 * Checks a password under the throttle: counted before the check, waits past the limits (429, padded to the
 * time of a failed check), audited. Returns the stored user with `settle`, which forgets the counted attempt
 * (call it once the caller has what it needs), or throws invalid_credentials / too_many_attempts.
 * Login uses it, and so do password change and account deletion (a stolen access token must not be a way
 * around the throttle to guess the current password).
 */
export const attemptPassword = async (
  deps: LogInDeps,
  username: string,
  password: string,
  context: RequestContext,
  /** The user as the caller has just read it, if it has; otherwise it is read here. */
  alreadyRead?: UserRecord,
): Promise<UserRecord & { settle(): Promise<void> }> => {
  const startedAt = deps.clock.now().getTime();
  // The user is read while the attempt is counted (one round trip, not two); the password is checked only
  // once both are done, so the count still comes first.
  const [reserved, found] = await Promise.allSettled([
    reserveLogin(deps, username, context.ip),
    alreadyRead ?? deps.users.find(username),
  ]);
  if (reserved.status === 'rejected') {
    const error: unknown = reserved.reason;
    if (!(error instanceof AppError) || error.code !== 'too_many_attempts') throw error;
    // A name that is no account may be anything a person typed: logged as a digest.
    const known = found.status === 'fulfilled' && found.value !== null;
    deps.audit.record('login.throttled', { username, known, context });
    await deps.pacer.pad(startedAt);
    throw error;
  }
  const reservation = reserved.value;
  if (found.status === 'rejected') throw found.reason;
  const { user, known } = await verifyCredentials(deps, found.value, password);
  if (user === null) {
    deps.audit.record('login.failed', { username, known, context });
    deps.pacer.record(startedAt);
    throw invalidCredentials();
  }
  return { ...user, settle: reservation.succeeded };
};

export const logIn = async (deps: LogInDeps, input: LogInInput, context: RequestContext): Promise<TokenPair> => {
  const username = loginUsername(input.username);
  assertLoginPassword(input.password);
  const { settle, ...user } = await attemptPassword(deps, username, input.password, context);
  // Tutorial-era users get their stable id at their first login.
  const uid = user.uid ?? (await deps.users.assignUid(user.username, deps.ids.newId(), user.passwordHash));
  if (uid === null) throw invalidCredentials();
  // Forgetting the failures and starting the session do not depend on each other: one round trip, not two.
  const [, pair] = await Promise.all([settle(), startSession(deps, { ...user, uid })]);
  deps.audit.record('login.succeeded', { username: user.username, known: true, context });
  return pair;
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
