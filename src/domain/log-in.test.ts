// logIn: unknown users and wrong passwords look the same, each login starts a session (a legacy user gets a uid),
// legacy hashes upgrade safely, and attempts beyond the name's free places wait for those being checked.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTEXT, createPasswordHasher, createWorld, outcome, REFRESH_TTL, START, storeDown, storedUser } from '../../test/fakes';
import { logIn } from './log-in';
import { NO_MFA } from './ports';
import { clientWindow } from './throttle';

const PASSWORD = 'correct horse';

const setup = (passwordHash = 'fake$' + PASSWORD, uid: string | null = 'uid-alice') =>
  createWorld({ users: [storedUser({ passwordHash, createdAt: null, uid })] });

const rejection = async (attempt: Promise<unknown>) => {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as { code: string; message: string };
};

describe('logIn', () => {
  it('returns an access token, a refresh token and the public user for the right password', async () => {
    // Prepare
    const { deps, tokens } = setup();

    // Act
    const result = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    const sid = tokens.issued[0]?.sid;
    expect(result).toEqual({
      token: 'token-1',
      expiresIn: 900,
      user: { username: 'alice', name: 'Alice' },
      refreshToken: expect.stringMatching(new RegExp(`^uid-alice\\.${sid}\\.[A-Za-z0-9_-]{43}$`)),
      refreshExpiresIn: REFRESH_TTL,
    });
    expect(tokens.issued).toEqual([{ username: 'alice', name: 'Alice', uid: 'uid-alice', sid: expect.any(String) }]);
  });

  it('starts a new session at every login', async () => {
    // Prepare
    const { deps, sessions } = setup();

    // Act
    const first = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    const second = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    expect(first.refreshToken).not.toBe(second.refreshToken);
    const sids = sessions.sessionsOf('uid-alice').map((session) => session.sid);
    expect(new Set(sids).size).toBe(2);
  });

  it('gives a tutorial-era user without a uid one at the first login, and keeps it at the next', async () => {
    // Prepare
    const { deps, users, tokens } = setup('fake$' + PASSWORD, null);

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    const uid = users.peek('alice')?.uid;
    expect(uid).toMatch(/^id-\d+$/);
    expect(tokens.issued.map((claims) => claims.uid)).toEqual([uid, uid]);
    expect(new Set(tokens.issued.map((claims) => claims.sid)).size).toBe(2);
  });

  it('returns invalid_credentials and starts no session for a wrong password', async () => {
    // Prepare
    const { deps, sessions, tokens } = setup();

    // Act
    const attempt = logIn(deps, { username: 'alice', password: 'wrong password' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(tokens.issued).toEqual([]);
  });

  it('returns invalid_credentials and keeps no session when the user is deleted during the login', async () => {
    // Prepare
    const { deps, sessions, users } = setup();
    sessions.afterCreate(() => users.drop('alice'));

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('returns invalid_credentials and keeps no session when the password changes during the login', async () => {
    // Prepare
    const { deps, sessions, users } = setup();
    sessions.afterCreate(() => users.patch('alice', { passwordHash: 'fake$changed password', credentialVersion: 1 }));

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it.each([
    ['a new password', { passwordHash: 'fake$changed password', credentialVersion: 1 }],
    ['another account under the name', { uid: 'uid-someone-else' }],
  ])('drops the session when its last write finds %s (the uid or credentialVersion condition fails)', async (_label, change) => {
    // Prepare
    const { deps, sessions, users } = setup();
    // The change lands after the session was written, just before the write that clears the failures.
    users.before('recordSuccess', () => users.patch('alice', change));

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(users.calls.recordSuccess).toBe(1);
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(sessions.sessionsOf('uid-someone-else')).toEqual([]);
  });

  it('drops the session and answers the store failure when the last write fails', async () => {
    // Prepare
    const { deps, sessions, users, tokens } = setup();
    users.fail('recordSuccess', storeDown());

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(tokens.issued).toEqual([]);
  });

  it('finds the user whatever the case or width of the typed username', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const result = await logIn(deps, { username: 'Ａｌｉｃｅ', password: PASSWORD }, CONTEXT);

    // Assess
    expect(result.user.username).toBe('alice');
  });

  it('returns invalid_credentials for an unknown user after a dummy password check', async () => {
    // Prepare
    const { deps, hasher, tokens } = setup();

    // Act
    const attempt = logIn(deps, { username: 'bob', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(hasher.calls.verifyDummy).toBe(1);
    expect(tokens.issued).toEqual([]);
  });

  it('writes nothing to the users table for a name that is no account', async () => {
    // Prepare
    const { deps, users, throttle } = setup();

    // Act
    await logIn(deps, { username: 'bob', password: PASSWORD }, CONTEXT).catch(() => undefined);

    // Assess
    expect(users.peek('bob')).toBeUndefined();
    expect(users.peekLogin('bob')).toBeUndefined();
    expect(throttle.peekFailures('bob')).toMatchObject({ failures: 1 });
  });

  it('returns the same code and message for a wrong password as for an unknown user', async () => {
    // Prepare
    const { deps, hasher } = setup();

    // Act
    const wrongPassword = await rejection(logIn(deps, { username: 'alice', password: 'wrong password' }, CONTEXT));
    const unknownUser = await rejection(logIn(deps, { username: 'bob', password: 'wrong password' }, CONTEXT));

    // Assess
    expect(wrongPassword.code).toBe('invalid_credentials');
    expect(wrongPassword.message).toBe(unknownUser.message);
    expect(unknownUser.code).toBe(wrongPassword.code);
    expect(hasher.calls.verify).toBe(1);
  });

  it('does not trim the password: the same password with a trailing space fails', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD + ' ' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
  });

  it('stores a new hash in place of a legacy one, compared against the old hash', async () => {
    // Prepare
    const { deps, users, hasher } = setup(createPasswordHasher().legacyHash(PASSWORD));

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    expect(users.peek('alice')?.passwordHash).toBe('fake$' + PASSWORD);
    expect(hasher.calls.hash).toBe(1);
  });

  it('leaves a current hash alone', async () => {
    // Prepare
    const { deps, hasher } = setup();

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    expect(hasher.calls.hash).toBe(0);
  });

  it('still logs in when storing the upgraded hash fails, and warns without the password', async () => {
    // Prepare
    const { deps, users, log } = setup(createPasswordHasher().legacyHash(PASSWORD));
    users.fail('replacePasswordHash', new Error(`store down while writing ${PASSWORD}`));

    // Act
    const result = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    expect(result.user.username).toBe('alice');
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]?.fields).toMatchObject({ username: 'alice' });
    expect(JSON.stringify(log.warnings)).not.toContain(PASSWORD);
    expect(users.peek('alice')?.passwordHash).toBe('legacy$' + PASSWORD);
  });

  it.each([
    ['0 code points', ''],
    ['1025 code points', 'a'.repeat(1025)],
  ])('returns invalid_request naming password for a password of %s', async (_label, password) => {
    // Prepare
    const { deps, hasher } = setup();

    // Act
    const attempt = logIn(deps, { username: 'alice', password }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'password' } });
    expect(hasher.calls.verify + hasher.calls.verifyDummy).toBe(0);
  });

  it('returns invalid_request naming username for a username of 257 code points', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const attempt = logIn(deps, { username: 'a'.repeat(257), password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'username' } });
  });

  it('accepts a short legacy password at login that registration would refuse', async () => {
    // Prepare
    const { deps } = setup('fake$abc');

    // Act
    const result = await logIn(deps, { username: 'alice', password: 'abc' }, CONTEXT);

    // Assess
    expect(result.token).toBe('token-1');
  });
});

