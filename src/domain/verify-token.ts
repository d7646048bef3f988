// Use case: say whether an access token is valid (its session live), and for whom; optionally for the claimed user.
import { AppError } from './errors';
import type { PublicUser } from './ports';
import { authenticate, type SessionDeps } from './sessions';
import { legacyUsernameKeys, normalizeUsername } from './username';

export type VerifyTokenDeps = Pick<SessionDeps, 'sessions' | 'tokens' | 'clock'>;
/** `claimedUsernames`: the names the client says the token is for (tutorial clients send one or two shapes). */
export type VerifyTokenInput = { token: string; claimedUsernames: readonly string[] };

export const verifyToken = async (deps: VerifyTokenDeps, input: VerifyTokenInput): Promise<PublicUser> => {
  const { claims } = await authenticate(deps, input.token);
  // The token's name is the key the account is stored under: today's normalization, or an older key for an
  // account stored before it (see legacyUsernameKeys).
  const names = (claimed: string) => [normalizeUsername(claimed), ...legacyUsernameKeys(claimed)];
  if (input.claimedUsernames.some((claimed) => !names(claimed).includes(claims.username))) {
    throw new AppError('invalid_token', 'the token does not belong to this user');
  }
  return { username: claims.username, name: claims.name };
};
