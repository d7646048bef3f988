// Passkey use cases, driven by the software authenticator through the real WebAuthn adapter (the library for
// real): registration behind the account's factors, listing and removal, and the passkey login with every way it
// must be refused.
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { createSealer } from '../adapters/crypto/sealer';
import { createWebAuthn } from '../adapters/crypto/webauthn';
import { createPasskeyStore } from '../../test/fake-passkeys';
import { createWorld, outcome, storeDown, storedUser } from '../../test/fakes';
import {
  createAuthenticator,
  type AssertionOptions,
  type CeremonyOptions,
  type SoftwareAuthenticator,
} from '../../test/webauthn-authenticator';
import { logIn } from './log-in';
import {
  addPasskey,
  listPasskeys,
  logInWithPasskey,
  passkeyLoginOptions,
  passkeyRegistrationOptions,
  removePasskey,
  type PasskeyDeps,
} from './passkeys';
import { mfaOf, NO_MFA, type AccessClaims, type AuditEvent, type LoginMethod } from './ports';
import { authenticate } from './sessions';

const PASSWORD = 'correct horse';
const ORIGIN = 'http://localhost:3000';
const AT_HOME = { origin: ORIGIN, rpId: 'localhost' };
const TTL_SECONDS = 300;
const SEALER_KEY = new TextEncoder().encode('a test key for passkey login challenges');

type Audited = { event: AuditEvent; username: string; method: LoginMethod | undefined };

const setup = (options: { ipFailures?: number; passkeysEnabled?: boolean } = {}) => {
  const world = createWorld({
    users: [
      storedUser({ passwordHash: `fake$${PASSWORD}`, email: 'alice@example.com', emailVerified: true }),
      storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob', passwordHash: `fake$${PASSWORD}` }),
    ],
    ...(options.ipFailures === undefined ? {} : { throttleSettings: { ipFailures: options.ipFailures } }),
    ...(options.passkeysEnabled === undefined ? {} : { passkeysEnabled: options.passkeysEnabled }),
  });
  const passkeys = createPasskeyStore();
  const audited: Audited[] = [];
  const deps: PasskeyDeps = {
    ...world.deps,
    passkeys,
    webauthn: createWebAuthn(),
    passkeySettings: { rpId: 'localhost', rpName: 'login-service', origins: [ORIGIN], challengeTtlSeconds: TTL_SECONDS },
    loginChallenges: createSealer(SEALER_KEY, 'passkey-login'),
    audit: {
      record: (event, entry) => {
        world.audit.record(event, entry);
        audited.push({ event, username: entry.username, method: entry.method });
      },
    },
  };

  /** A password login and the claims the bearer check would hand the use cases. */
  const logInAs = async (username: string): Promise<AccessClaims> => {
    const pair = await logIn(deps, { username, password: PASSWORD }, world.context());
    return (await authenticate(deps, pair.token)).claims;
  };

  const registrationOptions = async (claims: AccessClaims, factors: { code?: string; recoveryCode?: string } = {}) =>
    (await passkeyRegistrationOptions(deps, claims, { password: PASSWORD, ...factors }, world.context())) as PublicKeyCredentialCreationOptionsJSON;

  /** Registers a passkey of `authenticator` for the claims' account, the ceremony made with `knobs`. */
  const register = async (claims: AccessClaims, authenticator: SoftwareAuthenticator, knobs: CeremonyOptions = AT_HOME, name?: string) => {
    const response = authenticator.createCredential(await registrationOptions(claims), knobs);
    return addPasskey(deps, claims, { response, ...(name === undefined ? {} : { name }) }, world.context());
  };

  const loginOptions = async () => (await passkeyLoginOptions(deps, world.context())) as PublicKeyCredentialRequestOptionsJSON;

  const signIn = async (authenticator: SoftwareAuthenticator, knobs: AssertionOptions = AT_HOME) =>
    logInWithPasskey(deps, { response: authenticator.getAssertion(await loginOptions(), knobs) }, world.context());

  /** How many failed logins the test client has on record in this window. */
  const clientFailures = () => {
    const windowMs = world.deps.throttleSettings.windowSeconds * 1000;
    const now = world.clock.now().getTime();
    return world.throttle.windowCount(`login#${world.context().ip}#${now - (now % windowMs)}`);
  };

  return { ...world, deps, passkeys, audited, logInAs, registrationOptions, register, loginOptions, signIn, clientFailures };
};

