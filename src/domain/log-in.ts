// Use case: check a password and start a session. Unknown user and wrong password look the same.
import { assertLoginPassword } from './credentials';
import { AppError } from './errors';
import type { EventLog, PasswordHasher, UserRecord } from './ports';
import { startSession, type SessionDeps, type TokenPair } from './sessions';
import { loginUsername } from './username';

export type LogInDeps = SessionDeps & { hasher: PasswordHasher; log: EventLog };
export type LogInInput = { username: string; password: string };

export const invalidCredentials = () => new AppError('invalid_credentials', 'invalid username or password');

/** The stored user whose password this is, or invalid_credentials (after equal work when the user is unknown). */
export const checkPassword = async (
  deps: Pick<LogInDeps, 'users' | 'hasher' | 'log'>,
  username: string,
  password: string,
): Promise<UserRecord> => {
  const stored = await deps.users.find(username);
  if (stored === null) {
    await deps.hasher.verifyDummy(password);
    throw invalidCredentials();
  }
  const check = await deps.hasher.verify(stored.passwordHash, password);
  if (!check.valid) throw invalidCredentials();
  const upgraded = check.needsRehash ? await upgradeHash(deps, stored, password) : undefined;
  return upgraded === undefined ? stored : { ...stored, passwordHash: upgraded };
};

export const logIn = async (deps: LogInDeps, input: LogInInput): Promise<TokenPair> => {
  const username = loginUsername(input.username);
  assertLoginPassword(input.password);
  const user = await checkPassword(deps, username, input.password);
  // Tutorial-era users get their stable id at their first login.
  const uid = user.uid ?? (await deps.users.assignUid(user.username, deps.ids.newId()));
  if (uid === null) throw invalidCredentials();
  return startSession(deps, { ...user, uid });
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
