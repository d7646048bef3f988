// Proves the software authenticator against @simplewebauthn/server: what it makes verifies, and each knob makes
// verification fail for the reason it stands for.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { CeremonyError, createAuthenticator, encodeCbor, type AuthenticatorOptions, type SoftwareAuthenticator } from './webauthn-authenticator';

const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:3000';
const AT_HOME = { origin: ORIGIN, rpId: RP_ID };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Registration options as the service will make them: resident key and user verification required. */
const registrationOptions = (excludeCredentials: { id: string }[] = []) =>
  generateRegistrationOptions({
    rpName: 'login-service',
    rpID: RP_ID,
    userName: 'ada',
    userID: new Uint8Array(randomBytes(32)),
    attestationType: 'none',
    excludeCredentials,
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });

const verifyRegistration = (response: RegistrationResponseJSON, options: PublicKeyCredentialCreationOptionsJSON) =>
  verifyRegistrationResponse({
    response,
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    requireUserVerification: true,
  });

/** A registered passkey: the authenticator holding it, the options it was made for, and what the RP stored. */
const registered = async (authenticatorOptions: AuthenticatorOptions = {}, counter?: number) => {
  const authenticator = createAuthenticator(authenticatorOptions);
  const options = await registrationOptions();
  const result = await verifyRegistration(authenticator.createCredential(options, { ...AT_HOME, ...(counter === undefined ? {} : { counter }) }), options);
  if (!result.verified) throw new Error('registration did not verify');
  return { authenticator, options, credential: result.registrationInfo.credential };
};

const loginOptions = () => generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });

const verifyLogin = (response: AuthenticationResponseJSON, expectedChallenge: string, credential: WebAuthnCredential) =>
  verifyAuthenticationResponse({
    response,
    expectedChallenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential,
    requireUserVerification: true,
  });

/** An assertion for fresh login options, made with the given knobs. */
const assertion = async (authenticator: SoftwareAuthenticator, knobs: Parameters<SoftwareAuthenticator['getAssertion']>[1] = AT_HOME) => {
  const options = await loginOptions();
  return { options, response: authenticator.getAssertion(options, knobs) };
};

describe('the CBOR encoder', () => {
  it('encodes RFC 8949 Appendix A examples byte for byte', () => {
    expect(hex(encodeCbor(0))).toBe('00');
    expect(hex(encodeCbor(23))).toBe('17');
    expect(hex(encodeCbor(24))).toBe('1818');
    expect(hex(encodeCbor(100))).toBe('1864');
    expect(hex(encodeCbor(1000))).toBe('1903e8');
    expect(hex(encodeCbor(1000000))).toBe('1a000f4240');
    expect(hex(encodeCbor(-1))).toBe('20');
    expect(hex(encodeCbor(-100))).toBe('3863');
    expect(hex(encodeCbor(-1000))).toBe('3903e7');
    expect(hex(encodeCbor(''))).toBe('60');
    expect(hex(encodeCbor('IETF'))).toBe('6449455446');
    expect(hex(encodeCbor('\u00fc'))).toBe('62c3bc');
    expect(hex(encodeCbor(Uint8Array.of(1, 2, 3, 4)))).toBe('4401020304');
    expect(hex(encodeCbor([]))).toBe('80');
    expect(hex(encodeCbor([1, [2, 3], [4, 5]]))).toBe('8301820203820405');
    expect(hex(encodeCbor({}))).toBe('a0');
    expect(hex(encodeCbor(new Map([[1, 2], [3, 4]])))).toBe('a201020304');
    expect(hex(encodeCbor({ a: 1, b: [2, 3] }))).toBe('a26161016162820203');
  });

  it('encodes a 300-byte string with a two-byte length', () => {
    expect(hex(encodeCbor(new Uint8Array(300))).slice(0, 6)).toBe('59012c');
  });
});

