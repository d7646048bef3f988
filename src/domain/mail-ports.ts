// The store interfaces email verification and password reset need: one-time tokens and verified-address claims
// (types only, nothing runs here).

/** `passkey_registration`: the challenge of a passkey registration, whose digest is kept until it is answered. */
export type OneTimeTokenPurpose = 'verify_email' | 'reset_password' | 'passkey_registration';

/** A one-time token as stored: its digest only (the token itself is never stored), whose it is and until when. */
export type OneTimeToken = {
  /** Digest of the token the mail carries (the caller digests; the store never sees the token). */
  digest: string;
  purpose: OneTimeTokenPurpose;
  /** The account's uid: a name deleted and registered again is another account, whose tokens these are not. */
  uid: string;
  /** The account's username, where the users table finds it. */
  username: string;
  /** The address the link went to: for `verify_email` the one it verifies; for `reset_password` the verified one. */
  email: string | null;
  /** For `reset_password`: the account's credentialVersion when the link was sent (a password change voids it). */
  credentialVersion?: number;
  /** Epoch ms. The store keeps whole seconds (rounded down), so a token never lasts longer than asked. */
  expiresAt: number;
};

export type OneTimeTokenStore = {
  /**
   * Stores a new token. From then on it is the only token of its account and purpose that works: each newer one
   * supersedes those before it.
   */
  issue(token: OneTimeToken): Promise<void>;
  /**
   * The token's record, once: null when the digest is unknown, of another purpose, already used, superseded by a
   * newer token, or expired at `now` (epoch ms), even while the store still holds it. Of concurrent consumes of
   * one token exactly one gets the record.
   */
  consume(digest: string, purpose: OneTimeTokenPurpose, now: number): Promise<OneTimeToken | null>;
  /**
   * The token's record if `consume` would give it now, without using it up (a reset whose new password is refused
   * leaves its token usable): null in the same cases.
   */
  peek(digest: string, purpose: OneTimeTokenPurpose, now: number): Promise<OneTimeToken | null>;
  /** No token of the account for that purpose works any more (an account deleted, a change withdrawn); idempotent. */
  revoke(uid: string, purpose: OneTimeTokenPurpose): Promise<void>;
};

/** One-time tokens for links: 256 random bits, and the digest the store keeps instead. */
export type OneTimeTokens = { newToken(): string; digest(token: string): string };

/** A verified address and the account that holds it. */
export type EmailClaim = { email: string; uid: string; username: string };

export type EmailClaimStore = {
  /**
   * Claims a normalized address for an account by one conditional write: `claimed` when it was free or is this
   * account's already (a retried claim), `taken` when another account holds it. Of concurrent claims of one free
   * address by different accounts exactly one is `claimed`.
   */
  claim(claim: EmailClaim): Promise<'claimed' | 'taken'>;
  /** Who holds a verified address (strongly consistent): login by email and forgot-password look it up. */
  find(email: string): Promise<EmailClaim | null>;
  /**
   * Hands a claim left behind (its account gone, or no longer using the address) to `claim`'s account, only if
   * `staleUid` still holds it: true when taken over.
   */
  replace(email: string, staleUid: string, claim: EmailClaim): Promise<boolean>;
  /** Gives the address up, only if `uid` holds it: true when released, false when another account or none did. */
  release(email: string, uid: string): Promise<boolean>;
};
