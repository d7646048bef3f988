// Attacks on issue 10's email verification and account recovery, over real HTTP on a socket, with the store behind
// a proxy (test/store-proxy.ts) that can slow or fail chosen calls. `it` holds a defence; `it.fails` reproduces a
// finding (the file stays green while it stands) and names its fix.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveTestApp, type LoginAnswer, type ServedTestApp } from '../app-harness';
import { startTestSmtpServer } from '../smtp-server';
import { startStoreProxy, type StoreProxy } from '../store-proxy';
import { startDynalite, type TestStore } from '../stores';

type Served = ServedTestApp;

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'quiet meadow lantern 42';
const PEER = '198.51.100.60';


const send = (s: Served, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Test-Peer': PEER, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const post = (s: Served, path: string, body: unknown, headers: Record<string, string> = {}) => send(s, 'POST', path, body, headers);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const body = async (response: Response) => (await response.json()) as Record<string, unknown>;

let store: TestStore;
let proxy: StoreProxy;
let s: Served;
const served: Served[] = [];

const start = async (env: Record<string, string> = {}) => {
  const started = await serveTestApp(proxy.endpoint, env);
  served.push(started);
  return started;
};

beforeAll(async () => {
  store = await startDynalite();
  proxy = await startStoreProxy(store.endpoint);
  s = await start();
});
afterEach(() => proxy.reset());
afterAll(async () => {
  for (const app of served) await app.close();
  await proxy.close();
  await store.stop();
});

const register = (app: Served, username: string, email?: string) =>
  post(app, '/register', { name: 'Mail User', username, password: PASSWORD, ...(email === undefined ? {} : { email }) });

const logIn = async (app: Served, credentials: Record<string, string>): Promise<LoginAnswer> => {
  const response = await post(app, '/login', { password: PASSWORD, ...credentials });
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
  return (await response.json()) as LoginAnswer;
};

const verifyLatest = async (app: Served, email: string) =>
  post(app, '/email/verify', { token: await app.outbox.tokenFor(email, 'verify-email') });

/** An account whose address is verified, logged in. */
const verifiedAccount = async (app: Served, username: string, email: string) => {
  await register(app, username, email);
  const verified = await verifyLatest(app, email);
  if (verified.status !== 200) throw new Error(`verification of ${email} answered ${verified.status}`);
  return logIn(app, { username });
};

const deleteMe = (app: Served, token: string) => send(app, 'DELETE', '/me', { password: PASSWORD }, bearer(token));

const resetMails = async (app: Served, email: string) =>
  (await app.outbox.to(email)).filter((mail) => mail.subject.startsWith('Reset your password')).length;

describe('account enumeration', () => {
  // Headers whose values differ between any two responses (time, request id) are compared by name only.
  const shape = async (response: Response) => ({
    status: response.status,
    body: await response.text(),
    headers: [...response.headers.entries()]
      .filter(([name]) => !['date', 'x-request-id', 'x-amzn-requestid'].includes(name))
      .sort(([a], [b]) => a.localeCompare(b)),
    headerNames: [...response.headers.keys()].sort(),
  });

  it('/password/forgot answers byte for byte alike for unknown, unverified and verified targets, by name or address', async () => {
    await verifiedAccount(s, 'enumknown', 'enumknown@example.com');
    await register(s, 'enumunver', 'enumunver@example.com');

    const targets = [
      { username: 'enum-nobody' },
      { email: 'enum-nobody@example.com' },
      { username: 'enumunver' },
      { email: 'enumunver@example.com' },
      { username: 'enumknown' },
      { email: 'enumknown@example.com' },
    ];
    const answers = [];
    for (const target of targets) answers.push(await shape(await post(s, '/password/forgot', target)));

    expect(answers[0]?.status).toBe(202);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await resetMails(s, 'enumunver@example.com')).toBe(0);
    expect(await resetMails(s, 'enumknown@example.com')).toBe(2);
  });

  it('/register with an address another account has verified answers as for a fresh one, and mails the link', async () => {
    await verifiedAccount(s, 'enumholder', 'enumheld@example.com');

    const taken = await shape(await register(s, 'enumtaker', 'ENUMHELD@example.com'));
    const fresh = await shape(await register(s, 'enumfresh', 'enumfresh@example.com'));

    expect(taken.status).toBe(201);
    expect({ ...taken, body: taken.body.replace('enumtaker', 'X') }).toEqual({ ...fresh, body: fresh.body.replace('enumfresh', 'X') });
    expect((await s.outbox.to('enumheld@example.com')).filter((mail) => mail.subject.startsWith('Verify'))).toHaveLength(2);
  });

  it('/me/email with an address another account has verified answers 202 as for a free one', async () => {
    await verifiedAccount(s, 'enumowner', 'enumowned@example.com');
    const session = await logIn(s, { username: (await register(s, 'enumasker'), 'enumasker') });

    const taken = await shape(await post(s, '/me/email', { email: 'enumowned@example.com', password: PASSWORD }, bearer(session.token)));
    const free = await shape(await post(s, '/me/email', { email: 'enumfree@example.com', password: PASSWORD }, bearer(session.token)));

    expect(taken.status).toBe(202);
    expect(taken).toEqual(free);
  });

  // FINDING (contract trade-off): login by email is throttled on the account's name (issue 10 asks for one shared
  // count), so a 429 crosses over: lock a known username with 5 wrong guesses, then `POST /login {email}` answers
  // 429 for that account's verified address and 401 for any other, which tells anyone which address is whose.
  // Fix (needs the lead's decision on the contract): in src/domain/log-in.ts logInByEmail, answer a name that is
  // past its limit with the padded 401 invalid_credentials (no check) instead of the 429, or document the
  // disclosure in SECURITY.md as the price of one shared count.
  it('a username locked by guesses does not reveal, through /login {email}, which address is its', async () => {
    const peer = { 'X-Test-Peer': '198.51.100.61' };
    await verifiedAccount(s, 'linkedname', 'linked@example.com');
    for (let i = 0; i < 5; i += 1) await post(s, '/login', { username: 'linkedname', password: `wrong guess ${i}` }, peer);

    const byItsAddress = await post(s, '/login', { email: 'linked@example.com', password: 'another guess' }, peer);
    const byOtherAddress = await post(s, '/login', { email: 'unlinked@example.com', password: 'another guess' }, peer);

    expect(byItsAddress.status).toBe(byOtherAddress.status);
  });
});

