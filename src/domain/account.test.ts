// Account self-service: read one's account, change the password (ending every session), delete the account (freeing the name).
// The use cases receive the verified claims of a live session (the HTTP adapter's bearer check authenticates them).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, storedUser } from '../../test/fakes';
import { changeEmail, changePassword, deleteAccount, getMe } from './account';
import { logIn } from './log-in';
import { NO_MFA, type AccessClaims } from './ports';
import { register } from './register';
import { authenticate, refreshSession, type TokenPair } from './sessions';

const PASSWORD = 'correct horse';
const NEW_PASSWORD = 'battery staple';

type World = ReturnType<typeof createWorld>;

/** A login's token pair with the claims the bearer check hands the use cases for its access token. */
const withClaims = async (world: World, pair: Promise<TokenPair>): Promise<TokenPair & { claims: AccessClaims }> => {
  const done = await pair;
  return { ...done, claims: (await authenticate(world.deps, done.token)).claims };
};

const setup = () => {
  const world = createWorld({
    users: [storedUser({ passwordHash: 'fake$' + PASSWORD }), storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob' })],
  });
  return {
    ...world,
    logInAlice: () => withClaims(world, logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT)),
  };
};

describe('getMe', () => {
  it('returns the username, name, creation time and address state of the token\'s account', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const me = await getMe(deps, claims);

    // Assess
    expect(me).toEqual({
      username: 'alice',
      name: 'Alice',
      createdAt: '2024-01-01T00:00:00.000Z',
      email: null,
      emailVerified: false,
      pendingEmail: null,
      mfa: { totp: false, passkeys: 0, recoveryCodesLeft: 0 },
    });
  });

  it('returns createdAt null for a tutorial-era user', async () => {
    // Prepare
    const world = createWorld({ users: [storedUser({ createdAt: null, uid: null })] });
    const { claims } = await withClaims(world, logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT));

    // Act
    const me = await getMe(world.deps, claims);

    // Assess
    expect(me).toEqual({ username: 'alice', name: 'Alice', createdAt: null, email: null, emailVerified: false, pendingEmail: null, mfa: { totp: false, passkeys: 0, recoveryCodesLeft: 0 } });
  });

  it('returns invalid_token when the account no longer exists', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { claims } = await logInAlice();
    users.drop('alice');

    // Act
    const attempt = getMe(deps, claims);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token when the name now belongs to another account', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { claims } = await logInAlice();
    users.patch('alice', { uid: 'uid-someone-else' });

    // Act
    const attempt = getMe(deps, claims);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('changePassword', () => {
  it('returns invalid_credentials, saying the current password is wrong (no username was sent), and changes nothing', async () => {
    // Prepare
    const { deps, logInAlice, users, sessions } = setup();
    const { token, claims } = await logInAlice();
    const userBefore = users.peek('alice');
    const sessionsBefore = sessions.sessionsOf('uid-alice');

    // Act
    const attempt = changePassword(deps, claims, { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials', message: 'the current password is incorrect' });
    expect(users.peek('alice')).toEqual(userBefore);
    expect(sessions.sessionsOf('uid-alice')).toEqual(sessionsBefore);
    await expect(authenticate(deps, token)).resolves.toMatchObject({ claims: { username: 'alice' } });
  });

  it('returns weak_password for a too-short new password and changes nothing', async () => {
    // Prepare
    const { deps, logInAlice, users, sessions } = setup();
    const { claims } = await logInAlice();
    const userBefore = users.peek('alice');

    // Act
    const attempt = changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: 'short' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['too_short'] } });
    expect(users.peek('alice')).toEqual(userBefore);
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
  });

  it('stores the new hash and bumps credentialVersion', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { claims } = await logInAlice();

    // Act
    await changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    expect(users.peek('alice')).toMatchObject({ passwordHash: 'fake$' + NEW_PASSWORD, credentialVersion: 1, uid: 'uid-alice' });
  });

  it('ends every old session, the current one included', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const current = await logInAlice();
    const other = await logInAlice();

    // Act
    await changePassword(deps, current.claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(authenticate(deps, current.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(authenticate(deps, other.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(refreshSession(deps, other.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('returns a working token pair for a new session', async () => {
    // Prepare
    const { deps, logInAlice, sessions, tokens } = setup();
    const current = await logInAlice();

    // Act
    const pair = await changePassword(deps, current.claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    expect(pair.user).toEqual({ username: 'alice', name: 'Alice' });
    const { claims } = await authenticate(deps, pair.token);
    expect(claims.sid).not.toBe(tokens.issued[0]?.sid);
    expect(sessions.sessionsOf('uid-alice').map((session) => session.sid)).toEqual([claims.sid]);
    expect(sessions.peek('uid-alice', claims.sid)?.credentialVersion).toBe(1);
    await expect(refreshSession(deps, pair.refreshToken, CONTEXT)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('lets the new password log in, and no longer the old one', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    await changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(logIn(deps, { username: 'alice', password: NEW_PASSWORD }, CONTEXT)).resolves.toMatchObject({
      user: { username: 'alice' },
    });
    await expect(logIn(deps, { username: 'alice', password: PASSWORD }, CONTEXT)).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
  });

  it('leaves another user\'s sessions alone', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { token, claims } = await logInAlice();
    const bob = await logIn(deps, { username: 'bob', password: PASSWORD }, CONTEXT);

    // Act
    await changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(authenticate(deps, bob.token)).resolves.toMatchObject({ claims: { username: 'bob' } });
  });

  it('returns invalid_credentials and changes nothing when the name now belongs to another account', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { claims } = await logInAlice();
    // The account was deleted and the name registered again, with the same password: another account.
    users.patch('alice', { uid: 'uid-new-alice' });
    const userBefore = users.peek('alice');

    // Act
    const attempt = changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(users.peek('alice')).toEqual(userBefore);
  });

  it('counts a wrong current password as a failure of the name, and changes nothing else', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { claims } = await logInAlice();

    // Act
    await changePassword(deps, claims, { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }, CONTEXT).catch(
      () => undefined,
    );

    // Assess
    expect(users.peekLogin('alice')).toMatchObject({ failures: 1, leases: {} });
  });
});

/**
 * The account routes that ask for the password alone, each run with alice's right password. While TOTP is on, a
 * right password there is not a proof of every factor: it must not forget the name's failures, or a thief with the
 * password and an access token could wipe the count of wrong codes between guesses.
 */
const PASSWORD_ONLY = [
  ['changePassword', (world: World, claims: AccessClaims) =>
    changePassword(world.deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT)],
  ['changeEmail', (world: World, claims: AccessClaims) =>
    changeEmail(world.deps, claims, { email: 'alice@example.com', password: PASSWORD }, CONTEXT)],
] as const;

/** Turns TOTP on on alice's item directly (the TOTP use cases are tested in mfa.test.ts): only its presence matters here. */
const totpOn = (world: World) => world.users.patch('alice', { mfa: { ...NO_MFA, totp: { secret: 'sealed secret', lastStep: 0 } } });

describe('a right password at a password-only route', () => {
  it.each(PASSWORD_ONLY)('(%s) forgets none of the name\u2019s failures while TOTP is on, and closes its attempt', async (_name, act) => {
    // Prepare
    const world = setup();
    const { claims } = await world.logInAlice();
    totpOn(world);
    for (let i = 0; i < 3; i += 1) await logIn(world.deps, { username: 'alice', password: `guess ${i}` }, CONTEXT).catch(() => undefined);

    // Act
    await act(world, claims);

    // Assess
    expect(world.users.peekLogin('alice')).toMatchObject({ failures: 3, leases: {} });
  });

  it.each(PASSWORD_ONLY)('(%s) forgets the name\u2019s failures while TOTP is off, as a login does', async (_name, act) => {
    // Prepare
    const world = setup();
    const { claims } = await world.logInAlice();
    for (let i = 0; i < 3; i += 1) await logIn(world.deps, { username: 'alice', password: `guess ${i}` }, CONTEXT).catch(() => undefined);

    // Act
    await act(world, claims);

    // Assess
    expect(world.users.peekLogin('alice')).toMatchObject({ failures: 0, leases: {} });
  });

  it('with TOTP on, still answers invalid_credentials when the name now belongs to another account, counting nothing', async () => {
    // Prepare
    const world = setup();
    const { claims } = await world.logInAlice();
    totpOn(world);
    world.users.patch('alice', { uid: 'uid-new-alice' });
    const before = world.users.peek('alice');

    // Act
    const attempt = changePassword(world.deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(world.users.peek('alice')).toEqual(before);
    expect(world.users.peekLogin('alice')).toMatchObject({ failures: 0, leases: {} });
  });
});

describe('deleteAccount', () => {
  it('returns invalid_credentials, saying the password is wrong, and keeps the user and its sessions', async () => {
    // Prepare
    const { deps, logInAlice, users, sessions } = setup();
    const { claims } = await logInAlice();

    // Act
    const attempt = deleteAccount(deps, claims, { password: 'wrong password' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials', message: 'the password is incorrect' });
    expect(users.peek('alice')).toBeDefined();
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
  });

  it('removes the user and every session of it', async () => {
    // Prepare
    const { deps, logInAlice, users, sessions } = setup();
    const current = await logInAlice();
    const other = await logInAlice();

    // Act
    await deleteAccount(deps, current.claims, { password: PASSWORD }, CONTEXT);

    // Assess
    expect(users.peek('alice')).toBeUndefined();
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    await expect(authenticate(deps, other.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(refreshSession(deps, other.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('leaves another user and their sessions alone', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const { token, claims } = await logInAlice();
    const bob = await logIn(deps, { username: 'bob', password: PASSWORD }, CONTEXT);

    // Act
    await deleteAccount(deps, claims, { password: PASSWORD }, CONTEXT);

    // Assess
    expect(users.peek('bob')).toBeDefined();
    await expect(authenticate(deps, bob.token)).resolves.toMatchObject({ claims: { username: 'bob' } });
  });

  it('frees the name: registered again, it is a different account with a different uid', async () => {
    // Prepare
    const { deps, logInAlice, users } = setup();
    const old = await logInAlice();
    await deleteAccount(deps, old.claims, { password: PASSWORD }, CONTEXT);

    // Act
    await register(deps, { name: 'New Alice', username: 'alice', password: NEW_PASSWORD }, CONTEXT);

    // Assess
    const reborn = users.peek('alice');
    expect(reborn?.name).toBe('New Alice');
    expect(reborn?.uid).not.toBeNull();
    expect(reborn?.uid).not.toBe('uid-alice');
    const fresh = await logIn(deps, { username: 'alice', password: NEW_PASSWORD }, CONTEXT);
    expect((await authenticate(deps, fresh.token)).claims.uid).toBe(reborn?.uid);
    await expect(authenticate(deps, old.token)).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('account audit', () => {
  const context = { ...CONTEXT, ip: '203.0.113.70', requestId: 'req-account' };

  it('records password.changed with the request context, and neither password', async () => {
    // Prepare
    const { deps, logInAlice, audit } = setup();
    const { claims } = await logInAlice();
    const before = audit.entries.length;

    // Act
    await changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, context);

    // Assess
    expect(audit.entries.slice(before)).toEqual([
      { event: 'password.changed', username: 'alice', known: true, context },
    ]);
    const trail = JSON.stringify(audit.entries);
    expect(trail).not.toContain(PASSWORD);
    expect(trail).not.toContain(NEW_PASSWORD);
  });

  it('records a wrong current password as a failed attempt, and no change when the change is refused', async () => {
    // Prepare
    const { deps, logInAlice, audit } = setup();
    const { claims } = await logInAlice();
    const before = audit.entries.length;

    // Act
    await expect(
      changePassword(deps, claims, { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }, context),
    ).rejects.toMatchObject({ code: 'invalid_credentials' });
    await expect(
      changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: 'password1' }, context),
    ).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['common_password'] } });

    // Assess
    expect(audit.entries.slice(before).map((e) => e.event)).toEqual(['login.failed']);
  });

  it('throttles guesses of the current password made with a stolen access token', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { token, claims } = await logInAlice();
    for (let i = 0; i < 5; i += 1) {
      await changePassword(deps, claims, { currentPassword: `guess ${i}`, newPassword: NEW_PASSWORD }, context).catch(() => undefined);
    }

    // Act
    const sixth = changePassword(deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, context);

    // Assess
    await expect(sixth).rejects.toMatchObject({ code: 'too_many_attempts' });
  });

  it('records user.deleted with the request context, and not the password', async () => {
    // Prepare
    const { deps, logInAlice, audit } = setup();
    const { claims } = await logInAlice();
    const before = audit.entries.length;

    // Act
    await deleteAccount(deps, claims, { password: PASSWORD }, context);

    // Assess
    expect(audit.entries.slice(before)).toEqual([
      { event: 'user.deleted', username: 'alice', known: true, context },
    ]);
    expect(JSON.stringify(audit.entries)).not.toContain(PASSWORD);
  });
});

describe('deleteAccount when ending the sessions fails', () => {
  it('retries the clean-up, and a repeated delete finishes it even though the user is already gone', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { token, claims } = await logInAlice();
    const removeAll = deps.sessions.removeAll;
    let failuresLeft = 3;
    deps.sessions.removeAll = async (uid) => {
      if (failuresLeft-- > 0) throw new Error('store down');
      return removeAll(uid);
    };
    const first = deleteAccount(deps, claims, { password: PASSWORD }, CONTEXT);
    await expect(first).rejects.toThrow('store down');

    // Act
    await deleteAccount(deps, claims, { password: 'not even needed now' }, CONTEXT);

    // Assess
    await expect(authenticate(deps, token)).rejects.toMatchObject({ code: 'invalid_token' });
    expect(await deps.users.find('alice')).toBeNull();
  });

  it('survives a clean-up that fails once: the retry inside the request ends the sessions', async () => {
    // Prepare
    const { deps, logInAlice } = setup();
    const { token, claims } = await logInAlice();
    const removeAll = deps.sessions.removeAll;
    let failuresLeft = 1;
    deps.sessions.removeAll = async (uid) => {
      if (failuresLeft-- > 0) throw new Error('blip');
      return removeAll(uid);
    };

    // Act
    await deleteAccount(deps, claims, { password: PASSWORD }, CONTEXT);

    // Assess
    await expect(authenticate(deps, token)).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('no session outlives its user or password when a login races the change', () => {
  /**
   * Runs `change` and a correct login of alice at once, the one started `offset` event-loop turns after the
   * other (a negative offset starts the change first), and says how the login came out: 'ok' (its session
   * stood), 'dropped' (it wrote a session, then its last write found the account changed), or 'refused'
   * (the change landed before its password was checked).
   */
  const race = async (world: ReturnType<typeof setup>, offset: number, change: () => Promise<unknown>) => {
    const written: string[] = [];
    world.sessions.afterCreate((session) => void written.push(session.sid));
    const login = () =>
      logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT).then(
        () => 'ok',
        (error: { code: string }) => error.code,
      );
    const later = async <T>(turns: number, work: () => Promise<T>) => {
      for (let i = 0; i < turns; i += 1) await nextTurn();
      return work();
    };
    const before = world.sessions.sessionsOf('uid-alice').map((session) => session.sid);
    const [answer] = await Promise.all([later(Math.max(0, offset), login), later(Math.max(0, -offset), change)]);
    const loginWrote = written.some((sid) => !before.includes(sid) && world.tokens.issued.every((c) => c.sid !== sid));
    if (answer === 'ok') return 'ok';
    expect(answer).toBe('invalid_credentials');
    return loginWrote ? 'dropped' : 'refused';
  };

  it('leaves only sessions of the new password when a password change races a login, whichever lands first', async () => {
    // Prepare
    const seen = new Set<string>();

    for (let offset = -6; offset <= 12; offset += 1) {
      const world = setup();
      const { claims } = await world.logInAlice();

      // Act
      const outcome = await race(world, offset, () =>
        changePassword(world.deps, claims, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CONTEXT),
      );
      seen.add(outcome);

      // Assess
      expect(world.users.peek('alice')?.credentialVersion).toBe(1);
      const sessions = world.sessions.sessionsOf('uid-alice');
      expect(sessions.map((session) => session.credentialVersion)).toEqual([1]);
    }
    // Every order was tried, the one where the login's own last write saw the change among them.
    expect(seen).toEqual(new Set(['ok', 'dropped', 'refused']));
  });

  it('leaves no session at all when an account deletion races a login, whichever lands first', async () => {
    // Prepare
    const seen = new Set<string>();

    for (let offset = -6; offset <= 12; offset += 1) {
      const world = setup();
      const { claims } = await world.logInAlice();

      // Act
      const outcome = await race(world, offset, () => deleteAccount(world.deps, claims, { password: PASSWORD }, CONTEXT));
      seen.add(outcome);

      // Assess
      expect(world.users.peek('alice')).toBeUndefined();
      expect(world.sessions.sessionsOf('uid-alice')).toEqual([]);
    }
    expect(seen).toEqual(new Set(['ok', 'dropped', 'refused']));
  });
});