describe('logIn audit and pacing', () => {
  const context = { ...CONTEXT, ip: '203.0.113.30', requestId: 'req-login' };

  it('records login.succeeded for the user with the request context', async () => {
    // Prepare
    const { deps, audit } = setup();

    // Act
    await logIn(deps, { username: 'Alice', password: PASSWORD }, context);

    // Assess
    expect(audit.entries).toEqual([
      { event: 'login.succeeded', username: 'alice', known: true, context, method: 'password' },
    ]);
  });

  it('records login.failed with known true for a real user with a wrong password', async () => {
    // Prepare
    const { deps, audit } = setup();

    // Act
    await expect(logIn(deps, { username: 'alice', password: 'wrong password' }, context)).rejects.toMatchObject({
      code: 'invalid_credentials',
    });

    // Assess
    expect(audit.entries).toEqual([
      { event: 'login.failed', username: 'alice', known: true, context },
    ]);
  });

  it('records login.failed with known false for a name that is no account', async () => {
    // Prepare
    const { deps, audit } = setup();

    // Act
    await expect(logIn(deps, { username: 'nobody', password: 'wrong password' }, context)).rejects.toMatchObject({
      code: 'invalid_credentials',
    });

    // Assess
    expect(audit.entries).toEqual([
      { event: 'login.failed', username: 'nobody', known: false, context },
    ]);
  });

  it('never puts a password into the audit trail, whatever the outcome', async () => {
    // Prepare
    const { deps, audit } = setup();
    const wrong = 'my secret guess';

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, context);
    for (let i = 0; i < 6; i += 1) await logIn(deps, { username: 'alice', password: wrong }, context).catch(() => undefined);
    await logIn(deps, { username: 'nobody', password: wrong }, context).catch(() => undefined);

    // Assess
    expect(audit.entries.map((entry) => entry.event)).toEqual([
      'login.succeeded',
      ...Array(5).fill('login.failed'),
      'login.throttled',
      'login.failed',
    ]);
    const trail = JSON.stringify(audit.entries);
    expect(trail).not.toContain(PASSWORD);
    expect(trail).not.toContain(wrong);
  });

  it('teaches the pacer how long failed logins take, not successful ones', async () => {
    // Prepare
    const { deps, pacer, clock } = setup();
    const startedAt = clock.now().getTime();

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, context);
    await logIn(deps, { username: 'alice', password: 'wrong password' }, context).catch(() => undefined);
    await logIn(deps, { username: 'nobody', password: 'wrong password' }, context).catch(() => undefined);

    // Assess
    expect(pacer.calls.record).toEqual([startedAt, startedAt]);
    expect(pacer.calls.pad).toEqual([]);
  });
});

