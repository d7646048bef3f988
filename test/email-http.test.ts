// Issue 10's contract over HTTP: addresses, verification, change of address, forgot and reset password, login by
// email, their throttles, DELETE /me and the audit trail; the real app on dynalite, mails read from its outbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureJsonLines } from './json-lines';
import { createTestApp, json, onDynalite, type TestApp } from './app-harness';
import {
  claimsOf,
  FORGOT_MESSAGE,
  logIn,
  mailsTo,
  NEW_PASSWORD,
  PASSWORD,
  registerWithEmail,
  resetTokenFor,
  verifiedAccount,
  verifyByMail,
} from './email-helpers';
import type { TestStore } from './stores';

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});

const me = (app: TestApp, token: string) => app.app.request('/me', { headers: app.bearer(token) });
const meUser = async (app: TestApp, token: string) => ((await json(await me(app, token))) as { user: Record<string, unknown> }).user;

describe('registering with an address', () => {
  it('stores it trimmed and lower-cased, unverified, and mails a verification link', async () => {
    const registered = await registerWithEmail(t, 'reg1', '  Reg1@Example.COM ');
    const session = await logIn(t, { username: 'reg1', password: PASSWORD });

    expect(registered.status).toBe(201);
    expect(await meUser(t, session.token)).toMatchObject({ email: 'reg1@example.com', emailVerified: false, pendingEmail: null });
    const mails = await t.outbox.to('reg1@example.com');
    expect(mails.map((mail) => mail.subject)).toEqual([expect.stringMatching(/^Verify your email address/)]);
    expect(mails[0]?.links.some((link) => link.startsWith('http://app.test/verify-email#token='))).toBe(true);
  });

  it.each([
    ['longer than 254 characters', `${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(10)}.com`],
    ['two @', 'a@b@example.com'],
    ['a one-label domain', 'user@localhost'],
    ['a hyphen-edged label', 'user@-example.com'],
    ['a label ending in a hyphen', 'user@example-.com'],
    ['whitespace inside', 'us er@example.com'],
    ['a tab inside', 'user@exa\tmple.com'],
    ['an empty local part', '@example.com'],
  ])('refuses an address with %s: 400 invalid_request naming email', async (_what, email) => {
    const response = await registerWithEmail(t, `bad${Math.random().toString(36).slice(2, 10)}`, email);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'email' });
  });

  it('never reveals an address in use: two accounts register the same address', async () => {
    const first = await registerWithEmail(t, 'same1', 'shared@example.com');
    const second = await registerWithEmail(t, 'same2', 'SHARED@example.com');

    expect([first.status, second.status]).toEqual([201, 201]);
  });

  it('an account without an address shows email null, emailVerified false, and no email claims', async () => {
    const session = await t.registerAndLogIn('noaddress');

    expect(await meUser(t, session.token)).toMatchObject({ email: null, emailVerified: false, pendingEmail: null });
    expect(claimsOf(session.token)).not.toHaveProperty('email');
    expect(claimsOf(session.token)).not.toHaveProperty('email_verified');
  });
});

