// Issue 11's passkeys over HTTP: registration behind the password (and a TOTP code when it is on), listing, signing
// in with a passkey, removal, and every check a relying party must make (replayed and expired challenges, a wrong
// origin or RP id, no user verification, a counter going backwards, another account's credential or user handle),
// driven by the software authenticator in test/webauthn-authenticator.ts through the real app on dynalite. Every
// response is checked against the OpenAPI document by the harness.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { captureJsonLines } from './json-lines';
import { createTestApp, json, onDynalite, type LoginAnswer, type TestApp } from './app-harness';
import { startStoreProxy, type StoreProxy } from './store-proxy';
import { ScanCommand } from '../src/adapters/dynamodb/client';
import { testClient, type TestStore } from './stores';
import { freshCode, totpCode } from './totp-helpers';
import { createAuthenticator, encodeCbor, type AssertionOptions, type CeremonyOptions, type SoftwareAuthenticator } from './webauthn-authenticator';

const PASSWORD = 'correct horse battery';
// The harness's relying party: no WEBAUTHN_* settings, so locally localhost and the default server URL.
const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:3000';
// WEBAUTHN_CHALLENGE_TTL_SECONDS's default.
const CHALLENGE_TTL_SECONDS = 300;

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});

// Stopped time: a challenge's expiry and a TOTP step are then where each test puts them.
beforeEach(() => t.clock.freeze());
afterEach(() => t.clock.run());

/** The browser side of a ceremony on the right page: origin and RP id as the server expects, unless overridden. */
const ceremony = (override: Partial<AssertionOptions> = {}): AssertionOptions => ({ origin: ORIGIN, rpId: RP_ID, ...override });

