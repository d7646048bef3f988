// The passkey (WebAuthn credential) record and the store the passkey use cases need (types only).

/** How a browser may reach an authenticator; the same names as WebAuthn's `AuthenticatorTransport` (Level 3). */
export type PasskeyTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

/**
 * One registered passkey. Bytes are kept as base64url text (no padding), as WebAuthn's JSON carries them, so a
 * record goes to the library and back without conversions and reads the same in the table.
 */
export type Passkey = {
  /** The credential id (base64url): unique across all accounts, the key a login looks the passkey up by. */
  id: string;
  /** The owning account's stable id. */
  uid: string;
  /** The owning account's username, where the users table finds it (usernames never change). */
  username: string;
  /**
   * The account's WebAuthn user handle (base64url of 16 to 64 random bytes), the same for all of its passkeys.
   * An assertion's `userHandle` must equal it: a credential presented for another account is refused.
   */
  userHandle: string;
  /** The credential's public key as the authenticator gave it: a COSE key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0 for authenticators that do not count, as most synced passkeys). */
  counter: number;
  /** Where the browser may find it again (for `excludeCredentials` and `allowCredentials` hints). */
  transports: readonly PasskeyTransport[];
  /** `multiDevice` when the credential may be synced (backup eligible), else `singleDevice`. */
  deviceType: 'singleDevice' | 'multiDevice';
  /** True when the authenticator said the credential is backed up (synced) at its last use. */
  backedUp: boolean;
  /** A label the user chose, or one we made ("Passkey"). */
  name: string;
  /** ISO 8601 time of registration. */
  createdAt: string;
  /** ISO 8601 time of the last login with it; null before the first. */
  lastUsedAt: string | null;
};

/** What a login with a passkey changes on its record. */
export type PasskeyUse = {
  /** The counter the new assertion carries. */
  counter: number;
  /** ISO 8601 time of this login. */
  lastUsedAt: string;
  /** The backed-up flag of this assertion (it can change: a passkey gets synced later). */
  backedUp?: boolean;
  /** The counter the caller read (and verified the assertion against): the write happens only if it is still so. */
  expectedCounter: number;
};

export type PasskeyStore = {
  /**
   * Stores a new passkey, only if no passkey (of any account) has this credential id; returns false, writing
   * nothing, when the id is taken (WebAuthn: a credential id registered already must be refused).
   */
  add(passkey: Passkey): Promise<boolean>;
  /** One strongly consistent read by credential id: a passkey removed a moment ago is not found. Null if unknown. */
  find(id: string): Promise<Passkey | null>;
  /**
   * The account's passkeys, oldest first, in one query. Eventually consistent (an index): a passkey added or
   * removed a moment ago may be missing from, or still in, the list. Fine for listing and `excludeCredentials`;
   * never use it to decide a login (use `find`).
   */
  listFor(uid: string): Promise<Passkey[]>;
  /**
   * Records a login: the new counter and time, only while the passkey is still `uid`'s and its counter is still
   * `expectedCounter`. Of concurrent uses verified against the same counter (a replayed or cloned assertion
   * racing the real one) at most one wins; the others get false. A retried call of our own (an answer lost on
   * the way) still gets true. Counter-less passkeys (0 stays 0) never conflict: their replay guard is the
   * challenge, spent once.
   */
  recordUse(id: string, uid: string, use: PasskeyUse): Promise<boolean>;
  /** Removes the passkey if it is `uid`'s: true when it was; false for an unknown id or another account's. */
  remove(id: string, uid: string): Promise<boolean>;
  /**
   * Removes every passkey of the account (account deletion). Found through the index, so a passkey added at the
   * same moment may survive it; it can never log in again once its account is gone.
   */
  removeAllFor(uid: string): Promise<void>;
};

/** The relying party a ceremony is for: the RP id (a host name) and the page origins allowed to speak for it. */
export type RelyingParty = { rpId: string; origins: readonly string[] };

/**
 * What the use cases read from a browser's response before anything is verified (so nothing here is trusted yet):
 * which credential it names, the challenge its clientDataJSON carries, and, for a login, the user handle returned.
 */
export type CeremonyResponse = {
  /** The credential id (base64url), `id` and `rawId` of the response, which must agree. */
  credentialId: string;
  /** The challenge as the use cases made it (the text given to the options), decoded from clientDataJSON. */
  challenge: string;
  /** A login's `userHandle` (base64url); null when none was returned (and always for a registration). */
  userHandle: string | null;
};

/** The credential a verified registration created, ready to be stored (bytes as base64url). */
export type NewCredential = Pick<Passkey, 'id' | 'publicKey' | 'counter' | 'transports' | 'deviceType' | 'backedUp'>;

/** What a verified login tells about the credential now. */
export type VerifiedUse = { counter: number; backedUp: boolean };

/**
 * The WebAuthn ceremonies, as the use cases need them from a library (SimpleWebAuthn). Challenges are text chosen
 * by the use cases (a one-time token, a sealed value); the adapter carries them as the UTF-8 bytes of that text.
 * Every option the service insists on is the adapter's, not the caller's: resident keys and user verification
 * required, attestation `none`. A malformed response is never an error: `read*` answer null and `verify*` false
 * (null), so a client cannot turn bad input into a 500.
 */
export type WebAuthn = {
  /** A new WebAuthn user handle for an account: 32 random bytes, base64url (never derived from the name or address). */
  newUserHandle(): string;
  /** The parts of a registration response the use cases need first; null when it is not shaped like one. */
  readRegistration(response: unknown): CeremonyResponse | null;
  /** The parts of a login (assertion) response the use cases need first; null when it is not shaped like one. */
  readAuthentication(response: unknown): CeremonyResponse | null;
  /** The options JSON for the browser's `startRegistration({ optionsJSON })`. */
  registrationOptions(input: {
    rp: RelyingParty & { name: string };
    /** Shown in the browser's passkey picker (the username). */
    userName: string;
    userDisplayName: string;
    /** The account's WebAuthn user handle (base64url of 16 to 64 bytes). */
    userHandle: string;
    challenge: string;
    /** The account's passkeys: the browser refuses to make a second one on an authenticator holding one of them. */
    excludeCredentials: readonly Pick<Passkey, 'id' | 'transports'>[];
    timeoutMs: number;
  }): Promise<unknown>;
  /** Verifies a registration (attestation) against the challenge, RP id and origins: the new credential, or null. */
  verifyRegistration(input: { rp: RelyingParty; response: unknown; challenge: string }): Promise<NewCredential | null>;
  /** The options JSON for the browser's `startAuthentication({ optionsJSON })`: no allowCredentials (discoverable). */
  authenticationOptions(input: { rp: RelyingParty; challenge: string; timeoutMs: number }): Promise<unknown>;
  /**
   * Verifies a login (assertion) by `credential` against the challenge, RP id and origins, user verification
   * required, refusing a signature counter that did not grow (unless both are 0): what it tells, or null.
   */
  verifyAuthentication(input: {
    rp: RelyingParty;
    response: unknown;
    challenge: string;
    credential: Pick<Passkey, 'id' | 'publicKey' | 'counter' | 'transports'>;
  }): Promise<VerifiedUse | null>;
};
