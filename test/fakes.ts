// In-memory fakes of the domain ports, so use-case tests run fast and deterministically without I/O.
// The stores keep DynamoDB's single-item semantics: each request applies atomically to one item, conditions and
// all, and a condition that fails writes nothing. Every request yields to the event loop before it applies, so
// concurrent use cases interleave as they would against a real store and the races in the tests are real races.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createRecoveryCodes } from '../src/adapters/crypto/recovery-codes';
import { createRefreshSecrets, oneTimeTokens } from '../src/adapters/crypto/refresh-secrets';
import { createSealer } from '../src/adapters/crypto/sealer';
import { createSecretBox } from '../src/adapters/crypto/secret-box';
import { createTotp } from '../src/adapters/crypto/totp';
import { AppError } from '../src/domain/errors';
import type { PasswordPolicy } from '../src/domain/credentials';
import type { EmailSettings } from '../src/domain/email-verification';
import type { MailKind, MailRequest, Notifier } from '../src/domain/mail';
import type {
  EmailClaim,
  EmailClaimStore,
  OneTimeToken,
  OneTimeTokenPurpose,
  OneTimeTokens,
  OneTimeTokenStore,
} from '../src/domain/mail-ports';
import { createPacer as createTimingPacer, type Pacer } from '../src/domain/pace';
import { mfaOf } from '../src/domain/ports';
import type {
  AccessClaims,
  AttemptedUser,
  FactorChange,
  MfaState,
  AuditEvent,
  AuditLog,
  Clock,
  CommonPasswords,
  EventLog,
  FailureRecord,
  Ids,
  LoginMethod,
  LoginState,
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
} from '../src/domain/ports';
import type { SessionSettings } from '../src/domain/sessions';
import type { ThrottleSettings } from '../src/domain/throttle';

// ---------------------------------------------------------------------------------------------------------------
// Requests, hooks and faults, shared by the stores.

export type StoreRequest = {
  store: 'users' | 'sessions' | 'throttle' | 'oneTimeTokens' | 'emailClaims';
  op: string;
  write: boolean;
};

/** Every request the fake stores received, in order (an UpdateItem whose condition failed is still a write). */
export type RequestLog = {
  readonly requests: StoreRequest[];
  counts(): { requests: number; writes: number };
  clear(): void;
};

export const createRequestLog = (): RequestLog => {
  const requests: StoreRequest[] = [];
  return {
    requests,
    counts: () => ({ requests: requests.length, writes: requests.filter((request) => request.write).length }),
    clear: () => {
      requests.length = 0;
    },
  };
};

export type FaultOptions = {
  /** How many requests fail; every one until cleared when absent. */
  times?: number;
  /** The write lands before the error: a call that timed out after the store had applied it. */
  landed?: boolean;
};

/** Runs after a request has yielded and before it applies, with its key (username, window key or uid). */
type Hook = (key: string) => void | Promise<void>;

type StoreControls<Op extends string> = {
  /** Requests per operation so far. */
  readonly calls: Partial<Record<Op, number>>;
  /** Lets a test act between a request being sent and it being applied (another request lands first). */
  before(op: Op, hook: Hook | undefined): void;
  /** Makes requests of `op` throw `error` (the store down or timing out); undefined clears it. */
  fail(op: Op, error: Error | undefined, options?: FaultOptions): void;
};

const createControls = <Op extends string>(store: StoreRequest['store'], writes: readonly Op[], log: RequestLog) => {
  const calls: Partial<Record<Op, number>> = {};
  const hooks = new Map<Op, Hook>();
  const faults = new Map<Op, { error: Error; left: number; landed: boolean }>();
  const controls: StoreControls<Op> = {
    calls,
    before(op, hook) {
      if (hook === undefined) hooks.delete(op);
      else hooks.set(op, hook);
    },
    fail(op, error, options = {}) {
      if (error === undefined) faults.delete(op);
      else faults.set(op, { error, left: options.times ?? Infinity, landed: options.landed ?? false });
    },
  };
  /** One request: it yields, lets the test's hook run, then applies `apply` atomically, or fails as told. */
  const request = async <T>(op: Op, key: string, apply: () => T): Promise<T> => {
    calls[op] = (calls[op] ?? 0) + 1;
    log.requests.push({ store, op, write: writes.includes(op) });
    await nextTurn();
    await hooks.get(op)?.(key);
    const fault = faults.get(op);
    if (fault !== undefined) {
      fault.left -= 1;
      if (fault.left <= 0) faults.delete(op);
      if (fault.landed) apply();
      throw fault.error;
    }
    return apply();
  };
  return { controls, request };
};

/** What a store that is down answers (the adapters' translation of a timeout or a refused connection). */
export const storeDown = (what = 'store down'): AppError =>
  new AppError('service_unavailable', 'the service is temporarily unavailable', { cause: new Error(what) });