/** Lets the event loop turn until `ready` holds (other logins progress meanwhile); fails if it never does. */
const until = async (ready: () => boolean, what: string) => {
  for (let turn = 0; turn < 1000; turn += 1) {
    if (ready()) return;
    await nextTurn();
  }
  throw new Error(`never happened: ${what}`);
};


describe('logIn with attempts of one name at once', () => {
  it('logs in 16 concurrent correct logins of one account, checking at most 5 at a time', async () => {
    // Prepare
    const world = setup();

    // Act
    const results = await Promise.all(
      Array.from({ length: 16 }, () => outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT))),
    );

    // Assess
    expect(results).toEqual(Array(16).fill({ code: 'ok' }));
    expect(new Set(world.sessions.sessionsOf('uid-alice').map((s) => s.sid)).size).toBe(16);
    expect(world.hasher.calls.verify).toBe(16);
    expect(world.hasher.checking.most).toBeLessThanOrEqual(5);
    // The logins really contended: some had to wait for a free place.
    expect(world.timer.sleeps.length).toBeGreaterThan(0);
    expect(world.users.peekLogin('alice')).toEqual({ failures: 0, lastFailureAt: 0, leases: {} });
  });

  it('lets an attempt beyond the free places wait, then log in once a correct login frees its place', async () => {
    // Prepare
    const world = setup();
    const release = world.hasher.hold();
    const first5 = Array.from({ length: 5 }, () => logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT));
    await until(() => world.hasher.checking.now === 5, 'five checks in progress');

    // Act
    const sixth = logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    await until(() => world.timer.sleeps.length > 0, 'the sixth attempt waits');
    const checkedWhileWaiting = world.hasher.calls.verify;
    release();

    // Assess
    expect(checkedWhileWaiting).toBe(5);
    await expect(sixth).resolves.toMatchObject({ user: { username: 'alice' } });
    await expect(Promise.all(first5)).resolves.toHaveLength(5);
    expect(world.hasher.calls.verify).toBe(6);
    expect(world.users.peekLogin('alice')?.leases).toEqual({});
  });

  it('gives a name with 4 failures on record one place: a second correct login waits for the first', async () => {
    // Prepare
    const world = setup();
    for (let i = 0; i < 4; i += 1) await outcome(logIn(world.deps, { username: 'alice', password: 'wrong' }, CONTEXT));
    const release = world.hasher.hold();
    const first = logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    await until(() => world.hasher.checking.now === 1, 'the first check in progress');

    // Act
    const second = logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    await until(() => world.timer.sleeps.length > 0, 'the second attempt waits');
    const checkingWhileWaiting = world.hasher.checking.now;
    release();

    // Assess
    expect(checkingWhileWaiting).toBe(1);
    await expect(first).resolves.toMatchObject({ user: { username: 'alice' } });
    await expect(second).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('answers a waiter still waiting at its deadline too_many_attempts, retry after 1 s, without checking it', async () => {
    // Prepare
    const world = setup();
    const release = world.hasher.hold();
    const patient = world.context({ deadline: world.clock.now().getTime() + 60_000 });
    const first5 = Array.from({ length: 5 }, () => logIn(world.deps, { username: 'alice', password: PASSWORD }, patient));
    await until(() => world.hasher.checking.now === 5, 'five checks in progress');
    const hurried = world.context({ requestId: 'req-hurried', deadline: world.clock.now().getTime() + 1000 });
    const startedAt = world.clock.now().getTime();

    // Act
    const late = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, hurried));

    // Assess
    expect(late).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(world.hasher.calls.verify).toBe(5);
    // It waited as long as its deadline let it, but never past it.
    expect(world.clock.now().getTime()).toBeGreaterThan(startedAt + 500);
    expect(world.clock.now().getTime()).toBeLessThanOrEqual(hurried.deadline);
    expect(world.audit.entries.at(-1)).toEqual({ event: 'login.throttled', username: 'alice', known: true, context: hurried });
    expect(world.pacer.calls.pad).toEqual([startedAt]);
    // Its place is given back: only the five being checked hold one.
    expect(Object.keys(world.users.peekLogin('alice')?.leases ?? {})).toHaveLength(5);
    release();
    await expect(Promise.all(first5)).resolves.toHaveLength(5);
  });

  it('keeps a login waiting while 5 attempts still being checked hold their places', async () => {
    // Prepare
    const world = setup();
    const now = world.clock.now().getTime();
    for (let i = 1; i <= 5; i += 1) {
      await world.users.openAttempt('alice', { id: `other-${i}`, deadline: now + 60_000, uid: `uid-${i}` });
    }

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, world.context()));

    // Assess
    expect(answer).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(world.hasher.calls.verify).toBe(0);
  });

  it('does not let the lease of an attempt that died (its deadline passed) hold a place, and drops it', async () => {
    // Prepare
    const world = setup();
    const now = world.clock.now().getTime();
    for (let i = 1; i <= 5; i += 1) {
      // Attempts whose requests died mid-check: their leases were never given back.
      await world.users.openAttempt('alice', { id: `dead-${i}`, deadline: now + 100, uid: `uid-${i}` });
    }
    world.clock.advanceMs(100);

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, world.context()));

    // Assess
    expect(answer).toEqual({ code: 'ok' });
    expect(world.timer.sleeps).toEqual([]);
    expect(world.users.peekLogin('alice')?.leases).toEqual({});
  });

  it('drops dead leases with a failure too, and counts the failure once', async () => {
    // Prepare
    const world = setup();
    const now = world.clock.now().getTime();
    await world.users.openAttempt('alice', { id: 'dead-1', deadline: now + 100, uid: 'uid-1' });
    world.clock.advanceMs(101);

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: 'wrong' }, world.context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_credentials' });
    expect(world.users.peekLogin('alice')).toEqual({ failures: 1, lastFailureAt: now + 101, leases: {} });
  });
});

