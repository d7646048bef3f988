// verifyToken: the token's session must be live (a missing token is the HTTP adapter's to answer), and every claimed username must be the token's, after normalization.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, REFRESH_TTL } from '../../test/fakes';
import { logOut } from './log-out';
import { startSession } from './sessions';
import { verifyToken } from './verify-token';

const setup = async () => {
  const world = createWorld();
  const { token } = await startSession(world.deps, { username: 'alice', name: 'Alice', uid: 'uid-alice', credentialVersion: 0, email: null, emailVerified: false });
  return { ...world, token };
};

describe('verifyToken', () => {
  it('returns invalid_token for an empty token', async () => {
    // Prepare
    const { deps } = await setup();

    // Act
    const attempt = verifyToken(deps, { token: '', claimedUsernames: [] });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns the token user when nothing is claimed', async () => {
    // Prepare
    const { deps, token } = await setup();

    // Act
    const user = await verifyToken(deps, { token, claimedUsernames: [] });

    // Assess
    expect(user).toEqual({ username: 'alice', name: 'Alice' });
  });

  it('matches claimed usernames after normalization (ALICE, fullwidth) against a token for alice', async () => {
    // Prepare
    const { deps, token } = await setup();

    // Act
    const user = await verifyToken(deps, { token, claimedUsernames: ['ALICE', 'Ａｌｉｃｅ'] });

    // Assess
    expect(user.username).toBe('alice');
  });

  it.each([
    ['one other user', ['bob']],
    ['a match and a mismatch', ['alice', 'bob']],
    ['a mismatch and a match', ['bob', 'ALICE']],
    ['an empty claim', ['']],
  ])('returns invalid_token when the claims are %s', async (_label, claimedUsernames) => {
    // Prepare
    const { deps, token } = await setup();

    // Act
    const attempt = verifyToken(deps, { token, claimedUsernames });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('passes on the token service rejection of an unknown token', async () => {
    // Prepare
    const { deps } = await setup();

    // Act
    const attempt = verifyToken(deps, { token: 'forged', claimedUsernames: [] });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a validly signed token once its session is logged out', async () => {
    // Prepare
    const { deps, token } = await setup();
    await logOut(deps, { accessToken: token }, CONTEXT);

    // Act
    const attempt = verifyToken(deps, { token, claimedUsernames: [] });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a validly signed token once its session has expired', async () => {
    // Prepare
    const { deps, token, clock } = await setup();
    clock.advanceSeconds(REFRESH_TTL);

    // Act
    const attempt = verifyToken(deps, { token, claimedUsernames: [] });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });
});
