// logOut / logOutAll: end one session (by access or refresh token) or all of a user's, idempotently, never on a forged secret.
// A request with neither token is the HTTP adapter's to answer (missing_token); logOutAll receives verified claims.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, storedUser } from '../../test/fakes';
import { logOut, logOutAll } from './log-out';
import { authenticate, refreshSession, startSession } from './sessions';

const ALICE = { username: 'alice', name: 'Alice', uid: 'uid-alice', credentialVersion: 0, email: null, emailVerified: false };
const BOB = { username: 'bob', name: 'Bob', uid: 'uid-bob', credentialVersion: 0, email: null, emailVerified: false };

const setup = () => {
  const world = createWorld({
    users: [storedUser(), storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob' })],
  });
  return {
    ...world,
    startAlice: () => startSession(world.deps, ALICE),
    startBob: () => startSession(world.deps, BOB),
    /** What the bearer check hands the use case for a live session's access token. */
    claimsOf: async (token: string) => (await authenticate(world.deps, token)).claims,
  };
};

describe('logOut with a bearer access token', () => {
  it('ends that session only', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    const phone = await startAlice();
    const laptop = await startAlice();

    // Act
    await logOut(deps, { accessToken: phone.token }, CONTEXT);

    // Assess
    await expect(authenticate(deps, phone.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(authenticate(deps, laptop.token)).resolves.toMatchObject({ claims: { sid: 'id-2' } });
    expect(sessions.sessionsOf('uid-alice').map((session) => session.sid)).toEqual(['id-2']);
  });

  it('also ends the refresh token of that session', async () => {
    // Prepare
    const { deps, startAlice } = setup();
    const pair = await startAlice();

    // Act
    await logOut(deps, { accessToken: pair.token }, CONTEXT);

    // Assess
    await expect(refreshSession(deps, pair.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('resolves again when the session has already ended (idempotent)', async () => {
    // Prepare
    const { deps, startAlice } = setup();
    const pair = await startAlice();
    await logOut(deps, { accessToken: pair.token }, CONTEXT);

    // Act
    const again = logOut(deps, { accessToken: pair.token }, CONTEXT);

    // Assess
    await expect(again).resolves.toBeUndefined();
  });

  it('returns invalid_token for a forged access token and ends nothing', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    await startAlice();

    // Act
    const attempt = logOut(deps, { accessToken: 'forged' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
  });
});

describe('logOut with a refresh token', () => {
  it('ends the session of the current refresh token', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    const pair = await startAlice();

    // Act
    await logOut(deps, { refreshToken: pair.refreshToken }, CONTEXT);

    // Assess
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
    await expect(authenticate(deps, pair.token)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('ends the session with a superseded refresh token of its chain', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    const first = await startAlice();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    await refreshSession(deps, second.refreshToken, CONTEXT);

    // Act
    await logOut(deps, { refreshToken: first.refreshToken }, CONTEXT);

    // Assess
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
  });

  it('ends only that session, not the user\'s others', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    const phone = await startAlice();
    await startAlice();

    // Act
    await logOut(deps, { refreshToken: phone.refreshToken }, CONTEXT);

    // Assess
    expect(sessions.sessionsOf('uid-alice').map((session) => session.sid)).toEqual(['id-2']);
  });

  it('ends nothing for a forged secret with a real locator, and answers it like an ended session', async () => {
    // Prepare
    const { deps, startAlice, sessions, secrets } = setup();
    const pair = await startAlice();
    const ended = await startAlice();
    await logOut(deps, { refreshToken: ended.refreshToken }, CONTEXT);

    // Act
    const forged = logOut(deps, { refreshToken: `uid-alice.id-1.${secrets.newSecret()}` }, CONTEXT);
    const ofEnded = logOut(deps, { refreshToken: ended.refreshToken }, CONTEXT);

    // Assess: the answer does not tell a holder of the locator whether the session is live.
    await expect(forged).resolves.toBeUndefined();
    await expect(ofEnded).resolves.toBeUndefined();
    expect(sessions.peek('uid-alice', 'id-1')).toBeDefined();
    await expect(authenticate(deps, pair.token)).resolves.toMatchObject({ claims: { sid: 'id-1' } });
  });

  it('ends nothing for the secret of another session of the same user', async () => {
    // Prepare
    const { deps, startAlice, sessions } = setup();
    const phone = await startAlice();
    const laptop = await startAlice();
    const [, , laptopSecret] = laptop.refreshToken.split('.');

    // Act
    await logOut(deps, { refreshToken: `uid-alice.id-1.${laptopSecret}` }, CONTEXT);

    // Assess
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(2);
    await expect(authenticate(deps, phone.token)).resolves.toMatchObject({ claims: { sid: 'id-1' } });
  });

  it.each([
    ['empty', ''],
    ['not dotted', 'garbage'],
    ['four parts', 'a.b.c.d'],
    ['an empty part', 'uid-alice..secret'],
  ])('returns invalid_refresh_token for a malformed token (%s)', async (_label, refreshToken) => {
    // Prepare
    const { deps, startAlice } = setup();
    await startAlice();

    // Act
    const attempt = logOut(deps, { refreshToken }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('resolves again when the session has already ended (idempotent)', async () => {
    // Prepare
    const { deps, startAlice } = setup();
    const pair = await startAlice();
    await logOut(deps, { refreshToken: pair.refreshToken }, CONTEXT);

    // Act
    const again = logOut(deps, { refreshToken: pair.refreshToken }, CONTEXT);

    // Assess
    await expect(again).resolves.toBeUndefined();
  });
});

describe('logOutAll', () => {
  it('ends every session of the user and none of another user', async () => {
    // Prepare
    const { deps, startAlice, startBob, sessions, claimsOf } = setup();
    const phone = await startAlice();
    const laptop = await startAlice();
    const bob = await startBob();

    // Act
    await logOutAll(deps, await claimsOf(phone.token), CONTEXT);

    // Assess
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    await expect(authenticate(deps, laptop.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(refreshSession(deps, laptop.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    await expect(authenticate(deps, bob.token)).resolves.toMatchObject({ claims: { username: 'bob' } });
    expect(sessions.sessionsOf('uid-bob')).toHaveLength(1);
  });

  it('resolves again when every session has already ended (idempotent)', async () => {
    // Prepare
    const { deps, startAlice, sessions, claimsOf } = setup();
    const claims = await claimsOf((await startAlice()).token);
    await logOutAll(deps, claims, CONTEXT);

    // Act
    const again = logOutAll(deps, claims, CONTEXT);

    // Assess
    await expect(again).resolves.toBeUndefined();
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });
});

describe('log-out audit', () => {
  const context = { ...CONTEXT, ip: '203.0.113.60', requestId: 'req-logout' };
  const revoked = (username: string) => ({ event: 'session.revoked', username, known: true, context });

  it('records session.revoked with the request context on a logout by access token', async () => {
    // Prepare
    const { deps, startAlice, audit } = setup();
    const pair = await startAlice();

    // Act
    await logOut(deps, { accessToken: pair.token }, context);

    // Assess
    expect(audit.entries).toEqual([revoked('alice')]);
  });

  it('records session.revoked with the request context on a logout by refresh token, without the token', async () => {
    // Prepare
    const { deps, startBob, audit } = setup();
    const pair = await startBob();

    // Act
    await logOut(deps, { refreshToken: pair.refreshToken }, context);

    // Assess
    expect(audit.entries).toEqual([revoked('bob')]);
    expect(JSON.stringify(audit.entries)).not.toContain(pair.refreshToken.split('.')[2]);
  });

  it('records session.revoked with the request context on a logout of every session', async () => {
    // Prepare
    const { deps, startAlice, audit, claimsOf } = setup();
    const pair = await startAlice();
    await startAlice();

    // Act
    await logOutAll(deps, await claimsOf(pair.token), context);

    // Assess
    expect(audit.entries).toEqual([revoked('alice')]);
  });

  it('records nothing for a logout that ended nothing', async () => {
    // Prepare
    const { deps, startAlice, audit, secrets } = setup();
    await startAlice();

    // Act
    await expect(logOut(deps, { accessToken: 'forged' }, context)).rejects.toMatchObject({ code: 'invalid_token' });
    await logOut(deps, { refreshToken: `uid-alice.id-1.${secrets.newSecret()}` }, context);
    await logOut(deps, { refreshToken: 'uid-alice.id-99.whatever' }, context);

    // Assess
    expect(audit.entries).toEqual([]);
  });
});
