// In-memory fakes of the domain ports, so use-case tests run fast and deterministically without I/O.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createRefreshSecrets } from '../src/adapters/crypto/refresh-secrets';
import { AppError } from '../src/domain/errors';
import type { PasswordPolicy } from '../src/domain/credentials';
import type { Pacer } from '../src/domain/pace';
import type {
  AccessClaims,
  AuditEvent,
  AuditLog,
  Clock,
  CommonPasswords,
  EventLog,
  FailureRecord,
  Ids,
  PasswordHasher,
  RefreshSecrets,
  RequestContext,
  Session,
  SessionStore,
  ThrottleStore,
  Timer,
  TokenService,
  UserRecord,
  UserStore,
  WindowCount,
} from '../src/domain/ports';
import type { SessionSettings } from '../src/domain/sessions';
import type { ThrottleSettings } from '../src/domain/throttle';

export type FakeUserStore = UserStore & {
  /** Direct look at what is stored, bypassing the port (a copy). */
  peek(username: string): UserRecord | undefined;
  /** Makes the next replacePasswordHash calls throw this error (the store being down). */
  failReplaceWith(error: Error | undefined): void;
  /** Runs before each `find` reads, with the 1-based call number: lets a test change the user between reads. */
  beforeFind(hook: ((username: string, call: number) => void | Promise<void>) | undefined): void;
  /** Changes a stored user directly, bypassing the port (another request's write, or a data migration). */
  patch(username: string, change: Partial<UserRecord>): void;
  /** Deletes a stored user directly, bypassing the port. */
  drop(username: string): void;
};

