// Use case: create an account. Race-free by design: uniqueness is the store's conditional write, not a prior read.
import { assertAcceptablePassword, displayName } from './credentials';
import type { Clock, Ids, PasswordHasher, UserStore } from './ports';
import { registrableUsername } from './username';

export type RegisterDeps = { users: UserStore; hasher: PasswordHasher; clock: Clock; ids: Ids };
export type RegisterInput = { name: string; username: string; password: string };

export const register = async (deps: RegisterDeps, input: RegisterInput): Promise<{ username: string }> => {
  const username = registrableUsername(input.username);
  const name = displayName(input.name);
  assertAcceptablePassword(input.password);
  const passwordHash = await deps.hasher.hash(input.password);
  await deps.users.create({
    username,
    name,
    passwordHash,
    createdAt: deps.clock.now().toISOString(),
    uid: deps.ids.newId(),
    credentialVersion: 0,
  });
  return { username };
};
