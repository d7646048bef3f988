// Email verification, resend and change of address (issue 10) at the use-case level, on the in-memory fakes: links
// work once, only the newest, until VERIFY_TTL; a verified address is one account's; the ceilings on mails.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, EMAIL_DEFAULTS, START, storedUser } from '../../test/fakes';
import { changeEmail, deleteAccount } from './account';
import { resendVerification, verifyEmail } from './email-verification';
import { logIn } from './log-in';
import type { AccessClaims, UserRecord } from './ports';
import { register } from './register';

const PASSWORD = 'correct horse';
const ALICE_MAIL = 'alice@example.com';
const NEW_MAIL = 'alice@new.example';
const VERIFY_TTL = EMAIL_DEFAULTS.verifyTtlSeconds;

/** What the bearer check hands the use cases for a live session of alice's. */
const ALICE: AccessClaims = { username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'sid-alice' };

type Options = Parameters<typeof createWorld>[0];

/** Alice, with the address state given (none by default), and bob, who has verified bob@example.com. */
const setup = (alice: Partial<UserRecord> = {}, options: Options = {}) => {
  const world = createWorld({
    users: [
      storedUser(alice),
      storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob', email: 'bob@example.com', emailVerified: true }),
    ],
    ...options,
  });
  return {
    ...world,
    verify: (token: string, context = CONTEXT) => verifyEmail(world.deps, { token }, context),
    resend: (context = CONTEXT) => resendVerification(world.deps, ALICE, context),
    change: (email: string, password = PASSWORD, context = CONTEXT) =>
      changeEmail(world.deps, ALICE, { email, password }, context),
    /** The token of the last verification link sent to `to`. */
    linkTo: (to: string) => world.mail.tokenFor(to, 'verify_email'),
  };
};

const unverified = { email: ALICE_MAIL, emailVerified: false };
const verified = { email: ALICE_MAIL, emailVerified: true };