describe('verification', () => {
  it('verifies with the mailed token: 200 body, /me and the access token say verified', async () => {
    await registerWithEmail(t, 'ver1', 'ver1@example.com');
    const before = await logIn(t, { username: 'ver1', password: PASSWORD });

    const verified = await verifyByMail(t, 'ver1@example.com');
    const after = await logIn(t, { username: 'ver1', password: PASSWORD });

    expect(verified.status).toBe(200);
    expect(await json(verified)).toEqual({ username: 'ver1', email: 'ver1@example.com', emailVerified: true });
    expect(claimsOf(before.token)).toMatchObject({ email: 'ver1@example.com', email_verified: false });
    expect(claimsOf(after.token)).toMatchObject({ email: 'ver1@example.com', email_verified: true });
    expect(await meUser(t, after.token)).toMatchObject({ email: 'ver1@example.com', emailVerified: true, pendingEmail: null });
  });

  it('a token works once', async () => {
    await registerWithEmail(t, 'ver2', 'ver2@example.com');
    const token = await t.outbox.tokenFor('ver2@example.com', 'verify-email');

    const first = await t.post('/email/verify', { token });
    const second = await t.post('/email/verify', { token });

    expect(first.status).toBe(200);
    expect(second.status).toBe(400);
    expect(await json(second)).toMatchObject({ code: 'invalid_verification_token' });
  });

  it('verified addresses are unique: the second account to verify gets 409 email_taken', async () => {
    await registerWithEmail(t, 'uniq1', 'uniq@example.com');
    const firstToken = await t.outbox.tokenFor('uniq@example.com', 'verify-email');
    await registerWithEmail(t, 'uniq2', 'uniq@example.com');
    const secondToken = await t.outbox.tokenFor('uniq@example.com', 'verify-email');

    const first = await t.post('/email/verify', { token: firstToken });
    const second = await t.post('/email/verify', { token: secondToken });

    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(await json(second)).toMatchObject({ code: 'email_taken' });
  });

  it('a resend answers 202 and supersedes the earlier link', async () => {
    await registerWithEmail(t, 'resend1', 'resend1@example.com');
    const oldToken = await t.outbox.tokenFor('resend1@example.com', 'verify-email');
    const session = await logIn(t, { username: 'resend1', password: PASSWORD });

    const resent = await t.post('/email/verify/resend', {}, t.bearer(session.token));
    const newToken = await t.outbox.tokenFor('resend1@example.com', 'verify-email');
    const old = await t.post('/email/verify', { token: oldToken });
    const fresh = await t.post('/email/verify', { token: newToken });

    expect(resent.status).toBe(202);
    expect(await json(resent)).toHaveProperty('message');
    expect(newToken).not.toBe(oldToken);
    expect(old.status).toBe(400);
    expect(await json(old)).toMatchObject({ code: 'invalid_verification_token' });
    expect(fresh.status).toBe(200);
  });

  it('a resend with nothing to verify is 400 invalid_request (no address; verified and no change pending)', async () => {
    const none = await t.registerAndLogIn('resendnone');
    const verified = await verifiedAccount(t, 'resenddone', 'resenddone@example.com');

    const withoutAddress = await t.post('/email/verify/resend', {}, t.bearer(none.token));
    const alreadyVerified = await t.post('/email/verify/resend', {}, t.bearer(verified.token));

    expect(withoutAddress.status).toBe(400);
    expect(await json(withoutAddress)).toMatchObject({ code: 'invalid_request' });
    expect(alreadyVerified.status).toBe(400);
    expect(await json(alreadyVerified)).toMatchObject({ code: 'invalid_request' });
  });

  it('a verification link expires after VERIFY_TTL_SECONDS', async () => {
    await registerWithEmail(t, 'verold', 'verold@example.com');
    const token = await t.outbox.tokenFor('verold@example.com', 'verify-email');

    t.clock.advance(t.config.email.verifyTtlSeconds + 1);
    const late = await t.post('/email/verify', { token });
    t.clock.advance(-(t.config.email.verifyTtlSeconds + 1));

    expect(late.status).toBe(400);
    expect(await json(late)).toMatchObject({ code: 'invalid_verification_token' });
  });

  it.each([
    ['empty', ''],
    ['10 KB long', 'x'.repeat(10 * 1024)],
    ['a number', 12345],
    ['null', null],
  ])('answers a token that is %s with a 4xx JSON error', async (_what, token) => {
    const response = await t.post('/email/verify', { token });

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await json(response)).toHaveProperty('code');
  });
});

