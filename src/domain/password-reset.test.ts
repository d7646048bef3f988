// Forgot and reset password (issue 10) at the use-case level, on the in-memory fakes: links go only to verified
// addresses, every answer is the same and padded; a reset works once, only the newest, until RESET_TTL, and ends
// every session.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, EMAIL_DEFAULTS, storedUser } from '../../test/fakes';
import { changePassword } from './account';
import { logIn } from './log-in';
import { FORGOT_PASSWORD_MESSAGE, forgotPassword, resetPassword, type ForgotPasswordInput } from './password-reset';
import type { UserRecord } from './ports';

const PASSWORD = 'correct horse';
const NEW_PASSWORD = 'battery staple';
const ALICE_MAIL = 'alice@example.com';
const RESET_TTL = EMAIL_DEFAULTS.resetTtlSeconds;

type Options = Parameters<typeof createWorld>[0];

const verified = { email: ALICE_MAIL, emailVerified: true };

/** Alice with the address state given (verified by default, and so claimed), and bob without an address. */
const setup = (alice: Partial<UserRecord> = verified, options: Options = {}) => {
  const world = createWorld({
    users: [storedUser(alice), storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob' })],
    ...options,
  });
  return {
    ...world,
    forgot: (input: ForgotPasswordInput, context = CONTEXT) => forgotPassword(world.deps, input, context),
    reset: (token: string, newPassword = NEW_PASSWORD, context = CONTEXT) =>
      resetPassword(world.deps, { token, newPassword }, context),
    /** The token of the last reset link sent to `to`. */
    linkTo: (to = ALICE_MAIL) => world.mail.tokenFor(to, 'reset_password'),
    logInAlice: (password = PASSWORD, context = CONTEXT) =>
      logIn(world.deps, { username: 'alice', password }, context),
  };
};

describe('forgotPassword', () => {
  it.each([
    ['the username', { username: 'Alice' }],
    ['the verified address', { email: 'ALICE@example.com' }],
  ])('mails a reset link to the verified address when asked by %s', async (_label, input) => {
    // Prepare
    const { forgot, mail, oneTimeTokens, tokenMaker } = setup();

    // Act
    const answer = await forgot(input);

    // Assess
    expect(answer).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
    expect(mail.sent).toEqual([
      { kind: 'reset_password', to: ALICE_MAIL, username: 'alice', token: expect.any(String), expiresInSeconds: RESET_TTL },
    ]);
    expect(oneTimeTokens.issued).toEqual([
      expect.objectContaining({ digest: tokenMaker.digest(mail.tokenFor(ALICE_MAIL, 'reset_password')), purpose: 'reset_password', uid: 'uid-alice', email: ALICE_MAIL, credentialVersion: 0 }),
    ]);
  });

  it.each<[string, Partial<UserRecord>, ForgotPasswordInput]>([
    ['an unknown username', verified, { username: 'nobody' }],
    ['an unknown address', verified, { email: 'nobody@example.com' }],
    ['an account without an address', {}, { username: 'alice' }],
    ['an account whose address is unverified', { email: ALICE_MAIL, emailVerified: false }, { username: 'alice' }],
    ['an unverified address', { email: ALICE_MAIL, emailVerified: false }, { email: ALICE_MAIL }],
    ['an address only pending on a verified account', { ...verified, pendingEmail: 'next@example.com' }, { email: 'next@example.com' }],
  ])('answers the same for %s, and sends and stores nothing', async (_label, alice, input) => {
    // Prepare
    const { forgot, mail, oneTimeTokens, throttle } = setup(alice);

    // Act
    const answer = await forgot(input);

    // Assess
    expect(answer).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
    expect(mail.attempts.count).toBe(0);
    expect(oneTimeTokens.issued).toEqual([]);
    // No hourly mail of any account was taken either.
    expect(throttle.calls.addToWindow).toBe(1); // the client's mail window only
  });

  it('records password.reset_requested, with the name unknown when there is no such account', async () => {
    // Prepare
    const { forgot, audit } = setup();

    // Act
    await forgot({ username: 'alice' });
    await forgot({ username: 'nobody' });

    // Assess
    expect(audit.entries.map(({ event, username, known }) => ({ event, username, known }))).toEqual([
      { event: 'password.reset_requested', username: 'alice', known: true },
      { event: 'password.reset_requested', username: 'nobody', known: false },
    ]);
  });

  it('pads every answer, whatever happened: sent, unknown, unverified, past the hourly mails, mail down', async () => {
    // Prepare
    const { forgot, forgotPacer, mail } = setup(verified, {
      users: [
        storedUser(verified),
        storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob', email: 'bob@example.com', emailVerified: false }),
        storedUser({ username: 'carol', name: 'Carol', uid: 'uid-carol', email: 'carol@example.com', emailVerified: true }),
      ],
      emailSettings: { mailsPerAccountPerHour: 1 },
    });
    const padded = async (input: ForgotPasswordInput) => {
      const before = forgotPacer.calls.pad.length;
      await forgot(input);
      return forgotPacer.calls.pad.length - before;
    };

    // Act
    const sent = await padded({ username: 'alice' });
    const unknown = await padded({ username: 'nobody' });
    const unverifiedAccount = await padded({ username: 'bob' });
    const capped = await padded({ email: ALICE_MAIL });
    mail.fail(new Error('smtp down'));
    const mailDown = await padded({ username: 'carol' });

    // Assess
    expect([sent, unknown, unverifiedAccount, capped, mailDown]).toEqual([1, 1, 1, 1, 1]);
    expect(mail.sent.map((one) => one.to)).toEqual([ALICE_MAIL]);
  });

  it('pads and answers the same when the token store fails for a real account', async () => {
    // Prepare
    const { forgot, forgotPacer, oneTimeTokens, mail, log } = setup();
    oneTimeTokens.fail('issue', new Error('store down'));

    // Act
    const answer = await forgot({ username: 'alice' });

    // Assess
    expect(answer).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
    expect(forgotPacer.calls.pad).toHaveLength(1);
    expect(mail.sent).toEqual([]);
    expect(log.warnings.map((warning) => warning.message)).toEqual(['reset link not sent']);
  });

  it('learns the time only from answers that sent a link (what every other answer is padded to)', async () => {
    // Prepare
    const { forgot, forgotPacer } = setup();

    // Act
    await forgot({ username: 'nobody' });
    await forgot({ username: 'alice' });

    // Assess
    expect(forgotPacer.calls.record).toHaveLength(1);
    expect(forgotPacer.calls.pad).toHaveLength(2);
  });

  it('learns nothing from a send that failed (a quick failure would pull the pad below a real send)', async () => {
    // Prepare
    const { forgot, forgotPacer, mail } = setup();
    mail.fail(new Error('smtp down'));

    // Act
    const answer = await forgot({ username: 'alice' });

    // Assess
    expect(answer).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
    expect(forgotPacer.calls.record).toHaveLength(0);
    expect(forgotPacer.calls.pad).toHaveLength(1);
  });

  it("pads a process's first send like the answers before it, then learns its time", async () => {
    // Prepare: the real pacer (start value 20 ms) on the fake clock; sending takes 0 ms of that clock here
    const { forgot, timer } = setup(verified, { realPacer: true });

    // Act
    await forgot({ username: 'nobody' });
    await forgot({ username: 'alice' });
    await forgot({ username: 'nobody' });

    // Assess: the first send waited like the unknown name before it; then the learnt 0 ms means no wait
    expect(timer.sleeps).toEqual([19, 19]);
  });

  it.each<[string, ForgotPasswordInput]>([
    ['both a username and an email', { username: 'alice', email: ALICE_MAIL }],
    ['neither', {}],
  ])('answers invalid_request for %s, sending nothing', async (_label, input) => {
    // Prepare
    const { forgot, mail } = setup();

    // Act
    const attempt = forgot(input);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request' });
    expect(mail.sent).toEqual([]);
  });

  it('answers invalid_request naming email for a malformed address', async () => {
    // Prepare
    const { forgot } = setup();

    // Act
    const attempt = forgot({ email: 'not an address' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'email' } });
  });

  it('past the account\u2019s hourly mails answers the same 202 message and sends nothing', async () => {
    // Prepare
    const { forgot, mail } = setup(verified, { emailSettings: { mailsPerAccountPerHour: 2 } });
    await forgot({ username: 'alice' });
    await forgot({ email: ALICE_MAIL });

    // Act
    const third = await forgot({ username: 'alice' });

    // Assess
    expect(third).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
    expect(mail.sent).toHaveLength(2);
  });

  it('answers 429 past the client\u2019s mail ceiling, for a real account and an unknown one alike', async () => {
    // Prepare
    const { forgot, mail } = setup(verified, { throttleSettings: { ipMails: 2 } });
    await forgot({ username: 'nobody' });
    await forgot({ username: 'alice' });

    // Act
    const real = forgot({ username: 'alice' });
    const unknown = forgot({ username: 'nobody' });

    // Assess
    await expect(real).rejects.toMatchObject({ code: 'too_many_attempts' });
    await expect(unknown).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(mail.sent).toHaveLength(1);
  });

  it('answers the same when the mail cannot be sent', async () => {
    // Prepare
    const { forgot, mail } = setup();
    mail.fail(new Error('ses down'));

    // Act
    const answer = await forgot({ username: 'alice' });

    // Assess
    expect(answer).toEqual({ message: FORGOT_PASSWORD_MESSAGE });
  });
});