// ---------------------------------------------------------------------------------------------------------------
// Users

type UserOp =
  | 'create'
  | 'find'
  | 'replacePasswordHash'
  | 'openAttempt'
  | 'closeAttempt'
  | 'recordFailure'
  | 'recordSuccess'
  | 'changePassword'
  | 'remove'
  | 'requestEmail'
  | 'confirmEmail'
  | 'resetPassword'
  | 'updateFactors'
  | 'ensureUserHandle';

const USER_WRITES: readonly UserOp[] = [
  'create',
  'updateFactors',
  'ensureUserHandle',
  'requestEmail',
  'confirmEmail',
  'resetPassword',
  'replacePasswordHash',
  'openAttempt',
  'closeAttempt',
  'recordFailure',
  'recordSuccess',
  'changePassword',
  'remove',
];

export type FakeUserStore = UserStore &
  StoreControls<UserOp> & {
    /** Direct look at a stored account, bypassing the port (a copy, without its login state). */
    peek(username: string): UserRecord | undefined;
    /** Direct look at a stored account's login state: failures on record and leases held (a copy). */
    peekLogin(username: string): LoginState | undefined;
    /** Changes a stored user directly, bypassing the port (another request's write, or a data migration). */
    patch(username: string, change: Partial<UserRecord>): void;
    /** Deletes a stored user directly, bypassing the port. */
    drop(username: string): void;
  };

/** One item of the users table: the account, and the login throttle's attributes on it. */
type UserRow = { user: UserRecord; failures: number; lastFailureAt: number | undefined; leases: Record<string, number> };

/**
 * A UserStore keyed on the exact username. `create` is a conditional put; updates are conditional writes to one
 * item, as on DynamoDB: a lease is an attribute of the user's item, `openAttempt` returns the item as written,
 * `recordFailure` is one conditional update, or two when it first tries to restart forgotten failures.
 */