describe('one-time tokens', () => {
  it('a token of one purpose is refused by the other route, and is not used up by that', async () => {
    const session = await verifiedAccount(s, 'purposes', 'purposes@example.com');
    await post(s, '/me/email', { email: 'purposes-new@example.com', password: PASSWORD }, bearer(session.token));
    const verifyToken = await s.outbox.tokenFor('purposes-new@example.com', 'verify-email');
    await post(s, '/password/forgot', { username: 'purposes' });
    const resetToken = await s.outbox.tokenFor('purposes@example.com', 'reset-password');

    const verifyAsReset = await post(s, '/password/reset', { token: verifyToken, newPassword: NEW_PASSWORD });
    const resetAsVerify = await post(s, '/email/verify', { token: resetToken });
    // The reset first: verifying the new address revokes reset links that went to the old one.
    const reset = await post(s, '/password/reset', { token: resetToken, newPassword: NEW_PASSWORD });
    const verified = await post(s, '/email/verify', { token: verifyToken });

    expect(verifyAsReset.status).toBe(400);
    expect(await body(verifyAsReset)).toMatchObject({ code: 'invalid_reset_token' });
    expect(resetAsVerify.status).toBe(400);
    expect(await body(resetAsVerify)).toMatchObject({ code: 'invalid_verification_token' });
    expect(verified.status).toBe(200);
    expect({ status: reset.status, body: reset.status === 204 ? '' : await reset.text() }).toEqual({ status: 204, body: '' });
  });

  it('of two links asked for back to back, the older is refused; of two at once, at most one works', async () => {
    await verifiedAccount(s, 'twice', 'twice@example.com');
    await post(s, '/password/forgot', { username: 'twice' });
    await post(s, '/password/forgot', { username: 'twice' });
    const [older, newer] = (await s.outbox.to('twice@example.com')).flatMap((mail) => mail.links).filter((l) => l.includes('/reset-password#token='));
    const tokenOf = (link = '') => decodeURIComponent(link.slice(link.indexOf('#token=') + 7));

    const byOlder = await post(s, '/password/reset', { token: tokenOf(older), newPassword: NEW_PASSWORD });
    const byNewer = await post(s, '/password/reset', { token: tokenOf(newer), newPassword: NEW_PASSWORD });

    await Promise.all([post(s, '/password/forgot', { username: 'twice' }), post(s, '/password/forgot', { username: 'twice' })]);
    const racing = (await s.outbox.to('twice@example.com')).flatMap((mail) => mail.links).filter((l) => l.includes('/reset-password#token=')).slice(-2);
    const outcomes = [];
    for (const link of racing) outcomes.push((await post(s, '/password/reset', { token: tokenOf(link), newPassword: `${NEW_PASSWORD} b` })).status);

    expect(byOlder.status).toBe(400);
    expect(byNewer.status).toBe(204);
    expect(racing).toHaveLength(2);
    expect(outcomes.filter((status) => status === 204).length).toBeLessThanOrEqual(1);
  });

  it("a name deleted and registered again gets none of the old account's links, even when their revocation failed", async () => {
    const session = await verifiedAccount(s, 'reborn', 'reborn-old@example.com');
    await post(s, '/me/email', { email: 'reborn-pending@example.com', password: PASSWORD }, bearer(session.token));
    const oldVerify = await s.outbox.tokenFor('reborn-pending@example.com', 'verify-email');
    await post(s, '/password/forgot', { username: 'reborn' });
    const oldReset = await s.outbox.tokenFor('reborn-old@example.com', 'reset-password');
    // The deletion's revocation of the links fails: only the uid check stands between them and the new account.
    proxy.setFault((call) =>
      call.operation === 'DeleteItem' && call.table === s.config.oneTimeTokensTableName ? { failWith: 500 } : undefined,
    );
    expect((await deleteMe(s, session.token)).status).toBe(204);
    proxy.reset();
    await register(s, 'reborn', 'reborn-pending@example.com');

    const verify = await post(s, '/email/verify', { token: oldVerify });
    const reset = await post(s, '/password/reset', { token: oldReset, newPassword: NEW_PASSWORD });
    const byOldAddress = await post(s, '/login', { email: 'reborn-old@example.com', password: PASSWORD });
    const reborn = await logIn(s, { username: 'reborn' });
    const me = (await body(await send(s, 'GET', '/me', undefined, bearer(reborn.token)))) as { user: Record<string, unknown> };

    expect(verify.status).toBe(400);
    expect(reset.status).toBe(400);
    expect(byOldAddress.status).toBe(401);
    expect(me.user).toMatchObject({ email: 'reborn-pending@example.com', emailVerified: false });
  });

  it('a reset ends every session: the old access and refresh tokens stop working', async () => {
    const stolen = await verifiedAccount(s, 'resetter', 'resetter@example.com');
    await post(s, '/password/forgot', { email: 'resetter@example.com' });
    const token = await s.outbox.tokenFor('resetter@example.com', 'reset-password');

    const reset = await post(s, '/password/reset', { token, newPassword: NEW_PASSWORD });
    const me = await send(s, 'GET', '/me', undefined, bearer(stolen.token));
    const refresh = await post(s, '/token/refresh', { refreshToken: stolen.refreshToken });
    const change = await post(s, '/me/email', { email: 'thief@example.com', password: PASSWORD }, bearer(stolen.token));

    expect(reset.status).toBe(204);
    expect(me.status).toBe(401);
    expect(refresh.status).toBe(401);
    expect(change.status).toBe(401);
  });
});

