// WebAuthn on @simplewebauthn/server: the registration and login ceremonies, with every option the service insists
// on fixed here (resident key and user verification required, attestation `none`, the RP id and origins explicit).
//
// The library (about 450 KB with its ASN.1 and CBOR parsers) is loaded by the first ceremony, never at start-up:
// a cold start to a password login must not pay for it. Only its types are imported statically (erased).
import { randomBytes } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { CeremonyResponse, PasskeyTransport, WebAuthn } from '../../domain/passkey-ports';

type Library = typeof import('@simplewebauthn/server');
let loading: Promise<Library> | undefined;
/** The library, imported once (a failed import is tried again by the next ceremony). */
const library = (): Promise<Library> => {
  loading ??= import('@simplewebauthn/server').catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
};

// Bounds on what a response may hold, so a hostile one is refused before any decoding work. A credential id is at
// most 1023 bytes (WebAuthn §5.1.3 step 25 refuses longer ones); a user handle at most 64; the rest is generous
// for real authenticators (attestation `none` carries no certificates).
const MAX_CREDENTIAL_ID_CHARS = 1364;
const MAX_USER_HANDLE_CHARS = 86;
const MAX_FIELD_CHARS = 16_384;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Some clients pad base64url; clientDataJSON is decoded either way (the library accepts both too).
const BASE64URL_PADDED = /^[A-Za-z0-9_-]+={0,2}$/;

const isBase64url = (value: unknown, max: number, padded = false): value is string =>
  typeof value === 'string' && value.length <= max && (padded ? BASE64URL_PADDED : BASE64URL).test(value);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Our challenge text as the bytes the library carries it in (base64url of its UTF-8). */
const encodeChallenge = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** clientDataJSON's challenge back as our text; null unless it is exactly the encoding of some text. */
const decodeChallenge = (value: unknown): string | null => {
  if (!isBase64url(value, MAX_FIELD_CHARS)) return null;
  try {
    const text = utf8.decode(Buffer.from(value, 'base64url'));
    return encodeChallenge(text) === value ? text : null;
  } catch {
    return null;
  }
};

/** The challenge in a response's clientDataJSON, or null when the response or its client data is malformed. */
const readClientChallenge = (inner: Record<string, unknown>): string | null => {
  if (!isBase64url(inner.clientDataJSON, MAX_FIELD_CHARS, true)) return null;
  try {
    const clientData: unknown = JSON.parse(utf8.decode(Buffer.from(inner.clientDataJSON, 'base64url')));
    return isRecord(clientData) ? decodeChallenge(clientData.challenge) : null;
  } catch {
    return null;
  }
};

/**
 * The common shape of both responses: a `public-key` credential whose `id` and `rawId` agree, with a `response`
 * object; then what `fields` says about the inner response.
 */
const readCredential = (
  response: unknown,
  fields: (inner: Record<string, unknown>) => boolean,
): { id: string; inner: Record<string, unknown> } | null => {
  if (!isRecord(response) || response.type !== 'public-key') return null;
  const { id, rawId, response: inner } = response;
  if (!isBase64url(id, MAX_CREDENTIAL_ID_CHARS) || rawId !== id || !isRecord(inner) || !fields(inner)) return null;
  return { id, inner };
};

const isRegistrationShape = (inner: Record<string, unknown>) =>
  isBase64url(inner.attestationObject, MAX_FIELD_CHARS, true) &&
  (inner.transports === undefined || (Array.isArray(inner.transports) && inner.transports.length <= 16));

const isAuthenticationShape = (inner: Record<string, unknown>) =>
  isBase64url(inner.authenticatorData, MAX_FIELD_CHARS, true) &&
  isBase64url(inner.signature, MAX_FIELD_CHARS, true) &&
  // Absent, null or a handle: a discoverable credential always returns one (the use cases require it).
  (inner.userHandle === undefined || inner.userHandle === null || isBase64url(inner.userHandle, MAX_USER_HANDLE_CHARS));

const TRANSPORTS: readonly PasskeyTransport[] = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'];
/** The transports a browser reported that we know; anything else is dropped (they are only hints). */
const knownTransports = (value: unknown): PasskeyTransport[] =>
  Array.isArray(value)
    ? [...new Set(value.filter((entry): entry is PasskeyTransport => TRANSPORTS.includes(entry as PasskeyTransport)))]
    : [];

