// Issue 11's TOTP contract over HTTP: enrolment, confirmation, the step-up login, recovery codes, disabling, the
// throttle on wrong codes, sessions ended by a factor change, malformed bodies, the DynamoDB cost of a second step
// and what the logs hold. The real app on dynalite with a frozen clock; codes come from the independent `otpauth`.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureJsonLines } from './json-lines';
import { createTestApp, json, onDynalite, type LoginAnswer, type TestApp } from './app-harness';
import { startStoreProxy, type StoreCall, type StoreProxy } from './store-proxy';
import { GetCommand } from '../src/adapters/dynamodb/client';
import { testClient, type TestStore } from './stores';
import { freshCode, parseOtpauthUri, RECOVERY_CODE, secretBytes, totpCode, wrongCode } from './totp-helpers';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'quiet meadow lantern 42';

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});

// Codes are computed at the app's clock: frozen, a test's steps cannot straddle a 30 s boundary by chance.
beforeEach(() => t.clock.freeze());
afterEach(() => t.clock.run());

/** Any method with a JSON body (the harness's `post` is POST only; DELETE /me/mfa/totp has a body too). */
const send = (app: TestApp, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.app.request(path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const meOf = async (app: TestApp, token: string) => {
  const response = await app.app.request('/me', { headers: app.bearer(token) });
  return { status: response.status, user: response.status === 200 ? ((await json(response)).user as Record<string, unknown>) : undefined };
};

/** Puts the clock 1 s into a fresh step: moves of a few seconds then stay inside it. */
const alignToStep = (app: TestApp) => {
  const intoStep = app.clock.now().getTime() % 30_000;
  app.clock.advance((30_000 - intoStep) / 1000 + 1);
};

type Enrolled = { session: LoginAnswer; secret: string; recoveryCodes: string[] };

/** An account with TOTP on: registered, logged in, enrolled and confirmed with the code of the current step. */
const enrolled = async (app: TestApp, username: string): Promise<Enrolled> => {
  const session = await app.registerAndLogIn(username);
  const started = await app.post('/me/mfa/totp', { password: PASSWORD }, app.bearer(session.token));
  if (started.status !== 200) throw new Error(`enrolment of ${username} answered ${started.status}`);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await app.post('/me/mfa/totp/confirm', { code: totpCode(secret, app.clock.now()) }, app.bearer(session.token));
  if (confirmed.status !== 200) throw new Error(`confirmation of ${username} answered ${confirmed.status}`);
  const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
  return { session, secret, recoveryCodes };
};

/** The first step of a login of an account with TOTP on: its mfaToken (403 mfa_required expected). */
const stepUp = async (app: TestApp, username: string, password = PASSWORD): Promise<string> => {
  const response = await app.post('/login', { username, password });
  const body = await json(response);
  if (response.status !== 403 || typeof body.mfaToken !== 'string') {
    throw new Error(`login of ${username} answered ${response.status} ${String(body.code)}`);
  }
  return body.mfaToken;
};

describe('enrolment, step-up login, and the tokens', () => {
  it('enrols, confirms, and then a login needs the code: 403 mfa_required, then /login/mfa gives a working pair', async () => {
    // Prepare
    const session = await t.registerAndLogIn('mfa-whole');
    const bearer = t.bearer(session.token);

    // Act
    const started = await t.post('/me/mfa/totp', { password: PASSWORD }, bearer);
    const enrolment = (await json(started)) as { secret: string; otpauthUri: string };
    const beforeConfirm = await meOf(t, session.token);
    const confirmed = await t.post('/me/mfa/totp/confirm', { code: totpCode(enrolment.secret, t.clock.now()) }, bearer);
    const { recoveryCodes } = (await json(confirmed)) as { recoveryCodes: string[] };
    const afterConfirm = await meOf(t, session.token);
    const loggedOut = await t.post('/logout', {}, bearer);
    const first = await t.post('/login', { username: 'mfa-whole', password: PASSWORD });
    const stepUpBody = await json(first);
    const second = await t.post('/login/mfa', { mfaToken: stepUpBody.mfaToken, code: freshCode(t.clock, enrolment.secret) });
    const pair = (await json(second)) as unknown as LoginAnswer;
    const me = await meOf(t, pair.token);
    const refreshed = await t.post('/token/refresh', { refreshToken: pair.refreshToken });

    // Assess
    expect(started.status).toBe(200);
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.otpauthUri).toBe(
      `otpauth://totp/login-service:mfa-whole?secret=${enrolment.secret}&issuer=login-service&algorithm=SHA1&digits=6&period=30`,
    );
    expect(parseOtpauthUri(enrolment.otpauthUri)).toEqual({
      issuer: 'login-service',
      label: 'mfa-whole',
      secret: enrolment.secret,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    // Nothing changes until the enrolment is confirmed.
    expect(beforeConfirm.user?.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(confirmed.status).toBe(200);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    expect(afterConfirm.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(loggedOut.status).toBe(204);
    expect(first.status).toBe(403);
    expect(stepUpBody).toEqual({
      code: 'mfa_required',
      message: expect.any(String),
      mfaToken: expect.any(String),
      methods: ['totp', 'recovery_code'],
    });
    expect(second.status).toBe(200);
    expect(pair).toMatchObject({ tokenType: 'Bearer', user: { username: 'mfa-whole' } });
    expect(me.status).toBe(200);
    expect(me.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(refreshed.status).toBe(200);
  });

  it('changes nothing until confirmed: a started enrolment leaves the login as it was', async () => {
    // Prepare
    const session = await t.registerAndLogIn('mfa-pending');

    // Act
    const started = await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token));
    const login = await t.post('/login', { username: 'mfa-pending', password: PASSWORD });

    // Assess
    expect(started.status).toBe(200);
    expect(login.status).toBe(200);
    expect(await json(login)).toHaveProperty('token');
  });

  it('a new start replaces the pending secret: a code of the first one does not confirm', async () => {
    // Prepare
    const session = await t.registerAndLogIn('mfa-restart');
    const bearer = t.bearer(session.token);
    const { secret: firstSecret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, bearer))) as { secret: string };
    const { secret: secondSecret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, bearer))) as { secret: string };

    // Act
    const withFirst = await t.post('/me/mfa/totp/confirm', { code: totpCode(firstSecret, t.clock.now()) }, bearer);
    const withSecond = await t.post('/me/mfa/totp/confirm', { code: totpCode(secondSecret, t.clock.now()) }, bearer);

    // Assess
    expect(secondSecret).not.toBe(firstSecret);
    expect(withFirst.status).toBe(400);
    expect(await json(withFirst)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(withSecond.status).toBe(200);
  });

  it('a pending enrolment lapses after 15 minutes: confirming then is 400 invalid_request', async () => {
    // Prepare
    const session = await t.registerAndLogIn('mfa-lapsed');
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token)))) as { secret: string };

    // Act
    t.clock.advance(15 * 60 + 1);
    const late = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));

    // Assess
    expect(late.status).toBe(400);
    expect(await json(late)).toMatchObject({ code: 'invalid_request' });
    expect((await meOf(t, session.token)).user?.mfa).toMatchObject({ totp: false });
  });

  it('accepts one step of drift either way, refuses two, and refuses the same or an earlier step than the last used', async () => {
    // Prepare: confirmed at step s (the confirming step counts as used).
    alignToStep(t);
    const { secret } = await enrolled(t, 'mfa-drift');
    const at = () => t.clock.now();

    // Act
    const sameAsConfirm = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-drift'), code: totpCode(secret, at()) });
    t.clock.advance(60); // step s+2
    const behind = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-drift'), code: totpCode(secret, at(), -1) }); // s+1
    t.clock.advance(5);
    const tokenB = await stepUp(t, 'mfa-drift');
    const twoAhead = await t.post('/login/mfa', { mfaToken: tokenB, code: totpCode(secret, at(), 2) }); // s+4
    const oneAhead = await t.post('/login/mfa', { mfaToken: tokenB, code: totpCode(secret, at(), 1) }); // s+3
    t.clock.advance(5);
    const tokenC = await stepUp(t, 'mfa-drift');
    const earlier = await t.post('/login/mfa', { mfaToken: tokenC, code: totpCode(secret, at()) }); // s+2 < s+3
    const replayed = await t.post('/login/mfa', { mfaToken: tokenC, code: totpCode(secret, at(), 1) }); // s+3 again
    t.clock.advance(30); // step s+3: s+4 is one ahead
    const later = await t.post('/login/mfa', { mfaToken: tokenC, code: totpCode(secret, at(), 1) });

    // Assess
    expect(sameAsConfirm.status).toBe(401);
    expect(await json(sameAsConfirm)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(behind.status).toBe(200);
    expect(twoAhead.status).toBe(401);
    expect(await json(twoAhead)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(oneAhead.status).toBe(200);
    for (const refused of [earlier, replayed]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_code' });
    }
    // The mfaToken survived the wrong codes.
    expect(later.status).toBe(200);
  });

  it('an mfaToken works for one successful second step: reused after success it is 401 invalid_mfa_token', async () => {
    // Prepare
    const { secret, recoveryCodes } = await enrolled(t, 'mfa-reuse');
    const mfaToken = await stepUp(t, 'mfa-reuse');
    const done = await t.post('/login/mfa', { mfaToken, code: freshCode(t.clock, secret) });

    // Act
    const again = await t.post('/login/mfa', { mfaToken, code: freshCode(t.clock, secret) });
    const withRecovery = await t.post('/login/mfa', { mfaToken, recoveryCode: recoveryCodes[0] });

    // Assess
    expect(done.status).toBe(200);
    for (const refused of [again, withRecovery]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_token' });
    }
    // The recovery code was not spent by the refused call.
    expect((await meOf(t, (await json(done)).token as string)).user?.mfa).toMatchObject({ recoveryCodesLeft: 10 });
  });

  it('an mfaToken issued before another login completed is spent with it', async () => {
    // Prepare: two logins waiting for their second step (two devices, or a thief and the owner).
    const { secret } = await enrolled(t, 'mfa-twotokens');
    const older = await stepUp(t, 'mfa-twotokens');
    t.clock.advance(1);
    const newer = await stepUp(t, 'mfa-twotokens');

    // Act
    const completed = await t.post('/login/mfa', { mfaToken: newer, code: freshCode(t.clock, secret) });
    const stale = await t.post('/login/mfa', { mfaToken: older, code: freshCode(t.clock, secret) });

    // Assess
    expect(completed.status).toBe(200);
    expect(stale.status).toBe(401);
    expect(await json(stale)).toMatchObject({ code: 'invalid_mfa_token' });
  });

  it('an mfaToken lasts MFA_TOKEN_TTL_SECONDS (300)', async () => {
    // Prepare
    const { secret } = await enrolled(t, 'mfa-ttl');
    const mfaToken = await stepUp(t, 'mfa-ttl');

    // Act
    t.clock.advance(t.config.mfa.tokenTtlSeconds + 1);
    const late = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });

    // Assess
    expect(t.config.mfa.tokenTtlSeconds).toBe(300);
    expect(late.status).toBe(401);
    expect(await json(late)).toMatchObject({ code: 'invalid_mfa_token' });
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['empty', ''],
    ['10 KB long', 'x'.repeat(10 * 1024)],
  ])('an mfaToken that is %s is 401 invalid_mfa_token', async (_what, mfaToken) => {
    const response = await t.post('/login/mfa', { mfaToken, code: '123456' });

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_mfa_token' });
  });

  it('an mfaToken altered in its tag, or with its payload pointed at another account, is 401 invalid_mfa_token', async () => {
    // Prepare
    const { secret } = await enrolled(t, 'mfa-tamper');
    await enrolled(t, 'mfa-victim');
    const mfaToken = await stepUp(t, 'mfa-tamper');
    const [body, tag] = mfaToken.split('.') as [string, string];
    // A character inside the tag (the last one may carry only padding bits).
    const flipped = `${tag.slice(0, 5)}${tag[5] === 'A' ? 'B' : 'A'}${tag.slice(6)}`;
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedBody = Buffer.from(JSON.stringify({ ...payload, u: 'mfa-victim' })).toString('base64url');

    // Act
    const altered = await t.post('/login/mfa', { mfaToken: `${body}.${flipped}`, code: freshCode(t.clock, secret) });
    const forged = await t.post('/login/mfa', { mfaToken: `${forgedBody}.${tag}`, code: totpCode(secret, t.clock.now()) });
    const intact = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });

    // Assess
    for (const refused of [altered, forged]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_token' });
    }
    expect(intact.status).toBe(200);
  });

  it("a code of another account's secret does not complete this account's login", async () => {
    // Prepare
    const mine = await enrolled(t, 'mfa-mine');
    const theirs = await enrolled(t, 'mfa-theirs');
    const mfaToken = await stepUp(t, 'mfa-mine');
    t.clock.advance(30);
    const theirCode = totpCode(theirs.secret, t.clock.now());
    const myCodes = [-1, 0, 1].map((steps) => totpCode(mine.secret, t.clock.now(), steps));

    // Act
    const response = await t.post('/login/mfa', { mfaToken, code: theirCode });

    // Assess (the two secrets' codes coincide about three times in a million)
    expect(myCodes).not.toContain(theirCode);
    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_mfa_code' });
  });

  it('the step-up by verified email address works the same', async () => {
    // Prepare: an address, verified by its mailed link, then TOTP on.
    await t.post('/register', { name: 'By Mail', username: 'mfa-bymail', password: PASSWORD, email: 'mfa-bymail@example.com' });
    await t.post('/email/verify', { token: await t.outbox.tokenFor('mfa-bymail@example.com', 'verify-email') });
    const session = (await json(await t.post('/login', { username: 'mfa-bymail', password: PASSWORD }))) as unknown as LoginAnswer;
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token)))) as { secret: string };
    await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));

    // Act
    const first = await t.post('/login', { email: 'mfa-bymail@example.com', password: PASSWORD });
    const body = await json(first);
    const second = await t.post('/login/mfa', { mfaToken: body.mfaToken, code: freshCode(t.clock, secret) });

    // Assess
    expect(first.status).toBe(403);
    expect(body).toMatchObject({ code: 'mfa_required' });
    expect(second.status).toBe(200);
    expect(await json(second)).toMatchObject({ user: { username: 'mfa-bymail' } });
  });

  it('a wrong password of an account with TOTP on is 401 invalid_credentials, with no mfaToken', async () => {
    await enrolled(t, 'mfa-wrongpw');

    const response = await t.post('/login', { username: 'mfa-wrongpw', password: 'not the password' });

    expect(response.status).toBe(401);
    const body = await json(response);
    expect(body).toMatchObject({ code: 'invalid_credentials' });
    expect(body).not.toHaveProperty('mfaToken');
  });
});