/** Any method with a JSON body (the harness's `post` is POST only; DELETE routes here take a password). */
const send = (app: TestApp, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.app.request(path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const get = (app: TestApp, path: string, token: string) => app.app.request(path, { headers: app.bearer(token) });

const meOf = async (app: TestApp, token: string) => {
  const response = await get(app, '/me', token);
  return { status: response.status, user: response.status === 200 ? ((await json(response)).user as Record<string, unknown>) : undefined };
};

type Listed = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };

const listOf = async (app: TestApp, token: string): Promise<Listed[]> => {
  const response = await get(app, '/me/passkeys', token);
  if (response.status !== 200) throw new Error(`GET /me/passkeys answered ${response.status}`);
  return ((await response.json()) as { passkeys: Listed[] }).passkeys;
};

/** POST /me/passkeys/options with these factors: the creation options, which must come (200). */
const creationOptions = async (
  app: TestApp,
  token: string,
  factors: Record<string, string> = { password: PASSWORD },
): Promise<PublicKeyCredentialCreationOptionsJSON> => {
  const response = await app.post('/me/passkeys/options', factors, app.bearer(token));
  if (response.status !== 200) throw new Error(`registration options answered ${response.status} ${String((await json(response)).code)}`);
  return (await response.json()) as PublicKeyCredentialCreationOptionsJSON;
};

const addPasskey = (app: TestApp, token: string, response: unknown, name?: string) =>
  app.post('/me/passkeys', name === undefined ? { response } : { response, name }, app.bearer(token));

/** POST /login/passkey/options: the request options, which must come (200). */
const requestOptions = async (app: TestApp): Promise<PublicKeyCredentialRequestOptionsJSON> => {
  const response = await app.post('/login/passkey/options', {});
  if (response.status !== 200) throw new Error(`login options answered ${response.status}`);
  return (await response.json()) as PublicKeyCredentialRequestOptionsJSON;
};

const logIn = (app: TestApp, response: unknown) => app.post('/login/passkey', { response });

/** A full passkey login with fresh options, the authenticator's newest credential unless `override` says another. */
const logInWith = async (app: TestApp, authenticator: SoftwareAuthenticator, override: Partial<AssertionOptions> = {}) =>
  logIn(app, authenticator.getAssertion(await requestOptions(app), ceremony(override)));

type WithPasskey = {
  session: LoginAnswer;
  authenticator: SoftwareAuthenticator;
  creation: PublicKeyCredentialCreationOptionsJSON;
  passkey: { id: string; name: string; createdAt: string };
};

/** A registered, logged-in account with one passkey on `authenticator` (made for it unless given). */
const withPasskey = async (app: TestApp, username: string, authenticator = createAuthenticator()): Promise<WithPasskey> => {
  const session = await app.registerAndLogIn(username);
  const creation = await creationOptions(app, session.token);
  const added = await addPasskey(app, session.token, authenticator.createCredential(creation, ceremony()));
  if (added.status !== 201) throw new Error(`adding a passkey for ${username} answered ${added.status}`);
  return { session, authenticator, creation, passkey: (await added.json()) as WithPasskey['passkey'] };
};

/** An account with TOTP on (enrolled through the routes, the code from `otpauth` at the app's clock). */
const withTotp = async (app: TestApp, username: string) => {
  const session = await app.registerAndLogIn(username);
  const started = await app.post('/me/mfa/totp', { password: PASSWORD }, app.bearer(session.token));
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await app.post('/me/mfa/totp/confirm', { code: totpCode(secret, app.clock.now()) }, app.bearer(session.token));
  if (confirmed.status !== 200) throw new Error(`TOTP confirmation for ${username} answered ${confirmed.status}`);
  const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
  return { session, secret, recoveryCodes };
};

/** The first step of a password login of a TOTP account (403 mfa_required), as its body. */
const stepUp = async (app: TestApp, username: string) => {
  const response = await app.post('/login', { username, password: PASSWORD });
  const body = await json(response);
  if (response.status !== 403) throw new Error(`login of ${username} answered ${response.status} ${String(body.code)}`);
  return body as { code: string; mfaToken: string; methods: string[] };
};

const expectRefused = async (response: Response, status: 400 | 401) => {
  expect(response.status).toBe(status);
  expect(await json(response)).toEqual({ code: 'invalid_passkey', message: expect.any(String) });
};

/** Every item of a table (dynalite: one page is plenty for a test's few items). */
const scan = async (tableName: string): Promise<Record<string, unknown>[]> => {
  const client = testClient(store.endpoint);
  try {
    return ((await client.send(new ScanCommand({ TableName: tableName }))).Items ?? []) as Record<string, unknown>[];
  } finally {
    client.destroy();
  }
};

/** A base64url text with one character changed (still valid base64url). */
const tamper = (text: string) => `${text.slice(0, 10)}${text[10] === 'A' ? 'B' : 'A'}${text.slice(11)}`;

/** A response with its clientDataJSON rewritten: a `none` attestation signs nothing over it (an assertion does). */
const withClientData = <R extends RegistrationResponseJSON | AuthenticationResponseJSON>(response: R, patch: Record<string, unknown>): R => {
  const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as Record<string, unknown>;
  const clientDataJSON = Buffer.from(JSON.stringify({ ...clientData, ...patch }), 'utf8').toString('base64url');
  return { ...response, response: { ...response.response, clientDataJSON } };
};

/** The base64url id of the authenticator's newest credential. */
const newestId = (authenticator: SoftwareAuthenticator) => Buffer.from(authenticator.credentials().at(-1)!.id).toString('base64url');

describe('registering a passkey and signing in with it', () => {
  it('options (password) → add 201 → listed and counted on GET /me → login options name nothing → login gives a working pair → lastUsedAt set', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-whole', PASSWORD, 'Whole Passkey');
    const authenticator = createAuthenticator();

    // Act: registration.
    const optionsResponse = await t.post('/me/passkeys/options', { password: PASSWORD }, t.bearer(session.token));
    const creation = (await json(optionsResponse)) as unknown as PublicKeyCredentialCreationOptionsJSON;
    const registeredAt = t.clock.now().toISOString();
    const added = await addPasskey(t, session.token, authenticator.createCredential(creation, ceremony()), '  Laptop  ');
    const passkey = (await json(added)) as { id: string; name: string; createdAt: string };
    const listed = await listOf(t, session.token);
    const me = await meOf(t, session.token);

    // Act: the login, a while later.
    t.clock.advance(60);
    const request = await requestOptions(t);
    const loggedIn = await logIn(t, authenticator.getAssertion(request, ceremony()));
    const pair = (await json(loggedIn)) as unknown as LoginAnswer;
    const meByPasskey = await meOf(t, pair.token);
    const refreshed = await t.post('/token/refresh', { refreshToken: pair.refreshToken });
    const used = await listOf(t, session.token);

    // Assess: the creation options are SimpleWebAuthn's, with the service's insistences.
    expect(optionsResponse.status).toBe(200);
    expect(creation.rp).toEqual({ id: RP_ID, name: 'login-service' });
    expect(creation.user).toMatchObject({ name: 'pk-whole', displayName: 'Whole Passkey' });
    // The user handle is random bytes (16 to 64), never the name.
    const handle = Buffer.from(creation.user.id, 'base64url');
    expect(handle.length).toBeGreaterThanOrEqual(16);
    expect(handle.length).toBeLessThanOrEqual(64);
    expect(handle.toString('latin1')).not.toContain('pk-whole');
    expect(creation.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true, userVerification: 'required' });
    expect(creation.attestation).toBe('none');
    expect(creation.pubKeyCredParams.map((param) => param.alg)).toContain(-7);
    expect(creation.excludeCredentials ?? []).toEqual([]);
    expect(creation.timeout).toBe(CHALLENGE_TTL_SECONDS * 1000);

    expect(added.status).toBe(201);
    expect(passkey).toEqual({ id: newestId(authenticator), name: 'Laptop', createdAt: registeredAt });
    expect(listed).toEqual([{ id: passkey.id, name: 'Laptop', createdAt: registeredAt, lastUsedAt: null, backedUp: true }]);
    expect(me.user?.mfa).toEqual({ totp: false, passkeys: 1, recoveryCodesLeft: 0 });

    // The login options say nothing about any account.
    expect(request).not.toHaveProperty('allowCredentials');
    expect(request.rpId).toBe(RP_ID);
    expect(request.userVerification).toBe('required');

    expect(loggedIn.status).toBe(200);
    expect(pair).toMatchObject({ tokenType: 'Bearer', user: { username: 'pk-whole', name: 'Whole Passkey' } });
    expect(meByPasskey.status).toBe(200);
    expect(refreshed.status).toBe(200);
    expect(used).toEqual([{ ...listed[0], lastUsedAt: t.clock.now().toISOString() }]);
  });

  it('names a passkey "Passkey" when no name is given, cuts a long name to 64 characters, lists oldest first and excludes known ones', async () => {
    // Prepare
    const { session, passkey } = await withPasskey(t, 'pk-two');
    const second = createAuthenticator({ backupEligible: false });

    // Act
    t.clock.advance(1);
    const creation = await creationOptions(t, session.token);
    const added = await addPasskey(t, session.token, second.createCredential(creation, ceremony()), `  ${'é'.repeat(70)}  `);
    const listed = await listOf(t, session.token);
    const me = await meOf(t, session.token);
    const bySecond = await logInWith(t, second);

    // Assess
    expect(passkey.name).toBe('Passkey');
    expect(creation.excludeCredentials?.map((descriptor) => descriptor.id)).toEqual([passkey.id]);
    expect(added.status).toBe(201);
    expect(listed.map((entry) => [entry.name, entry.backedUp])).toEqual([
      ['Passkey', true],
      ['é'.repeat(64), false],
    ]);
    expect(me.user?.mfa).toMatchObject({ passkeys: 2 });
    expect(bySecond.status).toBe(200);
    expect(await json(bySecond)).toMatchObject({ user: { username: 'pk-two' } });
  });

  it('logs in again and again with a counter-less passkey (its counter stays 0; the challenge is the replay guard)', async () => {
    // Prepare
    const { authenticator } = await withPasskey(t, 'pk-nocount', createAuthenticator({ counterStep: 0 }));

    // Act
    const first = await logInWith(t, authenticator);
    const second = await logInWith(t, authenticator);

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(authenticator.credentials()[0]?.counter).toBe(0);
  });

  it('with TOTP on, asks for a code or a recovery code too; once the account has a passkey the step-up offers "passkey", and the passkey alone signs in', async () => {
    // Prepare
    const { session, secret, recoveryCodes } = await withTotp(t, 'pk-totp');
    const bearer = t.bearer(session.token);
    const authenticator = createAuthenticator();
    const before = await stepUp(t, 'pk-totp');

    // Act
    const passwordOnly = await t.post('/me/passkeys/options', { password: PASSWORD }, bearer);
    const wrongPassword = await t.post('/me/passkeys/options', { password: 'not the password', code: freshCode(t.clock, secret) }, bearer);
    t.clock.advance(30);
    const wrongCode = await t.post('/me/passkeys/options', { password: PASSWORD, code: totpCode(secret, t.clock.now(), -5) }, bearer);
    const byCode = await t.post('/me/passkeys/options', { password: PASSWORD, code: freshCode(t.clock, secret) }, bearer);
    const byRecovery = await t.post('/me/passkeys/options', { password: PASSWORD, recoveryCode: recoveryCodes[0] }, bearer);
    const creation = (await json(byRecovery)) as unknown as PublicKeyCredentialCreationOptionsJSON;
    const added = await addPasskey(t, session.token, authenticator.createCredential(creation, ceremony()));
    const after = await stepUp(t, 'pk-totp');
    const byPasskey = await logInWith(t, authenticator);
    const pair = (await json(byPasskey)) as unknown as LoginAnswer;
    const me = await meOf(t, pair.token);

    // Assess
    expect(before.methods).toEqual(['totp', 'recovery_code']);
    expect(passwordOnly.status).toBe(400);
    expect(await json(passwordOnly)).toMatchObject({ code: 'invalid_request' });
    expect(wrongPassword.status).toBe(401);
    expect(await json(wrongPassword)).toMatchObject({ code: 'invalid_credentials' });
    expect(wrongCode.status).toBe(401);
    expect(await json(wrongCode)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(byCode.status).toBe(200);
    expect(byRecovery.status).toBe(200);
    expect(added.status).toBe(201);
    expect(after.code).toBe('mfa_required');
    expect([...after.methods].sort()).toEqual(['passkey', 'recovery_code', 'totp']);
    // The passkey stands for the whole login: no step-up after it.
    expect(byPasskey.status).toBe(200);
    expect(pair).toMatchObject({ token: expect.any(String), user: { username: 'pk-totp' } });
    expect(me.user?.mfa).toEqual({ totp: true, passkeys: 1, recoveryCodesLeft: 9 });
  });

  it('answers the registration options 401 invalid_credentials for a wrong password, and without a bearer token 401 missing_token', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-wrongpw');

    // Act
    const wrong = await t.post('/me/passkeys/options', { password: 'not the password' }, t.bearer(session.token));
    const anonymous = await t.post('/me/passkeys/options', { password: PASSWORD });
    const anonymousAdd = await t.post('/me/passkeys', { response: {} });
    const anonymousList = await t.app.request('/me/passkeys');

    // Assess
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ code: 'invalid_credentials' });
    for (const response of [anonymous, anonymousAdd, anonymousList]) {
      expect(response.status).toBe(401);
      expect(await json(response)).toMatchObject({ code: 'missing_token' });
    }
  });
});