describe('change of address', () => {
  it('refuses a wrong password with 401 invalid_credentials, and the session goes on', async () => {
    const session = await verifiedAccount(t, 'chg0', 'chg0@example.com');

    const refused = await t.post('/me/email', { email: 'chg0-new@example.com', password: 'not the password' }, t.bearer(session.token));

    expect(refused.status).toBe(401);
    expect(await json(refused)).toMatchObject({ code: 'invalid_credentials' });
    expect((await me(t, session.token)).status).toBe(200);
    expect(await mailsTo(t, 'chg0-new@example.com')).toBe(0);
  });

  it('keeps the old address in force until the new one is verified, then releases it and tells the old address', async () => {
    const session = await verifiedAccount(t, 'chg1', 'chg1-old@example.com');

    const asked = await t.post('/me/email', { email: 'Chg1-New@Example.com', password: PASSWORD }, t.bearer(session.token));
    const pending = await meUser(t, session.token);
    const byOldAddress = await t.post('/login', { email: 'chg1-old@example.com', password: PASSWORD });
    const byNewAddress = await t.post('/login', { email: 'chg1-new@example.com', password: PASSWORD });
    const verified = await verifyByMail(t, 'chg1-new@example.com');
    const changed = await meUser(t, session.token);
    const oldNow = await t.post('/login', { email: 'chg1-old@example.com', password: PASSWORD });
    const newNow = await t.post('/login', { email: 'chg1-new@example.com', password: PASSWORD });
    // The old address is free again: another account can verify it.
    await registerWithEmail(t, 'chg1-other', 'chg1-old@example.com');
    const otherVerified = await verifyByMail(t, 'chg1-old@example.com');

    expect(asked.status).toBe(202);
    expect(pending).toMatchObject({ email: 'chg1-old@example.com', emailVerified: true, pendingEmail: 'chg1-new@example.com' });
    expect(byOldAddress.status).toBe(200);
    expect(byNewAddress.status).toBe(401);
    expect(verified.status).toBe(200);
    expect(await json(verified)).toEqual({ username: 'chg1', email: 'chg1-new@example.com', emailVerified: true });
    expect(changed).toMatchObject({ email: 'chg1-new@example.com', emailVerified: true, pendingEmail: null });
    expect(oldNow.status).toBe(401);
    expect(newNow.status).toBe(200);
    expect(await mailsTo(t, 'chg1-old@example.com', 'Your email address was changed')).toBe(1);
    expect(otherVerified.status).toBe(200);
  });

  it("sends the link even to an address another account has verified: 202, mail, then 409 at verification", async () => {
    await verifiedAccount(t, 'holder', 'held@example.com');
    const session = await t.registerAndLogIn('wanter');
    const mailsBefore = await mailsTo(t, 'held@example.com', 'Verify your email address');

    const asked = await t.post('/me/email', { email: 'held@example.com', password: 'correct horse battery' }, t.bearer(session.token));
    const verified = await verifyByMail(t, 'held@example.com');

    expect(asked.status).toBe(202);
    expect(await mailsTo(t, 'held@example.com', 'Verify your email address')).toBe(mailsBefore + 1);
    expect(verified.status).toBe(409);
    expect(await json(verified)).toMatchObject({ code: 'email_taken' });
  });

  it('a new change of address supersedes the earlier link', async () => {
    const session = await verifiedAccount(t, 'chg2', 'chg2@example.com');
    await t.post('/me/email', { email: 'chg2-a@example.com', password: PASSWORD }, t.bearer(session.token));
    const first = await t.outbox.tokenFor('chg2-a@example.com', 'verify-email');
    await t.post('/me/email', { email: 'chg2-b@example.com', password: PASSWORD }, t.bearer(session.token));

    const superseded = await t.post('/email/verify', { token: first });
    const newest = await verifyByMail(t, 'chg2-b@example.com');

    expect(superseded.status).toBe(400);
    expect(await json(superseded)).toMatchObject({ code: 'invalid_verification_token' });
    expect(newest.status).toBe(200);
  });

  it('refuses a bad new address with 400 invalid_request naming email', async () => {
    const session = await t.registerAndLogIn('chgbad');

    const response = await t.post('/me/email', { email: 'no-at-sign.example.com', password: 'correct horse battery' }, t.bearer(session.token));

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'email' });
  });
});

