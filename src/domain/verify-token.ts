// Use case: say whether an access token is valid, and for whom; optionally that it belongs to the claimed user.
import { AppError } from './errors';
import type { PublicUser, TokenService } from './ports';
import { normalizeUsername } from './username';

export type VerifyTokenDeps = { tokens: TokenService };
/** `claimedUsernames`: the names the client says the token is for (tutorial clients send one or two shapes). */
export type VerifyTokenInput = { token: string | undefined; claimedUsernames: readonly string[] };

export const verifyToken = async (deps: VerifyTokenDeps, input: VerifyTokenInput): Promise<PublicUser> => {
  if (input.token === undefined || input.token === '') throw new AppError('invalid_token', 'a token is required');
  const user = await deps.tokens.verify(input.token);
  if (input.claimedUsernames.some((claimed) => normalizeUsername(claimed) !== user.username)) {
    throw new AppError('invalid_token', 'the token does not belong to this user');
  }
  return user;
};