describe('the login options', () => {
  let proxy: StoreProxy;
  let counted: TestApp;

  beforeAll(async () => {
    proxy = await startStoreProxy(store.endpoint);
    counted = await createTestApp(proxy.endpoint);
  });
  afterAll(async () => {
    counted?.client.destroy();
    await proxy?.close();
  });

  it('write nothing but the per-client count: no challenge stored, every table but the throttle one left as it was', async () => {
    // Prepare: an account with a passkey, so the tables hold something.
    await withPasskey(counted, 'pk-count');
    const { config } = counted;
    const others = [config.tableName, config.sessionsTableName, config.oneTimeTokensTableName, config.emailsTableName, config.passkeysTableName];
    const itemsBefore = await Promise.all(others.map(scan));
    const throttleBefore = await scan(config.throttleTableName);
    proxy.reset();

    // Act: ten calls, with and without a body.
    const answers: Response[] = [];
    for (let i = 0; i < 5; i += 1) answers.push(await counted.post('/login/passkey/options', {}));
    for (let i = 0; i < 5; i += 1) answers.push(await counted.app.request('/login/passkey/options', { method: 'POST' }));
    const calls = [...proxy.calls()];
    const itemsAfter = await Promise.all(others.map(scan));
    const throttleAfter = await scan(config.throttleTableName);
    const challenges = await Promise.all(answers.map(async (answer) => ((await answer.json()) as { challenge: string }).challenge));

    // Assess
    for (const answer of answers) expect(answer.status).toBe(200);
    expect(new Set(challenges).size).toBe(10);
    const writes = calls.filter((c) => ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'].includes(c.operation));
    // One counted event per call, all on the throttle table (the per-client ceiling), nothing else anywhere.
    expect(writes.map((c) => [c.operation, c.table])).toEqual(Array.from({ length: 10 }, () => ['UpdateItem', config.throttleTableName]));
    expect(calls.filter((c) => c.table !== config.throttleTableName)).toEqual([]);
    expect(itemsAfter).toEqual(itemsBefore);
    // One window item per client, not one item per call.
    expect(throttleAfter.length - throttleBefore.length).toBeLessThanOrEqual(1);
  });
});

describe('a login with a passkey is refused, 401 invalid_passkey', () => {
  it('for a replayed challenge: the same options work once, and the very same assertion never twice', async () => {
    // Prepare
    const { authenticator } = await withPasskey(t, 'pk-replay');
    const request = await requestOptions(t);

    // Act
    const assertion = authenticator.getAssertion(request, ceremony());
    const first = await logIn(t, assertion);
    const sameAssertion = await logIn(t, assertion);
    const sameChallenge = await logIn(t, authenticator.getAssertion(request, ceremony()));
    const fresh = await logInWith(t, authenticator);

    // Assess
    expect(first.status).toBe(200);
    await expectRefused(sameAssertion, 401);
    await expectRefused(sameChallenge, 401);
    expect(fresh.status).toBe(200);
  });

  it('for an expired challenge (the app clock moved past WEBAUTHN_CHALLENGE_TTL_SECONDS), not one just inside it', async () => {
    // Prepare
    const { authenticator } = await withPasskey(t, 'pk-expired');
    const stale = await requestOptions(t);
    t.clock.advance(CHALLENGE_TTL_SECONDS + 1);
    const inTime = await requestOptions(t);
    t.clock.advance(CHALLENGE_TTL_SECONDS - 1);

    // Act
    const late = await logIn(t, authenticator.getAssertion(stale, ceremony()));
    const justInTime = await logIn(t, authenticator.getAssertion(inTime, ceremony()));

    // Assess
    await expectRefused(late, 401);
    expect(justInTime.status).toBe(200);
  });

  it('for a wrong origin, a wrong RP id, a cross-origin frame, a registration-type client data, or no user verification or presence', async () => {
    // Prepare
    const { authenticator } = await withPasskey(t, 'pk-wrongs');
    const wrongs: Partial<AssertionOptions>[] = [
      { origin: 'http://localhost:3001' },
      { origin: 'https://evil.example' },
      { origin: 'http://localhost.evil.example:3000' },
      { rpId: 'evil.example' },
      { rpId: 'sub.localhost' },
      { type: 'webauthn.create' },
      { userVerified: false },
      { userPresent: false },
    ];

    // Act
    const refused: Response[] = [];
    for (const wrong of wrongs) refused.push(await logInWith(t, authenticator, wrong));
    const right = await logInWith(t, authenticator);

    // Assess
    for (const response of refused) await expectRefused(response, 401);
    expect(right.status).toBe(200);
  });

  it('for a signature counter that went backwards or stood still, and takes the next higher one', async () => {
    // Prepare: the passkey counts 0 at registration, 5 at its first login.
    const { authenticator, session } = await withPasskey(t, 'pk-counter');
    const first = await logInWith(t, authenticator, { counter: 5 });

    // Act
    const backwards = await logInWith(t, authenticator, { counter: 3 });
    const zero = await logInWith(t, authenticator, { counter: 0 });
    const same = await logInWith(t, authenticator, { counter: 5 });
    const onwards = await logInWith(t, authenticator, { counter: 6 });
    const listed = await listOf(t, session.token);

    // Assess
    expect(first.status).toBe(200);
    await expectRefused(backwards, 401);
    await expectRefused(zero, 401);
    await expectRefused(same, 401);
    expect(onwards.status).toBe(200);
    expect(listed[0]?.lastUsedAt).toBe(t.clock.now().toISOString());
  });

  it("for another account's credential: a user handle not the owner's, none at all, or a signature by another key under its id", async () => {
    // Prepare: two accounts with a passkey each.
    const alice = await withPasskey(t, 'pk-alice');
    const bob = await withPasskey(t, 'pk-bob');
    const aliceId = alice.passkey.id;
    const bobHandle = bob.creation.user.id;

    // Act
    const bobsHandle = await logInWith(t, alice.authenticator, { userHandle: bobHandle });
    const noHandle = await logInWith(t, alice.authenticator, { userHandle: null });
    const madeUpHandle = await logInWith(t, alice.authenticator, { userHandle: Buffer.alloc(32, 7).toString('base64url') });
    // Bob's authenticator signs, but the assertion names Alice's credential (and her handle).
    const signedByBob = bob.authenticator.getAssertion(await requestOptions(t), ceremony({ userHandle: alice.creation.user.id }));
    const forged = await logIn(t, { ...signedByBob, id: aliceId, rawId: aliceId });
    const aliceRight = await logInWith(t, alice.authenticator);
    const bobRight = await logInWith(t, bob.authenticator);

    // Assess
    await expectRefused(bobsHandle, 401);
    await expectRefused(noHandle, 401);
    await expectRefused(madeUpHandle, 401);
    await expectRefused(forged, 401);
    expect(await json(aliceRight)).toMatchObject({ user: { username: 'pk-alice' } });
    expect(await json(bobRight)).toMatchObject({ user: { username: 'pk-bob' } });
  });

  it('for a credential never registered, a challenge the server did not make, and a tampered signature or client data', async () => {
    // Prepare
    const { authenticator } = await withPasskey(t, 'pk-forged');
    const stranger = createAuthenticator();
    stranger.createCredential(await creationOptionsFor('pk-stranger'), ceremony());

    // Act
    const unknown = await logInWith(t, stranger);
    const request = await requestOptions(t);
    const madeUp = await logIn(t, authenticator.getAssertion({ ...request, challenge: Buffer.from('not a sealed challenge').toString('base64url') }, ceremony()));
    const good = authenticator.getAssertion(await requestOptions(t), ceremony());
    const badSignature = await logIn(t, { ...good, response: { ...good.response, signature: tamper(good.response.signature) } });
    const badClientData = await logIn(t, withClientData(good, { origin: ORIGIN, extra: 'changed after signing' }));
    const badData = await logIn(t, { ...good, response: { ...good.response, authenticatorData: tamper(good.response.authenticatorData) } });
    const untouched = await logIn(t, good);

    // Assess
    await expectRefused(unknown, 401);
    await expectRefused(madeUp, 401);
    await expectRefused(badSignature, 401);
    await expectRefused(badClientData, 401);
    await expectRefused(badData, 401);
    expect(untouched.status).toBe(200);
  });
});

/** Registration options of a new account (for an authenticator whose credential is never added). */
const creationOptionsFor = async (username: string) => creationOptions(t, (await t.registerAndLogIn(username)).token);

describe('a registration is refused, 400 invalid_passkey, and nothing is stored', () => {
  it('for a replayed challenge, and for one superseded by newer options; the newest works', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-reg-replay');
    const first = createAuthenticator();
    const second = createAuthenticator();
    const third = createAuthenticator();
    const used = await creationOptions(t, session.token);
    const added = await addPasskey(t, session.token, first.createCredential(used, ceremony()));

    // Act
    const replayed = await addPasskey(t, session.token, second.createCredential(used, ceremony()));
    // (Each write a second later: with a stopped clock, two passkeys made at one instant list in no set order.)
    t.clock.advance(1);
    const older = await creationOptions(t, session.token);
    const newer = await creationOptions(t, session.token);
    const superseded = await addPasskey(t, session.token, second.createCredential(older, ceremony()));
    const newest = await addPasskey(t, session.token, third.createCredential(newer, ceremony()));
    const listed = await listOf(t, session.token);

    // Assess
    expect(added.status).toBe(201);
    await expectRefused(replayed, 400);
    await expectRefused(superseded, 400);
    expect(newest.status).toBe(201);
    expect(listed.map((entry) => entry.id)).toEqual([newestId(first), newestId(third)]);
  });

  it('for an expired challenge', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-reg-expired');
    const creation = await creationOptions(t, session.token);
    t.clock.advance(CHALLENGE_TTL_SECONDS + 1);

    // Act
    const late = await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony()));

    // Assess
    await expectRefused(late, 400);
    expect(await listOf(t, session.token)).toEqual([]);
    expect((await meOf(t, session.token)).user?.mfa).toMatchObject({ passkeys: 0 });
  });

  it.each<[string, Partial<CeremonyOptions>]>([
    ['a wrong origin', { origin: 'https://evil.example' }],
    ['another port', { origin: 'http://localhost:3001' }],
    ['a wrong RP id', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
    ['no user presence', { userPresent: false }],
    ['a login-type client data', { type: 'webauthn.get' }],
  ])('for %s, and the challenge is spent by the attempt', async (_, wrong) => {
    // Prepare
    const session = await t.registerAndLogIn(`pk-reg-${Object.keys(wrong).join('')}-${String(Object.values(wrong)[0]).replace(/\W/g, '')}`);
    const creation = await creationOptions(t, session.token);

    // Act
    const refused = await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony(wrong)));
    const retried = await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony()));
    const listed = await listOf(t, session.token);
    const fresh = await addPasskey(t, session.token, createAuthenticator().createCredential(await creationOptions(t, session.token), ceremony()));

    // Assess
    await expectRefused(refused, 400);
    await expectRefused(retried, 400);
    expect(listed).toEqual([]);
    expect(fresh.status).toBe(201);
  });

  it("for another account's challenge, and for a credential id registered already (to another account or the same)", async () => {
    // Prepare
    const alice = await t.registerAndLogIn('pk-reg-alice');
    const bob = await t.registerAndLogIn('pk-reg-bob');
    const aliceAuthenticator = createAuthenticator();
    const aliceCreation = await creationOptions(t, alice.token);

    // Act: Bob sends a response made for Alice's challenge.
    const crossed = await addPasskey(t, bob.token, createAuthenticator().createCredential(aliceCreation, ceremony()));
    const aliceResponse = aliceAuthenticator.createCredential(await creationOptions(t, alice.token), ceremony());
    const aliceAdded = await addPasskey(t, alice.token, aliceResponse);
    // Her credential again, under Bob's own fresh challenge (a `none` attestation signs no client data), and hers;
    // a second later (the store takes the same credential, key and instant for its own retried write).
    t.clock.advance(1);
    const bobCreation = await creationOptions(t, bob.token);
    const copiedToBob = await addPasskey(t, bob.token, withClientData(aliceResponse, { challenge: bobCreation.challenge }));
    const again = await creationOptions(t, alice.token);
    const copiedToAlice = await addPasskey(t, alice.token, withClientData(aliceResponse, { challenge: again.challenge }));
    const bobList = await listOf(t, bob.token);
    const aliceList = await listOf(t, alice.token);
    const login = await logInWith(t, aliceAuthenticator);

    // Assess
    await expectRefused(crossed, 400);
    expect(aliceAdded.status).toBe(201);
    await expectRefused(copiedToBob, 400);
    await expectRefused(copiedToAlice, 400);
    expect(bobList).toEqual([]);
    expect(aliceList).toHaveLength(1);
    expect((await meOf(t, bob.token)).user?.mfa).toMatchObject({ passkeys: 0 });
    expect((await meOf(t, alice.token)).user?.mfa).toMatchObject({ passkeys: 1 });
    expect(await json(login)).toMatchObject({ user: { username: 'pk-reg-alice' } });
  });

  it("for a response whose id is not the credential's in the authenticator data", async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-reg-id');
    const response = createAuthenticator().createCredential(await creationOptions(t, session.token), ceremony());
    const otherId = Buffer.alloc(32, 9).toString('base64url');

    // Act
    const refused = await addPasskey(t, session.token, { ...response, id: otherId, rawId: otherId });

    // Assess
    await expectRefused(refused, 400);
    expect(await listOf(t, session.token)).toEqual([]);
  });
});