describe('forgot password', () => {
  it('by username and by email: the exact 202 message and a reset link to the verified address', async () => {
    await verifiedAccount(t, 'forgot1', 'forgot1@example.com');

    const byName = await t.post('/password/forgot', { username: 'Forgot1' });
    const byEmail = await t.post('/password/forgot', { email: 'FORGOT1@example.com' });

    for (const response of [byName, byEmail]) {
      expect(response.status).toBe(202);
      expect(await json(response)).toEqual({ message: FORGOT_MESSAGE });
    }
    const resets = (await t.outbox.to('forgot1@example.com')).filter((mail) => mail.subject.startsWith('Reset your password'));
    expect(resets).toHaveLength(2);
    expect(resets[0]?.links.some((link) => link.startsWith('http://app.test/reset-password#token='))).toBe(true);
  });

  it('sends nothing for an unknown name, an unknown address or an unverified account, with the same answer', async () => {
    await registerWithEmail(t, 'forgotunv', 'forgotunv@example.com');
    const before = (await t.outbox.all()).length;

    const answers = await Promise.all([
      t.post('/password/forgot', { username: 'nobody-here' }),
      t.post('/password/forgot', { email: 'nobody-here@example.com' }),
      t.post('/password/forgot', { username: 'forgotunv' }),
      t.post('/password/forgot', { email: 'forgotunv@example.com' }),
    ]);

    for (const response of answers) {
      expect(response.status).toBe(202);
      expect(await json(response)).toEqual({ message: FORGOT_MESSAGE });
    }
    expect((await t.outbox.all()).length).toBe(before);
  });

  it.each([
    ['neither field', {}],
    ['both fields', { username: 'forgot1', email: 'forgot1@example.com' }],
  ])('answers a body with %s with 400 invalid_request', async (_what, body) => {
    const response = await t.post('/password/forgot', body);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request' });
  });
});

