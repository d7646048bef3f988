// A software WebAuthn authenticator (and the browser's part of a ceremony) for tests: P-256 keys from node:crypto,
// `none` attestation, CBOR-encoded authenticator data and attestation object, real clientDataJSON, discoverable
// credentials, and knobs to make each thing a server must check go wrong.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

// ---------- CBOR (RFC 8949), only what WebAuthn needs: integers, byte and text strings, arrays, maps ----------

export type CborValue = number | string | Uint8Array | readonly CborValue[] | ReadonlyMap<CborValue, CborValue> | { readonly [key: string]: CborValue };

const head = (major: number, length: number): Uint8Array => {
  if (!Number.isSafeInteger(length) || length < 0 || length > 0xffff_ffff) throw new RangeError(`CBOR: ${length} is out of range`);
  const type = major << 5;
  if (length < 24) return Uint8Array.of(type | length);
  if (length < 0x100) return Uint8Array.of(type | 24, length);
  if (length < 0x1_0000) return Uint8Array.of(type | 25, length >> 8, length & 0xff);
  return Uint8Array.of(type | 26, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
};

/** Encodes a value; a Map keeps its keys' order and may have integer keys (COSE), a plain object has text keys. */
export const encodeCbor = (value: CborValue): Uint8Array => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError('CBOR: only integers are supported');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (Array.isArray(value)) return concat(head(4, value.length), ...value.map(encodeCbor));
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return concat(head(5, entries.length), ...entries.flatMap(([key, entry]) => [encodeCbor(key), encodeCbor(entry)]));
};

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

// ---------- authenticator data (WebAuthn §6.1) ----------

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;
// ES256 (COSE algorithm -7): ECDSA with P-256 and SHA-256.
const ES256 = -7;

const uint32 = (value: number) => Uint8Array.of(value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);

/** The credential public key as a COSE_Key map: kty EC2 (2), alg ES256, crv P-256 (1), x, y. */
const coseKey = (publicKey: KeyObject): Uint8Array => {
  const jwk = publicKey.export({ format: 'jwk' });
  return encodeCbor(
    new Map<CborValue, CborValue>([
      [1, 2],
      [3, ES256],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(String(jwk.x), 'base64url'))],
      [-3, new Uint8Array(Buffer.from(String(jwk.y), 'base64url'))],
    ]),
  );
};

// ---------- the authenticator ----------

/** A credential the authenticator holds; all of them are discoverable (resident), as passkeys are. */
export type StoredCredential = {
  id: Uint8Array;
  /** The RP id it is scoped to: the one an assertion without `credentialId` looks it up by. */
  rpId: string;
  /** base64url, as the creation options carried it. */
  userHandle: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  counter: number;
};

export type AuthenticatorOptions = {
  /** BE: the credential may be synced (a multi-device passkey). Default true. */
  backupEligible?: boolean;
  /** BS: it is backed up now. Default: as backupEligible. */
  backedUp?: boolean;
  /** How much the signature counter grows at each assertion: 0 for a counter-less authenticator. Default 1. */
  counterStep?: number;
  /** Reported in the registration response. Default ['internal', 'hybrid']. */
  transports?: string[];
  /** 16 bytes; default all zero (what `none` attestation reports). */
  aaguid?: Uint8Array;
};

/** One ceremony as the browser and authenticator carry it out; the knobs make one thing wrong on purpose. */
export type CeremonyOptions = {
  /** The page's origin, as the browser writes it into clientDataJSON. */
  origin: string;
  /** The RP id whose SHA-256 goes into the authenticator data (a wrong one: pass another than the RP's). */
  rpId: string;
  /** false: the UV flag is left out (no PIN or biometric). Default true. */
  userVerified?: boolean;
  /** false: the UP flag is left out. Default true. */
  userPresent?: boolean;
  /** The signature counter to report; later ceremonies count on from it. */
  counter?: number;
  /** Overrides the options' challenge in clientDataJSON. */
  challenge?: string;
  /** Overrides clientDataJSON's type ('webauthn.create' or 'webauthn.get'). */
  type?: string;
  /** clientDataJSON's crossOrigin; default false. */
  crossOrigin?: boolean;
  /** Overrides the BS flag for this ceremony. */
  backedUp?: boolean;
};

export type AssertionOptions = CeremonyOptions & {
  /** base64url id of the credential to use; default: the one the options allow, else the RP's newest. */
  credentialId?: string;
  /** Overrides the userHandle returned (null: none is returned, as for a non-discoverable credential). */
  userHandle?: string | null;
};

/** What a browser would throw (its DOMException names). */
export class CeremonyError extends Error {
  constructor(
    override readonly name: 'NotAllowedError' | 'InvalidStateError' | 'NotSupportedError',
    message: string,
  ) {
    super(message);
  }
}

