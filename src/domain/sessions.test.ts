// Sessions: refresh tokens rotate with a grace window, reuse ends the session, and access tokens die with their session.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, REFRESH_GRACE, REFRESH_TTL } from '../../test/fakes';
import { authenticate, parseRefreshToken, refreshSession, startSession } from './sessions';

const ALICE = { username: 'alice', name: 'Alice', uid: 'uid-alice', credentialVersion: 0, email: null, emailVerified: false };

const setup = () => {
  const world = createWorld();
  return { ...world, start: () => startSession(world.deps, ALICE) };
};

const secretOf = (refreshToken: string) => {
  const parsed = parseRefreshToken(refreshToken);
  if (parsed === null) throw new Error(`not a refresh token: ${refreshToken}`);
  return parsed.secret;
};

describe('startSession', () => {
  it('returns an access token, a refresh token uid.sid.secret and the full refresh lifetime', async () => {
    // Prepare
    const { start, tokens } = setup();

    // Act
    const pair = await start();

    // Assess
    expect(pair.refreshToken).toMatch(/^uid-alice\.id-1\.[A-Za-z0-9_-]{43}$/);
    expect(pair.refreshExpiresIn).toBe(REFRESH_TTL);
    expect(pair).toMatchObject({ token: 'token-1', expiresIn: 900, user: { username: 'alice', name: 'Alice' } });
    expect(tokens.issued).toEqual([{ username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'id-1' }]);
  });

  it('stores only a digest of the refresh secret, never the secret', async () => {
    // Prepare
    const { start, sessions, secrets, clock } = setup();

    // Act
    const pair = await start();

    // Assess
    const secret = secretOf(pair.refreshToken);
    const stored = sessions.peek('uid-alice', 'id-1');
    expect(stored).toEqual({
      uid: 'uid-alice',
      sid: 'id-1',
      username: 'alice',
      name: 'Alice',
      createdAt: clock.now().getTime(),
      expiresAt: clock.now().getTime() + REFRESH_TTL * 1000,
      refreshHash: secrets.digest(secret),
      rotatedAt: clock.now().getTime(),
      generation: 0,
      credentialVersion: 0,
    });
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('gives every session its own refresh secret', async () => {
    // Prepare
    const { start } = setup();

    // Act
    const first = await start();
    const second = await start();

    // Assess
    expect(secretOf(first.refreshToken)).not.toBe(secretOf(second.refreshToken));
  });

  it('drops its session and returns invalid_credentials when the user is deleted as the session is written', async () => {
    // Prepare
    const { start, sessions, users } = setup();
    sessions.afterCreate(() => users.drop('alice'));

    // Act
    const attempt = start();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('drops its session and returns invalid_credentials when the password changes as the session is written', async () => {
    // Prepare
    const { start, sessions, users } = setup();
    sessions.afterCreate(() => users.patch('alice', { passwordHash: 'fake$new password', credentialVersion: 1 }));

    // Act
    const attempt = start();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('drops its session when the name now belongs to another account (another uid)', async () => {
    // Prepare
    const { start, sessions, users } = setup();
    sessions.afterCreate(() => users.patch('alice', { uid: 'uid-new-alice' }));

    // Act
    const attempt = start();

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });
});

describe('startSession with a confirmation of its own', () => {
  it('stands when the confirmation says the account is still the one checked, without reading the user again', async () => {
    // Prepare
    const { deps, users, sessions } = setup();

    // Act
    const pair = await startSession(deps, ALICE, async () => true);

    // Assess
    expect(pair.user).toEqual({ username: 'alice', name: 'Alice' });
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(1);
    expect(users.calls.find).toBeUndefined();
  });

  it('confirms only after the session is written', async () => {
    // Prepare
    const { deps, sessions } = setup();
    const seen: number[] = [];

    // Act
    await startSession(deps, ALICE, async () => {
      seen.push(sessions.sessionsOf('uid-alice').length);
      return true;
    });

    // Assess
    expect(seen).toEqual([1]);
  });

  it('drops its session and returns invalid_credentials when the confirmation says no', async () => {
    // Prepare
    const { deps, sessions, tokens } = setup();

    // Act
    const attempt = startSession(deps, ALICE, async () => false);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
    expect(tokens.issued).toEqual([]);
  });

  it('drops its session and passes the failure on when the confirmation fails', async () => {
    // Prepare
    const { deps, sessions } = setup();
    const failure = new Error('store down');

    // Act
    const attempt = startSession(deps, ALICE, async () => {
      throw failure;
    });

    // Assess
    await expect(attempt).rejects.toBe(failure);
    expect(sessions.sessionsOf('uid-alice')).toEqual([]);
  });

  it('still passes the confirmation\'s failure on when dropping the session fails too', async () => {
    // Prepare
    const { deps, sessions } = setup();
    const failure = new Error('store down');
    sessions.fail('remove', new Error('still down'));

    // Act
    const attempt = startSession(deps, ALICE, async () => {
      throw failure;
    });

    // Assess
    await expect(attempt).rejects.toBe(failure);
  });
});

describe('refreshSession', () => {
  it('rotates: a new access token and a new refresh token for the same session', async () => {
    // Prepare
    const { start, deps, sessions, secrets, tokens } = setup();
    const first = await start();

    // Act
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.refreshToken.startsWith('uid-alice.id-1.')).toBe(true);
    expect(second.token).not.toBe(first.token);
    expect(second.user).toEqual({ username: 'alice', name: 'Alice' });
    expect(tokens.issued[1]).toEqual({ username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'id-1' });
    const stored = sessions.peek('uid-alice', 'id-1');
    expect(stored?.generation).toBe(1);
    expect(stored?.refreshHash).toBe(secrets.digest(secretOf(second.refreshToken)));
  });

  it('returns the same successor refresh token for the superseded token presented again within the grace window', async () => {
    // Prepare
    const { start, deps, clock, tokens, sessions } = setup();
    const first = await start();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE);

    // Act
    const again = await refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    expect(again.refreshToken).toBe(second.refreshToken);
    expect(tokens.issued[2]).toEqual(tokens.issued[1]);
    expect(sessions.peek('uid-alice', 'id-1')?.generation).toBe(1);
  });

  it('still rotates the successor after the superseded token was presented again in the grace window', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const first = await start();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE + 1);

    // Act
    const third = await refreshSession(deps, second.refreshToken, CONTEXT);

    // Assess
    expect(third.refreshToken).not.toBe(second.refreshToken);
  });

  it('treats the superseded token after the grace window as reuse: refresh_token_reused and the session ends', async () => {
    // Prepare
    const { start, deps, clock, sessions } = setup();
    const first = await start();
    await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE + 1);

    // Act
    const attempt = refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'refresh_token_reused' });
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
  });

  it('refuses the successor as invalid_refresh_token once a reuse has ended the session', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const first = await start();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE + 1);
    await expect(refreshSession(deps, first.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'refresh_token_reused' });

    // Act
    const attempt = refreshSession(deps, second.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('ends the access tokens of the session too once a reuse is detected', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const first = await start();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE + 1);
    await expect(refreshSession(deps, first.refreshToken, CONTEXT)).rejects.toMatchObject({ code: 'refresh_token_reused' });

    // Act
    const attempt = authenticate(deps, second.token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('treats a token two generations old as reuse even inside the grace window', async () => {
    // Prepare
    const { start, deps, sessions } = setup();
    const first = await start();
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    await refreshSession(deps, second.refreshToken, CONTEXT);

    // Act
    const attempt = refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'refresh_token_reused' });
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
  });

  it('returns invalid_refresh_token for a forged secret with a real locator, and leaves the session alone', async () => {
    // Prepare
    const { start, deps, sessions, secrets } = setup();
    const first = await start();
    const before = sessions.peek('uid-alice', 'id-1');
    const forged = `uid-alice.id-1.${secrets.newSecret()}`;

    // Act
    const attempt = refreshSession(deps, forged, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    expect(sessions.peek('uid-alice', 'id-1')).toEqual(before);
    await expect(refreshSession(deps, first.refreshToken, CONTEXT)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('returns invalid_refresh_token for a real secret moved onto another session locator', async () => {
    // Prepare
    const { start, deps } = setup();
    const first = await start();
    await start();

    // Act
    const attempt = refreshSession(deps, `uid-alice.id-2.${secretOf(first.refreshToken)}`, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('returns invalid_refresh_token for an unknown session', async () => {
    // Prepare
    const { start, deps } = setup();
    const first = await start();

    // Act
    const attempt = refreshSession(deps, `uid-alice.id-99.${secretOf(first.refreshToken)}`, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it.each([
    ['empty', ''],
    ['two parts', 'uid-alice.id-1'],
    ['four parts', 'uid-alice.id-1.secret.more'],
    ['an empty part', 'uid-alice..secret'],
    ['more than 256 characters', `uid-alice.id-1.${'a'.repeat(250)}`],
  ])('returns invalid_refresh_token for a malformed token (%s)', async (_label, token) => {
    // Prepare
    const { start, deps } = setup();
    await start();

    // Act
    const attempt = refreshSession(deps, token, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('returns invalid_refresh_token once the session has reached its absolute expiry', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const first = await start();
    clock.advanceSeconds(REFRESH_TTL);

    // Act
    const attempt = refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('still refreshes one second before the absolute expiry, with one second left', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const first = await start();
    clock.advanceSeconds(REFRESH_TTL - 1);

    // Act
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    expect(second.refreshExpiresIn).toBe(1);
  });

  it('counts refreshExpiresIn down from login: rotation never extends the session', async () => {
    // Prepare
    const { start, deps, clock, sessions } = setup();
    const first = await start();
    const expiresAt = sessions.peek('uid-alice', 'id-1')?.expiresAt;
    clock.advanceSeconds(3600);
    const second = await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(3600);

    // Act
    const third = await refreshSession(deps, second.refreshToken, CONTEXT);

    // Assess
    expect(second.refreshExpiresIn).toBe(REFRESH_TTL - 3600);
    expect(third.refreshExpiresIn).toBe(REFRESH_TTL - 7200);
    expect(sessions.peek('uid-alice', 'id-1')?.expiresAt).toBe(expiresAt);
  });

  it('gives 20 concurrent refreshes of one token one identical successor without forking the session', async () => {
    // Prepare
    const { start, deps, sessions } = setup();
    const first = await start();

    // Act
    const results = await Promise.all(Array.from({ length: 20 }, () => refreshSession(deps, first.refreshToken, CONTEXT)));

    // Assess
    const successors = new Set(results.map((result) => result.refreshToken));
    expect(successors.size).toBe(1);
    expect(successors.has(first.refreshToken)).toBe(false);
    expect(sessions.peek('uid-alice', 'id-1')?.generation).toBe(1);
    // The compare-and-swap really raced: several tried, one won.
    expect(sessions.rotations.wins).toBe(1);
    expect(sessions.rotations.attempts).toBeGreaterThan(1);
    const [successor] = successors;
    await expect(refreshSession(deps, successor as string, CONTEXT)).resolves.toMatchObject({ user: { username: 'alice' } });
  });

  it('answers a refresh that lost the swap to a concurrent one with that same successor', async () => {
    // Prepare
    const { start, deps, sessions } = setup();
    const first = await start();
    let rival: Promise<{ refreshToken: string }> | undefined;
    sessions.afterFindRead(async () => {
      sessions.afterFindRead(undefined);
      // Another tab rotates the same token between this refresh's read and its write.
      rival = refreshSession(deps, first.refreshToken, CONTEXT);
      await rival;
    });

    // Act
    const late = await refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    expect(late.refreshToken).toBe((await rival)?.refreshToken);
    expect(sessions.rotations).toEqual({ attempts: 2, wins: 1 });
    expect(sessions.peek('uid-alice', 'id-1')?.generation).toBe(1);
  });

  it('returns invalid_refresh_token and ends the session after the password changed', async () => {
    // Prepare
    const { start, deps, users, sessions } = setup();
    const first = await start();
    await users.changePassword('alice', 'fake$correct horse', 'fake$new password');

    // Act
    const attempt = refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
  });

  it('returns invalid_refresh_token and ends the session after the user was deleted', async () => {
    // Prepare
    const { start, deps, users, sessions } = setup();
    const first = await start();
    users.drop('alice');

    // Act
    const attempt = refreshSession(deps, first.refreshToken, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    expect(sessions.peek('uid-alice', 'id-1')).toBeUndefined();
  });
});

describe('authenticate', () => {
  it('returns the claims and the live session for a valid token', async () => {
    // Prepare
    const { start, deps } = setup();
    const pair = await start();

    // Act
    const result = await authenticate(deps, pair.token);

    // Assess
    expect(result.claims).toEqual({ username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'id-1' });
    expect(result.session).toMatchObject({ uid: 'uid-alice', sid: 'id-1', username: 'alice' });
  });

  it('returns invalid_token for a validly signed token whose session was removed', async () => {
    // Prepare
    const { start, deps, sessions } = setup();
    const pair = await start();
    await sessions.remove('uid-alice', 'id-1');

    // Act
    const attempt = authenticate(deps, pair.token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a validly signed token whose session has expired', async () => {
    // Prepare
    const { start, deps, clock } = setup();
    const pair = await start();
    clock.advanceSeconds(REFRESH_TTL);

    // Act
    const attempt = authenticate(deps, pair.token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token when the token names a live session of another username', async () => {
    // Prepare
    const { start, deps, tokens } = setup();
    await start();
    const { token } = await tokens.issue({ username: 'mallory', name: 'Mallory', uid: 'uid-alice', sid: 'id-1' });

    // Act
    const attempt = authenticate(deps, token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('passes on the token service rejection of a forged token', async () => {
    // Prepare
    const { start, deps } = setup();
    await start();

    // Act
    const attempt = authenticate(deps, 'forged');

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('refreshSession audit', () => {
  const context = { ...CONTEXT, ip: '203.0.113.40', requestId: 'req-refresh' };

  it('records session.revoked for the session\'s user with the request context when a reuse ends the session', async () => {
    // Prepare
    const { start, deps, clock, audit } = setup();
    const first = await start();
    await refreshSession(deps, first.refreshToken, CONTEXT);
    clock.advanceSeconds(REFRESH_GRACE + 1);

    // Act
    await expect(refreshSession(deps, first.refreshToken, context)).rejects.toMatchObject({ code: 'refresh_token_reused' });

    // Assess
    expect(audit.entries).toEqual([
      { event: 'session.revoked', username: 'alice', known: true, context },
    ]);
    expect(JSON.stringify(audit.entries)).not.toContain(secretOf(first.refreshToken));
  });

  it('records nothing for an ordinary rotation or a forged secret', async () => {
    // Prepare
    const { start, deps, audit, secrets } = setup();
    const first = await start();

    // Act
    await refreshSession(deps, first.refreshToken, context);
    await expect(refreshSession(deps, `uid-alice.id-1.${secrets.newSecret()}`, context)).rejects.toMatchObject({
      code: 'invalid_refresh_token',
    });

    // Assess
    expect(audit.entries).toEqual([]);
  });
});
