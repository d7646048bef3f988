// In-memory fakes of the domain ports, so use-case tests run fast and deterministically without I/O.
import { AppError } from '../src/domain/errors';
import type {
  Clock,
  EventLog,
  PasswordHasher,
  PublicUser,
  TokenService,
  UserRecord,
  UserStore,
} from '../src/domain/ports';

export type FakeUserStore = UserStore & {
  /** Direct look at what is stored, bypassing the port (a copy). */
  peek(username: string): UserRecord | undefined;
  /** Makes the next replacePasswordHash calls throw this error (the store being down). */
  failReplaceWith(error: Error | undefined): void;
};

/** A UserStore keyed on the exact username; `create` is a conditional put, like DynamoDB's. */
export const createUserStore = (initial: readonly UserRecord[] = []): FakeUserStore => {
  const rows = new Map<string, UserRecord>(initial.map((user) => [user.username, { ...user }]));
  let replaceError: Error | undefined;
  return {
    async create(user) {
      if (rows.has(user.username)) throw new AppError('username_taken', 'the username is taken');
      rows.set(user.username, { ...user });
    },
    async find(username) {
      const row = rows.get(username);
      return row === undefined ? null : { ...row };
    },
    async replacePasswordHash(username, expectedHash, newHash) {
      if (replaceError !== undefined) throw replaceError;
      const row = rows.get(username);
      if (row === undefined || row.passwordHash !== expectedHash) return false;
      rows.set(username, { ...row, passwordHash: newHash });
      return true;
    },
    peek: (username) => {
      const row = rows.get(username);
      return row === undefined ? undefined : { ...row };
    },
    failReplaceWith: (error) => {
      replaceError = error;
    },
  };
};

export type FakePasswordHasher = PasswordHasher & {
  readonly calls: { hash: number; verify: number; verifyDummy: number };
  /** A stored hash the fake treats as legacy: it verifies, and asks to be rehashed. */
  legacyHash(password: string): string;
};

const CURRENT = 'fake$';
const LEGACY = 'legacy$';

/** hash(p) = 'fake$' + p; 'legacy$' + p verifies too but with needsRehash. Counts every call. */
export const createPasswordHasher = (): FakePasswordHasher => {
  const calls = { hash: 0, verify: 0, verifyDummy: 0 };
  return {
    calls,
    legacyHash: (password) => LEGACY + password,
    async hash(password) {
      calls.hash += 1;
      return CURRENT + password;
    },
    async verify(passwordHash, password) {
      calls.verify += 1;
      if (passwordHash === CURRENT + password) return { valid: true, needsRehash: false };
      if (passwordHash === LEGACY + password) return { valid: true, needsRehash: true };
      return { valid: false, needsRehash: false };
    },
    async verifyDummy() {
      calls.verifyDummy += 1;
    },
  };
};

export type FakeClock = Clock & { advanceSeconds(seconds: number): void };

/** A clock that stands still until told to move. */
export const createClock = (start: Date = new Date('2024-05-01T12:00:00.000Z')): FakeClock => {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advanceSeconds: (seconds) => {
      current += seconds * 1000;
    },
  };
};

export type Warning = { message: string; fields: Record<string, unknown> | undefined };
export type FakeEventLog = EventLog & { readonly warnings: Warning[] };

export const createEventLog = (): FakeEventLog => {
  const warnings: Warning[] = [];
  return {
    warnings,
    warn: (message, fields) => {
      warnings.push({ message, fields });
    },
  };
};

export type FakeTokenService = TokenService & { readonly issued: PublicUser[] };

/** Opaque tokens 'token-<n>' remembered in memory; anything else is invalid_token. */
export const createTokenService = (expiresIn = 3600): FakeTokenService => {
  const byToken = new Map<string, PublicUser>();
  const issued: PublicUser[] = [];
  return {
    issued,
    async issue(user) {
      const token = `token-${byToken.size + 1}`;
      byToken.set(token, { ...user });
      issued.push({ ...user });
      return { token, expiresIn };
    },
    async verify(token) {
      const user = byToken.get(token);
      if (user === undefined) throw new AppError('invalid_token', 'the token is invalid');
      return { ...user };
    },
  };
};
