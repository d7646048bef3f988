// Use case: create an account. Race-free by design: uniqueness is the store's conditional write, not a prior read.
import { assertAcceptablePassword, displayName, type PasswordPolicy } from './credentials';
import type { AuditLog, Clock, Ids, PasswordHasher, RequestContext, UserStore } from './ports';
import { countRegistration, type ThrottleDeps } from './throttle';
import { registrableUsername } from './username';

export type RegisterDeps = ThrottleDeps & {
  users: UserStore;
  hasher: PasswordHasher;
  clock: Clock;
  ids: Ids;
  passwordPolicy: PasswordPolicy;
  audit: AuditLog;
};
export type RegisterInput = { name: string; username: string; password: string };

export const register = async (
  deps: RegisterDeps,
  input: RegisterInput,
  context: RequestContext,
): Promise<{ username: string }> => {
  const username = registrableUsername(input.username);
  const name = displayName(input.name);
  await assertAcceptablePassword(deps.passwordPolicy, input.password, { username, name });
  // Counted before the write, whatever its outcome: a 409 tells whether a name exists, so probing is capped too.
  await countRegistration(deps, context.ip);
  const passwordHash = await deps.hasher.hash(input.password);
  await deps.users.create({
    username,
    name,
    passwordHash,
    createdAt: deps.clock.now().toISOString(),
    uid: deps.ids.newId(),
    credentialVersion: 0,
  });
  deps.audit.record('user.registered', { username, known: true, context });
  return { username };
};
