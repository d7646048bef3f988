// The small interfaces the use cases need; adapters implement them (types only, nothing runs here).

/**
 * A stored user. `passwordHash` is an argon2id string, or one of the formats brought by the tutorial or the import
 * (bcrypt, argon2i, scrypt, PBKDF2), upgraded to argon2id at the next login. Tutorial-era users have no `createdAt`
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
  /** The account's address (lower-cased), verified or not; null when it has none. */
  email: string | null;
  /** True once `email` was verified (and so claimed in the verified-address table). */
  emailVerified: boolean;
  /** A new address asked for while `email` is verified: it replaces `email` once verified. */
  pendingEmail: string | null;
  /** The account's second factors; absent when it never had any (see mfaOf). */
  mfa?: MfaState;
};

/**
 * The second factors an account's item keeps (passkeys themselves live in their own table; the item counts them,
 * so a login learns whether there are any without a query).
 */
export type MfaState = {
  /** TOTP when it is on: the secret sealed by the SecretBox (context: the uid), and the last step a code was used in. */
  totp: { secret: string; lastStep: number } | null;
  /** An enrolment not yet confirmed: its sealed secret, and when it stops being confirmable (epoch ms). */
  pendingTotp: { secret: string; expiresAt: number } | null;
  /** Digests of the recovery codes not used yet. */
  recoveryCodes: readonly string[];
  /** How many passkeys the account has. */
  passkeys: number;
  /** The account's WebAuthn user handle (base64url), made at its first passkey registration. */
  userHandle: string | null;
  /** Issue time (epoch ms) of the last step-up token spent: a token issued at or before it no longer works. */
  mfaSpentAt: number;
};

/** What an account without any second factor has. */
export const NO_MFA: MfaState = Object.freeze({
  totp: null,
  pendingTotp: null,
  recoveryCodes: Object.freeze([]) as readonly string[],
  passkeys: 0,
  userHandle: null,
  mfaSpentAt: 0,
});

export const mfaOf = (user: Pick<UserRecord, 'mfa'>): MfaState => user.mfa ?? NO_MFA;

/**
 * One conditional write on an account's second factors. It happens only while the account is still `expect.uid` at
 * `expect.credentialVersion`, and only if every condition its parts carry holds; false (nothing written) otherwise.
 */
export type FactorChange = {
  expect: { uid: string; credentialVersion: number };
  /** A TOTP code used in this step: recorded, only if TOTP is on and the step is later than the last one used. */
  step?: number;
  /** A recovery code used (its digest): taken out of the set, only if it is still in it. */
  recoveryCode?: string;
  /** Starts (or restarts) an enrolment, only while TOTP is off. */
  pendingTotp?: { secret: string; expiresAt: number };
  /**
   * Turns TOTP on with the pending secret (only while it is still the pending one, unexpired at `now`), its
   * confirming step as the last used; or, null, turns it off.
   */
  totp?: { secret: string; lastStep: number; now: number } | null;
  /** Replaces the recovery codes (null or empty: none left). */
  recoveryCodes?: readonly string[] | null;
  /** One passkey more or fewer. */
  passkeys?: 1 | -1;
  /** Bumps credentialVersion: every session but the one carried over ends, and logins in flight fail. */
  bump?: boolean;
  /**
   * Ends a checked attempt in the same write: its lease (and the expired ones) go and the failures are forgotten.
   * With `mfaIssuedAt` (a step-up login) the step-up token issued then is spent, only if it was issued after the
   * last one spent.
   */
  login?: { leaseId: string; expired: readonly string[]; mfaIssuedAt?: number };
};

/** An attempt being checked: a lease on the name that ends at `deadline` (epoch ms), however the attempt ends. */
export type AttemptLease = { id: string; deadline: number };

/** Consecutive failed logins of a name, and the attempts being checked right now (lease id -> deadline). */
export type LoginState = { failures: number; lastFailureAt: number; leases: Readonly<Record<string, number>> };

