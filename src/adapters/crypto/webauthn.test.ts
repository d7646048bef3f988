// The WebAuthn adapter against the software authenticator: options as the service wants them, ceremonies that
// verify, and each thing a server must refuse answered null (never thrown), malformed responses included.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { createAuthenticator, type AuthenticatorOptions, type SoftwareAuthenticator } from '../../../test/webauthn-authenticator';
import type { NewCredential } from '../../domain/passkey-ports';
import { createWebAuthn } from './webauthn';

const RP = { rpId: 'localhost', origins: ['http://localhost:3000', 'http://localhost:5173'] as const };
const ORIGIN = 'http://localhost:3000';
const AT_HOME = { origin: ORIGIN, rpId: 'localhost' };
const webauthn = createWebAuthn();

const newHandle = () => randomBytes(32).toString('base64url');
// Challenges are the use cases' text: a one-time token, or a sealed value with a dot in it.
const newChallenge = () => `${randomBytes(16).toString('base64url')}.${randomBytes(8).toString('base64url')}`;

const registrationOptions = async (challenge = newChallenge(), exclude: { id: string }[] = [], userHandle = newHandle()) =>
  (await webauthn.registrationOptions({
    rp: { ...RP, name: 'login-service' },
    userName: 'ada',
    userDisplayName: 'Ada Lovelace',
    userHandle,
    challenge,
    excludeCredentials: exclude.map((passkey) => ({ id: passkey.id, transports: ['internal'] })),
    timeoutMs: 300_000,
  })) as PublicKeyCredentialCreationOptionsJSON;

/** A passkey registered through the adapter: the authenticator holding it and what the adapter verified. */
const registered = async (options: AuthenticatorOptions = {}, counter?: number) => {
  const authenticator = createAuthenticator(options);
  const challenge = newChallenge();
  const response = authenticator.createCredential(await registrationOptions(challenge), {
    ...AT_HOME,
    ...(counter === undefined ? {} : { counter }),
  });
  const credential = await webauthn.verifyRegistration({ rp: RP, response, challenge });
  if (credential === null) throw new Error('registration did not verify');
  return { authenticator, credential };
};

const loginOptions = async (challenge = newChallenge()) =>
  (await webauthn.authenticationOptions({ rp: RP, challenge, timeoutMs: 300_000 })) as PublicKeyCredentialRequestOptionsJSON;

/** An assertion for fresh login options, with the given knobs. */
const assertion = async (authenticator: SoftwareAuthenticator, knobs: Parameters<SoftwareAuthenticator['getAssertion']>[1] = AT_HOME) => {
  const challenge = newChallenge();
  return { challenge, response: authenticator.getAssertion(await loginOptions(challenge), knobs) };
};

const verifyLogin = (response: unknown, challenge: string, credential: NewCredential) =>
  webauthn.verifyAuthentication({ rp: RP, response, challenge, credential });

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('newUserHandle', () => {
  it('makes 32 random bytes as base64url, a new one each time', () => {
    // Act
    const handles = Array.from({ length: 100 }, () => webauthn.newUserHandle());

    // Assess
    expect(new Set(handles).size).toBe(100);
    for (const handle of handles) expect(Buffer.from(handle, 'base64url').toString('base64url') === handle && Buffer.from(handle, 'base64url').length).toBe(32);
  });
});

describe('registration options', () => {
  it('require a resident key and user verification, attestation none, the user handle as the user id', async () => {
    // Prepare
    const handle = newHandle();
    const challenge = newChallenge();

    // Act
    const options = await registrationOptions(challenge, [{ id: 'AAAA' }], handle);

    // Assess
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'login-service' },
      user: { id: handle, name: 'ada', displayName: 'Ada Lovelace' },
      challenge: b64(challenge),
      timeout: 300_000,
      attestation: 'none',
      excludeCredentials: [{ id: 'AAAA', type: 'public-key', transports: ['internal'] }],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    expect(options.pubKeyCredParams.map((param) => param.alg)).toContain(-7);
  });
});