describe('removing a passkey', () => {
  it('needs the password, answers 404 for an id that is not one of this account\'s, and then the passkey no longer signs in', async () => {
    // Prepare
    const alice = await withPasskey(t, 'pk-rm-alice');
    const bob = await withPasskey(t, 'pk-rm-bob');
    const path = `/me/passkeys/${alice.passkey.id}`;

    // Act
    const wrongPassword = await send(t, 'DELETE', path, { password: 'not the password' }, t.bearer(alice.session.token));
    const bobsTry = await send(t, 'DELETE', path, { password: PASSWORD }, t.bearer(bob.session.token));
    const unknown = await send(t, 'DELETE', `/me/passkeys/${Buffer.alloc(32, 1).toString('base64url')}`, { password: PASSWORD }, t.bearer(alice.session.token));
    const notAnId = await send(t, 'DELETE', `/me/passkeys/${encodeURIComponent('not an id!')}`, { password: PASSWORD }, t.bearer(alice.session.token));
    const stillSigns = await logInWith(t, alice.authenticator);
    const removed = await send(t, 'DELETE', path, { password: PASSWORD }, t.bearer(alice.session.token));
    const again = await send(t, 'DELETE', path, { password: PASSWORD }, t.bearer(alice.session.token));
    const listed = await listOf(t, alice.session.token);
    const me = await meOf(t, alice.session.token);
    const gone = await logInWith(t, alice.authenticator);
    const bobStill = await logInWith(t, bob.authenticator);

    // Assess
    expect(wrongPassword.status).toBe(401);
    expect(await json(wrongPassword)).toMatchObject({ code: 'invalid_credentials' });
    for (const response of [bobsTry, unknown, notAnId]) {
      expect(response.status).toBe(404);
      expect(await json(response)).toMatchObject({ code: 'not_found' });
    }
    expect(stillSigns.status).toBe(200);
    expect(removed.status).toBe(204);
    expect(again.status).toBe(404);
    expect(listed).toEqual([]);
    expect(me.user?.mfa).toMatchObject({ passkeys: 0 });
    await expectRefused(gone, 401);
    expect(bobStill.status).toBe(200);
  });

  it('ends the other sessions and keeps the caller\'s', async () => {
    // Prepare
    const { session, passkey } = await withPasskey(t, 'pk-rm-sessions');
    const other = (await json(await t.post('/login', { username: 'pk-rm-sessions', password: PASSWORD }))) as unknown as LoginAnswer;

    // Act
    const removed = await send(t, 'DELETE', `/me/passkeys/${passkey.id}`, { password: PASSWORD }, t.bearer(session.token));
    const callerMe = await meOf(t, session.token);
    const otherMe = await meOf(t, other.token);
    const otherRefresh = await t.post('/token/refresh', { refreshToken: other.refreshToken });
    const callerRefresh = await t.post('/token/refresh', { refreshToken: session.refreshToken });

    // Assess
    expect(removed.status).toBe(204);
    expect(callerMe.status).toBe(200);
    expect(otherMe.status).toBe(401);
    expect(otherRefresh.status).toBe(401);
    expect(callerRefresh.status).toBe(200);
  });
});