export const createAuthenticator = (options: AuthenticatorOptions = {}) => {
  const backupEligible = options.backupEligible ?? true;
  const backedUpDefault = options.backedUp ?? backupEligible;
  const counterStep = options.counterStep ?? 1;
  const transports = options.transports ?? ['internal', 'hybrid'];
  const aaguid = options.aaguid ?? new Uint8Array(16);
  const credentials: StoredCredential[] = [];

  const flags = (ceremony: CeremonyOptions, extra: number) =>
    ((ceremony.userPresent ?? true) ? FLAG.UP : 0) |
    ((ceremony.userVerified ?? true) ? FLAG.UV : 0) |
    (backupEligible ? FLAG.BE : 0) |
    ((ceremony.backedUp ?? backedUpDefault) ? FLAG.BS : 0) |
    extra;

  const clientData = (type: string, challenge: string, ceremony: CeremonyOptions) =>
    new TextEncoder().encode(
      JSON.stringify({
        type: ceremony.type ?? type,
        challenge: ceremony.challenge ?? challenge,
        origin: ceremony.origin,
        crossOrigin: ceremony.crossOrigin ?? false,
      }),
    );

  const findCredential = (request: PublicKeyCredentialRequestOptionsJSON, ceremony: AssertionOptions) => {
    if (ceremony.credentialId !== undefined) return credentials.find((c) => base64url(c.id) === ceremony.credentialId);
    const scope = request.rpId ?? ceremony.rpId;
    const allowed = (request.allowCredentials ?? []).map((descriptor) => descriptor.id);
    const candidates = credentials.filter((c) => c.rpId === scope && (allowed.length === 0 || allowed.includes(base64url(c.id))));
    return candidates.at(-1);
  };

  return {
    /** The credentials held, newest last. */
    credentials: (): readonly StoredCredential[] => credentials,

    /** navigator.credentials.create(): a new resident P-256 credential, answered as RegistrationResponseJSON. */
    createCredential(creation: PublicKeyCredentialCreationOptionsJSON, ceremony: CeremonyOptions): RegistrationResponseJSON {
      if (!creation.pubKeyCredParams.some((param) => param.alg === ES256)) {
        throw new CeremonyError('NotSupportedError', 'the RP accepts no ES256 key');
      }
      const scope = creation.rp.id ?? ceremony.rpId;
      const excluded = new Set((creation.excludeCredentials ?? []).map((descriptor) => descriptor.id));
      if (credentials.some((c) => c.rpId === scope && excluded.has(base64url(c.id)))) {
        throw new CeremonyError('InvalidStateError', 'this authenticator already holds an excluded credential');
      }
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const id = new Uint8Array(randomBytes(32));
      const counter = ceremony.counter ?? 0;
      // A resident credential replaces one of the same RP and user (CTAP2 authenticatorMakeCredential).
      const replaced = credentials.findIndex((c) => c.rpId === scope && c.userHandle === creation.user.id);
      if (replaced !== -1) credentials.splice(replaced, 1);
      credentials.push({ id, rpId: scope, userHandle: creation.user.id, privateKey, publicKey, counter });

      const attestedCredentialData = concat(aaguid, Uint8Array.of(id.length >> 8, id.length & 0xff), id, coseKey(publicKey));
      const authenticatorData = concat(sha256(ceremony.rpId), Uint8Array.of(flags(ceremony, FLAG.AT)), uint32(counter), attestedCredentialData);
      const attestationObject = encodeCbor({ fmt: 'none', attStmt: {}, authData: authenticatorData });
      return {
        id: base64url(id),
        rawId: base64url(id),
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: { credProps: { rk: true } },
        response: {
          clientDataJSON: base64url(clientData('webauthn.create', creation.challenge, ceremony)),
          attestationObject: base64url(attestationObject),
          authenticatorData: base64url(authenticatorData),
          transports,
          publicKeyAlgorithm: ES256,
          publicKey: base64url(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }))),
        },
      };
    },

    /** navigator.credentials.get(): an assertion by a held credential, answered as AuthenticationResponseJSON. */
    getAssertion(request: PublicKeyCredentialRequestOptionsJSON, ceremony: AssertionOptions): AuthenticationResponseJSON {
      const credential = findCredential(request, ceremony);
      if (credential === undefined) throw new CeremonyError('NotAllowedError', 'no credential of this authenticator fits');
      credential.counter = ceremony.counter ?? (counterStep === 0 ? credential.counter : credential.counter + counterStep);

      const authenticatorData = concat(sha256(ceremony.rpId), Uint8Array.of(flags(ceremony, 0)), uint32(credential.counter));
      const clientDataJSON = clientData('webauthn.get', request.challenge, ceremony);
      // ES256 signatures are DER-encoded (node's default for EC keys), as WebAuthn wants them.
      const signature = sign('sha256', concat(authenticatorData, sha256(clientDataJSON)), credential.privateKey);
      const userHandle = ceremony.userHandle === undefined ? credential.userHandle : ceremony.userHandle;
      return {
        id: base64url(credential.id),
        rawId: base64url(credential.id),
        type: 'public-key',
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
        response: {
          clientDataJSON: base64url(clientDataJSON),
          authenticatorData: base64url(authenticatorData),
          signature: base64url(new Uint8Array(signature)),
          ...(userHandle === null ? {} : { userHandle }),
        },
      };
    },
  };
};

export type SoftwareAuthenticator = ReturnType<typeof createAuthenticator>;