describe('the software authenticator against @simplewebauthn/server', () => {
  it('registers a passkey that verifies: none attestation, user verified, backed up, counter 0', async () => {
    // Prepare
    const authenticator = createAuthenticator();
    const options = await registrationOptions();

    // Act
    const response = authenticator.createCredential(options, AT_HOME);
    const result = await verifyRegistration(response, options);

    // Assess
    expect(result.verified).toBe(true);
    expect(result.registrationInfo).toMatchObject({
      fmt: 'none',
      userVerified: true,
      credentialDeviceType: 'multiDevice',
      credentialBackedUp: true,
      origin: ORIGIN,
      rpID: RP_ID,
      credential: { id: response.id, counter: 0, transports: ['internal', 'hybrid'] },
    });
    expect(authenticator.credentials()[0]?.userHandle).toBe(options.user.id);
  });

  it('registers a single-device credential when it may not be synced', async () => {
    // Prepare
    const authenticator = createAuthenticator({ backupEligible: false });
    const options = await registrationOptions();

    // Act
    const result = await verifyRegistration(authenticator.createCredential(options, AT_HOME), options);

    // Assess
    expect(result.registrationInfo).toMatchObject({ credentialDeviceType: 'singleDevice', credentialBackedUp: false });
  });

  it('signs in with a discoverable credential (no allowCredentials), returning the user handle', async () => {
    // Prepare
    const { authenticator, options: creation, credential } = await registered();

    // Act
    const { options, response } = await assertion(authenticator);
    const result = await verifyLogin(response, options.challenge, credential);

    // Assess
    expect(options.allowCredentials ?? []).toHaveLength(0);
    expect(result.verified).toBe(true);
    expect(result.authenticationInfo).toMatchObject({ credentialID: credential.id, newCounter: 1, userVerified: true, origin: ORIGIN, rpID: RP_ID });
    expect(response.response.userHandle).toBe(creation.user.id);
  });

  it('verifies with a public key stored as base64url text and read back, counting on from the stored counter', async () => {
    // Prepare: the round trip the passkey store makes.
    const { authenticator, credential } = await registered();
    const stored = Buffer.from(credential.publicKey).toString('base64url');
    const first = await assertion(authenticator);
    const firstResult = await verifyLogin(first.response, first.options.challenge, credential);

    // Act
    const second = await assertion(authenticator);
    const secondResult = await verifyLogin(second.response, second.options.challenge, {
      id: credential.id,
      publicKey: new Uint8Array(Buffer.from(stored, 'base64url')),
      counter: firstResult.authenticationInfo.newCounter,
    });

    // Assess
    expect(secondResult.verified).toBe(true);
    expect(secondResult.authenticationInfo.newCounter).toBe(2);
  });

  it('signs in with a counter-less authenticator: 0 after 0 is fine', async () => {
    // Prepare
    const { authenticator, credential } = await registered({ counterStep: 0 });

    // Act
    const { options, response } = await assertion(authenticator);
    const result = await verifyLogin(response, options.challenge, credential);

    // Assess
    expect(result.verified).toBe(true);
    expect(result.authenticationInfo.newCounter).toBe(0);
  });

  it('uses the credential that allowCredentials names, or the one asked for', async () => {
    // Prepare
    const authenticator = createAuthenticator();
    for (let i = 0; i < 2; i++) {
      const options = await registrationOptions();
      authenticator.createCredential(options, AT_HOME);
    }
    const [older, newer] = authenticator.credentials().map((c) => Buffer.from(c.id).toString('base64url'));

    // Act
    const allowed = authenticator.getAssertion(
      await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials: [{ id: older! }] }),
      AT_HOME,
    );
    const chosen = authenticator.getAssertion(await loginOptions(), { ...AT_HOME, credentialId: older! });
    const discovered = authenticator.getAssertion(await loginOptions(), AT_HOME);

    // Assess
    expect(allowed.id).toBe(older);
    expect(chosen.id).toBe(older);
    expect(discovered.id).toBe(newer);
  });

  it('refuses to register again where it holds an excluded credential, as a browser does', async () => {
    // Prepare
    const { authenticator, credential } = await registered();

    // Act
    const again = await registrationOptions([{ id: credential.id }]);

    // Assess
    expect(() => authenticator.createCredential(again, AT_HOME)).toThrow(CeremonyError);
  });

  describe('what a server must refuse', () => {
    it('a registration from another origin', async () => {
      const authenticator = createAuthenticator();
      const options = await registrationOptions();

      const response = authenticator.createCredential(options, { ...AT_HOME, origin: 'https://evil.example' });

      await expect(verifyRegistration(response, options)).rejects.toThrow(/origin "https:\/\/evil\.example"/);
    });

    it('a registration for another RP id', async () => {
      const authenticator = createAuthenticator();
      const options = await registrationOptions();

      const response = authenticator.createCredential(options, { ...AT_HOME, rpId: 'evil.example' });

      await expect(verifyRegistration(response, options)).rejects.toThrow(/RP ID hash/);
    });

    it('a registration answering another challenge', async () => {
      const authenticator = createAuthenticator();
      const options = await registrationOptions();
      const other = await registrationOptions();

      const response = authenticator.createCredential(other, AT_HOME);

      await expect(verifyRegistration(response, options)).rejects.toThrow(/challenge/);
    });

    it('a registration without user verification when it is required', async () => {
      const authenticator = createAuthenticator();
      const options = await registrationOptions();

      const response = authenticator.createCredential(options, { ...AT_HOME, userVerified: false });

      await expect(verifyRegistration(response, options)).rejects.toThrow(/User verification was required/);
    });

    it('an assertion from another origin', async () => {
      const { authenticator, credential } = await registered();

      const { options, response } = await assertion(authenticator, { ...AT_HOME, origin: 'http://localhost:4000' });

      await expect(verifyLogin(response, options.challenge, credential)).rejects.toThrow(/origin "http:\/\/localhost:4000"/);
    });

    it('an assertion for another RP id', async () => {
      const { authenticator, credential } = await registered();

      const { options, response } = await assertion(authenticator, { ...AT_HOME, rpId: 'evil.example' });

      await expect(verifyLogin(response, options.challenge, credential)).rejects.toThrow(/RP ID hash/);
    });

    it('an assertion answering another challenge', async () => {
      const { authenticator, credential } = await registered();
      const expected = await loginOptions();

      const { response } = await assertion(authenticator);

      await expect(verifyLogin(response, expected.challenge, credential)).rejects.toThrow(/challenge/);
    });

    it('an assertion without user verification when it is required', async () => {
      const { authenticator, credential } = await registered();

      const { options, response } = await assertion(authenticator, { ...AT_HOME, userVerified: false });

      await expect(verifyLogin(response, options.challenge, credential)).rejects.toThrow(/User verification required/);
    });

    it('an assertion whose counter went backwards', async () => {
      const { authenticator, credential } = await registered({}, 10);

      const { options, response } = await assertion(authenticator, { ...AT_HOME, counter: 5 });

      await expect(verifyLogin(response, options.challenge, credential)).rejects.toThrow(/counter value 5 was lower than expected 10/);
    });

    it('an assertion whose counter stood still (a clone)', async () => {
      const { authenticator, credential } = await registered({}, 10);

      const { options, response } = await assertion(authenticator, { ...AT_HOME, counter: 10 });

      await expect(verifyLogin(response, options.challenge, credential)).rejects.toThrow(/counter/);
    });

    it('an assertion with a tampered signature, or checked against another passkey’s key', async () => {
      const { authenticator, credential } = await registered();
      const other = await registered();
      const { options, response } = await assertion(authenticator);
      const signature = Buffer.from(response.response.signature, 'base64url');
      signature[signature.length - 1]! ^= 0x01;
      const tampered = { ...response, response: { ...response.response, signature: signature.toString('base64url') } };

      const withTampered = await verifyLogin(tampered, options.challenge, credential);
      const withOtherKey = await verifyLogin(response, options.challenge, { ...credential, publicKey: other.credential.publicKey });

      expect(withTampered.verified).toBe(false);
      expect(withOtherKey.verified).toBe(false);
    });
  });
});