export const createUserStore = (
  initial: readonly UserRecord[] = [],
  log: RequestLog = createRequestLog(),
): FakeUserStore => {
  const rows = new Map<string, UserRow>(
    initial.map((user) => [user.username, { user: { ...user }, failures: 0, lastFailureAt: undefined, leases: {} }]),
  );
  const { controls, request } = createControls<UserOp>('users', USER_WRITES, log);
  const loginOf = (row: UserRow): LoginState => ({
    failures: row.failures,
    lastFailureAt: row.lastFailureAt ?? 0,
    leases: { ...row.leases },
  });
  const dropLeases = (row: UserRow, ids: readonly string[]) => {
    for (const id of ids) delete row.leases[id];
  };
  return {
    ...controls,
    create: (user) =>
      request('create', user.username, () => {
        if (rows.has(user.username)) throw new AppError('username_taken', 'the username is taken');
        // A new account's address is never verified yet: verification claims it.
        const stored: UserRecord = { ...user, email: user.email ?? null, emailVerified: false, pendingEmail: null };
        rows.set(user.username, { user: stored, failures: 0, lastFailureAt: undefined, leases: {} });
      }),
    // As on DynamoDB: `pending` only while the address is verified, a replacement only while it is not.
    requestEmail: (username, uid, email, pending) =>
      request('requestEmail', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.uid !== uid || row.user.emailVerified !== pending) return false;
        row.user = pending
          ? { ...row.user, pendingEmail: email }
          : { ...row.user, email, emailVerified: false, pendingEmail: null };
        return true;
      }),
    confirmEmail: (username, uid, email) =>
      request('confirmEmail', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.uid !== uid) return false;
        const before = row.user;
        if (before.email !== email && before.pendingEmail !== email) return false;
        row.user = { ...before, email, emailVerified: true, pendingEmail: null };
        return { replaced: before.emailVerified && before.email !== email ? before.email : null };
      }),
    // Conditional on the account alone (the token is the authority); the name's failures are forgotten.
    resetPassword: (username, uid, newHash) =>
      request('resetPassword', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.uid !== uid) return false;
        row.user = { ...row.user, passwordHash: newHash, credentialVersion: row.user.credentialVersion + 1 };
        row.failures = 0;
        return true;
      }),
    find: (username) =>
      request('find', username, () => {
        const row = rows.get(username);
        return row === undefined ? null : { ...row.user };
      }),
    replacePasswordHash: (username, expectedHash, newHash) =>
      request('replacePasswordHash', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.passwordHash !== expectedHash) return false;
        row.user = { ...row.user, passwordHash: newHash };
        return true;
      }),
    openAttempt: (username, attempt) =>
      request('openAttempt', username, (): AttemptedUser | null => {
        const row = rows.get(username);
        if (row === undefined) return null;
        row.leases[attempt.id] = attempt.deadline;
        const uid = row.user.uid ?? attempt.uid;
        row.user = { ...row.user, uid };
        return { ...row.user, uid, login: loginOf(row) };
      }),
    closeAttempt: (username, leaseId, expired) =>
      request('closeAttempt', username, () => {
        const row = rows.get(username);
        if (row !== undefined) dropLeases(row, [leaseId, ...expired]);
      }),
    async recordFailure(username, leaseId, failure) {
      // Counts only while the lease is there: a retried call finds it gone and changes nothing.
      const count = (restart: boolean) => () => {
        const row = rows.get(username);
        if (row === undefined || !(leaseId in row.leases)) return false;
        if (restart && row.lastFailureAt !== failure.restartAfter) return false;
        dropLeases(row, [leaseId, ...failure.expired]);
        row.failures = restart ? 1 : row.failures + 1;
        row.lastFailureAt = failure.at;
        return true;
      };
      const restarted = failure.restartAfter !== undefined && (await request('recordFailure', username, count(true)));
      if (!restarted) await request('recordFailure', username, count(false));
    },
    recordSuccess: (username, leaseId, expect) =>
      request('recordSuccess', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.uid !== expect.uid || row.user.credentialVersion !== expect.credentialVersion) {
          return false;
        }
        dropLeases(row, [leaseId, ...expect.expired]);
        row.failures = 0;
        return true;
      }),
    changePassword: (username, expectedHash, newHash) =>
      request('changePassword', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.passwordHash !== expectedHash) return false;
        row.user = { ...row.user, passwordHash: newHash, credentialVersion: row.user.credentialVersion + 1 };
        return true;
      }),
    remove: (username, expectedHash) =>
      request('remove', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.passwordHash !== expectedHash) return false;
        rows.delete(username);
        return true;
      }),
    updateFactors: (username, change) =>
      request('updateFactors', username, () => {
        const row = rows.get(username);
        const applied = row === undefined ? null : applyFactorChange(row.user, change);
        if (row === undefined || applied === null) return false;
        row.user = applied;
        if (change.login !== undefined) {
          dropLeases(row, [change.login.leaseId, ...change.login.expired]);
          row.failures = 0;
        }
        return true;
      }),
    ensureUserHandle: (username, uid, handle) =>
      request('ensureUserHandle', username, () => {
        const row = rows.get(username);
        if (row === undefined || row.user.uid !== uid) return null;
        const mfa = mfaOf(row.user);
        if (mfa.userHandle !== null) return mfa.userHandle;
        row.user = { ...row.user, mfa: { ...mfa, userHandle: handle } };
        return handle;
      }),
    peek: (username) => {
      const row = rows.get(username);
      return row === undefined ? undefined : { ...row.user };
    },
    peekLogin: (username) => {
      const row = rows.get(username);
      return row === undefined ? undefined : loginOf(row);
    },
    patch: (username, change) => {
      const row = rows.get(username);
      if (row === undefined) throw new Error(`no user ${username} to patch`);
      row.user = { ...row.user, ...change };
    },
    drop: (username) => {
      rows.delete(username);
    },
  };
};

/**
 * A FactorChange applied to a copy of the account as the DynamoDB adapter applies it: every condition must hold,
 * or nothing changes (null).
 */
const applyFactorChange = (user: UserRecord, change: FactorChange): UserRecord | null => {
  if (user.uid !== change.expect.uid || user.credentialVersion !== change.expect.credentialVersion) return null;
  const before = mfaOf(user);
  const mfa: { -readonly [K in keyof MfaState]: MfaState[K] } = { ...before, recoveryCodes: [...before.recoveryCodes] };
  if (change.step !== undefined) {
    if (before.totp === null || change.step <= before.totp.lastStep) return null;
    mfa.totp = { ...before.totp, lastStep: change.step };
  }
  if (change.recoveryCode !== undefined) {
    if (!before.recoveryCodes.includes(change.recoveryCode)) return null;
    mfa.recoveryCodes = before.recoveryCodes.filter((code) => code !== change.recoveryCode);
  }
  if (change.pendingTotp !== undefined) {
    if (before.totp !== null) return null;
    mfa.pendingTotp = { ...change.pendingTotp };
  }
  if (change.totp === null) {
    if (before.totp === null) return null;
    mfa.totp = null;
    mfa.pendingTotp = null;
  } else if (change.totp !== undefined) {
    const pending = before.pendingTotp;
    if (before.totp !== null || pending === null || pending.secret !== change.totp.secret || pending.expiresAt <= change.totp.now) {
      return null;
    }
    mfa.totp = { secret: change.totp.secret, lastStep: change.totp.lastStep };
    mfa.pendingTotp = null;
  }
  if (change.recoveryCodes !== undefined) mfa.recoveryCodes = [...(change.recoveryCodes ?? [])];
  if (change.passkeys !== undefined) mfa.passkeys = Math.max(0, before.passkeys + change.passkeys);
  if (change.login?.mfaIssuedAt !== undefined) {
    if (before.mfaSpentAt >= change.login.mfaIssuedAt) return null;
    mfa.mfaSpentAt = change.login.mfaIssuedAt;
  }
  return { ...user, mfa, credentialVersion: user.credentialVersion + (change.bump === true ? 1 : 0) };
};

