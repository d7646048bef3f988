// Use case: create an account. Race-free by design: uniqueness is the store's conditional write, not a prior read.
import { assertAcceptablePassword, displayName, type PasswordPolicy } from './credentials';
import type { AuditLog, Clock, Ids, PasswordHasher, RequestContext, UserStore } from './ports';
import { AppError } from './errors';
import { normalizeEmail } from './email';
import { sendRegistrationMail, type MailDeps } from './email-verification';
import { clientWindow } from './throttle';
import { registrableUsername } from './username';

export type RegisterDeps = MailDeps & {
  users: UserStore;
  hasher: PasswordHasher;
  clock: Clock;
  ids: Ids;
  passwordPolicy: PasswordPolicy;
  audit: AuditLog;
};
export type RegisterInput = { name: string; username: string; password: string; email?: string | undefined };

export const register = async (
  deps: RegisterDeps,
  input: RegisterInput,
  context: RequestContext,
): Promise<{ username: string }> => {
  const username = registrableUsername(input.username);
  const name = displayName(input.name);
  const email = input.email === undefined ? null : normalizeEmail(input.email);
  await assertAcceptablePassword(deps.passwordPolicy, input.password, { username, name });
  // A client past its ceiling is refused before any work. Its registrations are counted after the write, by
  // outcome: a 201 and a 409 count (a 409 tells whether a name exists, so probing is capped too), a store
  // failure does not (behind a shared NAT that would lock everyone out). A soft ceiling: registrations in
  // flight at once from one client may all pass the check.
  const client = clientWindow(deps, 'register', context.ip);
  client.assertOpen(await client.count());
  const passwordHash = await deps.hasher.hash(input.password);
  const uid = deps.ids.newId();
  try {
    await deps.users.create({
      username,
      name,
      passwordHash,
      createdAt: deps.clock.now().toISOString(),
      uid,
      credentialVersion: 0,
      // Stored unverified, and never checked against other accounts here: registration tells nothing about an
      // address (verification is where one address becomes one account's).
      email,
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'username_taken') await countQuietly(client, uid);
    throw error;
  }
  await countQuietly(client, uid);
  deps.audit.record('user.registered', { username, known: true, context });
  if (email !== null) await sendRegistrationMail(deps, { uid, username }, email, context);
  return { username };
};

// The outcome stands whether or not it could be counted: a registration that was made must not answer 503.
const countQuietly = (client: ReturnType<typeof clientWindow>, id: string) => client.add(id).catch(() => undefined);