/** A UserStore keyed on the exact username; `create` is a conditional put and updates are compare-and-swap, like DynamoDB's. */
export const createUserStore = (initial: readonly UserRecord[] = []): FakeUserStore => {
  const rows = new Map<string, UserRecord>(initial.map((user) => [user.username, { ...user }]));
  let replaceError: Error | undefined;
  let findHook: ((username: string, call: number) => void | Promise<void>) | undefined;
  let findCalls = 0;
  return {
    async create(user) {
      if (rows.has(user.username)) throw new AppError('username_taken', 'the username is taken');
      rows.set(user.username, { ...user });
    },
    async find(username) {
      findCalls += 1;
      await findHook?.(username, findCalls);
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
    async assignUid(username, uid, expectedHash) {
      const row = rows.get(username);
      if (row === undefined || row.passwordHash !== expectedHash) return null;
      if (row.uid !== null) return row.uid;
      rows.set(username, { ...row, uid });
      return uid;
    },
    async changePassword(username, expectedHash, newHash) {
      const row = rows.get(username);
      if (row === undefined || row.passwordHash !== expectedHash) return false;
      rows.set(username, { ...row, passwordHash: newHash, credentialVersion: row.credentialVersion + 1 });
      return true;
    },
    async remove(username, expectedHash) {
      const row = rows.get(username);
      if (row === undefined || row.passwordHash !== expectedHash) return false;
      rows.delete(username);
      return true;
    },
    peek: (username) => {
      const row = rows.get(username);
      return row === undefined ? undefined : { ...row };
    },
    failReplaceWith: (error) => {
      replaceError = error;
    },
    beforeFind: (hook) => {
      findHook = hook;
      findCalls = 0;
    },
    patch: (username, change) => {
      const row = rows.get(username);
      if (row === undefined) throw new Error(`no user ${username} to patch`);
      rows.set(username, { ...row, ...change });
    },
    drop: (username) => {
      rows.delete(username);
    },
  };
};

/** A user as registration stores it today, with a current fake hash. */
export const storedUser = (overrides: Partial<UserRecord> = {}): UserRecord => ({
  username: 'alice',
  name: 'Alice',
  passwordHash: 'fake$correct horse',
  createdAt: '2024-01-01T00:00:00.000Z',
  uid: 'uid-alice',
  credentialVersion: 0,
  ...overrides,
});

export type FakeSessionStore = SessionStore & {
  /** Direct look at one stored session, bypassing the port (a copy). */
  peek(uid: string, sid: string): Session | undefined;
  /** Every stored session of a user (copies). */
  sessionsOf(uid: string): Session[];
  /** How many `rotate` calls were made, and how many of them won their compare-and-swap. */
  readonly rotations: { attempts: number; wins: number };
  /** Runs after `find` has read the session and before it answers: another request may act in between. */
  afterFindRead(hook: ((uid: string, sid: string) => void | Promise<void>) | undefined): void;
  /** Runs after `create` has stored a session: lets a test change the world between the write and what follows. */
  afterCreate(hook: ((session: Session) => void | Promise<void>) | undefined): void;
};

/**
 * A SessionStore keyed on uid + sid. Every call yields to the event loop before it reads or writes, so
 * concurrent use cases interleave as they would against a real store, and `rotate` really races.
 */
export const createSessionStore = (): FakeSessionStore => {
  const rows = new Map<string, Session>();
  const key = (uid: string, sid: string) => JSON.stringify([uid, sid]);
  const rotations = { attempts: 0, wins: 0 };
  let findHook: ((uid: string, sid: string) => void | Promise<void>) | undefined;
  let createHook: ((session: Session) => void | Promise<void>) | undefined;
  return {
    rotations,
    async create(session) {
      await nextTurn();
      if (rows.has(key(session.uid, session.sid))) throw new Error(`session ${session.sid} exists`);
      rows.set(key(session.uid, session.sid), { ...session });
      await createHook?.({ ...session });
    },
    async find(uid, sid) {
      await nextTurn();
      const row = rows.get(key(uid, sid));
      const copy = row === undefined ? null : { ...row };
      await findHook?.(uid, sid);
      return copy;
    },
    async rotate(uid, sid, expectedHash, next) {
      rotations.attempts += 1;
      await nextTurn();
      const row = rows.get(key(uid, sid));
      if (row === undefined || row.refreshHash !== expectedHash) return false;
      rows.set(key(uid, sid), { ...row, ...next });
      rotations.wins += 1;
      return true;
    },
    async remove(uid, sid) {
      await nextTurn();
      rows.delete(key(uid, sid));
    },
    async removeAll(uid) {
      await nextTurn();
      for (const [k, row] of rows) if (row.uid === uid) rows.delete(k);
    },
    peek: (uid, sid) => {
      const row = rows.get(key(uid, sid));
      return row === undefined ? undefined : { ...row };
    },
    sessionsOf: (uid) => [...rows.values()].filter((row) => row.uid === uid).map((row) => ({ ...row })),
    afterFindRead: (hook) => {
      findHook = hook;
    },
    afterCreate: (hook) => {
      createHook = hook;
    },
  };
};

/** The real HMAC-based secrets under a fixed key: pure and fast, so the chain behaves exactly as in production. */
export const REFRESH_KEY = new Uint8Array(32).fill(7);
export const createSecrets = (key: Uint8Array = REFRESH_KEY): RefreshSecrets => createRefreshSecrets(key);

/** Sequential ids `<prefix>-1`, `<prefix>-2`, ... (no dots: they sit inside refresh tokens). */
export const createIds = (prefix = 'id'): Ids => {
  let next = 0;
  return {
    newId: () => {
      next += 1;
      return `${prefix}-${next}`;
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

export type FakeClock = Clock & { advanceSeconds(seconds: number): void; advanceMs(ms: number): void };

/** A clock that stands still until told to move. */
export const createClock = (start: Date = new Date('2024-05-01T12:00:00.000Z')): FakeClock => {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advanceSeconds: (seconds) => {
      current += seconds * 1000;
    },
    advanceMs: (ms) => {
      current += ms;
    },
  };
};

export type FakeTimer = Timer & { readonly sleeps: number[] };

/**
 * Sleeps at once, remembering each requested wait; with a fake clock, moves it forward by that wait rounded up
 * to whole milliseconds (a real timer never fires early, and Date has no finer grain).
 */
export const createTimer = (clock?: FakeClock): FakeTimer => {
  const sleeps: number[] = [];
  return {
    sleeps,
    async sleep(ms) {
      sleeps.push(ms);
      clock?.advanceMs(Math.ceil(ms));
    },
  };
};

export type FakeThrottleStore = ThrottleStore & {
  /** Direct look at a name's failure record, bypassing the port (a copy, with its expiry). */
  peekFailures(username: string): (FailureRecord & { expiresAt: number }) | undefined;
  /** Direct look at a client window, bypassing the port (a copy). */
  peekWindow(key: string): WindowCount | undefined;
  /** How many `writeFailures` calls were made, and how many of them won their compare-and-swap. */
  readonly writes: { attempts: number; wins: number };
};

/**
 * A ThrottleStore in memory, with DynamoDB's single-item semantics: `writeFailures` is a compare-and-swap on
 * `version` (null: the record must not exist yet), `hitWindow` counts in the window containing `now` or opens a
 * new one. Every call yields to the event loop first, so concurrent logins interleave and the swap really races.
 */
export const createThrottleStore = (): FakeThrottleStore => {
  const failures = new Map<string, FailureRecord & { expiresAt: number }>();
  const windows = new Map<string, WindowCount>();
  const writes = { attempts: 0, wins: 0 };
  return {
    writes,
    async readFailures(username) {
      await nextTurn();
      const row = failures.get(username);
      return row === undefined ? null : { failures: row.failures, lastFailureAt: row.lastFailureAt, version: row.version };
    },
    async writeFailures(username, expectedVersion, next, expiresAt) {
      writes.attempts += 1;
      await nextTurn();
      const row = failures.get(username);
      if (expectedVersion === null ? row !== undefined : row?.version !== expectedVersion) return false;
      failures.set(username, { ...next, version: (expectedVersion ?? 0) + 1, expiresAt });
      writes.wins += 1;
      return true;
    },
    async clearFailures(username) {
      await nextTurn();
      failures.delete(username);
    },
    async hitWindow(key, now, windowMs) {
      await nextTurn();
      const row = windows.get(key);
      const next =
        row !== undefined && now < row.windowStart + windowMs
          ? { count: row.count + 1, windowStart: row.windowStart }
          : { count: 1, windowStart: now };
      windows.set(key, next);
      return { ...next };
    },
    async refundWindow(key, windowStart) {
      await nextTurn();
      const row = windows.get(key);
      if (row !== undefined && row.windowStart === windowStart && row.count > 0) {
        windows.set(key, { ...row, count: row.count - 1 });
      }
    },
    peekFailures: (username) => {
      const row = failures.get(username);
      return row === undefined ? undefined : { ...row };
    },
    peekWindow: (key) => {
      const row = windows.get(key);
      return row === undefined ? undefined : { ...row };
    },
  };
};

export type AuditEntry = { event: AuditEvent; username: string; known: boolean; context: RequestContext };
export type FakeAuditLog = AuditLog & { readonly entries: AuditEntry[] };

/** Remembers every audit event (copies), in order. */
export const createAuditLog = (): FakeAuditLog => {
  const entries: AuditEntry[] = [];
  return {
    entries,
    record: (event, entry) => {
      entries.push({ event, username: entry.username, known: entry.known, context: { ...entry.context } });
    },
  };
};

export type FakePacer = Pacer & { readonly calls: { record: number[]; pad: number[] } };

/** Remembers the start times it is given; `pad` answers at once (pacing itself is tested with the real pacer). */
export const createPacer = (): FakePacer => {
  const calls = { record: [] as number[], pad: [] as number[] };
  return {
    calls,
    record: (startedAt) => {
      calls.record.push(startedAt);
    },
    pad: async (startedAt) => {
      calls.pad.push(startedAt);
    },
  };
};

export const COMMON_PASSWORDS = ['password', 'password1', '12345678', 'qwertyuiop', 'iloveyou', 'letmein123'];

export type FakeCommonPasswords = CommonPasswords & { readonly checked: string[] };

/** A tiny blocklist, compared case-insensitively like the real one. */
export const createCommonPasswords = (passwords: readonly string[] = COMMON_PASSWORDS): FakeCommonPasswords => {
  const lowered = new Set(passwords.map((password) => password.toLowerCase()));
  const checked: string[] = [];
  return {
    checked,
    async isCommon(password) {
      checked.push(password);
      return lowered.has(password.toLowerCase());
    },
  };
};

/** The service defaults (THROTTLE_* settings). */
export const THROTTLE_DEFAULTS: ThrottleSettings = {
  userFailures: 5,
  maxDelaySeconds: 900,
  windowSeconds: 900,
  ipFailures: 100,
  ipRegistrations: 20,
};

/** Where a test request comes from, unless a test says otherwise. */
export const CONTEXT: RequestContext = { ip: '198.51.100.7', requestId: 'req-1' };

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

export type FakeTokenService = TokenService & { readonly issued: AccessClaims[] };

/** Opaque tokens 'token-<n>' remembered in memory (they never expire); anything else is invalid_token. */
export const createTokenService = (expiresIn = 3600): FakeTokenService => {
  const byToken = new Map<string, AccessClaims>();
  const issued: AccessClaims[] = [];
  return {
    issued,
    async issue(claims) {
      const token = `token-${byToken.size + 1}`;
      byToken.set(token, { ...claims });
      issued.push({ ...claims });
      return { token, expiresIn };
    },
    async verify(token) {
      const claims = byToken.get(token);
      if (claims === undefined) throw new AppError('invalid_token', 'the token is invalid');
      return { ...claims };
    },
  };
};

export const REFRESH_TTL = 30 * 24 * 3600;
export const REFRESH_GRACE = 10;
export const ACCESS_TTL = 900;

/** Every port the use cases need, wired to fakes (and the real refresh secrets), with the fakes exposed. */
export const createWorld = (
  options: {
    users?: readonly UserRecord[];
    settings?: Partial<SessionSettings>;
    idPrefix?: string;
    throttleSettings?: Partial<ThrottleSettings>;
    minPasswordLength?: number;
    commonPasswords?: readonly string[];
  } = {},
) => {
  const users = createUserStore(options.users ?? [storedUser()]);
  const sessions = createSessionStore();
  const tokens = createTokenService(ACCESS_TTL);
  const secrets = createSecrets();
  const ids = createIds(options.idPrefix);
  const clock = createClock();
  const hasher = createPasswordHasher();
  const log = createEventLog();
  const throttle = createThrottleStore();
  const audit = createAuditLog();
  const pacer = createPacer();
  const common = createCommonPasswords(options.commonPasswords);
  const settings: SessionSettings = {
    refreshTtlSeconds: REFRESH_TTL,
    refreshGraceSeconds: REFRESH_GRACE,
    ...options.settings,
  };
  const throttleSettings: ThrottleSettings = { ...THROTTLE_DEFAULTS, ...options.throttleSettings };
  const passwordPolicy: PasswordPolicy = { minLength: options.minPasswordLength ?? 8, common };
  return {
    users,
    sessions,
    tokens,
    secrets,
    ids,
    clock,
    hasher,
    log,
    throttle,
    audit,
    pacer,
    common,
    deps: {
      users,
      sessions,
      tokens,
      secrets,
      ids,
      clock,
      hasher,
      log,
      settings,
      throttle,
      throttleSettings,
      audit,
      pacer,
      passwordPolicy,
    },
  };
};