describe('resetPassword', () => {
  it('sets the new password: the credential version bumped, every session ended, a notice sent, no session started', async () => {
    // Prepare
    const world = setup();
    await world.logInAlice();
    await world.logInAlice();
    await world.forgot({ username: 'alice' });

    // Act
    const result = await world.reset(world.linkTo());

    // Assess
    expect(result).toBeUndefined();
    expect(world.users.peek('alice')).toMatchObject({ passwordHash: 'fake$' + NEW_PASSWORD, credentialVersion: 1 });
    expect(world.sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(world.mail.to(ALICE_MAIL, 'password_changed')).toEqual([
      { kind: 'password_changed', to: ALICE_MAIL, username: 'alice' },
    ]);
    expect(world.audit.entries.map((entry) => entry.event)).toContain('password.reset');
    await expect(world.logInAlice(PASSWORD)).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(world.logInAlice(NEW_PASSWORD)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('forgets the name\u2019s failed logins, so a user locked out by a guesser gets back in', async () => {
    // Prepare
    const world = setup();
    for (let i = 0; i < 5; i += 1) await world.logInAlice(`guess ${i}`).catch(() => undefined);
    await expect(world.logInAlice(PASSWORD)).rejects.toMatchObject({ code: 'too_many_attempts' });
    await world.forgot({ username: 'alice' });

    // Act
    await world.reset(world.linkTo());

    // Assess
    expect(world.users.peekLogin('alice')?.failures).toBe(0);
    await expect(world.logInAlice(NEW_PASSWORD)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('works once: the same link again is invalid_reset_token', async () => {
    // Prepare
    const { forgot, reset, linkTo } = setup();
    await forgot({ username: 'alice' });
    const token = linkTo();
    await reset(token);

    // Act
    const again = reset(token, 'another fine password');

    // Assess
    await expect(again).rejects.toMatchObject({ code: 'invalid_reset_token' });
  });

  it('accepts only the newest link of the account', async () => {
    // Prepare
    const { forgot, reset, linkTo, users } = setup();
    await forgot({ username: 'alice' });
    const first = linkTo();
    await forgot({ email: ALICE_MAIL });
    const second = linkTo();

    // Act
    const old = reset(first);

    // Assess
    await expect(old).rejects.toMatchObject({ code: 'invalid_reset_token' });
    expect(users.peek('alice')?.credentialVersion).toBe(0);
    await expect(reset(second)).resolves.toBeUndefined();
  });

  it('accepts a link until RESET_TTL_SECONDS have passed, and not from then on', async () => {
    // Prepare
    const late = setup();
    await late.forgot({ username: 'alice' });
    const lastMoment = setup();
    await lastMoment.forgot({ username: 'alice' });

    // Act
    late.clock.advanceSeconds(RESET_TTL);
    lastMoment.clock.advanceSeconds(RESET_TTL - 1);
    const expired = late.reset(late.linkTo(), NEW_PASSWORD, late.context());
    const inTime = lastMoment.reset(lastMoment.linkTo(), NEW_PASSWORD, lastMoment.context());

    // Assess
    await expect(expired).rejects.toMatchObject({ code: 'invalid_reset_token' });
    await expect(inTime).resolves.toBeUndefined();
  });

  it('refuses a weak password with weak_password and its reasons, and the link stays usable', async () => {
    // Prepare
    const { forgot, reset, linkTo, users, sessions, logInAlice } = setup();
    await logInAlice();
    await forgot({ username: 'alice' });
    const token = linkTo();

    // Act
    const weak = reset(token, 'password');

    // Assess
    await expect(weak).rejects.toMatchObject({ code: 'weak_password', details: { reasons: expect.any(Array) } });
    expect(users.peek('alice')).toMatchObject({ passwordHash: 'fake$' + PASSWORD, credentialVersion: 0 });
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
    await expect(reset(token)).resolves.toBeUndefined();
  });

  it.each([
    ['an unknown token', 'y'.repeat(43)],
    ['an empty token', ''],
    ['a token far too long to be one', 'y'.repeat(10_000)],
  ])('answers invalid_reset_token for %s', async (_label, token) => {
    // Prepare
    const { reset } = setup();

    // Act
    const attempt = reset(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_reset_token' });
  });

  it('does not take a verification link for a reset link', async () => {
    // Prepare
    const { reset, tokenMaker, oneTimeTokens, clock, users } = setup();
    const token = tokenMaker.newToken();
    await oneTimeTokens.issue({
      digest: tokenMaker.digest(token),
      purpose: 'verify_email',
      uid: 'uid-alice',
      username: 'alice',
      email: ALICE_MAIL,
      expiresAt: clock.now().getTime() + 60_000,
    });

    // Act
    const attempt = reset(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_reset_token' });
    expect(users.peek('alice')?.credentialVersion).toBe(0);
  });

  it('answers invalid_reset_token when the name now belongs to another account', async () => {
    // Prepare
    const { forgot, reset, linkTo, users } = setup();
    await forgot({ username: 'alice' });
    users.patch('alice', { uid: 'uid-new-alice' });

    // Act
    const attempt = reset(linkTo());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_reset_token' });
    expect(users.peek('alice')?.passwordHash).toBe('fake$' + PASSWORD);
  });

  it('counts bad tokens toward the client\u2019s login failure ceiling: past it, 429, and logins from there too', async () => {
    // Prepare
    const { reset, logInAlice } = setup(verified, { throttleSettings: { ipFailures: 3 } });
    for (let i = 0; i < 3; i += 1) await reset(`guess-${i}`).catch(() => undefined);

    // Act
    const fourth = reset('guess-4');
    const login = logInAlice();
    const elsewhere = reset('guess-5', NEW_PASSWORD, { ...CONTEXT, ip: '203.0.113.9' });

    // Assess
    await expect(fourth).rejects.toMatchObject({ code: 'too_many_attempts' });
    await expect(login).rejects.toMatchObject({ code: 'too_many_attempts' });
    await expect(elsewhere).rejects.toMatchObject({ code: 'invalid_reset_token' });
  });

  it('lets exactly one of two concurrent resets with one link succeed', async () => {
    // Prepare
    const { forgot, reset, linkTo, users } = setup();
    await forgot({ username: 'alice' });
    const token = linkTo();

    // Act
    const results = await Promise.allSettled([reset(token, 'first new password'), reset(token, 'second new password')]);

    // Assess
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.code)).toEqual([
      'invalid_reset_token',
    ]);
    expect(users.peek('alice')?.credentialVersion).toBe(1);
  });

  it('succeeds when the notice cannot be sent', async () => {
    // Prepare
    const { forgot, reset, linkTo, mail, users } = setup();
    await forgot({ username: 'alice' });
    mail.fail(new Error('smtp down'));

    // Act
    const attempt = reset(linkTo());

    // Assess
    await expect(attempt).resolves.toBeUndefined();
    expect(users.peek('alice')?.credentialVersion).toBe(1);
  });
});

describe('the password_changed notice', () => {
  it('goes to the verified address after a password change too', async () => {
    // Prepare
    const world = setup();
    await world.logInAlice();
    const claims = { username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'sid-x' };

    // Act
    await changePassword(world.deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    expect(world.mail.sent).toEqual([{ kind: 'password_changed', to: ALICE_MAIL, username: 'alice' }]);
  });

  it('goes nowhere for an unverified address', async () => {
    // Prepare
    const world = setup({ email: ALICE_MAIL, emailVerified: false });
    await world.logInAlice();
    const claims = { username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'sid-x' };

    // Act
    await changePassword(world.deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    expect(world.mail.sent).toEqual([]);
  });
});