/** A user as registration stores it today, with a current fake hash. */
export const storedUser = (overrides: Partial<UserRecord> = {}): UserRecord => ({
  username: 'alice',
  name: 'Alice',
  passwordHash: 'fake$correct horse',
  createdAt: '2024-01-01T00:00:00.000Z',
  uid: 'uid-alice',
  credentialVersion: 0,
  email: null,
  emailVerified: false,
  pendingEmail: null,
  ...overrides,
});

// ---------------------------------------------------------------------------------------------------------------
// Sessions

type SessionOp = 'create' | 'find' | 'rotate' | 'remove' | 'removeAll' | 'removeOthers' | 'carryOver';

export type FakeSessionStore = SessionStore &
  StoreControls<SessionOp> & {
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

/** A SessionStore keyed on uid + sid; `rotate` is a compare-and-swap on the refresh digest, and really races. */
export const createSessionStore = (log: RequestLog = createRequestLog()): FakeSessionStore => {
  const rows = new Map<string, Session>();
  const key = (uid: string, sid: string) => JSON.stringify([uid, sid]);
  const rotations = { attempts: 0, wins: 0 };
  let findHook: ((uid: string, sid: string) => void | Promise<void>) | undefined;
  let createHook: ((session: Session) => void | Promise<void>) | undefined;
  const { controls, request } = createControls<SessionOp>(
    'sessions',
    ['create', 'rotate', 'remove', 'removeAll', 'removeOthers', 'carryOver'],
    log,
  );
  return {
    ...controls,
    rotations,
    async create(session) {
      await request('create', session.uid, () => {
        if (rows.has(key(session.uid, session.sid))) throw new Error(`session ${session.sid} exists`);
        rows.set(key(session.uid, session.sid), { ...session });
      });
      await createHook?.({ ...session });
    },
    async find(uid, sid) {
      const copy = await request('find', uid, () => {
        const row = rows.get(key(uid, sid));
        return row === undefined ? null : { ...row };
      });
      await findHook?.(uid, sid);
      return copy;
    },
    rotate(uid, sid, expectedHash, next) {
      rotations.attempts += 1;
      return request('rotate', uid, () => {
        const row = rows.get(key(uid, sid));
        if (row === undefined || row.refreshHash !== expectedHash) return false;
        rows.set(key(uid, sid), { ...row, ...next });
        rotations.wins += 1;
        return true;
      });
    },
    remove: (uid, sid) =>
      request('remove', uid, () => {
        rows.delete(key(uid, sid));
      }),
    removeAll: (uid) =>
      request('removeAll', uid, () => {
        for (const [k, row] of rows) if (row.uid === uid) rows.delete(k);
      }),
    removeOthers: (uid, keepSid) =>
      request('removeOthers', uid, () => {
        for (const [k, row] of rows) if (row.uid === uid && row.sid !== keepSid) rows.delete(k);
      }),
    carryOver: (uid, sid, credentialVersion) =>
      request('carryOver', uid, () => {
        const row = rows.get(key(uid, sid));
        // Only from the version just before (or already there: a retry), as on DynamoDB.
        if (row === undefined || (row.credentialVersion !== credentialVersion - 1 && row.credentialVersion !== credentialVersion)) {
          return false;
        }
        rows.set(key(uid, sid), { ...row, credentialVersion });
        return true;
      }),
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

// ---------------------------------------------------------------------------------------------------------------
// Throttle

type ThrottleOp = 'readFailures' | 'writeFailures' | 'countFailure' | 'windowCount' | 'addToWindow' | 'removeFromWindow';

export type FakeThrottleStore = ThrottleStore &
  StoreControls<ThrottleOp> & {
    /** Direct look at a name's failure record, bypassing the port (a copy, with its expiry). */
    peekFailures(username: string): (FailureRecord & { expiresAt: number }) | undefined;
    /** Direct look at a client window, bypassing the port: its event ids and expiry (a copy). */
    peekWindow(key: string): { events: string[]; expiresAt: number } | undefined;
    /** How many `writeFailures` calls were made, and how many of them won their compare-and-swap. */
    readonly writes: { attempts: number; wins: number };
    /** How many `countFailure` calls were made, and how many of them counted. */
    readonly counts: { attempts: number; wins: number };
  };

/**
 * A ThrottleStore in memory, with DynamoDB's single-item semantics: `writeFailures` is a compare-and-swap on
 * `version` (null: the record must not exist yet), `countFailure` a conditional increment, and a window a set of
 * event ids (adding one twice counts it once; a window that is not there has nothing to take back).
 */
export const createThrottleStore = (log: RequestLog = createRequestLog()): FakeThrottleStore => {
  const failures = new Map<string, FailureRecord & { expiresAt: number }>();
  const windows = new Map<string, { events: Set<string>; expiresAt: number }>();
  const writes = { attempts: 0, wins: 0 };
  const counts = { attempts: 0, wins: 0 };
  const { controls, request } = createControls<ThrottleOp>(
    'throttle',
    ['writeFailures', 'countFailure', 'addToWindow', 'removeFromWindow'],
    log,
  );
  return {
    ...controls,
    writes,
    counts,
    readFailures: (username) =>
      request('readFailures', username, () => {
        const row = failures.get(username);
        return row === undefined ? null : { failures: row.failures, lastFailureAt: row.lastFailureAt, version: row.version };
      }),
    writeFailures(username, expectedVersion, next, expiresAt) {
      writes.attempts += 1;
      return request('writeFailures', username, () => {
        const row = failures.get(username);
        if (expectedVersion === null ? row !== undefined : row?.version !== expectedVersion) return false;
        failures.set(username, { ...next, version: (expectedVersion ?? 0) + 1, expiresAt });
        writes.wins += 1;
        return true;
      });
    },
    countFailure(username, at, when, expiresAt) {
      counts.attempts += 1;
      return request('countFailure', username, () => {
        const row = failures.get(username);
        if (row !== undefined && !(row.failures < when.below && row.lastFailureAt > when.since)) return false;
        failures.set(username, {
          failures: (row?.failures ?? 0) + 1,
          lastFailureAt: at,
          version: (row?.version ?? 0) + 1,
          expiresAt,
        });
        counts.wins += 1;
        return true;
      });
    },
    windowCount: (key) => request('windowCount', key, () => windows.get(key)?.events.size ?? 0),
    addToWindow: (key, id, expiresAt, cap) =>
      request('addToWindow', key, () => {
        const window = windows.get(key) ?? { events: new Set<string>(), expiresAt };
        if (window.events.size >= cap && !window.events.has(id)) return false;
        window.events.add(id);
        windows.set(key, { events: window.events, expiresAt });
        return true;
      }),
    removeFromWindow: (key, id) =>
      request('removeFromWindow', key, () => {
        windows.get(key)?.events.delete(id);
      }),
    peekFailures: (username) => {
      const row = failures.get(username);
      return row === undefined ? undefined : { ...row };
    },
    peekWindow: (key) => {
      const window = windows.get(key);
      return window === undefined ? undefined : { events: [...window.events], expiresAt: window.expiresAt };
    },
  };
};

// ---------------------------------------------------------------------------------------------------------------
// One-time tokens, verified addresses, mail

type TokenOp = 'issue' | 'consume' | 'peek' | 'revoke';

export type FakeOneTimeTokenStore = OneTimeTokenStore &
  StoreControls<TokenOp> & {
    /** Every token ever issued, in order (copies), whether or not it still works. */
    readonly issued: OneTimeToken[];
  };

/**
 * A OneTimeTokenStore in memory with the DynamoDB adapter's rules: a digest's record is found by purpose and digest,
 * and works only while it is its account's newest of that purpose (issuing supersedes), unused, and not expired at
 * `now` (kept in whole seconds, rounded down, as the table does). Consuming marks it used in one atomic step.
 */
export const createOneTimeTokenStore = (log: RequestLog = createRequestLog()): FakeOneTimeTokenStore => {
  const byDigest = new Map<string, OneTimeToken>();
  const latest = new Map<string, { digest: string; used: boolean }>();
  const issued: OneTimeToken[] = [];
  const { controls, request } = createControls<TokenOp>('oneTimeTokens', ['issue', 'consume', 'revoke'], log);
  const tokenKey = (purpose: OneTimeTokenPurpose, digest: string) => `${purpose}#${digest}`;
  const latestKey = (purpose: OneTimeTokenPurpose, uid: string) => `${purpose}#${uid}`;
  /** The record if it works at `now`, with its account's `latest` entry; null otherwise. */
  const usable = (digest: string, purpose: OneTimeTokenPurpose, now: number) => {
    const token = byDigest.get(tokenKey(purpose, digest));
    if (token === undefined || now >= Math.floor(token.expiresAt / 1000) * 1000) return null;
    const newest = latest.get(latestKey(purpose, token.uid));
    return newest === undefined || newest.digest !== digest || newest.used ? null : { token, newest };
  };
  return {
    ...controls,
    issued,
    issue: (token) =>
      request('issue', token.uid, () => {
        byDigest.set(tokenKey(token.purpose, token.digest), { ...token });
        latest.set(latestKey(token.purpose, token.uid), { digest: token.digest, used: false });
        issued.push({ ...token });
      }),
    consume: (digest, purpose, now) =>
      request('consume', digest, () => {
        const found = usable(digest, purpose, now);
        if (found === null) return null;
        found.newest.used = true;
        return { ...found.token };
      }),
    peek: (digest, purpose, now) =>
      request('peek', digest, () => {
        const found = usable(digest, purpose, now);
        return found === null ? null : { ...found.token };
      }),
    revoke: (uid, purpose) =>
      request('revoke', uid, () => {
        latest.delete(latestKey(purpose, uid));
      }),
  };
};

type ClaimOp = 'claim' | 'find' | 'replace' | 'release';

export type FakeEmailClaimStore = EmailClaimStore &
  StoreControls<ClaimOp> & {
    /** Direct look at who holds an address, bypassing the port (a copy). */
    holder(email: string): EmailClaim | undefined;
    /** Sets a claim directly, bypassing the port (another account verified it, or a claim left behind). */
    put(claim: EmailClaim): void;
  };

/** An EmailClaimStore in memory: a claim is a conditional put (free, or this uid's already), a release conditional on uid. */
export const createEmailClaimStore = (
  initial: readonly EmailClaim[] = [],
  log: RequestLog = createRequestLog(),
): FakeEmailClaimStore => {
  const claims = new Map<string, EmailClaim>(initial.map((claim) => [claim.email, { ...claim }]));
  const { controls, request } = createControls<ClaimOp>('emailClaims', ['claim', 'replace', 'release'], log);
  return {
    ...controls,
    claim: (claim) =>
      request('claim', claim.email, () => {
        const held = claims.get(claim.email);
        if (held !== undefined && held.uid !== claim.uid) return 'taken' as const;
        claims.set(claim.email, { ...claim });
        return 'claimed' as const;
      }),
    find: (email) =>
      request('find', email, () => {
        const held = claims.get(email);
        return held === undefined ? null : { ...held };
      }),
    replace: (email, staleUid, claim) =>
      request('replace', email, () => {
        const holder = claims.get(email)?.uid;
        if (holder !== staleUid && holder !== claim.uid) return false;
        claims.set(email, { ...claim, email });
        return true;
      }),
    release: (email, uid) =>
      request('release', email, () => {
        if (claims.get(email)?.uid !== uid) return false;
        claims.delete(email);
        return true;
      }),
    holder: (email) => {
      const held = claims.get(email);
      return held === undefined ? undefined : { ...held };
    },
    put: (claim) => {
      claims.set(claim.email, { ...claim });
    },
  };
};

export type FakeNotifier = Notifier & {
  /** Every mail sent, in order (copies); a failed send is not here. */
  readonly sent: MailRequest[];
  /** How many sends were tried, failed ones included. */
  readonly attempts: { count: number };
  /** Makes sends throw `error` (the mailer down); undefined clears it. */
  fail(error: Error | undefined, options?: { times?: number }): void;
  /** The mails sent to `to`, optionally of one kind. */
  to(to: string, kind?: MailKind): MailRequest[];
  /** The token of the last link of `kind` sent to `to` (throws when there is none). */
  tokenFor(to: string, kind: 'verify_email' | 'reset_password'): string;
};

/** A Notifier that remembers what it was asked to send; a send yields to the event loop, as a real one does. */
export const createNotifier = (): FakeNotifier => {
  const sent: MailRequest[] = [];
  const attempts = { count: 0 };
  let fault: { error: Error; left: number } | undefined;
  const to = (address: string, kind?: MailKind) =>
    sent.filter((mail) => mail.to === address && (kind === undefined || mail.kind === kind));
  return {
    sent,
    attempts,
    fail(error, options = {}) {
      fault = error === undefined ? undefined : { error, left: options.times ?? Infinity };
    },
    to,
    tokenFor(address, kind) {
      const mail = to(address, kind).at(-1);
      if (mail === undefined || !('token' in mail)) throw new Error(`no ${kind} mail to ${address}`);
      return mail.token;
    },
    async send(mail) {
      attempts.count += 1;
      await nextTurn();
      if (fault !== undefined) {
        const { error } = fault;
        fault.left -= 1;
        if (fault.left <= 0) fault = undefined;
        throw error;
      }
      sent.push({ ...mail });
    },
  };
};

/** The real link tokens (random, SHA-256 digests): fast, and what the stores see in production. */
export const createTokenMaker = (): OneTimeTokens => oneTimeTokens;

// ---------------------------------------------------------------------------------------------------------------
// Crypto, ids, time

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
  /** Checks (verify and verifyDummy) in progress now, and the most ever in progress at once. */
  readonly checking: { now: number; most: number };
  /** A stored hash the fake treats as legacy: it verifies, and asks to be rehashed. */
  legacyHash(password: string): string;
  /** Holds every check that starts from now on until the returned function is called (a slow check). */
  hold(): () => void;
};

const CURRENT = 'fake$';
const LEGACY = 'legacy$';

/**
 * hash(p) = 'fake$' + p; 'legacy$' + p verifies too but with needsRehash. Counts every call. A check yields to the
 * event loop (it takes time, so concurrent checks overlap) and, with a clock, moves it on by `checkMs`.
 */
export const createPasswordHasher = (options: { clock?: FakeClock; checkMs?: number } = {}): FakePasswordHasher => {
  const calls = { hash: 0, verify: 0, verifyDummy: 0 };
  const checking = { now: 0, most: 0 };
  let gate: Promise<void> | undefined;
  const check = async () => {
    checking.now += 1;
    checking.most = Math.max(checking.most, checking.now);
    try {
      await nextTurn();
      await gate;
      options.clock?.advanceMs(options.checkMs ?? 0);
    } finally {
      checking.now -= 1;
    }
  };
  return {
    calls,
    checking,
    legacyHash: (password) => LEGACY + password,
    hold: () => {
      let open = () => undefined as void;
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
    async hash(password) {
      calls.hash += 1;
      return CURRENT + password;
    },
    async verify(passwordHash, password) {
      calls.verify += 1;
      await check();
      if (passwordHash === CURRENT + password) return { valid: true, needsRehash: false };
      if (passwordHash === LEGACY + password) return { valid: true, needsRehash: true };
      return { valid: false, needsRehash: false };
    },
    async verifyDummy() {
      calls.verifyDummy += 1;
      await check();
    },
  };
};

/** Where every fake clock starts, unless a test says otherwise. */
export const START = new Date('2024-05-01T12:00:00.000Z');

export type FakeClock = Clock & { advanceSeconds(seconds: number): void; advanceMs(ms: number): void };

/** A clock that stands still until told to move. */
export const createClock = (start: Date = START): FakeClock => {
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
 * Remembers each requested wait and yields to the event loop; with a fake clock, a sleep then moves it on to its
 * start plus the wait rounded up to whole milliseconds (a real timer never fires early, and Date has no finer
 * grain). Concurrent sleeps overlap as real ones do: the clock goes to the latest wake-up, never back.
 */
export const createTimer = (clock?: FakeClock): FakeTimer => {
  const sleeps: number[] = [];
  return {
    sleeps,
    async sleep(ms) {
      sleeps.push(ms);
      const wake = clock === undefined ? 0 : clock.now().getTime() + Math.ceil(ms);
      await nextTurn();
      if (clock !== undefined) clock.advanceMs(Math.max(0, wake - clock.now().getTime()));
    },
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Logs and policies

export type AuditEntry = { event: AuditEvent; username: string; known: boolean; context: RequestContext; method?: LoginMethod };
export type FakeAuditLog = AuditLog & { readonly entries: AuditEntry[] };

/** Remembers every audit event (copies), in order. */
export const createAuditLog = (): FakeAuditLog => {
  const entries: AuditEntry[] = [];
  return {
    entries,
    record: (event, entry) => {
      entries.push({
        event,
        username: entry.username,
        known: entry.known,
        context: { ...entry.context },
        ...(entry.method === undefined ? {} : { method: entry.method }),
      });
    },
  };
};

export type FakePacer = Pacer & { readonly calls: { record: number[]; pad: number[] } };

/**
 * Remembers the start times it is given. Alone, `pad` answers at once; given the real pacer, it passes every call
 * on to it (to test that throttled answers take as long as failed ones).
 */
export const createPacer = (real?: Pacer): FakePacer => {
  const calls = { record: [] as number[], pad: [] as number[] };
  return {
    calls,
    record: (startedAt, endedAt) => {
      calls.record.push(startedAt);
      real?.record(startedAt, endedAt);
    },
    pad: async (startedAt) => {
      calls.pad.push(startedAt);
      await real?.pad(startedAt);
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
  ipMails: 20,
};

/** The service defaults (VERIFY_TTL_SECONDS, RESET_TTL_SECONDS, MAILS_PER_ACCOUNT_PER_HOUR). */
export const EMAIL_DEFAULTS: EmailSettings = {
  verifyTtlSeconds: 86400,
  resetTtlSeconds: 1800,
  mailsPerAccountPerHour: 5,
};

/** REQUEST_TIMEOUT_MS's default: a request's deadline is this long after it arrives. */
export const REQUEST_TIMEOUT_MS = 5000;

/**
 * Where a test request comes from, unless a test says otherwise; its deadline is REQUEST_TIMEOUT_MS after the
 * fake clocks' start (a test that moves its clock asks its world for a `context()` of the moment instead).
 */
export const CONTEXT: RequestContext = {
  ip: '198.51.100.7',
  requestId: 'req-1',
  deadline: START.getTime() + REQUEST_TIMEOUT_MS,
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
    /** How long each password check moves the clock on (0: checks take no clock time). */
    checkMs?: number;
    /** Pass pacing on to the real pacer (on the fake clock and timer) instead of only recording it. */
    realPacer?: boolean;
    emailSettings?: Partial<EmailSettings>;
    /** Verified addresses on record (accounts given with a verified email are claimed by default). */
    claims?: readonly EmailClaim[];
    /** Whether passkeys are served (default on). */
    passkeysEnabled?: boolean;
  } = {},
) => {
  const requests = createRequestLog();
  const initialUsers = options.users ?? [storedUser()];
  const users = createUserStore(initialUsers, requests);
  const sessions = createSessionStore(requests);
  const throttle = createThrottleStore(requests);
  const oneTimeTokenStore = createOneTimeTokenStore(requests);
  // A verified address is claimed in its own table: accounts given verified start out holding their claim.
  const emailClaims = createEmailClaimStore(
    options.claims ??
      initialUsers.flatMap((user) =>
        user.emailVerified && user.email !== null && user.uid !== null
          ? [{ email: user.email, uid: user.uid, username: user.username }]
          : [],
      ),
    requests,
  );
  const tokenMaker = createTokenMaker();
  const mail = createNotifier();
  const tokens = createTokenService(ACCESS_TTL);
  const secrets = createSecrets();
  const ids = createIds(options.idPrefix);
  const clock = createClock();
  const timer = createTimer(clock);
  const hasher = createPasswordHasher({ clock, checkMs: options.checkMs ?? 0 });
  const log = createEventLog();
  const audit = createAuditLog();
  const pacer = createPacer(options.realPacer === true ? createTimingPacer(clock, timer) : undefined);
  const forgotPacer = createPacer(options.realPacer === true ? createTimingPacer(clock, timer) : undefined);
  const emailSettings: EmailSettings = { ...EMAIL_DEFAULTS, ...options.emailSettings };
  const common = createCommonPasswords(options.commonPasswords);
  const settings: SessionSettings = {
    refreshTtlSeconds: REFRESH_TTL,
    refreshGraceSeconds: REFRESH_GRACE,
    ...options.settings,
  };
  const throttleSettings: ThrottleSettings = { ...THROTTLE_DEFAULTS, ...options.throttleSettings };
  const passwordPolicy: PasswordPolicy = { minLength: options.minPasswordLength ?? 8, common };
  // Second factors' crypto is pure and fast: the real adapters, under test keys.
  const factors = {
    stepUpTokens: createSealer(TEST_KEY, 'step-up'),
    mfaSettings: { issuer: 'login-service', tokenTtlSeconds: 300 },
    passkeysEnabled: options.passkeysEnabled ?? true,
    totp: createTotp(),
    secretBox: createSecretBox(TEST_KEY),
    recoveryCodes: createRecoveryCodes(),
  };
  return {
    users,
    sessions,
    tokens,
    secrets,
    ids,
    clock,
    timer,
    hasher,
    log,
    throttle,
    audit,
    pacer,
    common,
    requests,
    oneTimeTokens: oneTimeTokenStore,
    emailClaims,
    tokenMaker,
    mail,
    forgotPacer,
    /** A request arriving now: CONTEXT's origin (or the given one), its deadline REQUEST_TIMEOUT_MS from now. */
    context: (overrides: Partial<RequestContext> = {}): RequestContext => ({
      ...CONTEXT,
      deadline: clock.now().getTime() + REQUEST_TIMEOUT_MS,
      ...overrides,
    }),
    deps: {
      users,
      sessions,
      tokens,
      secrets,
      ids,
      clock,
      timer,
      hasher,
      log,
      settings,
      throttle,
      throttleSettings,
      audit,
      pacer,
      passwordPolicy,
      oneTimeTokens: oneTimeTokenStore,
      emailClaims,
      tokenMaker,
      mail,
      emailSettings,
      forgotPacer,
      ...factors,
    },
  };
};

const TEST_KEY = new TextEncoder().encode('a test key for second factors, 32+ bytes');

/** How a login ended: 'ok', or the error code with its retry delay (if any). */
export const outcome = (attempt: Promise<unknown>) =>
  attempt.then(
    () => ({ code: 'ok' }),
    (error: { code: string; details?: { retryAfterSeconds?: number } }) =>
      error.details?.retryAfterSeconds === undefined
        ? { code: error.code }
        : { code: error.code, retryAfterSeconds: error.details.retryAfterSeconds },
  );