describe('verifyRegistration', () => {
  it('gives the new credential: its id, key, counter, known transports, device type and backup state', async () => {
    // Prepare
    const authenticator = createAuthenticator({ transports: ['internal', 'hybrid', 'quantum'] });
    const challenge = newChallenge();
    const response = authenticator.createCredential(await registrationOptions(challenge), AT_HOME);

    // Act
    const credential = await webauthn.verifyRegistration({ rp: RP, response, challenge });

    // Assess
    expect(credential).toEqual({
      id: response.id,
      publicKey: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      counter: 0,
      transports: ['internal', 'hybrid'],
      deviceType: 'multiDevice',
      backedUp: true,
    });
  });

  it('accepts each of the configured origins, and a single-device credential', async () => {
    // Prepare
    const authenticator = createAuthenticator({ backupEligible: false });
    const challenge = newChallenge();
    const response = authenticator.createCredential(await registrationOptions(challenge), { ...AT_HOME, origin: 'http://localhost:5173' });

    // Act
    const credential = await webauthn.verifyRegistration({ rp: RP, response, challenge });

    // Assess
    expect(credential).toMatchObject({ deviceType: 'singleDevice', backedUp: false });
  });

  it.each([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP id', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
    ['no user presence', { userPresent: false }],
    ['another challenge', { challenge: b64('not the one') }],
    ['the type of a login', { type: 'webauthn.get' }],
  ])('refuses a registration with %s', async (_what, knobs) => {
    // Prepare
    const authenticator = createAuthenticator();
    const challenge = newChallenge();
    const response = authenticator.createCredential(await registrationOptions(challenge), { ...AT_HOME, ...knobs });

    // Act
    const credential = await webauthn.verifyRegistration({ rp: RP, response, challenge });

    // Assess
    expect(credential).toBeNull();
  });

  it('refuses a response whose id is not the credential the authenticator made', async () => {
    // Prepare
    const authenticator = createAuthenticator();
    const challenge = newChallenge();
    const response = authenticator.createCredential(await registrationOptions(challenge), AT_HOME);
    const otherId = randomBytes(32).toString('base64url');

    // Act
    const credential = await webauthn.verifyRegistration({ rp: RP, response: { ...response, id: otherId, rawId: otherId }, challenge });

    // Assess
    expect(credential).toBeNull();
  });
});

describe('authentication options', () => {
  it('name no credential, require user verification, and carry the challenge', async () => {
    // Prepare
    const challenge = newChallenge();

    // Act
    const options = await loginOptions(challenge);

    // Assess
    expect(options).toMatchObject({ rpId: 'localhost', challenge: b64(challenge), userVerification: 'required', timeout: 300_000 });
    expect(options.allowCredentials ?? []).toHaveLength(0);
  });
});

describe('verifyAuthentication', () => {
  it('verifies an assertion and gives the new counter and backup state', async () => {
    // Prepare
    const { authenticator, credential } = await registered();
    const { challenge, response } = await assertion(authenticator);

    // Act
    const use = await verifyLogin(response, challenge, credential);

    // Assess
    expect(use).toEqual({ counter: 1, backedUp: true });
  });

  it('verifies a counter-less authenticator (0 after 0)', async () => {
    // Prepare
    const { authenticator, credential } = await registered({ counterStep: 0 });
    const { challenge, response } = await assertion(authenticator);

    // Act
    const use = await verifyLogin(response, challenge, credential);

    // Assess
    expect(use).toEqual({ counter: 0, backedUp: true });
  });

  it.each([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP id', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
    ['another challenge', { challenge: b64('not the one') }],
    ['the type of a registration', { type: 'webauthn.create' }],
    ['a counter that went backwards', { counter: 5 }],
    ['a counter that stood still', { counter: 10 }],
  ])('refuses an assertion with %s', async (_what, knobs) => {
    // Prepare
    const { authenticator, credential } = await registered({}, 10);
    const { challenge, response } = await assertion(authenticator, { ...AT_HOME, ...knobs });

    // Act
    const use = await verifyLogin(response, challenge, credential);

    // Assess
    expect(use).toBeNull();
  });

  it('refuses an assertion checked against another passkey (another key, or another id)', async () => {
    // Prepare
    const { authenticator, credential } = await registered();
    const other = await registered();
    const { challenge, response } = await assertion(authenticator);

    // Act
    const withOtherKey = await verifyLogin(response, challenge, { ...credential, publicKey: other.credential.publicKey });
    const withOtherId = await verifyLogin(response, challenge, { ...credential, id: other.credential.id });

    // Assess
    expect(withOtherKey).toBeNull();
    expect(withOtherId).toBeNull();
  });

  it('refuses a tampered signature', async () => {
    // Prepare
    const { authenticator, credential } = await registered();
    const { challenge, response } = await assertion(authenticator);
    const signature = Buffer.from(response.response.signature, 'base64url');
    signature[signature.length - 1]! ^= 0x01;

    // Act
    const use = await verifyLogin({ ...response, response: { ...response.response, signature: signature.toString('base64url') } }, challenge, credential);

    // Assess
    expect(use).toBeNull();
  });
});

describe('reading responses', () => {
  it('reads a registration: the credential id and the challenge as the use cases made it', async () => {
    // Prepare
    const challenge = newChallenge();
    const response = createAuthenticator().createCredential(await registrationOptions(challenge), AT_HOME);

    // Act
    const read = webauthn.readRegistration(response);

    // Assess
    expect(read).toEqual({ credentialId: response.id, challenge, userHandle: null });
    expect(webauthn.readAuthentication(response)).toBeNull();
  });

  it('reads an assertion: the credential id, the challenge and the user handle (null when none came)', async () => {
    // Prepare
    const { authenticator } = await registered();
    const handle = authenticator.credentials()[0]!.userHandle;
    const { challenge, response } = await assertion(authenticator);
    const without = await assertion(authenticator, { ...AT_HOME, userHandle: null });

    // Act
    const read = webauthn.readAuthentication(response);
    const readWithout = webauthn.readAuthentication(without.response);

    // Assess
    expect(read).toEqual({ credentialId: response.id, challenge, userHandle: handle });
    expect(readWithout?.userHandle).toBeNull();
    expect(webauthn.readRegistration(response)).toBeNull();
  });
});