describe('adding a passkey ends the other sessions', () => {
  it("keeps the caller's session (access and refresh token), ends another's, and voids a TOTP login in flight", async () => {
    // Prepare: a TOTP account signed in twice, and a third login waiting at its second step.
    const { session, secret } = await withTotp(t, 'pk-add-sessions');
    const other = await t.post('/login/mfa', { mfaToken: (await stepUp(t, 'pk-add-sessions')).mfaToken, code: freshCode(t.clock, secret) });
    const otherPair = (await json(other)) as unknown as LoginAnswer;
    const inFlight = (await stepUp(t, 'pk-add-sessions')).mfaToken;
    const creation = await creationOptions(t, session.token, { password: PASSWORD, code: freshCode(t.clock, secret) });

    // Act
    const added = await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony()));
    const callerMe = await meOf(t, session.token);
    const otherMe = await meOf(t, otherPair.token);
    const otherRefresh = await t.post('/token/refresh', { refreshToken: otherPair.refreshToken });
    const finished = await t.post('/login/mfa', { mfaToken: inFlight, code: freshCode(t.clock, secret) });
    const callerRefresh = await t.post('/token/refresh', { refreshToken: session.refreshToken });
    const refreshedMe = await meOf(t, ((await json(callerRefresh)) as unknown as LoginAnswer).token);

    // Assess
    expect(other.status).toBe(200);
    expect(added.status).toBe(201);
    expect(callerMe.status).toBe(200);
    expect(otherMe.status).toBe(401);
    expect(otherRefresh.status).toBe(401);
    expect(finished.status).toBe(401);
    expect(await json(finished)).toMatchObject({ code: 'invalid_mfa_token' });
    expect(callerRefresh.status).toBe(200);
    expect(refreshedMe.status).toBe(200);
  });

  it('a refused registration ends nothing', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-add-refused');
    const other = (await json(await t.post('/login', { username: 'pk-add-refused', password: PASSWORD }))) as unknown as LoginAnswer;
    const creation = await creationOptions(t, session.token);

    // Act
    const refused = await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony({ origin: 'https://evil.example' })));
    const otherMe = await meOf(t, other.token);

    // Assess
    await expectRefused(refused, 400);
    expect(otherMe.status).toBe(200);
  });
});