describe('settings', () => {
  let custom: TestApp;
  beforeAll(async () => {
    custom = await createTestApp(store.endpoint, { MFA_ISSUER: 'Acme Login', MFA_TOKEN_TTL_SECONDS: '60' });
  });
  afterAll(() => custom?.client.destroy());
  beforeEach(() => custom.clock.freeze());
  afterEach(() => custom.clock.run());

  it('MFA_ISSUER names the issuer of the otpauth URI (percent-encoded), and MFA_TOKEN_TTL_SECONDS the mfaToken life', async () => {
    // Prepare
    const session = await custom.registerAndLogIn('custom-issuer');
    const started = (await json(await custom.post('/me/mfa/totp', { password: PASSWORD }, custom.bearer(session.token)))) as {
      secret: string;
      otpauthUri: string;
    };
    await custom.post('/me/mfa/totp/confirm', { code: totpCode(started.secret, custom.clock.now()) }, custom.bearer(session.token));

    // Act
    const inTime = await custom.post('/login/mfa', { mfaToken: await stepUp(custom, 'custom-issuer'), code: freshCode(custom.clock, started.secret) });
    const late = await stepUp(custom, 'custom-issuer');
    custom.clock.advance(61);
    const tooLate = await custom.post('/login/mfa', { mfaToken: late, code: totpCode(started.secret, custom.clock.now()) });

    // Assess
    expect(started.otpauthUri).toBe(
      `otpauth://totp/Acme%20Login:custom-issuer?secret=${started.secret}&issuer=Acme%20Login&algorithm=SHA1&digits=6&period=30`,
    );
    expect(parseOtpauthUri(started.otpauthUri)).toMatchObject({ issuer: 'Acme Login', label: 'custom-issuer' });
    expect(inTime.status).toBe(200);
    expect(tooLate.status).toBe(401);
    expect(await json(tooLate)).toMatchObject({ code: 'invalid_mfa_token' });
  });
});