describe('malformed responses', () => {
  const clientData = (value: unknown) => b64(JSON.stringify(value));

  /** Variations of a real response, each broken in one way a client could send. */
  const brokenAssertions = (good: AuthenticationResponseJSON): [string, unknown][] => [
    ['null', null],
    ['a string', 'response'],
    ['an array', [good]],
    ['no response object', { ...good, response: undefined }],
    ['a response array', { ...good, response: [] }],
    ['another type', { ...good, type: 'password' }],
    ['id and rawId that differ', { ...good, rawId: 'AAAA' }],
    ['an id that is not base64url', { ...good, id: 'a+b/c=', rawId: 'a+b/c=' }],
    ['an id of 2000 characters', { ...good, id: 'A'.repeat(2000), rawId: 'A'.repeat(2000) }],
    ['clientDataJSON a number', { ...good, response: { ...good.response, clientDataJSON: 42 } }],
    ['clientDataJSON not base64url', { ...good, response: { ...good.response, clientDataJSON: '{"challenge":"x"}' } }],
    ['clientDataJSON not JSON', { ...good, response: { ...good.response, clientDataJSON: b64('{not json') } }],
    ['clientDataJSON not UTF-8', { ...good, response: { ...good.response, clientDataJSON: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url') } }],
    ['clientDataJSON an array', { ...good, response: { ...good.response, clientDataJSON: clientData([1, 2]) } }],
    ['a challenge that is a number', { ...good, response: { ...good.response, clientDataJSON: clientData({ type: 'webauthn.get', challenge: 7 }) } }],
    ['a challenge not of UTF-8 text', { ...good, response: { ...good.response, clientDataJSON: clientData({ type: 'webauthn.get', challenge: '__8' }) } }],
    ['a huge clientDataJSON', { ...good, response: { ...good.response, clientDataJSON: 'A'.repeat(100_000) } }],
    ['authenticatorData an object', { ...good, response: { ...good.response, authenticatorData: {} } }],
    ['no signature', { ...good, response: { ...good.response, signature: undefined } }],
    ['a userHandle that is a number', { ...good, response: { ...good.response, userHandle: 5 } }],
    ['a userHandle of 200 characters', { ...good, response: { ...good.response, userHandle: 'A'.repeat(200) } }],
  ];

  it('reads and verifies none of them as an assertion, and throws for none', async () => {
    // Prepare
    const { authenticator, credential } = await registered();
    const { challenge, response } = await assertion(authenticator);

    for (const [what, broken] of brokenAssertions(response)) {
      // Act
      const read = webauthn.readAuthentication(broken);
      const use = await verifyLogin(broken, challenge, credential);

      // Assess
      expect({ what, read, use }).toEqual({ what, read: null, use: null });
    }
  });

  it('verifies no broken registration, and throws for none', async () => {
    // Prepare
    const challenge = newChallenge();
    const good: RegistrationResponseJSON = createAuthenticator().createCredential(await registrationOptions(challenge), AT_HOME);
    const broken: [string, unknown][] = [
      ['undefined', undefined],
      ['an empty object', {}],
      ['no attestationObject', { ...good, response: { ...good.response, attestationObject: undefined } }],
      ['an attestationObject that is not CBOR', { ...good, response: { ...good.response, attestationObject: b64('not cbor at all') } }],
      ['a truncated attestationObject', { ...good, response: { ...good.response, attestationObject: good.response.attestationObject.slice(0, 40) } }],
      ['transports that are not a list', { ...good, response: { ...good.response, transports: 'usb' } }],
      ['a clientDataJSON of a string', { ...good, response: { ...good.response, clientDataJSON: clientData('text') } }],
    ];

    for (const [what, response] of broken) {
      // Act
      const credential = await webauthn.verifyRegistration({ rp: RP, response, challenge });

      // Assess
      expect({ what, credential }).toEqual({ what, credential: null });
    }
  });
});

describe('loading the library', () => {
  it('is never a static import anywhere in src/ (only `import type`, which is erased)', () => {
    // Prepare
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
      });

    // Act
    const staticImports = files(join(__dirname, '../..')).flatMap((path) =>
      [...readFileSync(path, 'utf8').matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+['"]@simplewebauthn\/server[^'"]*['"]/gm)]
        .filter((match) => match[2] === undefined)
        .map(() => path),
    );

    // Assess
    expect(staticImports).toEqual([]);
  });
});