describe('reset links that outlive what they were for', () => {
  const failTokenRevocation = (app: Served) =>
    proxy.setFault((call) =>
      call.operation === 'DeleteItem' && call.table === app.config.oneTimeTokensTableName ? { failWith: 500 } : undefined,
    );

  // Found by attack, now fixed: once a new address is verified, reset links mailed to the old one are meant to stop working, but
  // verifyEmail revokes them with `oneTimeTokens.revoke(...).catch(() => undefined)`: one failed delete and whoever
  // reads the old mailbox (often why the address was changed) can still reset the password.
  // Fix: src/domain/password-reset.ts forgotPassword issues the reset token with `email: account.email` (not null),
  // and resetPassword refuses (invalid_reset_token) unless `found.email === user.email && user.emailVerified`; so the
  // link is bound to the address it went to, whatever the revocation did.
  it('a reset link to the old address stops working after a change of address, even if its revocation failed', async () => {
    const session = await verifiedAccount(s, 'oldmailbox', 'oldmailbox@example.com');
    await post(s, '/password/forgot', { username: 'oldmailbox' });
    const oldLink = await s.outbox.tokenFor('oldmailbox@example.com', 'reset-password');
    await post(s, '/me/email', { email: 'newmailbox@example.com', password: PASSWORD }, bearer(session.token));
    failTokenRevocation(s);
    const changed = await verifyLatest(s, 'newmailbox@example.com');
    proxy.reset();

    const reset = await post(s, '/password/reset', { token: oldLink, newPassword: NEW_PASSWORD });

    expect(changed.status).toBe(200);
    expect(reset.status).toBe(400);
  });

  // Found by attack, now fixed: the same after POST /me/password ("a reset link mailed before must not undo the change"): changePassword
  // (src/domain/account.ts) revokes with `.catch(() => undefined)`, so after a failed delete a link mailed before
  // the change still resets the password. Fix: store the account's credentialVersion in the reset token record
  // (OneTimeToken, issueToken) and have resetPassword refuse a token whose version is not the user's current one.
  it('a reset link mailed before a password change stops working, even if its revocation failed', async () => {
    const session = await verifiedAccount(s, 'changedpw', 'changedpw@example.com');
    await post(s, '/password/forgot', { username: 'changedpw' });
    const earlier = await s.outbox.tokenFor('changedpw@example.com', 'reset-password');
    failTokenRevocation(s);
    const changed = await post(s, '/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, bearer(session.token));
    proxy.reset();

    const reset = await post(s, '/password/reset', { token: earlier, newPassword: `${NEW_PASSWORD} again` });

    expect(changed.status).toBe(200);
    expect(reset.status).toBe(400);
  });

  it('without a store failure, both links are refused', async () => {
    const session = await verifiedAccount(s, 'cleanpw', 'cleanpw@example.com');
    await post(s, '/password/forgot', { username: 'cleanpw' });
    const earlier = await s.outbox.tokenFor('cleanpw@example.com', 'reset-password');
    await post(s, '/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, bearer(session.token));

    const reset = await post(s, '/password/reset', { token: earlier, newPassword: `${NEW_PASSWORD} again` });

    expect(reset.status).toBe(400);
  });
});

describe('verified addresses left claimed by a failed write', () => {
  const failClaimRelease = (app: Served) =>
    proxy.setFault((call) => (call.operation === 'DeleteItem' && call.table === app.config.emailsTableName ? { failWith: 500 } : undefined));

  // Found by attack, now fixed: DELETE /me deletes the user, then releases its claim with releaseClaim, which swallows the failure
  // after three tries; nothing ever looks at the claim again, so the address stays claimed by an account that does
  // not exist and every later owner gets 409 email_taken for good. (The same when endAllSessions throws first: the
  // release is never reached, and a repeated DELETE /me takes the "account is gone" branch, which releases nothing.)
  // Fix: src/domain/email-verification.ts verifyEmail: when emailClaims.claim answers 'taken', read the claim
  // (emailClaims.find) and, if its account is gone or holds the address neither as email nor as pendingEmail
  // (users.find(claim.username): null, another uid, or neither field equal), take it over with a new
  // EmailClaimStore.replace(email, staleUid, claim) (a Put conditioned on `uid = :staleUid`) before confirmEmail.
  it('an address whose release failed at DELETE /me can be verified by its next owner', async () => {
    const session = await verifiedAccount(s, 'stuckdel', 'stuckdel@example.com');
    failClaimRelease(s);
    const deleted = await deleteMe(s, session.token);
    proxy.reset();
    await register(s, 'stuckdel2', 'stuckdel@example.com');

    const verified = await verifyLatest(s, 'stuckdel@example.com');

    expect(deleted.status).toBe(204);
    expect(verified.status).toBe(200);
  });

  // Found by attack, now fixed: the same for a change of address: verifyEmail releases the replaced address with releaseClaim, whose
  // failure is swallowed; the old address stays claimed by an account that no longer uses it. Fix: as above (the
  // holder's account holds the address neither as email nor as pendingEmail, so the claim is stale).
  it('an old address whose release failed at a change of address can be verified by another account', async () => {
    const session = await verifiedAccount(s, 'stuckchg', 'stuckchg-old@example.com');
    await post(s, '/me/email', { email: 'stuckchg-new@example.com', password: PASSWORD }, bearer(session.token));
    failClaimRelease(s);
    const changed = await verifyLatest(s, 'stuckchg-new@example.com');
    proxy.reset();
    await register(s, 'stuckchg2', 'stuckchg-old@example.com');

    const verified = await verifyLatest(s, 'stuckchg-old@example.com');

    expect(changed.status).toBe(200);
    expect(verified.status).toBe(200);
  });

  it('login by an address whose claim was left behind by a change finds no account', async () => {
    const session = await verifiedAccount(s, 'leftover', 'leftover-old@example.com');
    await post(s, '/me/email', { email: 'leftover-new@example.com', password: PASSWORD }, bearer(session.token));
    failClaimRelease(s);
    await verifyLatest(s, 'leftover-new@example.com');
    proxy.reset();

    const byOld = await post(s, '/login', { email: 'leftover-old@example.com', password: PASSWORD });
    const forgot = await post(s, '/password/forgot', { email: 'leftover-old@example.com' });

    expect(byOld.status).toBe(401);
    expect(forgot.status).toBe(202);
    expect(await resetMails(s, 'leftover-old@example.com')).toBe(0);
  });
});

describe('mail ceilings under concurrency', () => {
  // Found by attack, now fixed: takeAccountMail (src/domain/throttle.ts) reads the account's hourly count, then adds to it; requests
  // at once all read the same count, so a burst of forgot-password requests for one victim (from as many clients
  // as THROTTLE_IP_MAILS needs) mails far more than MAILS_PER_ACCOUNT_PER_HOUR reset links. The store already
  // refuses an add past the cap (addToWindow's `size(#events) < :cap`), its answer is just dropped.
  // Fix: ThrottleStore.addToWindow returns the boolean conditionalWrite gives (src/domain/ports.ts and
  // src/adapters/dynamodb/throttle-store.ts), and takeAccountMail returns that instead of trusting the count it
  // read; the same for the client mail window in forgotPassword, resendVerification and changeEmail (429 when the
  // add is refused).
  it('a burst of forgot-password requests for one account mails at most MAILS_PER_ACCOUNT_PER_HOUR links', async () => {
    await verifiedAccount(s, 'burstvictim', 'burstvictim@example.com');
    // Every throttle write is held a little, so the requests of the burst all read the count before any add lands.
    proxy.setFault((call) =>
      call.operation === 'UpdateItem' && call.table === s.config.throttleTableName ? { delayRequestMs: 300 } : undefined,
    );

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(s, '/password/forgot', { username: 'burstvictim' }, { 'X-Test-Peer': `203.0.113.${100 + i}` })),
    );

    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(202));
    expect(await resetMails(s, 'burstvictim@example.com')).toBeLessThanOrEqual(5);
  });
});