describe('logIn counting failures', () => {
  it('counts a wrong password once even when the store call that records it is sent twice (an SDK retry)', async () => {
    // Prepare
    const world = setup();
    const recordFailure = world.users.recordFailure;
    world.users.recordFailure = async (...args) => {
      await recordFailure(...args);
      await recordFailure(...args);
    };

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: 'wrong' }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'invalid_credentials' });
    expect(world.users.calls.recordFailure).toBe(2);
    expect(world.users.peekLogin('alice')?.failures).toBe(1);
  });

  it('does not count a failed login against its client when the name\'s failure could not be recorded (503)', async () => {
    // Prepare
    const world = setup();
    world.users.fail('recordFailure', storeDown());
    const client = clientWindow(world.deps, 'login', CONTEXT.ip);

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: 'wrong' }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'service_unavailable' });
    expect(await client.count()).toBe(0);
    expect(world.throttle.calls.removeFromWindow).toBe(1);
    expect(world.audit.entries).toEqual([]);
  });

  it('does not count a 503 against its client even when the window write timed out after it landed', async () => {
    // Prepare: the name's failure cannot be recorded, and the client's count is saved by a call that then times out.
    const world = setup();
    world.users.fail('recordFailure', storeDown());
    world.throttle.fail('addToWindow', storeDown('timed out after the write'), { times: 1, landed: true });
    const client = clientWindow(world.deps, 'login', CONTEXT.ip);

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: 'wrong' }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'service_unavailable' });
    expect(await client.count()).toBe(0);
  });
});