describe('at rest', () => {
  it("keeps the TOTP secret encrypted and the recovery codes as digests on the user's item", async () => {
    // Prepare
    const { secret, recoveryCodes } = await enrolled(t, 'at-rest');
    const client = testClient(store.endpoint);

    // Act
    const item = (await client.send(new GetCommand({ TableName: t.tableName, Key: { username: 'at-rest' }, ConsistentRead: true }))).Item;
    client.destroy();

    // Assess
    const stored = JSON.stringify(item);
    expect(item).toBeDefined();
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.toLowerCase());
    // The secret's 20 bytes in any common encoding (hex, base64) are not there either.
    const bytes = Buffer.from(secretBytes(secret));
    for (const encoded of [bytes.toString('hex'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url')]) {
      expect(stored).not.toContain(encoded);
    }
    for (const code of recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replaceAll('-', ''));
    }
  });
});

describe('recovery codes', () => {
  it('a recovery code completes a login once; typed in lower case without hyphens it still works; /me counts down', async () => {
    // Prepare
    const { recoveryCodes } = await enrolled(t, 'mfa-recovery');
    const [firstCode, secondCode] = recoveryCodes as [string, string];

    // Act
    const used = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-recovery'), recoveryCode: firstCode });
    const session = (await json(used)) as unknown as LoginAnswer;
    const afterOne = await meOf(t, session.token);
    t.clock.advance(1);
    const reused = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-recovery'), recoveryCode: firstCode });
    const typed = secondCode.toLowerCase().replaceAll('-', ' ');
    const loose = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-recovery'), recoveryCode: typed });
    const afterTwo = await meOf(t, session.token);

    // Assess
    expect(used.status).toBe(200);
    expect(afterOne.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 9 });
    expect(reused.status).toBe(401);
    expect(await json(reused)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(loose.status).toBe(200);
    expect(afterTwo.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 8 });
  });

  it('replacing them (the password and a code) gives 10 new codes; the old ones stop working, the new ones work', async () => {
    // Prepare
    const { session, secret, recoveryCodes: old } = await enrolled(t, 'mfa-replace');

    // Act
    const replaced = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(session.token));
    const fresh = ((await json(replaced)) as { recoveryCodes: string[] }).recoveryCodes;
    const count = await meOf(t, session.token);
    const withOld = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-replace'), recoveryCode: old[0] });
    t.clock.advance(1);
    const withNew = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-replace'), recoveryCode: fresh[0] });

    // Assess
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('cache-control')).toBe('no-store');
    expect(fresh).toHaveLength(10);
    for (const code of fresh) expect(code).toMatch(RECOVERY_CODE);
    expect(fresh.filter((code) => old.includes(code))).toEqual([]);
    expect(count.status).toBe(200);
    expect(count.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(withOld.status).toBe(401);
    expect(await json(withOld)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(withNew.status).toBe(200);
  });

  it('replacing them with the password and an old recovery code works once: that code is spent with the rest', async () => {
    // Prepare
    const { session, recoveryCodes: old } = await enrolled(t, 'mfa-replace-recovery');

    // Act
    const replaced = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, recoveryCode: old[2] }, t.bearer(session.token));
    const again = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, recoveryCode: old[2] }, t.bearer(session.token));
    const login = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-replace-recovery'), recoveryCode: old[2] });

    // Assess
    expect(replaced.status).toBe(200);
    expect(((await json(replaced)) as { recoveryCodes: string[] }).recoveryCodes).toHaveLength(10);
    for (const refused of [again, login]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_code' });
    }
    expect((await meOf(t, session.token)).user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
  });

  it('replacing them with the password alone while TOTP is on is 400 invalid_request naming code; the old ones keep working', async () => {
    // Prepare
    const { session, recoveryCodes } = await enrolled(t, 'mfa-replace-alone');

    // Act
    const refused = await t.post('/me/mfa/recovery-codes', { password: PASSWORD }, t.bearer(session.token));
    const old = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-replace-alone'), recoveryCode: recoveryCodes[0] });

    // Assess
    expect(refused.status).toBe(400);
    expect(await json(refused)).toMatchObject({ code: 'invalid_request', field: 'code' });
    expect(old.status).toBe(200);
  });

  it('replacing them with a wrong code is 401 invalid_mfa_code, counted on the name: after 5, even the right code waits (429)', async () => {
    // Prepare
    const { session, secret, recoveryCodes } = await enrolled(t, 'mfa-replace-guess');
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: wrong }, t.bearer(session.token));
      statuses.push(response.status);
      expect(await json(response)).toMatchObject({ code: 'invalid_mfa_code' });
    }
    const right = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));
    const login = await t.post('/login', { username: 'mfa-replace-guess', password: PASSWORD });

    // Assess
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(right.status).toBe(429);
    expect(await json(right)).toMatchObject({ code: 'too_many_attempts' });
    expect(right.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(login.status).toBe(429);
    // Nothing was replaced: the old codes are all there.
    expect((await meOf(t, session.token)).user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: recoveryCodes.length });
  });

  it('replacing them with a wrong password is 401 invalid_credentials, even with a right code, and keeps the old ones', async () => {
    const { session, secret, recoveryCodes } = await enrolled(t, 'mfa-replace-wrong');

    const refused = await t.post('/me/mfa/recovery-codes', { password: 'not the password', code: freshCode(t.clock, secret) }, t.bearer(session.token));
    const old = await t.post('/login/mfa', { mfaToken: await stepUp(t, 'mfa-replace-wrong'), recoveryCode: recoveryCodes[0] });

    expect(refused.status).toBe(401);
    expect(await json(refused)).toMatchObject({ code: 'invalid_credentials' });
    expect(old.status).toBe(200);
  });

  it('replacing them with TOTP off is 400 mfa_not_enabled, after the password (a wrong one is 401 invalid_credentials)', async () => {
    const session = await t.registerAndLogIn('mfa-replace-off');

    const response = await t.post('/me/mfa/recovery-codes', { password: PASSWORD }, t.bearer(session.token));
    const withCode = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: '123456' }, t.bearer(session.token));
    const wrongPassword = await t.post('/me/mfa/recovery-codes', { password: 'not the password' }, t.bearer(session.token));

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'mfa_not_enabled' });
    expect(withCode.status).toBe(400);
    expect(await json(withCode)).toMatchObject({ code: 'mfa_not_enabled' });
    expect(wrongPassword.status).toBe(401);
    expect(await json(wrongPassword)).toMatchObject({ code: 'invalid_credentials' });
  });
});