describe('addresses the mailer reads as something else', () => {
  // Found by attack, now fixed: normalizeEmail (src/domain/email.ts) holds the local part to its length only, and the mailers hand the
  // address to nodemailer as a string, which parses it as an address list with comments and angle brackets. So
  // `someone,attacker@evil.test` is stored, claimed and put in access tokens (email, email_verified: true) while
  // the link went to attacker@evil.test; `x<y>@evil.test` goes to the bare `y`. A verified address is then not the
  // mailbox that proved it. Fix: src/domain/email.ts normalizeEmail refuses a local part that is not a dot-atom
  // (ASCII atext `A-Za-z0-9!#$%&'*+/=?^_\`{|}~-`, non-ASCII letters, marks and digits; no leading, trailing or
  // double dot; no control or format characters), and smtp-mailer.ts / outbox-mailer.ts pass
  // `to: { name: '', address: message.to }` so nodemailer never parses it (a contract amendment for the lead).
  it('the verification link of a stored address goes to exactly that address', async () => {
    await register(s, 'listaddr', 'someone,attacker@evil.test');

    const elsewhere = await s.outbox.to('attacker@evil.test');

    expect(elsewhere).toHaveLength(0);
  });

  // Found by attack, now fixed: 5xx for malformed input. `a(b@evil.test` passes normalizeEmail, then nodemailer reads no recipient in
  // it and the SMTP mailer fails ("No recipients defined"): POST /me/email answers 503 service_unavailable, every
  // time (and a registration stores an address no mail can reach). Fix: as above (the dot-atom rule makes it a
  // 400 invalid_request naming email).
  it('POST /me/email with an address no mailer can send to is a 4xx, not a 5xx', async () => {
    const smtp = await startTestSmtpServer();
    try {
      const viaSmtp = await start({ SMTP_URL: smtp.url, MAIL_FROM: 'login-service <no-reply@example.com>' });
      await register(viaSmtp, 'parenaddr');
      const session = await logIn(viaSmtp, { username: 'parenaddr' });
      const control = await post(viaSmtp, '/me/email', { email: 'paren-ok@example.com', password: PASSWORD }, bearer(session.token));

      const response = await post(viaSmtp, '/me/email', { email: 'a(b@evil.test', password: PASSWORD }, bearer(session.token));

      expect(control.status).toBe(202);
      expect(smtp.arrivals.map((arrival) => arrival.envelope.to)).toEqual([['paren-ok@example.com']]);
      expect(response.status).toBeLessThan(500);
    } finally {
      await smtp.close();
    }
  });

  it('no header can be injected through an address: line breaks and Unicode separators are refused', async () => {
    for (const email of ['a@evil.test\r\nBcc: x@evil.test', 'a\nb@evil.test', 'a\u2028b@evil.test', 'a\u0085b@evil.test']) {
      const response = await register(s, `inject${Math.random().toString(36).slice(2, 9)}`, email);
      expect(response.status).toBe(400);
      expect(await body(response)).toMatchObject({ code: 'invalid_request', field: 'email' });
    }
  });
});

