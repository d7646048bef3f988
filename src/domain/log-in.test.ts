// logIn: unknown users and wrong passwords look the same, each login starts a session (a legacy user gets a uid), and legacy hashes upgrade safely.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createPasswordHasher, createWorld, REFRESH_TTL, storedUser } from '../../test/fakes';
import { logIn } from './log-in';

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
    expect(result).toEqual({
      token: 'token-1',
      expiresIn: 900,
      user: { username: 'alice', name: 'Alice' },
      refreshToken: expect.stringMatching(/^uid-alice\.id-1\.[A-Za-z0-9_-]{43}$/),
      refreshExpiresIn: REFRESH_TTL,
    });
    expect(tokens.issued).toEqual([{ username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'id-1' }]);
  });

  it('starts a new session at every login', async () => {
    // Prepare
    const { deps, sessions } = setup();

    // Act
    const first = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    const second = await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    expect(first.refreshToken).not.toBe(second.refreshToken);
    expect(sessions.sessionsOf('uid-alice').map((session) => session.sid)).toEqual(['id-1', 'id-2']);
  });

  it('gives a tutorial-era user without a uid one at the first login, and keeps it at the next', async () => {
    // Prepare
    const { deps, users, tokens } = setup('fake$' + PASSWORD, null);

    // Act
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);
    await logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    const uid = users.peek('alice')?.uid;
    expect(uid).toBe('id-1');
    expect(tokens.issued.map((claims) => claims.uid)).toEqual([uid, uid]);
    expect(tokens.issued.map((claims) => claims.sid)).toEqual(['id-2', 'id-3']);
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
    users.beforeFind((_username, call) => {
      // The first read checks the password; a password change lands before the re-read after the session write.
      if (call === 2) users.patch('alice', { passwordHash: 'fake$changed password', credentialVersion: 1 });
    });

    // Act
    const attempt = logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
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
    users.failReplaceWith(new Error(`store down while writing ${PASSWORD}`));

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
  const context = { ip: '203.0.113.30', requestId: 'req-login' };

  it('records login.succeeded for the user with the request context', async () => {
    // Prepare
    const { deps, audit } = setup();

    // Act
    await logIn(deps, { username: 'Alice', password: PASSWORD }, context);

    // Assess
    expect(audit.entries).toEqual([
      { event: 'login.succeeded', username: 'alice', known: true, context: { ip: '203.0.113.30', requestId: 'req-login' } },
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
      { event: 'login.failed', username: 'alice', known: true, context: { ip: '203.0.113.30', requestId: 'req-login' } },
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
      { event: 'login.failed', username: 'nobody', known: false, context: { ip: '203.0.113.30', requestId: 'req-login' } },
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