type Setup = ReturnType<typeof setup>;

/** Alice with one registered passkey (and a session that registered it). */
const withPasskey = async (authenticatorOptions: Parameters<typeof createAuthenticator>[0] = {}, counter?: number) => {
  const world = setup();
  const claims = await world.logInAs('alice');
  const authenticator = createAuthenticator(authenticatorOptions);
  const added = await world.register(claims, authenticator, { ...AT_HOME, ...(counter === undefined ? {} : { counter }) });
  return { ...world, claims, authenticator, added };
};

/** Turns TOTP on for an account directly, with a known secret; codes come from the otpauth package. */
const withTotp = (world: Setup, username: string, uid: string) => {
  const secret = world.deps.totp.newSecret();
  const user = world.users.peek(username)!;
  world.users.patch(username, { mfa: { ...mfaOf(user), totp: { secret: world.deps.secretBox!.seal(secret, uid), lastStep: 0 } } });
  return () =>
    TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: world.clock.now().getTime() });
};

const invalidPasskey401 = { code: 'invalid_passkey', details: undefined };
const invalidPasskey400 = { code: 'invalid_passkey', details: { status: 400 } };

describe('passkeyRegistrationOptions', () => {
  it('gives options for a resident, user-verified credential under a random user handle kept on the account', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');

    // Act
    const options = await world.registrationOptions(claims);
    const again = await world.registrationOptions(claims);

    // Assess
    const handle = mfaOf(world.users.peek('alice')!).userHandle;
    expect(handle).not.toBeNull();
    expect(Buffer.from(handle!, 'base64url')).toHaveLength(32);
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'login-service' },
      user: { id: handle, name: 'alice', displayName: 'Alice' },
      timeout: TTL_SECONDS * 1000,
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
    });
    // Never the name or the address, and the same handle for all of the account's passkeys.
    expect(Buffer.from(handle!, 'base64url').toString('utf8')).not.toContain('alice');
    expect(again.user.id).toBe(handle);
    expect(again.challenge).not.toBe(options.challenge);
  });

  it('excludes the passkeys the account has already', async () => {
    // Prepare
    const { claims, registrationOptions, added } = await withPasskey();

    // Act
    const options = await registrationOptions(claims);

    // Assess
    expect(options.excludeCredentials).toEqual([{ id: added.id, type: 'public-key', transports: ['internal', 'hybrid'] }]);
  });

  it('refuses a wrong password with invalid_credentials and issues no challenge', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');

    // Act
    const attempt = passkeyRegistrationOptions(world.deps, claims, { password: 'wrong password' }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(world.oneTimeTokens.issued).toHaveLength(0);
    expect(world.users.peekLogin('alice')?.failures).toBe(1);
  });

  it('asks for a code too while TOTP is on: none is invalid_request, a wrong one invalid_mfa_code, the right one passes', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const code = withTotp(world, 'alice', 'uid-alice');

    // Act
    const without = await outcome(world.registrationOptions(claims));
    const wrong = await outcome(world.registrationOptions(claims, { code: code() === '000000' ? '111111' : '000000' }));
    const right = await world.registrationOptions(claims, { code: code() });

    // Assess
    expect(without).toEqual({ code: 'invalid_request' });
    expect(wrong).toEqual({ code: 'invalid_mfa_code' });
    expect(right.user.id).toBe(mfaOf(world.users.peek('alice')!).userHandle);
  });

  it('answers not_found when passkeys are not configured', async () => {
    // Prepare
    const world = setup({ passkeysEnabled: false });
    const claims = await world.logInAs('alice');

    // Act
    const attempt = world.registrationOptions(claims);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('addPasskey', () => {
  it('stores the verified passkey, counts it on the account and bumps its version, keeping this session only', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const other = await world.logInAs('alice');
    const before = world.users.peek('alice')!;
    const authenticator = createAuthenticator();
    const response = authenticator.createCredential(await world.registrationOptions(claims), AT_HOME);

    // Act
    const added = await addPasskey(world.deps, claims, { response }, world.context());

    // Assess
    expect(added).toEqual({ id: response.id, name: 'Passkey', createdAt: world.clock.now().toISOString() });
    const after = world.users.peek('alice')!;
    expect(world.passkeys.peek(response.id)).toMatchObject({
      uid: 'uid-alice',
      username: 'alice',
      userHandle: mfaOf(after).userHandle,
      counter: 0,
      transports: ['internal', 'hybrid'],
      deviceType: 'multiDevice',
      backedUp: true,
      lastUsedAt: null,
    });
    expect(mfaOf(after).passkeys).toBe(1);
    expect(after.credentialVersion).toBe(before.credentialVersion + 1);
    expect(world.sessions.peek(claims.uid, claims.sid)?.credentialVersion).toBe(after.credentialVersion);
    expect(world.sessions.peek(other.uid, other.sid)).toBeUndefined();
    expect(world.audited.map((entry) => entry.event)).toContain('passkey.added');
    expect(world.mail.to('alice@example.com', 'factor_changed')).toEqual([
      { kind: 'factor_changed', to: 'alice@example.com', username: 'alice', change: 'passkey.added' },
    ]);
  });

  it('keeps the name given, trimmed and cut to 64 characters', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');

    // Act
    const named = await world.register(claims, createAuthenticator(), AT_HOME, '  Ada’s phone  ');
    const long = await world.register(claims, createAuthenticator(), AT_HOME, `${'🔑'.repeat(70)}`);
    const blank = await world.register(claims, createAuthenticator(), AT_HOME, '   ');

    // Assess
    expect(named.name).toBe('Ada’s phone');
    expect(long.name).toBe('🔑'.repeat(64));
    expect(blank.name).toBe('Passkey');
  });

  it('takes a challenge once: the same response again is 400 invalid_passkey', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const response = createAuthenticator().createCredential(await world.registrationOptions(claims), AT_HOME);
    await addPasskey(world.deps, claims, { response }, world.context());

    // Act
    const replay = addPasskey(world.deps, claims, { response }, world.context());

    // Assess
    await expect(replay).rejects.toMatchObject(invalidPasskey400);
    expect(world.passkeys.all()).toHaveLength(1);
  });

  it('works with the newest challenge only', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const older = await world.registrationOptions(claims);
    await world.registrationOptions(claims);

    // Act
    const attempt = addPasskey(world.deps, claims, { response: createAuthenticator().createCredential(older, AT_HOME) }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey400);
    expect(world.passkeys.all()).toHaveLength(0);
  });

  it('refuses an expired challenge', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const options = await world.registrationOptions(claims);
    world.clock.advanceSeconds(TTL_SECONDS + 1);

    // Act
    const attempt = addPasskey(world.deps, claims, { response: createAuthenticator().createCredential(options, AT_HOME) }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey400);
  });

  it("refuses another account's challenge, registering nothing for either", async () => {
    // Prepare
    const world = setup();
    const alice = await world.logInAs('alice');
    const bob = await world.logInAs('bob');
    await world.registrationOptions(bob);
    const response = createAuthenticator().createCredential(await world.registrationOptions(alice), AT_HOME);

    // Act
    const attempt = addPasskey(world.deps, bob, { response }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey400);
    expect(world.passkeys.all()).toHaveLength(0);
    expect(mfaOf(world.users.peek('bob')!).passkeys).toBe(0);
  });

  it.each([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP id', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
  ])('refuses a registration with %s: 400 invalid_passkey, nothing stored', async (_what, knobs) => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const version = world.users.peek('alice')!.credentialVersion;

    // Act
    const attempt = world.register(claims, createAuthenticator(), { ...AT_HOME, ...knobs });

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey400);
    expect(world.passkeys.all()).toHaveLength(0);
    expect(world.users.peek('alice')!.credentialVersion).toBe(version);
  });

  it('refuses a credential id registered already (to another account)', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const response = createAuthenticator().createCredential(await world.registrationOptions(claims), AT_HOME);
    await world.passkeys.add({
      id: response.id,
      uid: 'uid-bob',
      username: 'bob',
      userHandle: 'AAAAAAAAAAAAAAAAAAAAAA',
      publicKey: 'AAAA',
      counter: 0,
      transports: [],
      deviceType: 'singleDevice',
      backedUp: false,
      name: 'Passkey',
      createdAt: '2024-01-01T00:00:00.000Z',
      lastUsedAt: null,
    });

    // Act
    const attempt = addPasskey(world.deps, claims, { response }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey400);
    expect(world.passkeys.peek(response.id)?.uid).toBe('uid-bob');
    expect(mfaOf(world.users.peek('alice')!).passkeys).toBe(0);
  });

  it('answers every malformed response 400 invalid_passkey', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const good: RegistrationResponseJSON = createAuthenticator().createCredential(await world.registrationOptions(claims), AT_HOME);
    const broken: unknown[] = [
      null,
      'text',
      42,
      [],
      {},
      { ...good, response: null },
      { ...good, rawId: 'other' },
      { ...good, response: { ...good.response, clientDataJSON: '!!' } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('{"challenge": 1}').toString('base64url') } },
      { ...good, response: { ...good.response, attestationObject: 'AAAA' } },
      { ...good, response: { ...good.response, attestationObject: { nested: true } } },
    ];

    // Act
    const outcomes = await Promise.all(broken.map((response) => addPasskey(world.deps, claims, { response }, world.context()).catch((error: unknown) => error)));

    // Assess
    for (const error of outcomes) expect(error).toMatchObject(invalidPasskey400);
  });

  it('removes the passkey again when the session was ended meanwhile (a password change elsewhere)', async () => {
    // Prepare
    const world = setup();
    const claims = await world.logInAs('alice');
    const response = createAuthenticator().createCredential(await world.registrationOptions(claims), AT_HOME);
    const user = world.users.peek('alice')!;
    world.users.patch('alice', { credentialVersion: user.credentialVersion + 1 });
    await world.sessions.removeAll('uid-alice');

    // Act
    const attempt = addPasskey(world.deps, claims, { response }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
    expect(world.passkeys.all()).toHaveLength(0);
    expect(mfaOf(world.users.peek('alice')!).passkeys).toBe(0);
  });

  it('still counts the passkey when another change made through this session bumped the version meanwhile', async () => {
    // Prepare: the first write loses to a change whose session was carried over (this very session).
    const world = setup();
    const claims = await world.logInAs('alice');
    const response = createAuthenticator().createCredential(await world.registrationOptions(claims), AT_HOME);
    const start = world.users.peek('alice')!.credentialVersion;
    let raced = false;
    world.users.before('updateFactors', async () => {
      if (raced) return;
      raced = true;
      world.users.patch('alice', { credentialVersion: start + 1 });
      await world.sessions.carryOver(claims.uid, claims.sid, start + 1);
    });

    // Act
    const added = await addPasskey(world.deps, claims, { response }, world.context());

    // Assess
    expect(added.id).toBe(response.id);
    expect(world.users.peek('alice')!.credentialVersion).toBe(start + 2);
    expect(mfaOf(world.users.peek('alice')!).passkeys).toBe(1);
    expect(world.sessions.peek(claims.uid, claims.sid)?.credentialVersion).toBe(start + 2);
  });
});