describe('the throttle on second factors', () => {
  it('5 wrong codes, then 429 too_many_attempts with Retry-After, exactly like 5 wrong passwords', async () => {
    // Prepare: one account guessed by password, one by code (the mfaToken survives wrong codes).
    await t.registerAndLogIn('thr-password');
    const { secret } = await enrolled(t, 'thr-code');
    const mfaToken = await stepUp(t, 'thr-code');
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());

    // Act
    const byPassword: Response[] = [];
    const byCode: Response[] = [];
    for (let i = 0; i < 6; i += 1) byPassword.push(await t.post('/login', { username: 'thr-password', password: `wrong guess ${i}` }));
    for (let i = 0; i < 6; i += 1) byCode.push(await t.post('/login/mfa', { mfaToken, code: wrong }));
    const rightCodeNow = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });
    const rightPasswordNow = await t.post('/login', { username: 'thr-code', password: PASSWORD });

    // Assess
    expect(byPassword.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(byCode.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    for (const r of byCode.slice(0, 5)) expect(await json(r)).toMatchObject({ code: 'invalid_mfa_code' });
    const [passwordWait, codeWait] = [byPassword[5] as Response, byCode[5] as Response];
    expect(await json(codeWait)).toMatchObject({ code: 'too_many_attempts' });
    expect(codeWait.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(codeWait.headers.get('retry-after')).toBe(passwordWait.headers.get('retry-after'));
    // Waiting is waiting: even the right code, or the right password, is refused until the wait ends.
    expect(rightCodeNow.status).toBe(429);
    expect(rightPasswordNow.status).toBe(429);
  });

  it('wrong passwords and wrong codes add up on one name; a right password does not forget them, a completed login does', async () => {
    // Prepare
    const { secret } = await enrolled(t, 'thr-mixed');

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await t.post('/login', { username: 'thr-mixed', password: `wrong guess ${i}` })).status);
    const mfaToken = await stepUp(t, 'thr-mixed'); // the right password: failures stay
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());
    for (let i = 0; i < 2; i += 1) statuses.push((await t.post('/login/mfa', { mfaToken, code: wrong })).status);
    const sixth = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });
    const retryAfter = Number(sixth.headers.get('retry-after'));
    t.clock.advance(retryAfter);
    const afterWait = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });
    // The completed login forgot the failures: five more wrong passwords are free again.
    const afterSuccess: number[] = [];
    for (let i = 0; i < 5; i += 1) afterSuccess.push((await t.post('/login', { username: 'thr-mixed', password: `again ${i}` })).status);

    // Assess
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(sixth.status).toBe(429);
    expect(await json(sixth)).toMatchObject({ code: 'too_many_attempts' });
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(afterWait.status).toBe(200);
    expect(afterSuccess).toEqual([401, 401, 401, 401, 401]);
  });

  it('wrong codes at DELETE /me/mfa/totp count on the name too', async () => {
    // Prepare
    const { session, secret } = await enrolled(t, 'thr-disable');
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      statuses.push((await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: wrong }, t.bearer(session.token))).status);
    }
    const login = await t.post('/login', { username: 'thr-disable', password: PASSWORD });

    // Assess
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(login.status).toBe(429);
    expect((await meOf(t, session.token)).user?.mfa).toMatchObject({ totp: true });
  });
});

/**
 * The account routes that ask for the password alone (checkOwnPassword), sent with the right one: each answer as
 * it is for an account in the state the test gives it. DELETE /me is left out: the name's failures go with the item.
 */
const PASSWORD_ONLY_ROUTES: [route: string, statuses: { totpOn: number; totpOff: number }, send: (token: string) => Response | Promise<Response>][] = [
  ['POST /me/mfa/totp', { totpOn: 409, totpOff: 200 }, (token) => t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(token))],
  // No such passkey: 404 once the password is checked.
  ['DELETE /me/passkeys/{id}', { totpOn: 404, totpOff: 404 }, (token) =>
    send(t, 'DELETE', '/me/passkeys/AAAAAAAAAAAAAAAAAAAAAA', { password: PASSWORD }, t.bearer(token))],
  ['POST /me/email', { totpOn: 202, totpOff: 202 }, (token) =>
    t.post('/me/email', { email: 'failures-stay@example.com', password: PASSWORD }, t.bearer(token))],
  ['POST /me/password', { totpOn: 200, totpOff: 200 }, (token) =>
    t.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, t.bearer(token))],
];

describe('a right password at a route that asks for nothing more', () => {
  it.each(PASSWORD_ONLY_ROUTES)('%s forgets none of the wrong codes while TOTP is on: the name still meets its limit', async (route, statuses, act) => {
    // Prepare: 4 wrong codes on the name.
    const username = `keep-${route.replace(/[^a-z]+/gi, '-').toLowerCase()}`;
    const { session, secret } = await enrolled(t, username);
    const mfaToken = await stepUp(t, username);
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());
    for (let i = 0; i < 4; i += 1) expect((await t.post('/login/mfa', { mfaToken, code: wrong })).status).toBe(401);

    // Act
    const answered = await act(session.token);
    const guesses: number[] = [];
    for (let i = 0; i < 2; i += 1) guesses.push((await t.post('/login', { username, password: `wrong guess ${i}` })).status);

    // Assess
    expect(answered.status).toBe(statuses.totpOn);
    // The fifth failure is checked, the sixth waits: the right password in between wiped nothing.
    expect(guesses).toEqual([401, 429]);
  });

  it.each(PASSWORD_ONLY_ROUTES)('%s forgets the failures while TOTP is off, as a login does', async (route, statuses, act) => {
    // Prepare: 4 wrong passwords on the name.
    const username = `forget-${route.replace(/[^a-z]+/gi, '-').toLowerCase()}`;
    const session = await t.registerAndLogIn(username);
    for (let i = 0; i < 4; i += 1) expect((await t.post('/login', { username, password: `guess ${i}` })).status).toBe(401);

    // Act
    const answered = await act(session.token);
    const guesses: number[] = [];
    for (let i = 0; i < 5; i += 1) guesses.push((await t.post('/login', { username, password: `wrong guess ${i}` })).status);

    // Assess
    expect(answered.status).toBe(statuses.totpOff);
    expect(guesses).toEqual([401, 401, 401, 401, 401]);
  });
});