describe('logIn store requests', () => {
  it('makes at most 4 requests, 3 of them writes, for a successful login of a user with no failures', async () => {
    // Prepare
    const world = setup();

    // Act
    await logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    const { requests, writes } = world.requests.counts();
    expect(requests).toBeLessThanOrEqual(4);
    expect(writes).toBeLessThanOrEqual(3);
  });

  it.each([
    ['a wrong password', 'alice'],
    ['a name that is no account', 'nobody'],
  ])('makes at most 4 requests for a failed login with %s', async (_label, username) => {
    // Prepare
    const world = setup();

    // Act
    await outcome(logIn(world.deps, { username, password: 'wrong' }, CONTEXT));

    // Assess
    expect(world.requests.counts().requests).toBeLessThanOrEqual(4);
  });
  it.each([
    ['past the limit, once the wait has ended', 5, 1_000],
    ['with failures on record that were forgotten', 3, 3_600_000],
  ])('makes as many requests for a known name as for an unknown one %s', async (_label, failures, laterMs) => {
    // Prepare
    const world = setup();
    for (let i = 0; i < failures; i += 1) {
      await outcome(logIn(world.deps, { username: 'alice', password: `wrong ${i}` }, world.context()));
      await outcome(logIn(world.deps, { username: 'nobody', password: `wrong ${i}` }, world.context()));
    }
    world.clock.advanceMs(laterMs);

    // Act
    world.requests.clear();
    const known = await outcome(logIn(world.deps, { username: 'alice', password: 'wrong again' }, world.context()));
    const knownRequests = world.requests.counts().requests;
    world.requests.clear();
    const unknown = await outcome(logIn(world.deps, { username: 'nobody', password: 'wrong again' }, world.context()));
    const unknownRequests = world.requests.counts().requests;

    // Assess
    expect([known, unknown]).toEqual([{ code: 'invalid_credentials' }, { code: 'invalid_credentials' }]);
    expect(knownRequests).toBe(unknownRequests);
  });
});

