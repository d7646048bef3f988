// The small interfaces the use cases need; adapters implement them (types only, nothing runs here).

/**
 * A stored user. `passwordHash` is an argon2id or legacy bcrypt string. Tutorial-era users have no `createdAt`
 * and no `uid` until their first login; `credentialVersion` (0 when absent) grows with each password change.
 */
export type UserRecord = {
  username: string;
  name: string;
  passwordHash: string;
  createdAt: string | null;
  /** Stable account id, random at registration: a deleted name registered again is another account. */
  uid: string | null;
  credentialVersion: number;
};

export type UserStore = {
  /** Creates the user only if the username is free; throws AppError `username_taken` otherwise. */
  create(user: UserRecord & { createdAt: string; uid: string }): Promise<void>;
  /** Strongly consistent read; null for an unknown user (including a name the store could never hold). */
  find(username: string): Promise<UserRecord | null>;
  /** Replaces the hash only if it is still `expectedHash`; false when it changed meanwhile or the user is gone. */
  replacePasswordHash(username: string, expectedHash: string, newHash: string): Promise<boolean>;
  /**
   * Gives a tutorial-era user a uid if it has none, only while its hash is still `expectedHash` (the account
   * whose password was just checked); returns the uid it has now, or null if the account changed or is gone.
   */
  assignUid(username: string, uid: string, expectedHash: string): Promise<string | null>;
  /** Sets a new password hash and bumps credentialVersion, only if the hash is still `expectedHash`. */
  changePassword(username: string, expectedHash: string, newHash: string): Promise<boolean>;
  /** Deletes the user only if its hash is still `expectedHash` (no concurrent password change); false otherwise. */
  remove(username: string, expectedHash: string): Promise<boolean>;
};

/** One login's session; its refresh token is stored only as a digest. Times are epoch milliseconds. */
export type Session = {
  uid: string;
  sid: string;
  username: string;
  name: string;
  createdAt: number;
  /** Absolute end, fixed at login: rotation never extends it. */
  expiresAt: number;
  /** Digest of the current refresh secret. */
  refreshHash: string;
  /** When the current refresh secret replaced its predecessor (the start of the grace window). */
  rotatedAt: number;
  /** How many rotations so far: bounds the walk that recognises superseded secrets. */
  generation: number;
  /** The user's credentialVersion when the session began. */
  credentialVersion: number;
};

export type SessionStore = {
  create(session: Session): Promise<void>;
  /** Strongly consistent; null when unknown or removed. */
  find(uid: string, sid: string): Promise<Session | null>;
  /** Compare-and-swap on the refresh digest: false when another rotation won. */
  rotate(uid: string, sid: string, expectedHash: string, next: Pick<Session, 'refreshHash' | 'rotatedAt' | 'generation'>): Promise<boolean>;
  /** Idempotent. */
  remove(uid: string, sid: string): Promise<void>;
  /** Ends every session of a user. */
  removeAll(uid: string): Promise<void>;
};

/** Refresh-token secrets: random, derivable successors (a keyed HMAC), and digests for storage. */
export type RefreshSecrets = {
  newSecret(): string;
  /** The next secret in the chain; recomputable, so a retry within the grace window gets the same one. */
  successor(secret: string): string;
  digest(secret: string): string;
  /** Constant-time comparison of two digests. */
  same(a: string, b: string): boolean;
};

export type Ids = { newId(): string };

export type PasswordCheck = {
  valid: boolean;
  /** True when the stored hash is legacy or weaker than the current policy and can be safely replaced. */
  needsRehash: boolean;
};

export type PasswordHasher = {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<PasswordCheck>;
  /** Spends the time of a real check, so unknown users cannot be told apart by timing. */
  verifyDummy(password: string): Promise<void>;
};

/** The blocklist of common passwords (loaded on first use, so it costs no cold start). */
export type CommonPasswords = {
  /** Case-insensitive: 'Password1' is as common as 'password1'. */
  isCommon(password: string): Promise<boolean>;
};

export type PublicUser = { username: string; name: string };

/** What an access token says: whose it is and which session it belongs to. */
export type AccessClaims = PublicUser & { uid: string; sid: string };

export type IssuedToken = { token: string; expiresIn: number };

export type TokenService = {
  issue(claims: AccessClaims): Promise<IssuedToken>;
  /** Checks signature, type and claims only (no store); throws AppError `invalid_token` / `token_expired`. */
  verify(token: string): Promise<AccessClaims>;
};

export type Clock = { now(): Date };

export type Timer = { sleep(ms: number): Promise<void> };

/** Consecutive failed logins of one name (keyed by the adapter on a digest of the name). */
export type FailureRecord = { failures: number; lastFailureAt: number; version: number };
/** A fixed-window counter (per client IP). */
export type WindowCount = { count: number; windowStart: number };

export type ThrottleStore = {
  readFailures(username: string): Promise<FailureRecord | null>;
  /** Compare-and-swap on `version` (null: the record must not exist); false when another attempt won. */
  writeFailures(username: string, expectedVersion: number | null, next: Omit<FailureRecord, 'version'>, expiresAt: number): Promise<boolean>;
  clearFailures(username: string): Promise<void>;
  /** Counts one event in the window that contains `now` (starting a new one if the last has ended). */
  hitWindow(key: string, now: number, windowMs: number): Promise<WindowCount>;
  /** Takes back one count from the window that started at `windowStart`, if it is still the current one. */
  refundWindow(key: string, windowStart: number): Promise<void>;
};

export type AuditEvent =
  | 'user.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'session.revoked'
  | 'password.changed'
  | 'user.deleted';

/** Who did it, from where: the HTTP adapter knows; the use cases pass it on to the audit trail. */
export type RequestContext = { ip: string; requestId: string };

export type AuditLog = {
  /** `known: false` for a name that is no account: the adapter logs a digest instead (it may be a typed password). */
  record(event: AuditEvent, entry: { username: string; known: boolean; context: RequestContext }): void;
};

/** Operational log lines the use cases emit; fields must never hold a secret. */
export type EventLog = {
  warn(message: string, fields?: Record<string, unknown>): void;
};