describe('the throttle on confirming an enrolment', () => {
  it('5 wrong codes at /me/mfa/totp/confirm are 400 invalid_mfa_code, then 429 with Retry-After, even for the right code', async () => {
    // Prepare
    const session = await t.registerAndLogIn('confirm-guess');
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token)))) as { secret: string };
    const wrong = wrongCode(secret, t.clock.now());

    // Act
    const statuses: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await t.post('/me/mfa/totp/confirm', { code: wrong }, t.bearer(session.token));
      statuses.push(`${response.status} ${String((await json(response)).code)}`);
    }
    const right = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));
    const login = await t.post('/login', { username: 'confirm-guess', password: PASSWORD });
    t.clock.advance(Number(right.headers.get('retry-after')));
    const afterWait = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));

    // Assess
    expect(statuses).toEqual(Array(5).fill('400 invalid_mfa_code'));
    expect(right.status).toBe(429);
    expect(await json(right)).toMatchObject({ code: 'too_many_attempts' });
    expect(right.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(login.status).toBe(429);
    expect(afterWait.status).toBe(200);
    expect((await meOf(t, session.token)).user?.mfa).toMatchObject({ totp: true });
  });

  it('a right confirmation forgets none of the failures: wrong passwords before it still count', async () => {
    // Prepare
    const session = await t.registerAndLogIn('confirm-keeps');
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token)))) as { secret: string };
    for (let i = 0; i < 3; i += 1) await t.post('/login', { username: 'confirm-keeps', password: `guess ${i}` });
    const wrong = await t.post('/me/mfa/totp/confirm', { code: wrongCode(secret, t.clock.now()) }, t.bearer(session.token));

    // Act
    const confirmed = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));
    const guesses: number[] = [];
    for (let i = 0; i < 2; i += 1) guesses.push((await t.post('/login', { username: 'confirm-keeps', password: `wrong guess ${i}` })).status);

    // Assess
    expect(wrong.status).toBe(400);
    expect(confirmed.status).toBe(200);
    // 3 wrong passwords and 1 wrong code: the fifth failure is checked, the sixth waits.
    expect(guesses).toEqual([401, 429]);
  });
});

describe('races', () => {
  it('one code sent with two mfaTokens at once completes one login, not two', async () => {
    // Prepare: the newer token's success spends the older one; the older one's success leaves the newer one valid,
    // and then only the conditional write on the code's step stands between the two.
    const { secret } = await enrolled(t, 'race-code');
    const first = await stepUp(t, 'race-code');
    t.clock.advance(1);
    const second = await stepUp(t, 'race-code');
    const code = freshCode(t.clock, secret);

    // Act
    const answers = await Promise.all([first, second].map((mfaToken) => t.post('/login/mfa', { mfaToken, code })));

    // Assess
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 401]);
  });

  it('one recovery code sent with two mfaTokens at once completes one login, and is spent', async () => {
    // Prepare
    const { recoveryCodes } = await enrolled(t, 'race-recovery');
    const first = await stepUp(t, 'race-recovery');
    t.clock.advance(1);
    const second = await stepUp(t, 'race-recovery');

    // Act
    const answers = await Promise.all(
      [first, second].map((mfaToken) => t.post('/login/mfa', { mfaToken, recoveryCode: recoveryCodes[0] })),
    );

    // Assess
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401]);
    const winner = answers.find((answer) => answer.status === 200) as Response;
    expect((await meOf(t, (await json(winner)).token as string)).user?.mfa).toMatchObject({ recoveryCodesLeft: 9 });
  });

  it('20 wrong codes at once get at most 5 plain 401s; the rest wait (429)', async () => {
    // Prepare
    const { secret } = await enrolled(t, 'race-guesses');
    const mfaToken = await stepUp(t, 'race-guesses');
    t.clock.advance(30);
    const wrong = wrongCode(secret, t.clock.now());

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.post('/login/mfa', { mfaToken, code: wrong })));

    // Assess
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
  });
});

describe('account rules: sessions and logins in flight', () => {
  it('enabling TOTP ends every other session; the caller goes on (GET /me and a refresh with its refresh token)', async () => {
    // Prepare
    const caller = await t.registerAndLogIn('rules-enable');
    const other = (await json(await t.post('/login', { username: 'rules-enable', password: PASSWORD }))) as unknown as LoginAnswer;
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(caller.token)))) as { secret: string };

    // Act
    const confirmed = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(caller.token));
    const callerMe = await meOf(t, caller.token);
    const callerRefresh = await t.post('/token/refresh', { refreshToken: caller.refreshToken });
    const refreshedPair = (await json(callerRefresh)) as unknown as LoginAnswer;
    const refreshedMe = await meOf(t, refreshedPair.token);
    const otherMe = await meOf(t, other.token);
    const otherRefresh = await t.post('/token/refresh', { refreshToken: other.refreshToken });

    // Assess
    expect(confirmed.status).toBe(200);
    expect(callerMe.status).toBe(200);
    expect(callerMe.user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(callerRefresh.status).toBe(200);
    expect(refreshedMe.status).toBe(200);
    expect(otherMe.status).toBe(401);
    expect(otherRefresh.status).toBe(401);
  });

  it('disabling TOTP and replacing recovery codes end every other session too; the caller goes on', async () => {
    // Prepare
    const { session: caller, secret } = await enrolled(t, 'rules-others');
    const loginAgain = async () => {
      const mfaToken = await stepUp(t, 'rules-others');
      return (await json(await t.post('/login/mfa', { mfaToken, code: freshCode(t.clock, secret) }))) as unknown as LoginAnswer;
    };
    const first = await loginAgain();

    // Act
    const replaced = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(caller.token));
    const firstAfterReplace = await meOf(t, first.token);
    const second = await loginAgain();
    const disabled = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(caller.token));
    const secondAfterDisable = await meOf(t, second.token);
    const callerAfter = await meOf(t, caller.token);
    const callerRefresh = await t.post('/token/refresh', { refreshToken: caller.refreshToken });

    // Assess
    expect(replaced.status).toBe(200);
    expect(firstAfterReplace.status).toBe(401);
    expect(disabled.status).toBe(204);
    expect(secondAfterDisable.status).toBe(401);
    expect(callerAfter.status).toBe(200);
    expect(callerAfter.user?.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(callerRefresh.status).toBe(200);
  });

  it('a password change (POST /me/password) voids an outstanding mfaToken', async () => {
    // Prepare
    const { session, secret } = await enrolled(t, 'rules-password');
    const mfaToken = await stepUp(t, 'rules-password');

    // Act
    const changed = await t.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, t.bearer(session.token));
    const voided = await t.post('/login/mfa', { mfaToken, code: freshCode(t.clock, secret) });
    t.clock.advance(1);
    const withNewPassword = await t.post('/login/mfa', {
      mfaToken: await stepUp(t, 'rules-password', NEW_PASSWORD),
      code: freshCode(t.clock, secret),
    });

    // Assess
    expect(changed.status).toBe(200);
    expect(voided.status).toBe(401);
    expect(await json(voided)).toMatchObject({ code: 'invalid_mfa_token' });
    expect(withNewPassword.status).toBe(200);
  });

  it('a login in flight (an mfaToken waiting) is voided by new recovery codes and by disabling TOTP', async () => {
    // Prepare
    const { session, secret, recoveryCodes } = await enrolled(t, 'rules-flight');
    const waiting = await stepUp(t, 'rules-flight');

    // Act
    const replaced = await t.post('/me/mfa/recovery-codes', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(session.token));
    const afterReplace = await t.post('/login/mfa', { mfaToken: waiting, code: freshCode(t.clock, secret) });
    t.clock.advance(1);
    const waitingAgain = await stepUp(t, 'rules-flight');
    await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(session.token));
    const afterDisable = await t.post('/login/mfa', { mfaToken: waitingAgain, recoveryCode: recoveryCodes[1] });

    // Assess
    expect(replaced.status).toBe(200);
    for (const refused of [afterReplace, afterDisable]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_token' });
    }
  });
});

