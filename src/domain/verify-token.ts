// Use case: say whether an access token is valid (its session live), and for whom; optionally for the claimed user.
import { AppError } from './errors';
import type { PublicUser } from './ports';
import { authenticate, type SessionDeps } from './sessions';
import { normalizeUsername } from './username';

export type VerifyTokenDeps = Pick<SessionDeps, 'sessions' | 'tokens' | 'clock'>;
/** `claimedUsernames`: the names the client says the token is for (tutorial clients send one or two shapes). */
export type VerifyTokenInput = { token: string; claimedUsernames: readonly string[] };

export const verifyToken = async (deps: VerifyTokenDeps, input: VerifyTokenInput): Promise<PublicUser> => {
  const { claims } = await authenticate(deps, input.token);
  if (input.claimedUsernames.some((claimed) => normalizeUsername(claimed) !== claims.username)) {
    throw new AppError('invalid_token', 'the token does not belong to this user');
  }
  return { username: claims.username, name: claims.name };
};
