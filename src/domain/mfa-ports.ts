// The crypto interfaces second factors need: TOTP codes, a box for secrets at rest, recovery codes (types only).

/** Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps), as authenticator apps make them. */
export type Totp = {
  /** A new shared secret: 160 random bits as unpadded RFC 4648 base32 (32 characters, A-Z and 2-7). */
  newSecret(): string;
  /**
   * The enrolment URI an authenticator app scans:
   * `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`, issuer and
   * account percent-encoded. Throws (a TypeError naming the field, never the secret) for an empty issuer or
   * account, an issuer holding a colon (the Key URI format reads even an encoded colon as the label's
   * separator, so no app could tell where such an issuer ends), or a secret that is not base32.
   */
  otpauthUri(input: { issuer: string; account: string; secret: string }): string;
  /**
   * The time step (`floor(epoch seconds / 30)`) whose code `code` is, looking at the step of `at` and one step
   * either side (clock drift); null for a wrong code or for anything that is not exactly 6 ASCII digits
   * (never throws for a code). The caller records the step and refuses the same or an earlier one next time,
   * which is what makes a code single-use; so when a code matches two steps the later one is returned.
   * Throws for a secret that is not base32 (a stored value, never user input).
   */
  check(secret: string, code: string, at: Date): number | null;
};

/**
 * Authenticated encryption of short secrets kept at rest (TOTP secrets), under a key that is not in the table.
 * A sealed value is opaque text that says which format made it, so the format can change later.
 */
export type SecretBox = {
  /**
   * Encrypts `plain` under a fresh random IV (sealing twice gives different text). `context` (for example the
   * account's uid) is authenticated, not stored: `open` must be given the same, so a sealed value copied onto
   * another record does not open there.
   */
  seal(plain: string, context?: string): string;
  /**
   * The plain text back. Throws for a wrong key or context, any altered, truncated or malformed value, or an
   * unknown format version; the error never holds the plain text, the key or the sealed value.
   */
  open(sealed: string, context?: string): string;
};

/** Single-use recovery codes: a set shown once, the store keeping only their digests. */
export type RecoveryCodes = {
  /** A new set of 10 distinct codes of 80 random bits, each as 16 base32 characters grouped `XXXX-XXXX-XXXX-XXXX`. */
  newCodes(): string[];
  /**
   * What the store keeps of a code: SHA-256 (base64url) of its canonical form, so any spelling `normalize`
   * accepts has the same digest. Throws (without the code in the message) for text `normalize` refuses:
   * normalize user input first.
   */
  digest(code: string): string;
  /**
   * The canonical form (`XXXX-XXXX-XXXX-XXXX`, upper case) of a code as a person typed it, in lower or mixed
   * case, with spaces, hyphens or dashes anywhere; null for anything else (never throws).
   */
  normalize(typed: string): string | null;
};

/**
 * Short-lived values that need no storage: a payload and its expiry under an HMAC, URL-safe text. Tamper-evident,
 * not secret (anyone can read the payload). Each purpose gets its own sealer, so a value sealed for one is refused
 * by another.
 */
export type Sealer = {
  seal(payload: Readonly<Record<string, string | number>>, expiresAt: number): string;
  /** The payload, if `sealed` is this sealer's, unaltered and unexpired at `now` (epoch ms); else null (never throws). */
  open(sealed: string, now: number): Record<string, string | number> | null;
};