describe('reset password', () => {
  it('ends every session, swaps the password, forgets the failures and sends the notice', async () => {
    await verifiedAccount(t, 'reset1', 'reset1@example.com');
    const sessions = [await logIn(t, { username: 'reset1', password: PASSWORD }), await logIn(t, { email: 'reset1@example.com', password: PASSWORD })];
    // Someone guessing locks the name.
    const guesses = [];
    for (let i = 0; i < 6; i += 1) guesses.push((await t.post('/login', { username: 'reset1', password: 'a wrong guess' })).status);
    await t.post('/password/forgot', { username: 'reset1' });

    const reset = await t.post('/password/reset', { token: await resetTokenFor(t, 'reset1@example.com'), newPassword: NEW_PASSWORD });

    expect(guesses.at(-1)).toBe(429);
    expect(reset.status).toBe(204);
    expect(await reset.text()).toBe('');
    for (const session of sessions) {
      expect((await t.post('/token/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
      expect((await me(t, session.token)).status).toBe(401);
    }
    expect((await t.post('/login', { username: 'reset1', password: NEW_PASSWORD })).status).toBe(200);
    expect((await t.post('/login', { username: 'reset1', password: PASSWORD })).status).toBe(401);
    expect(await mailsTo(t, 'reset1@example.com', 'Your password was changed')).toBe(1);
  });

  it('refuses a weak password with reasons, and the token stays usable', async () => {
    await verifiedAccount(t, 'reset2', 'reset2@example.com');
    await t.post('/password/forgot', { email: 'reset2@example.com' });
    const token = await resetTokenFor(t, 'reset2@example.com');

    const weak = await t.post('/password/reset', { token, newPassword: 'short' });
    const strong = await t.post('/password/reset', { token, newPassword: NEW_PASSWORD });

    expect(weak.status).toBe(400);
    const body = await json(weak);
    expect(body).toMatchObject({ code: 'weak_password' });
    expect(Array.isArray(body.reasons) && body.reasons.length > 0).toBe(true);
    expect(strong.status).toBe(204);
  });

  it('a token works once, and only the newest works', async () => {
    await verifiedAccount(t, 'reset3', 'reset3@example.com');
    await t.post('/password/forgot', { username: 'reset3' });
    const older = await resetTokenFor(t, 'reset3@example.com');
    await t.post('/password/forgot', { username: 'reset3' });
    const newest = await resetTokenFor(t, 'reset3@example.com');

    const superseded = await t.post('/password/reset', { token: older, newPassword: NEW_PASSWORD });
    const first = await t.post('/password/reset', { token: newest, newPassword: NEW_PASSWORD });
    const again = await t.post('/password/reset', { token: newest, newPassword: 'another fine passphrase' });

    expect(superseded.status).toBe(400);
    expect(await json(superseded)).toMatchObject({ code: 'invalid_reset_token' });
    expect(first.status).toBe(204);
    expect(again.status).toBe(400);
    expect(await json(again)).toMatchObject({ code: 'invalid_reset_token' });
  });

  it('a reset link expires after RESET_TTL_SECONDS', async () => {
    await verifiedAccount(t, 'reset4', 'reset4@example.com');
    await t.post('/password/forgot', { username: 'reset4' });
    const token = await resetTokenFor(t, 'reset4@example.com');

    t.clock.advance(t.config.email.resetTtlSeconds + 1);
    const late = await t.post('/password/reset', { token, newPassword: NEW_PASSWORD });
    t.clock.advance(-(t.config.email.resetTtlSeconds + 1));

    expect(late.status).toBe(400);
    expect(await json(late)).toMatchObject({ code: 'invalid_reset_token' });
    expect((await t.post('/login', { username: 'reset4', password: PASSWORD })).status).toBe(200);
  });

  it.each([
    ['empty', ''],
    ['10 KB long', 'x'.repeat(10 * 1024)],
    ['a number', 12345],
    ['an object', { token: 'x' }],
  ])('answers a token that is %s with a 4xx JSON error', async (_what, token) => {
    const response = await t.post('/password/reset', { token, newPassword: NEW_PASSWORD });

    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await json(response)).toHaveProperty('code');
  });

  it('POST /me/password sends the same notice to the verified address', async () => {
    const session = await verifiedAccount(t, 'chpw', 'chpw@example.com');

    const changed = await t.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, t.bearer(session.token));

    expect(changed.status).toBe(200);
    expect(await mailsTo(t, 'chpw@example.com', 'Your password was changed')).toBe(1);
  });

  it('a reset link mailed before a password change stops working', async () => {
    const session = await verifiedAccount(t, 'chpw2', 'chpw2@example.com');
    await t.post('/password/forgot', { username: 'chpw2' });
    const token = await resetTokenFor(t, 'chpw2@example.com');

    const changed = await t.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, t.bearer(session.token));
    const reset = await t.post('/password/reset', { token, newPassword: 'a third fine passphrase' });

    expect(changed.status).toBe(200);
    expect(reset.status).toBe(400);
    expect(await json(reset)).toMatchObject({ code: 'invalid_reset_token' });
  });

  it('a reset link mailed to the old address stops working once a new address is verified', async () => {
    const session = await verifiedAccount(t, 'chaddr', 'chaddr-old@example.com');
    await t.post('/password/forgot', { email: 'chaddr-old@example.com' });
    const token = await resetTokenFor(t, 'chaddr-old@example.com');
    await t.post('/me/email', { email: 'chaddr-new@example.com', password: PASSWORD }, t.bearer(session.token));

    const verified = await verifyByMail(t, 'chaddr-new@example.com');
    const reset = await t.post('/password/reset', { token, newPassword: 'a third fine passphrase' });

    expect(verified.status).toBe(200);
    expect(reset.status).toBe(400);
    expect(await json(reset)).toMatchObject({ code: 'invalid_reset_token' });
  });
});