describe('disabling TOTP', () => {
  it('with the password and a code: 204, the recovery codes go, and a login gives tokens again', async () => {
    // Prepare
    const { session, secret, recoveryCodes } = await enrolled(t, 'off-code');

    // Act
    const disabled = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: freshCode(t.clock, secret) }, t.bearer(session.token));
    const me = await meOf(t, session.token);
    const login = await t.post('/login', { username: 'off-code', password: PASSWORD });
    const recoveryAfter = await t.post('/login/mfa', { mfaToken: 'anything', recoveryCode: recoveryCodes[0] });

    // Assess
    expect(disabled.status).toBe(204);
    expect(me.user?.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(login.status).toBe(200);
    expect(await json(login)).toHaveProperty('token');
    expect(recoveryAfter.status).toBe(401);
  });

  it('with the password and a recovery code: 204', async () => {
    const { session, recoveryCodes } = await enrolled(t, 'off-recovery');

    const disabled = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, recoveryCode: recoveryCodes[3] }, t.bearer(session.token));

    expect(disabled.status).toBe(204);
    expect((await meOf(t, session.token)).user?.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
  });

  it('a wrong code, a used code or a used recovery code is 401 invalid_mfa_code, and TOTP stays on', async () => {
    // Prepare: one code and one recovery code spent by a login.
    const { session, secret, recoveryCodes } = await enrolled(t, 'off-wrong');
    const usedCode = freshCode(t.clock, secret);
    await t.post('/login/mfa', { mfaToken: await stepUp(t, 'off-wrong'), code: usedCode });
    t.clock.advance(1);
    await t.post('/login/mfa', { mfaToken: await stepUp(t, 'off-wrong'), recoveryCode: recoveryCodes[0] });

    // Act
    const bearer = t.bearer(session.token);
    const wrong = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: wrongCode(secret, t.clock.now()) }, bearer);
    const replayed = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: usedCode }, bearer);
    const spent = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, recoveryCode: recoveryCodes[0] }, bearer);

    // Assess
    for (const refused of [wrong, replayed, spent]) {
      expect(refused.status).toBe(401);
      expect(await json(refused)).toMatchObject({ code: 'invalid_mfa_code' });
    }
    expect((await meOf(t, session.token)).user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 9 });
  });

  it('a wrong password with a right code is 401 invalid_credentials, and the code is not spent', async () => {
    const { session, secret } = await enrolled(t, 'off-wrongpw');
    const code = freshCode(t.clock, secret);

    const refused = await send(t, 'DELETE', '/me/mfa/totp', { password: 'not the password', code }, t.bearer(session.token));
    const accepted = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code }, t.bearer(session.token));

    expect(refused.status).toBe(401);
    expect(await json(refused)).toMatchObject({ code: 'invalid_credentials' });
    expect(accepted.status).toBe(204);
  });

  it('with TOTP off is 400 mfa_not_enabled (after the password: a wrong one is 401 invalid_credentials)', async () => {
    const session = await t.registerAndLogIn('off-already');

    const right = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: '123456' }, t.bearer(session.token));
    const wrong = await send(t, 'DELETE', '/me/mfa/totp', { password: 'not the password', code: '123456' }, t.bearer(session.token));

    expect(right.status).toBe(400);
    expect(await json(right)).toMatchObject({ code: 'mfa_not_enabled' });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ code: 'invalid_credentials' });
  });

  it('with neither a code nor a recovery code, or with both, is 400 invalid_request', async () => {
    const { session, secret, recoveryCodes } = await enrolled(t, 'off-neither');
    const bearer = t.bearer(session.token);

    const neither = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD }, bearer);
    const both = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: freshCode(t.clock, secret), recoveryCode: recoveryCodes[0] }, bearer);

    for (const refused of [neither, both]) {
      expect(refused.status).toBe(400);
      expect(await json(refused)).toMatchObject({ code: 'invalid_request' });
    }
    expect((await meOf(t, session.token)).user?.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
  });
});

describe('the contract\'s 409 and 400 answers', () => {
  it('starting an enrolment with TOTP on is 409 mfa_already_enabled; so is confirming again', async () => {
    const { session, secret } = await enrolled(t, 'c-already');

    const start = await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token));
    const confirm = await t.post('/me/mfa/totp/confirm', { code: freshCode(t.clock, secret) }, t.bearer(session.token));

    expect(start.status).toBe(409);
    expect(await json(start)).toMatchObject({ code: 'mfa_already_enabled' });
    expect(confirm.status).toBe(409);
    expect(await json(confirm)).toMatchObject({ code: 'mfa_already_enabled' });
  });

  it('confirming with nothing pending is 400 invalid_request', async () => {
    const session = await t.registerAndLogIn('c-nothing');

    const response = await t.post('/me/mfa/totp/confirm', { code: '123456' }, t.bearer(session.token));

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request' });
  });

  it('confirming with a wrong code is 400 invalid_mfa_code, and the enrolment can still be confirmed', async () => {
    const session = await t.registerAndLogIn('c-wrongcode');
    const { secret } = (await json(await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(session.token)))) as { secret: string };

    const wrong = await t.post('/me/mfa/totp/confirm', { code: wrongCode(secret, t.clock.now()) }, t.bearer(session.token));
    const right = await t.post('/me/mfa/totp/confirm', { code: totpCode(secret, t.clock.now()) }, t.bearer(session.token));

    expect(wrong.status).toBe(400);
    expect(await json(wrong)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(right.status).toBe(200);
  });

  it('starting an enrolment with a wrong password is 401 invalid_credentials and starts nothing', async () => {
    const session = await t.registerAndLogIn('c-startpw');

    const refused = await t.post('/me/mfa/totp', { password: 'not the password' }, t.bearer(session.token));
    const confirm = await t.post('/me/mfa/totp/confirm', { code: '123456' }, t.bearer(session.token));

    expect(refused.status).toBe(401);
    expect(await json(refused)).toMatchObject({ code: 'invalid_credentials' });
    expect(confirm.status).toBe(400);
    expect(await json(confirm)).toMatchObject({ code: 'invalid_request' });
  });

  it('/login/mfa with neither a code nor a recovery code, or with both, is 400 invalid_request', async () => {
    const { secret, recoveryCodes } = await enrolled(t, 'c-loginboth');
    const mfaToken = await stepUp(t, 'c-loginboth');

    const neither = await t.post('/login/mfa', { mfaToken });
    const both = await t.post('/login/mfa', { mfaToken, code: freshCode(t.clock, secret), recoveryCode: recoveryCodes[0] });
    // Neither spent the token: it still works.
    const after = await t.post('/login/mfa', { mfaToken, code: totpCode(secret, t.clock.now()) });

    for (const refused of [neither, both]) {
      expect(refused.status).toBe(400);
      expect(await json(refused)).toMatchObject({ code: 'invalid_request' });
    }
    expect(after.status).toBe(200);
  });

  it.each([
    ['POST', '/me/mfa/totp', { password: PASSWORD }],
    ['POST', '/me/mfa/totp/confirm', { code: '123456' }],
    ['DELETE', '/me/mfa/totp', { password: PASSWORD, code: '123456' }],
    ['POST', '/me/mfa/recovery-codes', { password: PASSWORD, code: '123456' }],
  ])('%s %s without a bearer token is 401', async (method, path, body) => {
    const response = await send(t, method, path, body);

    expect(response.status).toBe(401);
    expect(['missing_token', 'invalid_token']).toContain((await json(response)).code);
  });
});