describe('logIn by email address', () => {
  const ALICE_MAIL = 'alice@example.com';
  const withAddress = (emailVerified: boolean) =>
    createWorld({ users: [storedUser({ email: ALICE_MAIL, emailVerified })] });

  it('starts a session for the right password of a verified address, with the email claims in the token', async () => {
    // Prepare
    const { deps, tokens, sessions, audit } = withAddress(true);

    // Act
    const result = await logIn(deps, { email: ' Alice@Example.COM ', password: PASSWORD }, CONTEXT);

    // Assess
    expect(result.user).toEqual({ username: 'alice', name: 'Alice' });
    expect(tokens.issued).toEqual([
      { username: 'alice', name: 'Alice', uid: 'uid-alice', sid: expect.any(String), email: ALICE_MAIL, emailVerified: true },
    ]);
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
    expect(audit.entries.map(({ event, username }) => ({ event, username }))).toEqual([
      { event: 'login.succeeded', username: 'alice' },
    ]);
  });

  it('answers invalid_credentials for the right password of an unverified address, and starts no session', async () => {
    // Prepare
    const { deps, sessions } = withAddress(false);

    // Act
    const error = await rejection(logIn(deps, { email: ALICE_MAIL, password: PASSWORD }, CONTEXT));

    // Assess
    expect(error.code).toBe('invalid_credentials');
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('answers an unknown address like an unknown username: invalid_credentials, after the same dummy check', async () => {
    // Prepare
    const { deps, hasher, sessions } = withAddress(true);

    // Act
    const byEmail = await rejection(logIn(deps, { email: 'nobody@example.com', password: PASSWORD }, CONTEXT));
    const byName = await rejection(logIn(deps, { username: 'nobody', password: PASSWORD }, CONTEXT));

    // Assess
    expect(byEmail).toEqual(byName);
    expect(byEmail.code).toBe('invalid_credentials');
    expect(hasher.calls).toMatchObject({ verify: 0, verifyDummy: 2 });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('answers invalid_credentials for a wrong password of a verified address', async () => {
    // Prepare
    const { deps } = withAddress(true);

    // Act
    const error = await rejection(logIn(deps, { email: ALICE_MAIL, password: 'wrong password' }, CONTEXT));

    // Assess
    expect(error.code).toBe('invalid_credentials');
  });

  it('counts failures by address on the account\u2019s own record: the two ways in share one throttle', async () => {
    // Prepare
    const { deps, users } = withAddress(true);
    for (let i = 0; i < 3; i += 1) await logIn(deps, { email: ALICE_MAIL, password: `guess ${i}` }, CONTEXT).catch(() => undefined);
    for (let i = 0; i < 2; i += 1) await logIn(deps, { username: 'alice', password: `guess ${i}` }, CONTEXT).catch(() => undefined);

    // Act
    const byName = await rejection(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT));
    const byEmail = await rejection(logIn(deps, { email: ALICE_MAIL, password: PASSWORD }, CONTEXT));

    // Assess
    expect(users.peekLogin('alice')?.failures).toBe(5);
    expect(byName.code).toBe('too_many_attempts');
    // The wait, by email, is a failed login (padded alike): a 429 would tell which address is the locked name's.
    expect(byEmail.code).toBe('invalid_credentials');
  });

  it('answers invalid_request for a body with both a username and an email, checking nothing', async () => {
    // Prepare
    const { deps, hasher } = withAddress(true);

    // Act
    const error = await rejection(logIn(deps, { username: 'alice', email: ALICE_MAIL, password: PASSWORD }, CONTEXT));

    // Assess
    expect(error.code).toBe('invalid_request');
    expect(hasher.calls).toMatchObject({ verify: 0, verifyDummy: 0 });
  });

  it('answers invalid_request naming email for a malformed address', async () => {
    // Prepare
    const { deps } = withAddress(true);

    // Act
    const attempt = logIn(deps, { email: 'alice at example', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'email' } });
  });

  it('starts no session for a claim left behind by an account that no longer holds the address', async () => {
    // Prepare
    const { deps, emailClaims, users, sessions } = withAddress(true);
    users.patch('alice', { email: 'alice@new.example' });
    expect(emailClaims.holder(ALICE_MAIL)?.uid).toBe('uid-alice');

    // Act
    const error = await rejection(logIn(deps, { email: ALICE_MAIL, password: PASSWORD }, CONTEXT));

    // Assess
    expect(error.code).toBe('invalid_credentials');
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });
});

describe('logIn step-up (an account with TOTP on)', () => {
  const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  /** Alice with TOTP on (and `passkeys` passkeys), as a confirmed enrolment leaves her. */
  const withTotp = (options: { passkeys?: number; passkeysEnabled?: boolean; email?: boolean } = {}) => {
    const world = createWorld({
      users: [storedUser(options.email === true ? { email: 'alice@example.com', emailVerified: true } : {})],
      ...(options.passkeysEnabled === undefined ? {} : { passkeysEnabled: options.passkeysEnabled }),
    });
    world.users.patch('alice', {
      credentialVersion: 1,
      mfa: {
        ...NO_MFA,
        totp: { secret: world.deps.secretBox.seal(SECRET, 'uid-alice'), lastStep: 0 },
        passkeys: options.passkeys ?? 0,
      },
    });
    return world;
  };

  it('answers mfa_required with an mfaToken and the methods totp and recovery_code, and starts no session', async () => {
    // Prepare
    const { deps, sessions, tokens, audit } = withTotp();

    // Act
    const error = await rejection(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(error.code).toBe('mfa_required');
    const body = (error as unknown as { body: { mfaToken: string; methods: string[] } }).body;
    expect(body).toEqual({ mfaToken: expect.stringMatching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/), methods: ['totp', 'recovery_code'] });
    // The token is bound to the account and its credentialVersion, and expires with MFA_TOKEN_TTL.
    expect(deps.stepUpTokens.open(body.mfaToken, START.getTime())).toEqual({
      u: 'alice',
      id: 'uid-alice',
      v: 1,
      t: START.getTime(),
    });
    expect(deps.stepUpTokens.open(body.mfaToken, START.getTime() + 300_000)).toBeNull();
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(tokens.issued).toEqual([]);
    expect(audit.entries.map((entry) => entry.event)).not.toContain('login.succeeded');
  });

  it.each([
    ['has a passkey and passkeys are served', 1, true, ['totp', 'recovery_code', 'passkey']],
    ['has a passkey but passkeys are not served', 1, false, ['totp', 'recovery_code']],
    ['has no passkey', 0, true, ['totp', 'recovery_code']],
  ])('offers the methods the account can use when it %s', async (_label, passkeys, passkeysEnabled, methods) => {
    // Prepare
    const { deps } = withTotp({ passkeys, passkeysEnabled });

    // Act
    const error = await rejection(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(error.code).toBe('mfa_required');
    expect((error as unknown as { body: { methods: string[] } }).body.methods).toEqual(methods);
  });

  it('does not forget the name\u2019s failures for a right password, and leaves no lease behind', async () => {
    // Prepare
    const { deps, users } = withTotp();
    for (let i = 0; i < 3; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, CONTEXT));

    // Act
    const answer = await outcome(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'mfa_required' });
    expect(users.peekLogin('alice')).toMatchObject({ failures: 3, leases: {} });
  });

  it('answers too_many_attempts, not a step-up, for a right password past the name\u2019s limit', async () => {
    // Prepare
    const { deps } = withTotp();
    for (let i = 0; i < 5; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, CONTEXT));

    // Act
    const answer = await outcome(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
  });

  it('answers invalid_credentials, with no step-up, for a wrong password', async () => {
    // Prepare
    const { deps } = withTotp();

    // Act
    const error = await rejection(logIn(deps, { username: 'alice', password: 'wrong password' }, CONTEXT));

    // Assess
    expect(error.code).toBe('invalid_credentials');
    expect((error as unknown as { body?: unknown }).body).toBeUndefined();
  });

  it('answers mfa_required for a login by verified address too', async () => {
    // Prepare
    const { deps } = withTotp({ email: true });

    // Act
    const answer = await outcome(logIn(deps, { email: 'alice@example.com', password: PASSWORD }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'mfa_required' });
  });

  it('gives tokens as before while an enrolment is only pending', async () => {
    // Prepare
    const world = createWorld({ users: [storedUser()] });
    world.users.patch('alice', {
      mfa: { ...NO_MFA, pendingTotp: { secret: world.deps.secretBox.seal(SECRET, 'uid-alice'), expiresAt: START.getTime() + 60_000 } },
    });

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(answer).toEqual({ code: 'ok' });
  });

  it('makes at most 4 store requests for the first step', async () => {
    // Prepare
    const world = withTotp();

    // Act
    await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Assess
    expect(world.requests.counts().requests).toBeLessThanOrEqual(4);
  });
});