export type AttemptedUser = UserRecord & { uid: string; login: LoginState };

export type UserStore = {
  /** Creates the user only if the username is free; throws AppError `username_taken` otherwise. */
  create(
    user: Pick<UserRecord, 'username' | 'name' | 'passwordHash' | 'credentialVersion'> & {
      createdAt: string;
      uid: string;
      /** Stored unverified. */
      email?: string | null;
    },
  ): Promise<void>;
  /**
   * Records a new address for account `uid`: as `pendingEmail` when `pending` (the verified one stays in force),
   * else as its unverified `email` (a pending change goes). Only while the account's address is verified
   * (`pending`) or not (otherwise) as the caller saw it; false when the account changed meanwhile.
   */
  requestEmail(username: string, uid: string, email: string, pending: boolean): Promise<boolean>;
  /**
   * Marks `email` verified, when it is still the account's address or its pending one; the pending change goes.
   * Returns the verified address it replaced (null when none, or the same), or false when the account changed.
   */
  confirmEmail(username: string, uid: string, email: string): Promise<{ replaced: string | null } | false>;
  /**
   * A reset: sets a new hash, bumps credentialVersion and forgets the name's failures, only while the account is
   * still `uid`; false otherwise.
   */
  resetPassword(username: string, uid: string, newHash: string): Promise<boolean>;
  /** Strongly consistent read; null for an unknown user (including a name the store could never hold). */
  find(username: string): Promise<UserRecord | null>;
  /** Replaces the hash only if it is still `expectedHash`; false when it changed meanwhile or the user is gone. */
  replacePasswordHash(username: string, expectedHash: string, newHash: string): Promise<boolean>;
  /**
   * Opens a login attempt on the user's own item: a lease named `attempt.id` that lasts until `attempt.deadline`
   * (epoch ms), in one write that also returns the user and its login state. A tutorial-era user without a uid
   * gets `attempt.uid`. Null for an unknown user (nothing is written).
   */
  openAttempt(username: string, attempt: AttemptLease & { uid: string }): Promise<AttemptedUser | null>;
  /** Withdraws a lease that will not be checked (the attempt waits or is refused); drops `expired` leases too. */
  closeAttempt(username: string, leaseId: string, expired: readonly string[]): Promise<void>;
  /**
   * The password was wrong: the lease becomes one more consecutive failure at `at`. `restartAfter`: the failures
   * on record, the last at that time, were forgotten, so this one is the first (unless a concurrent failure
   * restarted them already). Idempotent: a retried call whose lease is already gone changes nothing.
   */
  recordFailure(
    username: string,
    leaseId: string,
    failure: { at: number; restartAfter?: number; expired: readonly string[] },
  ): Promise<void>;
  /**
   * The password was right: the lease and the failures go, only while the account is still `uid` at
   * `credentialVersion` (so it doubles as the check that a session just written may stand); false otherwise.
   */
  recordSuccess(
    username: string,
    leaseId: string,
    expect: { uid: string; credentialVersion: number; expired: readonly string[] },
  ): Promise<boolean>;
  /** Sets a new password hash and bumps credentialVersion, only if the hash is still `expectedHash`. */
  changePassword(username: string, expectedHash: string, newHash: string): Promise<boolean>;
  /** Deletes the user only if its hash is still `expectedHash` (no concurrent password change); false otherwise. */
  remove(username: string, expectedHash: string): Promise<boolean>;
  /** Changes the account's second factors in one conditional write (see FactorChange); false when it did not hold. */
  updateFactors(username: string, change: FactorChange): Promise<boolean>;
  /**
   * The account's WebAuthn user handle: `handle` becomes it unless it has one already (then that one is returned).
   * Null when the account is not `uid` any more.
   */
  ensureUserHandle(username: string, uid: string, handle: string): Promise<string | null>;
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
  /** Ends every session of a user but `keepSid`. */
  removeOthers(uid: string, keepSid: string): Promise<void>;
  /**
   * Moves a live session to the account's new credentialVersion (the session that changed a factor stays valid),
   * only from the version just before it (or when it is there already: a retry); false otherwise or when gone.
   */
  carryOver(uid: string, sid: string, credentialVersion: number): Promise<boolean>;
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

/** The account's address as tokens state it (OpenID's `email` and `email_verified`), when it has one. */
export type EmailClaims = { email?: string; emailVerified?: boolean };

/** What an access token says: whose it is and which session it belongs to (and its address, if any). */
export type AccessClaims = PublicUser & { uid: string; sid: string } & EmailClaims;

export type IssuedToken = { token: string; expiresIn: number };

export type TokenService = {
  issue(claims: AccessClaims): Promise<IssuedToken>;
  /** Checks signature, type and claims only (no store); throws AppError `invalid_token` / `token_expired`. */
  verify(token: string): Promise<AccessClaims>;
};

export type Clock = { now(): Date };

export type Timer = { sleep(ms: number): Promise<void> };

/** Consecutive failed logins of a name that is no account (keyed by the adapter on a digest of the name). */
export type FailureRecord = {
  failures: number;
  lastFailureAt: number;
  version: number;
  /** The attempt that wrote last: a write the SDK retried after it landed is recognised by it. */
  lastAttempt?: string;
};

export type ThrottleStore = {
  readFailures(username: string): Promise<FailureRecord | null>;
  /** Compare-and-swap on `version` (null: the record must not exist); false when another attempt won. */
  writeFailures(username: string, expectedVersion: number | null, next: Omit<FailureRecord, 'version'>, expiresAt: number): Promise<boolean>;
  /**
   * One more failure at `at`, in one write, only if the record does not exist or has fewer than `below`
   * failures, the last after `since`; false (nothing written) otherwise.
   */
  countFailure(
    username: string,
    at: number,
    when: { below: number; since: number },
    expiresAt: number,
    /** Written as `lastAttempt`; a record whose last attempt is this one is not counted again. */
    attempt: string,
  ): Promise<boolean>;
  /** How many events the window `key` holds (a fixed window: the key names it). */
  windowCount(key: string): Promise<number>;
  /**
   * Adds event `id` to the window `key`, unless it holds `cap` events already; adding the same id again changes
   * nothing (a retried call counts once).
   */
  addToWindow(key: string, id: string, expiresAt: number, cap: number): Promise<boolean>;
  /** Takes event `id` back out of the window `key` (idempotent). */
  removeFromWindow(key: string, id: string): Promise<void>;
};

export type AuditEvent =
  | 'user.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'session.revoked'
  | 'password.changed'
  | 'user.deleted'
  | 'email.verification_sent'
  | 'email.verified'
  | 'email.changed'
  | 'password.reset_requested'
  | 'password.reset'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.recovery_codes_replaced'
  | 'mfa.failed'
  | 'passkey.added'
  | 'passkey.removed';

/** How a login was proven, as `login.succeeded` records it. */
export type LoginMethod = 'password' | 'password+totp' | 'password+recovery_code' | 'passkey';

/**
 * Who did it, from where, and by when it must be answered: the HTTP adapter knows; the use cases pass it on
 * to the audit trail, and wait no longer than `deadline` (epoch ms, on the use cases' clock).
 */
export type RequestContext = { ip: string; requestId: string; deadline: number };

export type AuditLog = {
  /** `known: false` for a name that is no account: the adapter logs a digest instead (it may be a typed password). */
  record(
    event: AuditEvent,
    entry: { username: string; known: boolean; context: RequestContext; method?: LoginMethod },
  ): void;
};

/** Operational log lines the use cases emit; fields must never hold a secret. */
export type EventLog = {
  warn(message: string, fields?: Record<string, unknown>): void;
};