/** base64url of bytes the library hands back. */
const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export const createWebAuthn = (): WebAuthn => {
  const readRegistration = (response: unknown): CeremonyResponse | null => {
    const credential = readCredential(response, isRegistrationShape);
    const challenge = credential === null ? null : readClientChallenge(credential.inner);
    return credential === null || challenge === null ? null : { credentialId: credential.id, challenge, userHandle: null };
  };

  const readAuthentication = (response: unknown): CeremonyResponse | null => {
    const credential = readCredential(response, isAuthenticationShape);
    const challenge = credential === null ? null : readClientChallenge(credential.inner);
    if (credential === null || challenge === null) return null;
    const { userHandle } = credential.inner;
    return { credentialId: credential.id, challenge, userHandle: typeof userHandle === 'string' ? userHandle : null };
  };

  return {
    newUserHandle: () => randomBytes(32).toString('base64url'),
    readRegistration,
    readAuthentication,

    async registrationOptions(input) {
      const { generateRegistrationOptions } = await library();
      return generateRegistrationOptions({
        rpName: input.rp.name,
        rpID: input.rp.rpId,
        userName: input.userName,
        userDisplayName: input.userDisplayName,
        userID: new Uint8Array(Buffer.from(input.userHandle, 'base64url')),
        challenge: input.challenge,
        timeout: input.timeoutMs,
        attestationType: 'none',
        excludeCredentials: input.excludeCredentials.map((passkey) => ({
          id: passkey.id,
          transports: [...passkey.transports] as AuthenticatorTransport[],
        })),
        // A passkey: discoverable (resident), so a login needs no username; and verified (PIN or biometric), so
        // it is two factors in one.
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      });
    },

    async verifyRegistration({ rp, response, challenge }) {
      if (readRegistration(response) === null) return null;
      const { verifyRegistrationResponse } = await library();
      try {
        const result = await verifyRegistrationResponse({
          response: response as RegistrationResponseJSON,
          expectedChallenge: encodeChallenge(challenge),
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.rpId,
          requireUserPresence: true,
          requireUserVerification: true,
        });
        if (!result.verified) return null;
        const info = result.registrationInfo;
        // The library does not tie the response's id to the credential in the authenticator data: we do, so the id
        // a login will look the passkey up by is the one the authenticator made.
        if (info.credential.id !== (response as RegistrationResponseJSON).id || !info.userVerified) return null;
        if (info.credential.id.length > MAX_CREDENTIAL_ID_CHARS) return null;
        return {
          id: info.credential.id,
          publicKey: base64url(info.credential.publicKey),
          counter: info.credential.counter,
          transports: knownTransports(info.credential.transports),
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
        };
      } catch {
        // Every refusal of the library is a thrown Error naming the check: a failed verification, nothing more.
        return null;
      }
    },

    async authenticationOptions({ rp, challenge, timeoutMs }) {
      const { generateAuthenticationOptions } = await library();
      // No allowCredentials: every passkey here is discoverable, so the options name no account.
      return generateAuthenticationOptions({ rpID: rp.rpId, challenge, timeout: timeoutMs, userVerification: 'required' });
    },

    async verifyAuthentication({ rp, response, challenge, credential }) {
      const read = readAuthentication(response);
      if (read === null || read.credentialId !== credential.id) return null;
      const { verifyAuthenticationResponse } = await library();
      try {
        const result = await verifyAuthenticationResponse({
          response: response as AuthenticationResponseJSON,
          expectedChallenge: encodeChallenge(challenge),
          expectedOrigin: [...rp.origins],
          expectedRPID: [rp.rpId],
          credential: {
            id: credential.id,
            publicKey: new Uint8Array(Buffer.from(credential.publicKey, 'base64url')),
            counter: credential.counter,
            transports: [...credential.transports] as AuthenticatorTransport[],
          },
          requireUserVerification: true,
        });
        // (The library also refuses a counter that did not grow, unless the stored one and the new one are both 0.)
        if (!result.verified || !result.authenticationInfo.userVerified) return null;
        return { counter: result.authenticationInfo.newCounter, backedUp: result.authenticationInfo.credentialBackedUp };
      } catch {
        return null;
      }
    },
  };
};