describe('DELETE /me', () => {
  it('removes the account\'s passkeys with it: the credential no longer signs in, not even for a new account of the name', async () => {
    // Prepare
    const { session, authenticator, passkey } = await withPasskey(t, 'pk-delete');
    t.clock.advance(1);
    const second = createAuthenticator();
    await addPasskey(t, session.token, second.createCredential(await creationOptions(t, session.token), ceremony()));
    const stored = (await scan(t.config.passkeysTableName)).filter((item) => item.username === 'pk-delete');

    // Act
    const deleted = await send(t, 'DELETE', '/me', { password: PASSWORD }, t.bearer(session.token));
    const left = (await scan(t.config.passkeysTableName)).filter((item) => item.username === 'pk-delete');
    const byFirst = await logInWith(t, authenticator);
    const bySecond = await logInWith(t, second);
    // The name registered again is another account: the old credentials are not its.
    const reborn = await t.registerAndLogIn('pk-delete');
    const rebornList = await listOf(t, reborn.token);
    const afterRebirth = await logInWith(t, authenticator);

    // Assess
    expect(stored.map((item) => item.id).sort()).toEqual([passkey.id, newestId(second)].sort());
    expect(deleted.status).toBe(204);
    expect(left).toEqual([]);
    await expectRefused(byFirst, 401);
    await expectRefused(bySecond, 401);
    expect(rebornList).toEqual([]);
    expect((await meOf(t, reborn.token)).user?.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    await expectRefused(afterRebirth, 401);
  });
});

// A malformed body is a client's mistake with a stable code: the schema's (invalid_json, invalid_request) for a body
// that is not the route's shape, invalid_passkey for a `response` that is not a ceremony's; never a 5xx.
// (A body over 16 KB is refused before it is read: 413 payload_too_large.)
type Malformed<R> = [label: string, body: (good: R) => unknown, code: 'invalid_json' | 'invalid_request' | 'invalid_passkey' | 'payload_too_large'];

const statusOf = (code: Malformed<unknown>[2], refused: 400 | 401) =>
  code === 'payload_too_large' ? 413 : code === 'invalid_passkey' ? refused : 400;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const longText = (length: number) => 'A'.repeat(length);

/** Bodies that no schema lets through, on both POSTs. */
const notTheShape = <R>(): Malformed<R>[] => [
  ['a body that is not JSON', () => 'response=abc', 'invalid_json'],
  ['a JSON array', (good) => JSON.stringify([{ response: good }]), 'invalid_request'],
  ['no response', () => ({}), 'invalid_request'],
  ['a text response', () => ({ response: 'abc' }), 'invalid_request'],
  ['a null response', () => ({ response: null }), 'invalid_request'],
  // (The schema lets an array through as an object; the ceremony's reader refuses it.)
  ['an array response', (good) => ({ response: [good] }), 'invalid_passkey'],
  ['a number response', () => ({ response: 7 }), 'invalid_request'],
];

/** Mutations of a real response's outer credential, on both POSTs. */
const credentialMutations = <R extends { id: string; rawId: string; response: object }>(): Malformed<R>[] => [
  ['an empty response object', () => ({ response: {} }), 'invalid_passkey'],
  ['another type', (good) => ({ response: { ...good, type: 'password' } }), 'invalid_passkey'],
  ['no type', (good) => ({ response: { ...good, type: undefined } }), 'invalid_passkey'],
  ['id and rawId that differ', (good) => ({ response: { ...good, rawId: tamper(good.rawId) } }), 'invalid_passkey'],
  ['an id that is not base64url', (good) => ({ response: { ...good, id: 'not/base64+url=', rawId: 'not/base64+url=' } }), 'invalid_passkey'],
  ['an empty id', (good) => ({ response: { ...good, id: '', rawId: '' } }), 'invalid_passkey'],
  ['an id longer than WebAuthn allows', (good) => ({ response: { ...good, id: longText(2000), rawId: longText(2000) } }), 'invalid_passkey'],
  ['a numeric id', (good) => ({ response: { ...good, id: 12, rawId: 12 } }), 'invalid_passkey'],
  ['no inner response', (good) => ({ response: { ...good, response: undefined } }), 'invalid_passkey'],
  ['a text inner response', (good) => ({ response: { ...good, response: 'abc' } }), 'invalid_passkey'],
  ['no clientDataJSON', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: undefined } } }), 'invalid_passkey'],
  ['a clientDataJSON that is not JSON', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: b64('{not json') } } }), 'invalid_passkey'],
  ['a clientDataJSON that is a number', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: b64('42') } } }), 'invalid_passkey'],
  [
    'a clientDataJSON whose challenge is a number',
    (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: b64(JSON.stringify({ type: 'webauthn.get', challenge: 5, origin: ORIGIN })) } } }),
    'invalid_passkey',
  ],
  [
    'a clientDataJSON whose challenge is not UTF-8',
    (good) => ({
      response: {
        ...good,
        response: { ...good.response, clientDataJSON: b64(JSON.stringify({ type: 'webauthn.get', challenge: Buffer.from([0xff, 0xfe]).toString('base64url'), origin: ORIGIN })) },
      },
    }),
    'invalid_passkey',
  ],
  ['a long clientDataJSON of nothing', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: longText(12_000) } } }), 'invalid_passkey'],
  ['a huge clientDataJSON', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: longText(40_000) } } }), 'payload_too_large'],
  ['a clientDataJSON that is not base64url', (good) => ({ response: { ...good, response: { ...good.response, clientDataJSON: '{"challenge":"x"}' } } }), 'invalid_passkey'],
];

/** A field of the inner response replaced (undefined: left out). */
const inner = <R extends { response: object }>(field: string, value: unknown) => (good: R) => ({
  response: { ...good, response: { ...good.response, [field]: value } },
});

describe('malformed bodies at POST /me/passkeys: 4xx with a stable code, never 5xx', () => {
  const registrationMutations: Malformed<RegistrationResponseJSON>[] = [
    ...notTheShape<RegistrationResponseJSON>(),
    ['a numeric name', (good) => ({ response: good, name: 5 }), 'invalid_request'],
    ['a name with a lone surrogate', (good) => ({ response: good, name: 'key \uD800' }), 'invalid_request'],
    ...credentialMutations<RegistrationResponseJSON>(),
    ['no attestationObject', inner('attestationObject', undefined), 'invalid_passkey'],
    ['an attestationObject that is not base64url', inner('attestationObject', '%%%'), 'invalid_passkey'],
    ['an attestationObject of random bytes', inner('attestationObject', Buffer.alloc(64, 0xa7).toString('base64url')), 'invalid_passkey'],
    ['a truncated attestationObject', (good) => inner('attestationObject', good.response.attestationObject.slice(0, 40))(good), 'invalid_passkey'],
    ['an attestationObject without authData', inner('attestationObject', Buffer.from(encodeCbor({ fmt: 'none', attStmt: {} })).toString('base64url')), 'invalid_passkey'],
    ['an attestationObject that is a CBOR number', inner('attestationObject', Buffer.from(encodeCbor(7)).toString('base64url')), 'invalid_passkey'],
    ['a long attestationObject of nothing', inner('attestationObject', longText(12_000)), 'invalid_passkey'],
    ['a huge attestationObject', inner('attestationObject', longText(40_000)), 'payload_too_large'],
    ['transports that are text', inner('transports', 'usb'), 'invalid_passkey'],
    ['a hundred transports', inner('transports', Array.from({ length: 100 }, () => 'usb')), 'invalid_passkey'],
  ];

  it.each(registrationMutations)('%s', async (_, body, code) => {
    // Prepare: a fresh account, its challenge, and a real response to spoil.
    const session = await t.registerAndLogIn(`pk-bad-reg-${registrationMutations.findIndex(([label]) => label === _)}`);
    const good = createAuthenticator().createCredential(await creationOptions(t, session.token), ceremony());

    // Act
    const payload = body(good);
    const answer = await t.post('/me/passkeys', typeof payload === 'string' ? payload : JSON.stringify(payload), t.bearer(session.token));

    // Assess
    expect(answer.status).toBe(statusOf(code, 400));
    expect(await json(answer)).toMatchObject({ code });
    expect(await listOf(t, session.token)).toEqual([]);
  });
});