describe('verifyEmail', () => {
  it('marks the address of a registration link verified and claims it for the account', async () => {
    // Prepare
    const world = createWorld({ users: [], idPrefix: 'uid' });
    await register(world.deps, { name: 'Alice', username: 'alice', password: PASSWORD, email: 'Alice@Example.com' }, CONTEXT);
    const token = world.mail.tokenFor(ALICE_MAIL, 'verify_email');

    // Act
    const result = await verifyEmail(world.deps, { token }, CONTEXT);

    // Assess
    expect(result).toEqual({ username: 'alice', email: ALICE_MAIL, emailVerified: true });
    expect(world.users.peek('alice')).toMatchObject({ email: ALICE_MAIL, emailVerified: true, pendingEmail: null });
    expect(world.emailClaims.holder(ALICE_MAIL)).toEqual({ email: ALICE_MAIL, uid: 'uid-1', username: 'alice' });
    expect(world.audit.entries.map((entry) => entry.event)).toEqual([
      'user.registered',
      'email.verification_sent',
      'email.verified',
    ]);
  });

  it('accepts a link once: used again it is invalid_verification_token', async () => {
    // Prepare
    const { resend, verify, linkTo } = setup(unverified);
    await resend();
    const token = linkTo(ALICE_MAIL);
    await verify(token);

    // Act
    const again = verify(token);

    // Assess
    await expect(again).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });

  it('accepts only the newest link: a resend supersedes the one before', async () => {
    // Prepare
    const { resend, verify, linkTo, users } = setup(unverified);
    await resend();
    const first = linkTo(ALICE_MAIL);
    await resend();
    const second = linkTo(ALICE_MAIL);

    // Act
    const old = verify(first);

    // Assess
    await expect(old).rejects.toMatchObject({ code: 'invalid_verification_token' });
    expect(users.peek('alice')?.emailVerified).toBe(false);
    await expect(verify(second)).resolves.toMatchObject({ emailVerified: true });
  });

  it('accepts a link until VERIFY_TTL_SECONDS have passed, and not from then on', async () => {
    // Prepare
    const late = setup(unverified);
    await late.resend();
    const lastMoment = setup(unverified);
    await lastMoment.resend();

    // Act
    late.clock.advanceSeconds(VERIFY_TTL);
    lastMoment.clock.advanceSeconds(VERIFY_TTL - 1);
    const expired = late.verify(late.linkTo(ALICE_MAIL), late.context());
    const inTime = lastMoment.verify(lastMoment.linkTo(ALICE_MAIL), lastMoment.context());

    // Assess
    await expect(expired).rejects.toMatchObject({ code: 'invalid_verification_token' });
    await expect(inTime).resolves.toMatchObject({ emailVerified: true });
  });

  it('tells the mailbox holder email_taken when another account verified the address first, and leaves it unverified', async () => {
    // Prepare
    const { resend, verify, linkTo, users, emailClaims } = setup({ email: 'bob@example.com', emailVerified: false });
    await resend();

    // Act
    const attempt = verify(linkTo('bob@example.com'));

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'email_taken' });
    expect(users.peek('alice')).toMatchObject({ email: 'bob@example.com', emailVerified: false });
    expect(emailClaims.holder('bob@example.com')?.uid).toBe('uid-bob');
  });

  it.each([
    ['an unknown token', 'x'.repeat(43)],
    ['an empty token', ''],
    ['a token far too long to be one', 'x'.repeat(10_000)],
  ])('answers invalid_verification_token for %s', async (_label, token) => {
    // Prepare
    const { verify } = setup(unverified);

    // Act
    const attempt = verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });

  it('does not take a reset link for a verification link', async () => {
    // Prepare
    const { verify, tokenMaker, oneTimeTokens, clock } = setup(unverified);
    const token = tokenMaker.newToken();
    await oneTimeTokens.issue({
      digest: tokenMaker.digest(token),
      purpose: 'reset_password',
      uid: 'uid-alice',
      username: 'alice',
      email: null,
      expiresAt: clock.now().getTime() + 60_000,
    });

    // Act
    const attempt = verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });

  it('answers invalid_verification_token once the account is deleted (its links were revoked)', async () => {
    // Prepare
    const { deps, resend, verify, linkTo } = setup(unverified);
    await resend();
    await deleteAccount(deps, ALICE, { password: PASSWORD }, CONTEXT);

    // Act
    const attempt = verify(linkTo(ALICE_MAIL));

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });

  it('answers invalid_verification_token for a link whose name now belongs to another account', async () => {
    // Prepare
    const { resend, verify, linkTo, users } = setup(unverified);
    await resend();
    users.patch('alice', { uid: 'uid-new-alice' });

    // Act
    const attempt = verify(linkTo(ALICE_MAIL));

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_verification_token' });
    expect(users.peek('alice')?.emailVerified).toBe(false);
  });

  it('counts bad tokens toward the client\u2019s login failure ceiling: past it, 429, and logins from there too', async () => {
    // Prepare
    const { deps, verify } = setup(unverified, { throttleSettings: { ipFailures: 3 } });
    for (let i = 0; i < 3; i += 1) await verify(`guess-${i}`).catch(() => undefined);

    // Act
    const fourth = verify('guess-4');
    const login = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    const elsewhere = verify('guess-5', { ...CONTEXT, ip: '203.0.113.9' });

    // Assess
    await expect(fourth).rejects.toMatchObject({ code: 'too_many_attempts' });
    await expect(login).rejects.toMatchObject({ code: 'too_many_attempts' });
    await expect(elsewhere).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });

  it('does not count a good link against the client', async () => {
    // Prepare
    const { resend, verify, linkTo, throttle } = setup(unverified, { throttleSettings: { ipFailures: 1 } });
    await resend();

    // Act
    await verify(linkTo(ALICE_MAIL));

    // Assess
    expect(throttle.peekWindow(`login#${CONTEXT.ip}#${START.getTime()}`)).toBeUndefined();
    await expect(verify('guess')).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });
});