describe('malformed input on the new routes', () => {
  // Long, but within the 16 KiB body limit (a bigger body is a 413 before any route sees it).
  const huge = 'a'.repeat(7_000);
  const values: unknown[] = [
    null, true, 0, -1, 1e309, '', ' ', huge, [], ['a@b.com'], {}, { $ne: null },
    '\u0000', '\ud800', 'a\ud800@example.com', '😀@😀.com', 'İ'.repeat(130) + '@example.com', `${huge.slice(0, 3_000)}@example.com`,
    'a@example.com\u0000', '@', 'a@b', 'a@@example.com', 'a@xn--.com', 'A@EXAMPLE.COM', '%00', '../../etc/passwd',
  ];
  const bodies = (fields: string[]): unknown[] => [
    null, [], 'a string', 42, {},
    ...fields.flatMap((field) => values.map((value) => ({ [field]: value }))),
    ...values.map((value) => Object.fromEntries(fields.map((field) => [field, value]))),
    { username: 'fuzzer', email: 'fuzzer@example.com', token: 'x', newPassword: NEW_PASSWORD, password: PASSWORD, extra: huge },
    JSON.parse('{"__proto__": {"email": "proto@example.com"}, "constructor": {"prototype": {}}}'),
  ];
  const raw = ['{', '{"email":', '[1,2', '"\\ud800"', `{"token":"${'\\u0000'.repeat(1000)}"}`, '{"a":'.repeat(2000)];

  it('never answers 5xx, and every error is the usual JSON body with a code', async () => {
    await register(s, 'fuzzowner', 'fuzzowner@example.com');
    const session = await logIn(s, { username: 'fuzzowner' });
    const routes: Array<{ path: string; fields: string[]; auth: boolean }> = [
      { path: '/email/verify', fields: ['token'], auth: false },
      { path: '/email/verify/resend', fields: ['token'], auth: true },
      { path: '/me/email', fields: ['email', 'password'], auth: true },
      { path: '/password/forgot', fields: ['username', 'email'], auth: false },
      { path: '/password/reset', fields: ['token', 'newPassword'], auth: false },
      { path: '/login', fields: ['email', 'password'], auth: false },
      { path: '/register', fields: ['name', 'username', 'password', 'email'], auth: false },
    ];
    const failures: string[] = [];
    for (const route of routes) {
      const headers = route.auth ? bearer(session.token) : {};
      const requests = [...bodies(route.fields).map((b) => JSON.stringify(b)), ...raw];
      for (const text of requests) {
        const response = await post(s, route.path, text, headers).catch((error: unknown) => error as Error);
        if (response instanceof Error) {
          failures.push(`${route.path} ${text.slice(0, 80)} -> ${response.message}`);
          continue;
        }
        const answer = await response.text();
        const parsed = answer === '' ? {} : (JSON.parse(answer) as Record<string, unknown>);
        if (response.status >= 500 || (response.status >= 400 && typeof parsed.code !== 'string')) {
          failures.push(`${route.path} ${text.slice(0, 80)} -> ${response.status} ${answer.slice(0, 120)}`);
        }
      }
    }

    expect(failures).toEqual([]);
  });
});