describe('malformed bodies at POST /login/passkey: 4xx with a stable code, never 5xx', () => {
  let authenticator: SoftwareAuthenticator;

  beforeAll(async () => {
    ({ authenticator } = await withPasskey(t, 'pk-bad-login'));
  });

  const loginMutations: Malformed<AuthenticationResponseJSON>[] = [
    ...notTheShape<AuthenticationResponseJSON>(),
    ...credentialMutations<AuthenticationResponseJSON>(),
    ['no authenticatorData', inner('authenticatorData', undefined), 'invalid_passkey'],
    ['an authenticatorData that is not base64url', inner('authenticatorData', '***'), 'invalid_passkey'],
    ['an empty authenticatorData', inner('authenticatorData', ''), 'invalid_passkey'],
    ['a truncated authenticatorData', (good) => inner('authenticatorData', good.response.authenticatorData.slice(0, 20))(good), 'invalid_passkey'],
    ['a long authenticatorData of nothing', inner('authenticatorData', longText(12_000)), 'invalid_passkey'],
    ['a huge authenticatorData', inner('authenticatorData', longText(40_000)), 'payload_too_large'],
    ['no signature', inner('signature', undefined), 'invalid_passkey'],
    ['an empty signature', inner('signature', ''), 'invalid_passkey'],
    ['a signature of random bytes', inner('signature', Buffer.alloc(70, 0x30).toString('base64url')), 'invalid_passkey'],
    ['a signature that is an object', inner('signature', { r: 1, s: 2 }), 'invalid_passkey'],
    ['a numeric userHandle', inner('userHandle', 12), 'invalid_passkey'],
    ['a userHandle that is not base64url', inner('userHandle', 'not a handle!'), 'invalid_passkey'],
    ['a userHandle longer than 64 bytes', inner('userHandle', longText(200)), 'invalid_passkey'],
  ];

  it.each(loginMutations)('%s', async (_, body, code) => {
    // Prepare: a real assertion to spoil.
    const good = authenticator.getAssertion(await requestOptions(t), ceremony());

    // Act
    const payload = body(good);
    const answer = await t.post('/login/passkey', typeof payload === 'string' ? payload : JSON.stringify(payload));

    // Assess
    expect(answer.status).toBe(statusOf(code, 401));
    expect(await json(answer)).toMatchObject({ code });
  });

  it('still signs in with a sound assertion after all of them', async () => {
    expect((await logInWith(t, authenticator)).status).toBe(200);
  });
});

describe('the logs', () => {
  let logged: TestApp;
  const lines: string[] = [];
  let stopCapture: (() => void) | undefined;

  beforeAll(async () => {
    logged = await createTestApp(store.endpoint, { LOG_LEVEL: 'DEBUG' });
    stopCapture = captureJsonLines(lines);
  });
  afterAll(() => {
    stopCapture?.();
    logged?.client.destroy();
  });

  it('record passkey.added, a login with method passkey, a refused one, and passkey.removed; and hold no token, challenge or key', async () => {
    // Prepare / Act
    const { session, authenticator, creation, passkey } = await withPasskey(logged, 'pk-logged');
    const request = await requestOptions(logged);
    const assertion = authenticator.getAssertion(request, ceremony());
    const pair = (await json(await logIn(logged, assertion))) as unknown as LoginAnswer;
    const replayed = await logIn(logged, assertion);
    const removed = await send(logged, 'DELETE', `/me/passkeys/${passkey.id}`, { password: PASSWORD }, logged.bearer(pair.token));

    // Assess
    expect(replayed.status).toBe(401);
    expect(removed.status).toBe(204);
    const events = lines.flatMap((line) => {
      const parsed = JSON.parse(line) as { event?: unknown; username?: unknown; method?: unknown };
      return typeof parsed.event === 'string' && parsed.username === 'pk-logged' ? [parsed] : [];
    });
    expect(events.map((event) => event.event)).toEqual(expect.arrayContaining(['passkey.added', 'login.failed', 'passkey.removed']));
    expect(events.filter((event) => event.event === 'login.succeeded').map((event) => event.method)).toEqual(['password', 'passkey']);
    const everything = lines.join('\n');
    const secrets = [
      PASSWORD,
      session.token,
      session.refreshToken,
      pair.token,
      pair.refreshToken,
      creation.challenge,
      Buffer.from(creation.challenge, 'base64url').toString('utf8'),
      request.challenge,
      Buffer.from(request.challenge, 'base64url').toString('utf8'),
      assertion.response.signature,
      assertion.response.clientDataJSON,
    ];
    for (const secret of secrets) expect(everything.includes(secret), `a secret of ${secret.length} characters is in the log`).toBe(false);
  });
});