describe('changeEmail', () => {
  it('keeps a verified address in force and records the new one as pending, with a link sent to it', async () => {
    // Prepare
    const { change, users, mail, emailClaims } = setup(verified);

    // Act
    await change(NEW_MAIL);

    // Assess
    expect(users.peek('alice')).toMatchObject({ email: ALICE_MAIL, emailVerified: true, pendingEmail: NEW_MAIL });
    expect(mail.sent).toEqual([
      { kind: 'verify_email', to: NEW_MAIL, token: expect.any(String), expiresInSeconds: VERIFY_TTL },
    ]);
    expect(emailClaims.holder(ALICE_MAIL)?.uid).toBe('uid-alice');
  });

  it('once the new address is verified: it replaces the old, whose claim is released and which gets an email_changed notice', async () => {
    // Prepare
    const world = setup(verified);
    await world.change(NEW_MAIL);

    // Act
    const result = await world.verify(world.linkTo(NEW_MAIL));

    // Assess
    expect(result).toEqual({ username: 'alice', email: NEW_MAIL, emailVerified: true });
    expect(world.users.peek('alice')).toMatchObject({ email: NEW_MAIL, emailVerified: true, pendingEmail: null });
    expect(world.emailClaims.holder(NEW_MAIL)?.uid).toBe('uid-alice');
    expect(world.emailClaims.holder(ALICE_MAIL)).toBeUndefined();
    expect(world.mail.to(ALICE_MAIL)).toEqual([{ kind: 'email_changed', to: ALICE_MAIL, username: 'alice' }]);
    expect(world.audit.entries.map((entry) => entry.event)).toContain('email.changed');
  });

  it('still releases and tells the old address when the confirming write was retried after it landed', async () => {
    // Prepare: the store's retry of a landed write sees the new state as old, so the write reports nothing replaced
    const world = setup(verified);
    await world.change(NEW_MAIL);
    const confirm = world.users.confirmEmail.bind(world.users);
    world.users.confirmEmail = async (...args) => ((await confirm(...args)) === false ? false : { replaced: null });

    // Act
    await world.verify(world.linkTo(NEW_MAIL));

    // Assess
    expect(world.emailClaims.holder(ALICE_MAIL)).toBeUndefined();
    expect(world.mail.to(ALICE_MAIL)).toEqual([{ kind: 'email_changed', to: ALICE_MAIL, username: 'alice' }]);
  });

  it('replaces an unverified address outright (nothing pending), and the old address\u2019s link stops working', async () => {
    // Prepare
    const world = setup(unverified);
    await world.resend();
    const oldLink = world.linkTo(ALICE_MAIL);

    // Act
    await world.change(NEW_MAIL);

    // Assess
    expect(world.users.peek('alice')).toMatchObject({ email: NEW_MAIL, emailVerified: false, pendingEmail: null });
    await expect(world.verify(oldLink)).rejects.toMatchObject({ code: 'invalid_verification_token' });
    await expect(world.verify(world.linkTo(NEW_MAIL))).resolves.toMatchObject({ email: NEW_MAIL });
    expect(world.mail.to(ALICE_MAIL, 'email_changed')).toEqual([]);
  });

  it('gives an account without an address its first one, unverified', async () => {
    // Prepare
    const { change, users, mail } = setup();

    // Act
    await change('Alice@Example.COM');

    // Assess
    expect(users.peek('alice')).toMatchObject({ email: ALICE_MAIL, emailVerified: false, pendingEmail: null });
    expect(mail.to(ALICE_MAIL, 'verify_email')).toHaveLength(1);
  });

  it('sends the link even for an address another account verified; its verification then answers email_taken', async () => {
    // Prepare
    const world = setup(verified);

    // Act
    await world.change('bob@example.com');

    // Assess
    expect(world.mail.to('bob@example.com', 'verify_email')).toHaveLength(1);
    await expect(world.verify(world.linkTo('bob@example.com'))).rejects.toMatchObject({ code: 'email_taken' });
    expect(world.users.peek('alice')).toMatchObject({ email: ALICE_MAIL, emailVerified: true });
    expect(world.emailClaims.holder(ALICE_MAIL)?.uid).toBe('uid-alice');
  });

  it('answers invalid_credentials for a wrong password and changes nothing; the account\u2019s sessions go on', async () => {
    // Prepare
    const { change, users, mail, sessions, deps } = setup(verified);
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Act
    const attempt = change(NEW_MAIL, 'wrong password');

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(users.peek('alice')).toMatchObject({ email: ALICE_MAIL, pendingEmail: null });
    expect(mail.sent).toEqual([]);
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
  });

  it('counts a wrong password as a failed login of the name', async () => {
    // Prepare
    const { change, users } = setup(verified);

    // Act
    await change(NEW_MAIL, 'wrong password').catch(() => undefined);

    // Assess
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('rejects the account\u2019s own verified address as invalid_request naming email', async () => {
    // Prepare
    const { change, mail } = setup(verified);

    // Act
    const attempt = change('ALICE@example.com');

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'email' } });
    expect(mail.sent).toEqual([]);
  });

  it('rejects a malformed address before any password check', async () => {
    // Prepare
    const { change, hasher } = setup(verified);

    // Act
    const attempt = change('alice at example');

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'email' } });
    expect(hasher.calls.verify).toBe(0);
  });

  it('answers service_unavailable when the mail cannot be sent (the user waits for it), logging no token', async () => {
    // Prepare
    const { change, mail, log } = setup(verified);
    mail.fail(new Error('smtp down'));

    // Act
    const attempt = change(NEW_MAIL);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(log.warnings).toEqual([{ message: 'mail not sent', fields: { kind: 'verify_email', error: 'smtp down' } }]);
  });

  it('refuses past the client\u2019s mail ceiling with 429 before checking the password', async () => {
    // Prepare
    const { change, hasher, mail } = setup(verified, { throttleSettings: { ipMails: 2 } });
    await change('a1@example.com');
    await change('a2@example.com');
    const checks = hasher.calls.verify;

    // Act
    const third = change('a3@example.com');

    // Assess
    await expect(third).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(hasher.calls.verify).toBe(checks);
    expect(mail.sent).toHaveLength(2);
  });

  it('records the change but sends nothing past the account\u2019s hourly mails', async () => {
    // Prepare
    const { change, users, mail } = setup(verified, { emailSettings: { mailsPerAccountPerHour: 1 } });
    await change('a1@example.com');

    // Act
    await change('a2@example.com');

    // Assess
    expect(users.peek('alice')?.pendingEmail).toBe('a2@example.com');
    expect(mail.sent.map((sent) => sent.to)).toEqual(['a1@example.com']);
  });
});