describe('listPasskeys', () => {
  it("lists the account's passkeys oldest first, lastUsedAt null until a login with it, and no one else's", async () => {
    // Prepare
    const { deps, claims, added, authenticator, register, signIn, clock, logInAs } = await withPasskey();
    clock.advanceSeconds(60);
    const second = await register(claims, createAuthenticator({ backupEligible: false }), AT_HOME, 'Key');
    await register(await logInAs('bob'), createAuthenticator());
    const before = await listPasskeys(deps, claims);
    clock.advanceSeconds(60);
    await signIn(authenticator);

    // Act
    const after = await listPasskeys(deps, claims);

    // Assess
    expect(before.passkeys).toEqual([
      { id: added.id, name: 'Passkey', createdAt: added.createdAt, lastUsedAt: null, backedUp: true },
      { id: second.id, name: 'Key', createdAt: second.createdAt, lastUsedAt: null, backedUp: false },
    ]);
    expect(after.passkeys[0]?.lastUsedAt).toBe(clock.now().toISOString());
  });
});

describe('removePasskey', () => {
  it('removes one behind the password: gone, counted one fewer, version bumped, other sessions ended, told', async () => {
    // Prepare
    const world = await withPasskey();
    const other = await world.logInAs('alice');
    const version = world.users.peek('alice')!.credentialVersion;

    // Act
    await removePasskey(world.deps, world.claims, world.added.id, { password: PASSWORD }, world.context());

    // Assess
    expect(world.passkeys.all()).toHaveLength(0);
    const after = world.users.peek('alice')!;
    expect(mfaOf(after).passkeys).toBe(0);
    expect(after.credentialVersion).toBe(version + 1);
    expect(world.sessions.peek(world.claims.uid, world.claims.sid)?.credentialVersion).toBe(version + 1);
    expect(world.sessions.peek(other.uid, other.sid)).toBeUndefined();
    expect(world.audited.map((entry) => entry.event)).toContain('passkey.removed');
    expect(world.mail.to('alice@example.com', 'factor_changed').map((mail) => 'change' in mail && mail.change)).toEqual([
      'passkey.added',
      'passkey.removed',
    ]);
    await expect(world.signIn(world.authenticator)).rejects.toMatchObject(invalidPasskey401);
  });

  it('refuses a wrong password with invalid_credentials and keeps the passkey', async () => {
    // Prepare
    const world = await withPasskey();

    // Act
    const attempt = removePasskey(world.deps, world.claims, world.added.id, { password: 'wrong' }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(world.passkeys.all()).toHaveLength(1);
  });

  it("answers not_found for another account's passkey and for an unknown id, removing nothing", async () => {
    // Prepare
    const world = await withPasskey();
    const bob = await world.logInAs('bob');

    // Act
    const theirs = await outcome(removePasskey(world.deps, bob, world.added.id, { password: PASSWORD }, world.context()));
    const unknown = await outcome(removePasskey(world.deps, world.claims, 'AAAA', { password: PASSWORD }, world.context()));
    const nonsense = await outcome(removePasskey(world.deps, world.claims, '../../x', { password: PASSWORD }, world.context()));

    // Assess
    expect([theirs, unknown, nonsense]).toEqual([{ code: 'not_found' }, { code: 'not_found' }, { code: 'not_found' }]);
    expect(world.passkeys.all()).toHaveLength(1);
    expect(mfaOf(world.users.peek('alice')!).passkeys).toBe(1);
  });

  it('still counts the removal when this session no longer stands, ending every session', async () => {
    // Prepare: after the password check, another request changed the account and ended this session.
    const world = await withPasskey();
    const version = world.users.peek('alice')!.credentialVersion;
    let changed = false;
    world.users.before('updateFactors', async () => {
      if (changed) return;
      changed = true;
      world.users.patch('alice', { credentialVersion: version + 1 });
      await world.sessions.remove(world.claims.uid, world.claims.sid);
    });

    // Act
    await removePasskey(world.deps, world.claims, world.added.id, { password: PASSWORD }, world.context());

    // Assess
    expect(world.passkeys.all()).toHaveLength(0);
    expect(mfaOf(world.users.peek('alice')!).passkeys).toBe(0);
    expect(world.users.peek('alice')!.credentialVersion).toBe(version + 2);
    expect(world.sessions.sessionsOf('uid-alice')).toEqual([]);
  });
});

describe('passkeyLoginOptions', () => {
  it('names no credential, requires user verification, and stores nothing', async () => {
    // Prepare
    const world = setup();
    const tokensBefore = world.oneTimeTokens.issued.length;

    // Act
    const options = await world.loginOptions();

    // Assess
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required', timeout: TTL_SECONDS * 1000 });
    expect(options.allowCredentials ?? []).toHaveLength(0);
    expect(world.oneTimeTokens.issued).toHaveLength(tokensBefore);
    expect(world.passkeys.calls).toEqual({});
    expect(world.requests.requests.filter((request) => request.write).map((request) => request.op)).toEqual(['addToWindow']);
  });

  it('counts calls against the client: past the ceiling, 429', async () => {
    // Prepare
    const world = setup({ ipFailures: 3 });
    for (let i = 0; i < 3; i += 1) await world.loginOptions();

    // Act
    const fourth = outcome(world.loginOptions());

    // Assess
    expect(await fourth).toMatchObject({ code: 'too_many_attempts' });
  });
});

describe('logInWithPasskey', () => {
  it('signs in with a passkey: the token pair, the counter and time recorded, audited as method passkey', async () => {
    // Prepare
    const world = await withPasskey();
    world.clock.advanceSeconds(30);

    // Act
    const pair = await world.signIn(world.authenticator);

    // Assess
    expect(pair.user).toEqual({ username: 'alice', name: 'Alice' });
    const { claims } = await authenticate(world.deps, pair.token);
    expect(claims).toMatchObject({ uid: 'uid-alice', username: 'alice' });
    expect(world.passkeys.peek(world.added.id)).toMatchObject({ counter: 1, lastUsedAt: world.clock.now().toISOString() });
    expect(world.audited.at(-1)).toEqual({ event: 'login.succeeded', username: 'alice', method: 'passkey' });
    expect(await world.clientFailures()).toBe(0);
  });

  it('stands for the second factor too: an account with TOTP on gets tokens, no step-up', async () => {
    // Prepare
    const world = await withPasskey();
    withTotp(world, 'alice', 'uid-alice');

    // Act
    const pair = await world.signIn(world.authenticator);

    // Assess
    expect(pair.refreshToken).toEqual(expect.any(String));
  });

  it('signs in again and again with a counter-less passkey (0 after 0)', async () => {
    // Prepare
    const world = await withPasskey({ counterStep: 0 });

    // Act
    await world.signIn(world.authenticator);
    const again = await world.signIn(world.authenticator);

    // Assess
    expect(again.user.username).toBe('alice');
    expect(world.passkeys.peek(world.added.id)?.counter).toBe(0);
  });

  it('refuses the same assertion twice (a replay), even from a counter-less passkey', async () => {
    for (const counterStep of [1, 0]) {
      // Prepare
      const world = await withPasskey({ counterStep });
      const response = world.authenticator.getAssertion(await world.loginOptions(), AT_HOME);
      await logInWithPasskey(world.deps, { response }, world.context());

      // Act
      const replay = logInWithPasskey(world.deps, { response }, world.context());

      // Assess
      await expect(replay).rejects.toMatchObject(invalidPasskey401);
    }
  });

  it('spends a challenge once: a second, fresh assertion of the same options is refused', async () => {
    // Prepare
    const world = await withPasskey();
    const options = await world.loginOptions();
    await logInWithPasskey(world.deps, { response: world.authenticator.getAssertion(options, AT_HOME) }, world.context());

    // Act (its counter is higher, its signature good: only the spent challenge refuses it)
    const second = logInWithPasskey(world.deps, { response: world.authenticator.getAssertion(options, AT_HOME) }, world.context());

    // Assess
    await expect(second).rejects.toMatchObject(invalidPasskey401);
  });

  it('lets exactly one of five concurrent logins with one assertion through', async () => {
    // Prepare
    const world = await withPasskey({ counterStep: 0 });
    const response = world.authenticator.getAssertion(await world.loginOptions(), AT_HOME);

    // Act
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => outcome(logInWithPasskey(world.deps, { response }, world.context()))));

    // Assess
    expect(outcomes.filter((result) => result.code === 'ok')).toHaveLength(1);
    expect(outcomes.filter((result) => result.code === 'invalid_passkey')).toHaveLength(4);
  });

  it('refuses a login whose use loses to another use of the passkey landing first (a clone racing it)', async () => {
    // Prepare: between this login's read and its write, another assertion of the credential is recorded.
    const world = await withPasskey();
    const racing = {
      ...world.passkeys,
      recordUse: async (...args: Parameters<typeof world.passkeys.recordUse>) => {
        world.passkeys.patch(world.added.id, { counter: 7 });
        return world.passkeys.recordUse(...args);
      },
    };
    const deps = { ...world.deps, passkeys: racing };
    const options = await world.loginOptions();

    // Act
    const attempt = logInWithPasskey(deps, { response: world.authenticator.getAssertion(options, AT_HOME) }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
    expect(world.sessions.sessionsOf('uid-alice')).toHaveLength(1);
  });

  it('refuses an expired challenge', async () => {
    // Prepare
    const world = await withPasskey();
    const options = await world.loginOptions();
    world.clock.advanceSeconds(TTL_SECONDS);

    // Act
    const attempt = logInWithPasskey(world.deps, { response: world.authenticator.getAssertion(options, AT_HOME) }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
  });

  it('refuses a challenge it did not seal (a step-up token, a made-up text)', async () => {
    // Prepare
    const world = await withPasskey();
    const stepUp = world.deps.stepUpTokens.seal({ n: 'x' }, world.clock.now().getTime() + 60_000);
    const request = await world.loginOptions();

    // Act
    const outcomes = await Promise.all(
      [stepUp, 'made up'].map((challenge) =>
        outcome(
          logInWithPasskey(
            world.deps,
            { response: world.authenticator.getAssertion({ ...request, challenge: Buffer.from(challenge).toString('base64url') }, AT_HOME) },
            world.context(),
          ),
        ),
      ),
    );

    // Assess
    expect(outcomes).toEqual([{ code: 'invalid_passkey' }, { code: 'invalid_passkey' }]);
  });

  it.each([
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP id', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
    ['no user presence', { userPresent: false }],
    ['a counter that went backwards', { counter: 5 }],
    ['a counter that stood still', { counter: 10 }],
    ['no user handle', { userHandle: null }],
  ] as [string, Partial<AssertionOptions>][])('refuses an assertion with %s, counted as a failure of the client', async (_what, knobs) => {
    // Prepare
    const world = await withPasskey({}, 10);

    // Act
    const attempt = world.signIn(world.authenticator, { ...AT_HOME, ...knobs });

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
    expect(world.passkeys.peek(world.added.id)).toMatchObject({ counter: 10, lastUsedAt: null });
    expect(await world.clientFailures()).toBe(1);
  });

  it("refuses another account's credential presented with this account's user handle", async () => {
    // Prepare: Bob's passkey, its assertion claiming Alice's user handle.
    const world = await withPasskey();
    const bobs = createAuthenticator();
    await world.register(await world.logInAs('bob'), bobs);
    const aliceHandle = mfaOf(world.users.peek('alice')!).userHandle!;

    // Act
    const attempt = world.signIn(bobs, { ...AT_HOME, userHandle: aliceHandle });

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
  });

  it('refuses a passkey whose account is gone, or whose name is another account now', async () => {
    // Prepare
    const world = await withPasskey();
    const user = world.users.peek('alice')!;
    world.users.drop('alice');
    const gone = await outcome(world.signIn(world.authenticator));
    await world.users.create({ username: 'alice', name: 'Alice', passwordHash: 'fake$x', credentialVersion: 0, createdAt: user.createdAt!, uid: 'uid-new' });
    world.users.patch('alice', { mfa: { ...NO_MFA, userHandle: mfaOf(user).userHandle } });

    // Act
    const taken = await outcome(world.signIn(world.authenticator));

    // Assess
    expect([gone, taken]).toEqual([{ code: 'invalid_passkey' }, { code: 'invalid_passkey' }]);
  });

  it("refuses a passkey whose user handle is no longer the account's", async () => {
    // Prepare
    const world = await withPasskey();
    const user = world.users.peek('alice')!;
    world.users.patch('alice', { mfa: { ...mfaOf(user), userHandle: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });

    // Act
    const attempt = world.signIn(world.authenticator);

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
  });

  it('refuses a removed passkey (unknown credential)', async () => {
    // Prepare
    const world = await withPasskey();
    await world.passkeys.remove(world.added.id, 'uid-alice');

    // Act
    const attempt = world.signIn(world.authenticator);

    // Assess
    await expect(attempt).rejects.toMatchObject(invalidPasskey401);
  });

  it('answers every malformed response 401 invalid_passkey, each counted', async () => {
    // Prepare
    const world = await withPasskey();
    const good = world.authenticator.getAssertion(await world.loginOptions(), AT_HOME);
    const broken: unknown[] = [
      undefined,
      null,
      'text',
      [good],
      {},
      { ...good, type: 'other' },
      { ...good, response: 'x' },
      { ...good, id: 'A'.repeat(5000), rawId: 'A'.repeat(5000) },
      { ...good, response: { ...good.response, clientDataJSON: null } },
      { ...good, response: { ...good.response, clientDataJSON: Buffer.from('[]').toString('base64url') } },
      { ...good, response: { ...good.response, authenticatorData: 'AAAA' } },
      { ...good, response: { ...good.response, signature: 'AAAA' } },
      { ...good, response: { ...good.response, userHandle: { id: 1 } } },
    ];

    // Act
    const outcomes = await Promise.all(broken.map((response) => logInWithPasskey(world.deps, { response }, world.context()).catch((error: unknown) => error)));

    // Assess
    for (const error of outcomes) expect(error).toMatchObject(invalidPasskey401);
    expect(await world.clientFailures()).toBe(broken.length);
  });

  it('answers 429 once the client has used up its failures, even for a good assertion, recording no use', async () => {
    // Prepare
    const world = setup({ ipFailures: 2 });
    const claims = await world.logInAs('alice');
    const authenticator = createAuthenticator();
    const added = await world.register(claims, authenticator);
    for (let i = 0; i < 2; i += 1) await outcome(logInWithPasskey(world.deps, { response: {} }, world.context()));

    // Act
    const third = await outcome(world.signIn(authenticator));

    // Assess
    expect(third).toMatchObject({ code: 'too_many_attempts' });
    expect(world.passkeys.peek(added.id)).toMatchObject({ counter: 0, lastUsedAt: null });
  });

  it('passes a store outage on as it is (503), not as a bad passkey', async () => {
    // Prepare
    const world = await withPasskey();
    const request = await world.loginOptions();
    world.passkeys.fail('find', storeDown());

    // Act
    const attempt = logInWithPasskey(world.deps, { response: world.authenticator.getAssertion(request, AT_HOME) }, world.context());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('answers not_found when passkeys are not configured', async () => {
    // Prepare
    const world = setup({ passkeysEnabled: false });

    // Act
    const outcomes = await Promise.all([outcome(world.loginOptions()), outcome(logInWithPasskey(world.deps, { response: {} }, world.context()))]);

    // Assess
    expect(outcomes).toEqual([{ code: 'not_found' }, { code: 'not_found' }]);
  });
});