describe('malformed bodies on the new routes', () => {
  let token: string;
  beforeAll(async () => {
    token = (await t.registerAndLogIn('malformed')).token;
  });

  const routes: [method: string, path: string, fields: Record<string, string>, bearer: boolean][] = [
    ['POST', '/me/mfa/totp', { password: PASSWORD }, true],
    ['POST', '/me/mfa/totp/confirm', { code: '123456' }, true],
    ['DELETE', '/me/mfa/totp', { password: PASSWORD, code: '123456' }, true],
    ['POST', '/me/mfa/recovery-codes', { password: PASSWORD, code: '123456' }, true],
    ['POST', '/login/mfa', { mfaToken: 'some-token', code: '123456' }, false],
  ];
  const call = (method: string, path: string, body: unknown, bearer: boolean) =>
    send(t, method, path, body, bearer ? t.bearer(token) : {});

  // Each required field missing, and each field of the wrong type: 400 invalid_request naming it.
  const required = { '/me/mfa/totp': ['password'], '/me/mfa/totp/confirm': ['code'], '/login/mfa': ['mfaToken'], '/me/mfa/recovery-codes': ['password'] };
  const wrongTypes: [string, unknown][] = [['a number', 123456], ['null', null], ['an array', ['123456']], ['an object', { code: '123456' }], ['true', true]];

  it.each(routes)('%s %s: a missing required field is 400 invalid_request naming it', async (method, path, fields, bearer) => {
    const names = method === 'DELETE' ? ['password'] : (required[path as keyof typeof required] ?? []);
    for (const name of names) {
      const { [name]: _left, ...rest } = fields;
      const response = await call(method, path, rest, bearer);
      expect(response.status, `${name} missing`).toBe(400);
      expect(await json(response)).toMatchObject({ code: 'invalid_request', field: name });
    }
  });

  it.each(routes)('%s %s: each field of a wrong type is 400 invalid_request naming it', async (method, path, fields, bearer) => {
    const names = [...Object.keys(fields), ...('code' in fields && path !== '/me/mfa/totp/confirm' ? ['recoveryCode'] : [])];
    for (const name of names) {
      for (const [what, value] of wrongTypes) {
        const { recoveryCode: _r, ...base } = fields as Record<string, unknown>;
        const body = name === 'recoveryCode' ? { ...base, code: undefined, recoveryCode: value } : { ...fields, [name]: value };
        const response = await call(method, path, body, bearer);
        expect(response.status, `${name} as ${what}`).toBe(400);
        expect(await json(response), `${name} as ${what}`).toMatchObject({ code: 'invalid_request', field: name });
      }
    }
  });

  it.each(routes)('%s %s: not JSON, not an object, a lone surrogate, or over 16 KB is a stable 4xx', async (method, path, fields, bearer) => {
    const cases: [string, unknown, number, string][] = [
      ['not JSON', '{"password": ', 400, 'invalid_json'],
      ['empty', '', 400, 'invalid_json'],
      ['an array', '[]', 400, 'invalid_request'],
      ['a string', '"text"', 400, 'invalid_request'],
      ['null', 'null', 400, 'invalid_request'],
      ['a lone surrogate', JSON.stringify({ ...fields, [Object.keys(fields)[0] as string]: 'ab\ud800' }), 400, 'invalid_request'],
      ['17 KB', { ...fields, padding: 'x'.repeat(17 * 1024) }, 413, 'payload_too_large'],
    ];
    for (const [what, body, status, code] of cases) {
      const response = await call(method, path, body, bearer);
      expect(response.status, what).toBe(status);
      expect(await json(response), what).toMatchObject({ code });
    }
  });

  it('well-typed nonsense in a code or a recovery code is a 4xx, never a 5xx', async () => {
    // Prepare: an account with TOTP on, and a fresh mfaToken for each value (wrong codes count on the name, so a
    // completed login every other value keeps the throttle out of the way).
    const { session, secret, recoveryCodes } = await enrolled(t, 'nonsense');
    const nonsense = ['', ' ', '12345', '1234567', ' 123456', '12 34 56', '１２３４５６', 'abcdef', '-12345', '1e5', 'x'.repeat(10 * 1024), '\u0000\u0000\u0000\u0000\u0000\u0000'];

    // Act
    const statuses: [string, number, unknown, boolean][] = [];
    for (const [i, value] of nonsense.entries()) {
      if (i % 2 === 0) {
        // Two values make four wrong answers: a completed login forgets them before the fifth.
        await t.post('/login/mfa', { mfaToken: await stepUp(t, 'nonsense'), recoveryCode: recoveryCodes[i / 2] });
        t.clock.advance(1);
      }
      const mfaToken = await stepUp(t, 'nonsense');
      for (const body of [{ mfaToken, code: value }, { mfaToken, recoveryCode: value }]) {
        const response = await t.post('/login/mfa', body);
        statuses.push([JSON.stringify(body).slice(0, 60), response.status, (await json(response)).code, value.trim() === '']);
      }
      t.clock.advance(1);
    }
    const pending = await t.registerAndLogIn('nonsense-pending');
    await t.post('/me/mfa/totp', { password: PASSWORD }, t.bearer(pending.token));
    const confirms: [string, number, unknown][] = [];
    for (const [i, value] of nonsense.entries()) {
      // Wrong codes at the confirmation count on the name too: a password login (TOTP is off there) forgets them
      // every four values, so each one is checked rather than waiting.
      if (i % 4 === 0) expect((await t.post('/login', { username: 'nonsense-pending', password: PASSWORD })).status).toBe(200);
      const response = await t.post('/me/mfa/totp/confirm', { code: value }, t.bearer(pending.token));
      confirms.push([value.slice(0, 20), response.status, (await json(response)).code]);
    }
    const confirm = await t.post('/me/mfa/totp/confirm', { code: 'x'.repeat(10 * 1024) }, t.bearer(session.token));
    const disable = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, recoveryCode: 'x'.repeat(10 * 1024) }, t.bearer(session.token));

    // Assess
    for (const [what, status, code, blank] of statuses) {
      // A blank box is a missing factor (400, not counted), anything else a wrong one.
      expect(status, what).toBe(blank ? 400 : 401);
      expect(code, what).toBe(blank ? 'invalid_request' : 'invalid_mfa_code');
    }
    for (const [what, status, code] of confirms) expect([what, status, code]).toEqual([what, 400, 'invalid_mfa_code']);
    expect(confirm.status).toBe(409);
    expect(disable.status).toBe(401);
    expect(await json(disable)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  });
});