describe('resendVerification', () => {
  it('sends a fresh link to an unverified address', async () => {
    // Prepare
    const { resend, mail, audit } = setup(unverified);

    // Act
    await resend();

    // Assess
    expect(mail.sent).toEqual([{ kind: 'verify_email', to: ALICE_MAIL, token: expect.any(String), expiresInSeconds: VERIFY_TTL }]);
    expect(audit.entries.map((entry) => entry.event)).toEqual(['email.verification_sent']);
  });

  it('sends a fresh link to the pending address of a change, not to the verified one', async () => {
    // Prepare
    const { resend, mail } = setup({ ...verified, pendingEmail: NEW_MAIL });

    // Act
    await resend();

    // Assess
    expect(mail.sent.map((sent) => sent.to)).toEqual([NEW_MAIL]);
  });

  it.each([
    ['no address', {}],
    ['a verified address and no change pending', verified],
  ])('answers invalid_request for an account with %s, and sends nothing', async (_label, alice) => {
    // Prepare
    const { resend, mail, oneTimeTokens } = setup(alice);

    // Act
    const attempt = resend();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request' });
    expect(mail.sent).toEqual([]);
    expect(oneTimeTokens.issued).toEqual([]);
  });

  it('answers invalid_token when the account is gone', async () => {
    // Prepare
    const { resend, users } = setup(unverified);
    users.drop('alice');

    // Act
    const attempt = resend();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('past the account\u2019s hourly mails answers the same and sends nothing; the last link still works; the next hour sends again', async () => {
    // Prepare
    const world = setup(unverified, { emailSettings: { mailsPerAccountPerHour: 2 } });
    await world.resend();
    await world.resend();
    const lastSent = world.linkTo(ALICE_MAIL);

    // Act
    const capped = await world.resend();
    world.clock.advanceSeconds(3600);
    await world.resend(world.context());

    // Assess
    expect(capped).toBeUndefined();
    expect(world.mail.sent).toHaveLength(3);
    expect(world.oneTimeTokens.issued).toHaveLength(3);
    const newest = world.linkTo(ALICE_MAIL);
    expect(newest).not.toBe(lastSent);
    await expect(world.verify(newest, world.context())).resolves.toMatchObject({ emailVerified: true });
  });

  it('does not count the registration mail toward the account\u2019s hourly mails', async () => {
    // Prepare
    const world = createWorld({ users: [], idPrefix: 'uid', emailSettings: { mailsPerAccountPerHour: 1 } });
    await register(world.deps, { name: 'Alice', username: 'alice', password: PASSWORD, email: ALICE_MAIL }, CONTEXT);
    const claims = { username: 'alice', name: 'Alice', uid: 'uid-1', sid: 'sid-1' };

    // Act
    await resendVerification(world.deps, claims, CONTEXT);

    // Assess
    expect(world.mail.to(ALICE_MAIL, 'verify_email')).toHaveLength(2);
  });

  it('answers 429 past the client\u2019s mail ceiling, sending nothing; another client is not affected', async () => {
    // Prepare
    const { resend, mail } = setup(unverified, { throttleSettings: { ipMails: 2 } });
    await resend();
    await resend();

    // Act
    const third = resend();
    const elsewhere = resend({ ...CONTEXT, ip: '203.0.113.9' });

    // Assess
    await expect(third).rejects.toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: expect.any(Number) } });
    await expect(elsewhere).resolves.toBeUndefined();
    expect(mail.sent).toHaveLength(3);
  });

  it('answers service_unavailable when the mail cannot be sent', async () => {
    // Prepare
    const { resend, mail } = setup(unverified);
    mail.fail(new Error('ses down'));

    // Act
    const attempt = resend();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable' });
  });
});