describe('login by email', () => {
  it('works for a verified address only; unverified and unknown are 401 invalid_credentials', async () => {
    await verifiedAccount(t, 'byemail', 'byemail@example.com');
    await registerWithEmail(t, 'byemailunv', 'byemailunv@example.com');

    const verified = await t.post('/login', { email: ' ByEmail@Example.com', password: PASSWORD });
    const unverified = await t.post('/login', { email: 'byemailunv@example.com', password: PASSWORD });
    const unknown = await t.post('/login', { email: 'nobody-at-all@example.com', password: PASSWORD });

    expect(verified.status).toBe(200);
    expect(((await json(verified)) as { user: { username: string } }).user.username).toBe('byemail');
    for (const response of [unverified, unknown]) {
      expect(response.status).toBe(401);
      expect(await json(response)).toMatchObject({ code: 'invalid_credentials' });
    }
  });

  it('a body with both username and email is 400 invalid_request', async () => {
    const response = await t.post('/login', { username: 'byemail', email: 'byemail@example.com', password: PASSWORD });

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request' });
  });

  it('shares the throttle with username login: failures by either way add up to the 429', async () => {
    await verifiedAccount(t, 'sharedthr', 'sharedthr@example.com');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await t.post('/login', { email: 'sharedthr@example.com', password: 'wrong guess' })).status);
    for (let i = 0; i < 2; i += 1) statuses.push((await t.post('/login', { username: 'sharedthr', password: 'wrong guess' })).status);

    const byName = await t.post('/login', { username: 'sharedthr', password: PASSWORD });
    const byEmail = await t.post('/login', { email: 'sharedthr@example.com', password: PASSWORD });

    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(byName.status).toBe(429);
    // By email the wait is answered as a failed login: a 429 there would tell which address is the locked name's.
    expect(byEmail.status).toBe(401);
    expect(await json(byEmail)).toMatchObject({ code: 'invalid_credentials' });
  });
});

