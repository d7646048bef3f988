// The small interfaces the use cases need; adapters implement them (types only, nothing runs here).

/** A stored user. `passwordHash` is an argon2id or legacy bcrypt string; `createdAt` is null for tutorial-era users. */
export type UserRecord = {
  username: string;
  name: string;
  passwordHash: string;
  createdAt: string | null;
};

export type UserStore = {
  /** Creates the user only if the username is free; throws AppError `username_taken` otherwise. */
  create(user: UserRecord & { createdAt: string }): Promise<void>;
  /** Strongly consistent read; null for an unknown user (including a name the store could never hold). */
  find(username: string): Promise<UserRecord | null>;
  /** Replaces the hash only if it is still `expectedHash`; false when it changed meanwhile or the user is gone. */
  replacePasswordHash(username: string, expectedHash: string, newHash: string): Promise<boolean>;
};

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

export type PublicUser = { username: string; name: string };

export type IssuedToken = { token: string; expiresIn: number };

export type TokenService = {
  issue(user: PublicUser): Promise<IssuedToken>;
  /** Returns the token's user, or throws AppError `invalid_token` / `token_expired`. */
  verify(token: string): Promise<PublicUser>;
};

export type Clock = { now(): Date };

/** Operational log lines the use cases emit; fields must never hold a secret. */
export type EventLog = {
  warn(message: string, fields?: Record<string, unknown>): void;
};
