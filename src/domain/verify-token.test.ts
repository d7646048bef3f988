// verifyToken: a token is required, and every username the client claims must be the token's, after normalization.
import { describe, expect, it } from 'vitest';
import { createTokenService } from '../../test/fakes';
import { verifyToken } from './verify-token';

const setup = async () => {
  const tokens = createTokenService();
  const { token } = await tokens.issue({ username: 'alice', name: 'Alice' });
  return { token, deps: { tokens } };
};

describe('verifyToken', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
  ])('returns invalid_token when the token is %s', async (_label, token) => {
    // Prepare
    const { deps } = await setup();

    // Act
    const attempt = verifyToken(deps, { token, claimedUsernames: [] });

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
});