describe('deleting the account', () => {
  it('releases the verified address and the account\'s links stop working', async () => {
    const session = await verifiedAccount(t, 'leaver', 'leaver@example.com');
    await t.post('/me/email', { email: 'leaver-next@example.com', password: PASSWORD }, t.bearer(session.token));
    const verifyToken = await t.outbox.tokenFor('leaver-next@example.com', 'verify-email');
    await t.post('/password/forgot', { username: 'leaver' });
    const resetToken = await resetTokenFor(t, 'leaver@example.com');

    const deleted = await t.app.request('/me', {
      method: 'DELETE',
      headers: { ...t.bearer(session.token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const verify = await t.post('/email/verify', { token: verifyToken });
    const reset = await t.post('/password/reset', { token: resetToken, newPassword: NEW_PASSWORD });
    await registerWithEmail(t, 'successor', 'leaver@example.com');
    const claimed = await verifyByMail(t, 'leaver@example.com');

    expect(deleted.status).toBe(204);
    expect(verify.status).toBe(400);
    expect(await json(verify)).toMatchObject({ code: 'invalid_verification_token' });
    expect(reset.status).toBe(400);
    expect(await json(reset)).toMatchObject({ code: 'invalid_reset_token' });
    expect(claimed.status).toBe(200);
  });
});

describe('throttling of mails and tokens', () => {
  let limited: TestApp;

  beforeAll(async () => {
    limited = await createTestApp(store.endpoint, {
      THROTTLE_IP_MAILS: '3',
      MAILS_PER_ACCOUNT_PER_HOUR: '2',
      THROTTLE_IP_FAILURES: '3',
    });
  });

  afterAll(() => limited?.client.destroy());

  const from = (peer: string) => ({ 'X-Test-Peer': peer });

  it('past THROTTLE_IP_MAILS a client gets 429 on forgot, resend and change of address; another client does not', async () => {
    await registerWithEmail(limited, 'ipmail', 'ipmail@example.com');
    const session = await logIn(limited, { username: 'ipmail', password: PASSWORD });
    const used: number[] = [];
    for (const name of ['x1', 'x2', 'x3']) used.push((await limited.post('/password/forgot', { username: name }, from('203.0.113.20'))).status);

    const forgot = await limited.post('/password/forgot', { username: 'x4' }, from('203.0.113.20'));
    const resend = await limited.post('/email/verify/resend', {}, { ...limited.bearer(session.token), ...from('203.0.113.20') });
    const change = await limited.post(
      '/me/email',
      { email: 'ipmail2@example.com', password: PASSWORD },
      { ...limited.bearer(session.token), ...from('203.0.113.20') },
    );
    const other = await limited.post('/password/forgot', { username: 'x4' }, from('203.0.113.21'));

    expect(used).toEqual([202, 202, 202]);
    for (const response of [forgot, resend, change]) {
      expect(response.status).toBe(429);
      expect(await json(response)).toMatchObject({ code: 'too_many_attempts' });
    }
    expect(other.status).toBe(202);
  });

  it('past MAILS_PER_ACCOUNT_PER_HOUR the answer is still 202 and no more mails go', async () => {
    await verifiedAccount(limited, 'acctmail', 'acctmail@example.com');

    const answers = [];
    for (const peer of ['203.0.113.30', '203.0.113.31', '203.0.113.32', '203.0.113.33']) {
      answers.push(await limited.post('/password/forgot', { username: 'acctmail' }, from(peer)));
    }

    for (const response of answers) {
      expect(response.status).toBe(202);
      expect(await json(response)).toEqual({ message: FORGOT_MESSAGE });
    }
    expect(await mailsTo(limited, 'acctmail@example.com', 'Reset your password')).toBe(2);
  });

  it('bad reset and verification tokens count toward THROTTLE_IP_FAILURES', async () => {
    const peer = from('203.0.113.40');
    const bad = [
      await limited.post('/password/reset', { token: 'not-a-token-1', newPassword: NEW_PASSWORD }, peer),
      await limited.post('/email/verify', { token: 'not-a-token-2' }, peer),
      await limited.post('/password/reset', { token: 'not-a-token-3', newPassword: NEW_PASSWORD }, peer),
    ];

    const reset = await limited.post('/password/reset', { token: 'not-a-token-4', newPassword: NEW_PASSWORD }, peer);
    const verify = await limited.post('/email/verify', { token: 'not-a-token-5' }, peer);
    const login = await limited.post('/login', { username: 'someone', password: 'whatever it is' }, peer);

    expect(bad.map((response) => response.status)).toEqual([400, 400, 400]);
    for (const response of [reset, verify, login]) {
      expect(response.status).toBe(429);
      expect(await json(response)).toMatchObject({ code: 'too_many_attempts' });
    }
  });
});

describe('audit events', () => {
  let audited: TestApp;
  const lines: string[] = [];
  let stopCapture: (() => void) | undefined;

  beforeAll(async () => {
    audited = await createTestApp(store.endpoint, { LOG_LEVEL: 'INFO' });
    stopCapture = captureJsonLines(lines, [process.stdout]);
  });

  afterAll(() => {
    stopCapture?.();
    audited?.client.destroy();
  });

  const events = () =>
    lines.flatMap((line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return typeof parsed.event === 'string' ? [parsed as { event: string; username: string }] : [];
    });

  it('records each step, never a token, and no plain address for an unknown target', async () => {
    await registerWithEmail(audited, 'audited', 'audited@example.com');
    const verifyToken = await audited.outbox.tokenFor('audited@example.com', 'verify-email');
    await audited.post('/email/verify', { token: verifyToken });
    const session = await logIn(audited, { username: 'audited', password: PASSWORD });
    await audited.post('/me/email', { email: 'audited-new@example.com', password: PASSWORD }, audited.bearer(session.token));
    const changeToken = await audited.outbox.tokenFor('audited-new@example.com', 'verify-email');
    await audited.post('/email/verify', { token: changeToken });
    await audited.post('/password/forgot', { email: 'audited-new@example.com' });
    const resetToken = await resetTokenFor(audited, 'audited-new@example.com');
    await audited.post('/password/reset', { token: resetToken, newPassword: NEW_PASSWORD });
    await audited.post('/password/forgot', { email: 'ghost-target@example.com' });
    await audited.post('/password/forgot', { username: 'ghost-name' });

    const seen = events().map((entry) => entry.event);
    expect(seen).toEqual(
      expect.arrayContaining(['email.verification_sent', 'email.verified', 'email.changed', 'password.reset_requested', 'password.reset']),
    );
    const unknown = events().filter((entry) => entry.event === 'password.reset_requested' && entry.username.startsWith('hmac:'));
    expect(unknown).toHaveLength(2);
    const everything = lines.join('\n');
    expect(everything).not.toContain('ghost-target');
    expect(everything).not.toContain('ghost-name');
    for (const token of [verifyToken, changeToken, resetToken]) expect(everything).not.toContain(token);
  });
});
