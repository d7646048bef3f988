// Use case: check a password and issue an access token. Unknown user and wrong password look the same.
import { assertLoginPassword } from './credentials';
import { AppError } from './errors';
import type { EventLog, IssuedToken, PasswordHasher, PublicUser, TokenService, UserStore } from './ports';
import { loginUsername } from './username';

export type LogInDeps = { users: UserStore; hasher: PasswordHasher; tokens: TokenService; log: EventLog };
export type LogInInput = { username: string; password: string };
export type LogInResult = IssuedToken & { user: PublicUser };

const invalidCredentials = () => new AppError('invalid_credentials', 'invalid username or password');

export const logIn = async (deps: LogInDeps, input: LogInInput): Promise<LogInResult> => {
  const username = loginUsername(input.username);
  assertLoginPassword(input.password);
  const stored = await deps.users.find(username);
  if (stored === null) {
    await deps.hasher.verifyDummy(input.password);
    throw invalidCredentials();
  }
  const check = await deps.hasher.verify(stored.passwordHash, input.password);
  if (!check.valid) throw invalidCredentials();
  if (check.needsRehash) await upgradeHash(deps, stored.username, stored.passwordHash, input.password);
  const user = { username: stored.username, name: stored.name };
  return { user, ...(await deps.tokens.issue(user)) };
};

// A failed upgrade must not fail the login: the old hash still works, and the next login tries again.
const upgradeHash = async (deps: LogInDeps, username: string, oldHash: string, password: string) => {
  try {
    const newHash = await deps.hasher.hash(password);
    const replaced = await deps.users.replacePasswordHash(username, oldHash, newHash);
    if (!replaced) deps.log.warn('password hash upgrade skipped: the hash changed meanwhile', { username });
  } catch (error) {
    deps.log.warn('password hash upgrade failed', { username, error: errorSummary(error) });
  }
};

const errorSummary = (error: unknown) =>
  error instanceof AppError ? error.code : error instanceof Error ? error.name : 'unknown';