describe('races, ceilings and what stays the same', () => {
  it('one assertion sent five times at once signs in once (a counting passkey and a counter-less one)', async () => {
    // Prepare
    const counting = await withPasskey(t, 'pk-race-count');
    const counterless = await withPasskey(t, 'pk-race-zero', createAuthenticator({ counterStep: 0 }));

    // Act
    const results: number[][] = [];
    for (const { authenticator } of [counting, counterless]) {
      const assertion = authenticator.getAssertion(await requestOptions(t), ceremony());
      const answers = await Promise.all(Array.from({ length: 5 }, () => logIn(t, assertion)));
      results.push(answers.map((answer) => answer.status).sort());
    }

    // Assess
    expect(results).toEqual([
      [200, 401, 401, 401, 401],
      [200, 401, 401, 401, 401],
    ]);
  });

  it('two registrations racing with one challenge: one is added', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-race-reg');
    const creation = await creationOptions(t, session.token);
    const responses = [createAuthenticator(), createAuthenticator(), createAuthenticator()].map((a) => a.createCredential(creation, ceremony()));

    // Act
    const answers = await Promise.all(responses.map((response) => addPasskey(t, session.token, response)));
    const listed = await listOf(t, session.token);
    const me = await meOf(t, session.token);

    // Assess
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 400, 400]);
    expect(listed).toHaveLength(1);
    expect(me.user?.mfa).toMatchObject({ passkeys: 1 });
  });

  it('keeps the user handle of an account across registrations, and gives each account its own', async () => {
    // Prepare
    const first = await withPasskey(t, 'pk-handle');
    const other = await withPasskey(t, 'pk-handle-other');

    // Act
    const again = await creationOptions(t, first.session.token);

    // Assess
    expect(again.user.id).toBe(first.creation.user.id);
    expect(other.creation.user.id).not.toBe(first.creation.user.id);
  });

  it('records the backed-up flag a login reports, and names a blank name "Passkey"', async () => {
    // Prepare: a passkey that may sync but is not backed up yet.
    const authenticator = createAuthenticator({ backupEligible: true, backedUp: false });
    const session = await t.registerAndLogIn('pk-backup');
    const added = await addPasskey(t, session.token, authenticator.createCredential(await creationOptions(t, session.token), ceremony()), '   ');
    const before = await listOf(t, session.token);

    // Act
    const login = await logInWith(t, authenticator, { backedUp: true });
    const after = await listOf(t, session.token);

    // Assess
    expect(added.status).toBe(201);
    expect(before).toMatchObject([{ name: 'Passkey', backedUp: false, lastUsedAt: null }]);
    expect(login.status).toBe(200);
    expect(after).toMatchObject([{ name: 'Passkey', backedUp: true, lastUsedAt: t.clock.now().toISOString() }]);
  });

  it('still signs in after a password change (a passkey is its own factor), and the old password does not', async () => {
    // Prepare
    const { session, authenticator } = await withPasskey(t, 'pk-newpw');

    // Act
    const changed = await t.post('/me/password', { currentPassword: PASSWORD, newPassword: 'quiet meadow lantern 42' }, t.bearer(session.token));
    const byPasskey = await logInWith(t, authenticator);
    const byOldPassword = await t.post('/login', { username: 'pk-newpw', password: PASSWORD });

    // Assess
    expect(changed.status).toBe(200);
    expect(byPasskey.status).toBe(200);
    expect(byOldPassword.status).toBe(401);
  });

  it('does not add a passkey through a session a password change ended after its options were given', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-ended');
    const other = (await json(await t.post('/login', { username: 'pk-ended', password: PASSWORD }))) as unknown as LoginAnswer;
    const creation = await creationOptions(t, session.token);
    const changed = await t.post('/me/password', { currentPassword: PASSWORD, newPassword: 'quiet meadow lantern 42' }, t.bearer(other.token));
    const authenticator = createAuthenticator();

    // Act
    const added = await addPasskey(t, session.token, authenticator.createCredential(creation, ceremony()));
    const stored = (await scan(t.config.passkeysTableName)).filter((item) => item.username === 'pk-ended');
    const login = await logInWith(t, authenticator);

    // Assess
    expect(changed.status).toBe(200);
    expect(added.status).toBe(401);
    expect(stored).toEqual([]);
    await expectRefused(login, 401);
  });

  it('answers an over-long or odd passkey id on DELETE with 404, never 5xx', async () => {
    // Prepare
    const session = await t.registerAndLogIn('pk-odd-id');

    // Act
    const answers = await Promise.all(
      ['A'.repeat(1500), '%00', encodeURIComponent('é/..'), '-_-_'].map((id) =>
        send(t, 'DELETE', `/me/passkeys/${id}`, { password: PASSWORD }, t.bearer(session.token)),
      ),
    );

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(await json(answer)).toMatchObject({ code: 'not_found' });
    }
  });

  describe('with a per-client ceiling of 3', () => {
    let ceiled: TestApp;
    beforeAll(async () => {
      ceiled = await createTestApp(store.endpoint, { THROTTLE_IP_FAILURES: '3' });
    });
    afterAll(() => ceiled?.client.destroy());

    const from = (peer: string) => ({ 'X-Test-Peer': peer });

    it('counts failed passkey logins and login options per client: then 429 too_many_attempts, even for a right assertion; another client is not held up', async () => {
      // Prepare
      const { authenticator } = await withPasskey(ceiled, 'pk-ceiling');
      const options = () => ceiled.post('/login/passkey/options', {}, from('203.0.113.5'));
      const request = (await (await options()).json()) as PublicKeyCredentialRequestOptionsJSON;

      // Act: three failures (a bad signature does not spend the challenge), then the right assertion.
      const failures: Response[] = [];
      for (let i = 0; i < 3; i += 1) {
        const good = authenticator.getAssertion(request, ceremony());
        failures.push(await ceiled.post('/login/passkey', { response: { ...good, response: { ...good.response, signature: tamper(good.response.signature) } } }, from('203.0.113.5')));
      }
      const held = await ceiled.post('/login/passkey', { response: authenticator.getAssertion(request, ceremony()) }, from('203.0.113.5'));
      const moreOptions = [await options(), await options(), await options()];
      const elsewhereOptions = (await (await ceiled.post('/login/passkey/options', {}, from('203.0.113.6'))).json()) as PublicKeyCredentialRequestOptionsJSON;
      const elsewhere = await ceiled.post('/login/passkey', { response: authenticator.getAssertion(elsewhereOptions, ceremony()) }, from('203.0.113.6'));

      // Assess
      for (const failure of failures) await expectRefused(failure, 401);
      expect(held.status).toBe(429);
      expect(await json(held)).toMatchObject({ code: 'too_many_attempts' });
      expect(moreOptions.map((answer) => answer.status)).toEqual([200, 200, 429]);
      expect(elsewhere.status).toBe(200);
    });
  });
});

describe('what a passkey leaves behind', () => {
  let proxy: StoreProxy;
  let faulty: TestApp;

  beforeAll(async () => {
    proxy = await startStoreProxy(store.endpoint);
    faulty = await createTestApp(proxy.endpoint);
  });
  afterAll(async () => {
    faulty?.client.destroy();
    await proxy?.close();
  });

  it('a passkey left behind by a failed clean-up at DELETE /me never signs in, not even for a new account of the name', async () => {
    // Prepare: the passkeys table's index cannot be read while the account is deleted.
    const { session, authenticator } = await withPasskey(faulty, 'pk-leftover');
    proxy.setFault((c) => (c.table === faulty.config.passkeysTableName && c.operation === 'Query' ? { failWith: 500 } : undefined));

    // Act
    const deleted = await send(faulty, 'DELETE', '/me', { password: PASSWORD }, faulty.bearer(session.token));
    proxy.reset();
    const left = (await scan(faulty.config.passkeysTableName)).filter((item) => item.username === 'pk-leftover');
    const orphan = await logInWith(faulty, authenticator);
    const reborn = await faulty.registerAndLogIn('pk-leftover');
    const afterRebirth = await logInWith(faulty, authenticator);
    const rebornList = await listOf(faulty, reborn.token);

    // Assess
    expect(deleted.status).toBe(204);
    expect(left).toHaveLength(1);
    await expectRefused(orphan, 401);
    await expectRefused(afterRebirth, 401);
    expect(rebornList).toEqual([]);
  });

  it('the step-up stops offering "passkey" once the last one is removed', async () => {
    // Prepare
    const { session, secret } = await withTotp(t, 'pk-last');
    const creation = await creationOptions(t, session.token, { password: PASSWORD, code: freshCode(t.clock, secret) });
    const added = (await json(await addPasskey(t, session.token, createAuthenticator().createCredential(creation, ceremony())))) as { id: string };
    const withOne = await stepUp(t, 'pk-last');

    // Act
    const removed = await send(t, 'DELETE', `/me/passkeys/${added.id}`, { password: PASSWORD }, t.bearer(session.token));
    const withNone = await stepUp(t, 'pk-last');

    // Assess
    expect(withOne.methods).toContain('passkey');
    expect(removed.status).toBe(204);
    expect(withNone.methods).toEqual(['totp', 'recovery_code']);
  });

  it.each<[string, string, number, string]>([
    ['not JSON', 'nope', 400, 'invalid_json'],
    ['a JSON array', '[]', 400, 'invalid_request'],
    ['a JSON text', '"x"', 400, 'invalid_request'],
  ])('the login options answer a body that is %s with %i %s', async (_, body, status, code) => {
    const answer = await t.post('/login/passkey/options', body);

    expect(answer.status).toBe(status);
    expect(await json(answer)).toMatchObject({ code });
  });
});