describe('DynamoDB requests of a second step', () => {
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
  beforeEach(() => counted.clock.freeze());
  afterEach(() => counted.clock.run());

  /** The store calls `act` makes. */
  const callsOf = async (act: () => Response | Promise<Response>): Promise<{ status: number; calls: readonly StoreCall[] }> => {
    proxy.reset();
    const response = await act();
    return { status: response.status, calls: [...proxy.calls()] };
  };
  const describeCalls = (calls: readonly StoreCall[]) => calls.map((call) => `${call.operation} ${call.table}`);

  it('a password login of an account without factors: 4 requests, as before', async () => {
    await counted.registerAndLogIn('count-plain');

    const { status, calls } = await callsOf(() => counted.post('/login', { username: 'count-plain', password: PASSWORD }));

    expect(status).toBe(200);
    expect(calls, describeCalls(calls).join(', ')).toHaveLength(4);
  });

  it('/login/mfa with a code: at most 4 requests', async () => {
    const { secret } = await enrolled(counted, 'count-code');
    const mfaToken = await stepUp(counted, 'count-code');
    const code = freshCode(counted.clock, secret);

    const { status, calls } = await callsOf(() => counted.post('/login/mfa', { mfaToken, code }));

    expect(status).toBe(200);
    expect(calls.length, describeCalls(calls).join(', ')).toBeLessThanOrEqual(4);
  });

  it('/login/mfa with a recovery code: at most 4 requests', async () => {
    const { recoveryCodes } = await enrolled(counted, 'count-recovery');
    const mfaToken = await stepUp(counted, 'count-recovery');

    const { status, calls } = await callsOf(() => counted.post('/login/mfa', { mfaToken, recoveryCode: recoveryCodes[0] }));

    expect(status).toBe(200);
    expect(calls.length, describeCalls(calls).join(', ')).toBeLessThanOrEqual(4);
  });

  it('a password login that gets in while TOTP is being enabled fails its last write: no session outlives the change', async () => {
    // Prepare: an enrolment waiting for its code; a second login whose last write (forgetting the name's failures,
    // which doubles as the check that the account is unchanged) is held until the enrolment is confirmed.
    const caller = await counted.registerAndLogIn('count-flight');
    const { secret } = (await json(await counted.post('/me/mfa/totp', { password: PASSWORD }, counted.bearer(caller.token)))) as {
      secret: string;
    };
    let confirmed: Response | Promise<Response> | undefined;
    proxy.setFault((call) => {
      if (call.table !== counted.tableName || !call.body.includes('#failures = :zero') || confirmed !== undefined) return undefined;
      confirmed = counted.post('/me/mfa/totp/confirm', { code: totpCode(secret, counted.clock.now()) }, counted.bearer(caller.token));
      return { delayRequestMs: 1500 };
    });

    // Act
    const inFlight = await counted.post('/login', { username: 'count-flight', password: PASSWORD });
    proxy.reset();

    // Assess
    expect(confirmed).toBeDefined();
    expect((await confirmed)?.status).toBe(200);
    expect(inFlight.status).toBe(401);
    expect(await json(inFlight)).toMatchObject({ code: 'invalid_credentials' });
    // The caller's session went on.
    expect((await meOf(counted, caller.token)).status).toBe(200);
  });
});

describe('logs', () => {
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
  beforeEach(() => logged.clock.freeze());
  afterEach(() => logged.clock.run());

  it('hold no secret, code, recovery code or mfaToken, and the audit trail records each factor event', async () => {
    // Prepare / Act: every new route, rights and wrongs.
    const secrets: string[] = [PASSWORD];
    const session = await logged.registerAndLogIn('logged');
    const bearer = logged.bearer(session.token);
    secrets.push(session.token, session.refreshToken);
    const started = (await json(await logged.post('/me/mfa/totp', { password: PASSWORD }, bearer))) as { secret: string; otpauthUri: string };
    secrets.push(started.secret, started.otpauthUri, encodeURIComponent(started.otpauthUri));
    const badConfirm = wrongCode(started.secret, logged.clock.now());
    await logged.post('/me/mfa/totp/confirm', { code: badConfirm }, bearer);
    const confirmCode = totpCode(started.secret, logged.clock.now());
    const { recoveryCodes } = (await json(await logged.post('/me/mfa/totp/confirm', { code: confirmCode }, bearer))) as {
      recoveryCodes: string[];
    };
    const codes = [badConfirm, confirmCode];
    secrets.push(...recoveryCodes, ...recoveryCodes.map((code) => code.replaceAll('-', '')));

    const firstToken = await stepUp(logged, 'logged');
    const badCode = wrongCode(started.secret, logged.clock.now());
    await logged.post('/login/mfa', { mfaToken: firstToken, code: badCode });
    const goodCode = freshCode(logged.clock, started.secret);
    const byCode = (await json(await logged.post('/login/mfa', { mfaToken: firstToken, code: goodCode }))) as unknown as LoginAnswer;
    logged.clock.advance(1);
    const secondToken = await stepUp(logged, 'logged');
    await logged.post('/login/mfa', { mfaToken: secondToken, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' });
    const byRecovery = (await json(await logged.post('/login/mfa', { mfaToken: secondToken, recoveryCode: recoveryCodes[0] }))) as unknown as LoginAnswer;
    const replaceCode = freshCode(logged.clock, started.secret);
    const replaced = (await json(await logged.post('/me/mfa/recovery-codes', { password: PASSWORD, code: replaceCode }, bearer))) as {
      recoveryCodes: string[];
    };
    secrets.push(...replaced.recoveryCodes);
    const disableCode = freshCode(logged.clock, started.secret);
    await send(logged, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: disableCode }, bearer);
    codes.push(badCode, goodCode, replaceCode, disableCode);
    secrets.push(firstToken, secondToken, byCode.token, byCode.refreshToken, byRecovery.token, byRecovery.refreshToken);

    // Assess
    const everything = lines.join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything.includes(secret), `a secret of ${secret.length} characters is in the log`).toBe(false);
    for (const code of codes) expect(everything).not.toMatch(new RegExp(`(?<![0-9])${code}(?![0-9])`));
    const events = lines.flatMap((line) => {
      const parsed = JSON.parse(line) as { event?: unknown; username?: unknown; method?: unknown };
      return typeof parsed.event === 'string' && parsed.username === 'logged' ? [parsed] : [];
    });
    expect(events.map((event) => event.event)).toEqual(
      expect.arrayContaining(['mfa.enabled', 'mfa.failed', 'mfa.recovery_codes_replaced', 'mfa.disabled', 'login.succeeded']),
    );
    const methods = events.filter((event) => event.event === 'login.succeeded').map((event) => event.method);
    expect(methods).toEqual(expect.arrayContaining(['password', 'password+totp', 'password+recovery_code']));
  });
});
