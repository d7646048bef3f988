// Use cases: end one session (by access or refresh token), or every session of a user. Idempotent.
import { AppError, invalidRefreshToken } from './errors';
import type { AuditLog, RequestContext } from './ports';
import { authenticate, generationsBehind, parseRefreshToken, type SessionDeps } from './sessions';

export type LogOutDeps = Pick<SessionDeps, 'sessions' | 'tokens' | 'clock' | 'secrets'> & { audit: AuditLog };
export type LogOutInput = { accessToken?: string | undefined; refreshToken?: string | undefined };

const invalidRefresh = invalidRefreshToken;

export const logOut = async (deps: LogOutDeps, input: LogOutInput, context: RequestContext): Promise<void> => {
  if (input.refreshToken !== undefined) {
    const parsed = parseRefreshToken(input.refreshToken);
    if (parsed === null) throw invalidRefresh();
    const session = await deps.sessions.find(parsed.uid, parsed.sid);
    if (session === null) return;
    // Knowing the locator is not enough to end somebody's session: the secret must be one of its chain.
    if (generationsBehind(deps, session, parsed.secret) === undefined) throw invalidRefresh();
    await deps.sessions.remove(session.uid, session.sid);
    deps.audit.record('session.revoked', { username: session.username, known: true, context });
    return;
  }
  if (input.accessToken === undefined || input.accessToken === '') {
    throw new AppError('missing_token', 'a bearer token or a refreshToken is required');
  }
  // A validly signed token of a session that already ended logs out again without complaint.
  const claims = await deps.tokens.verify(input.accessToken);
  await deps.sessions.remove(claims.uid, claims.sid);
  deps.audit.record('session.revoked', { username: claims.username, known: true, context });
};

export const logOutAll = async (
  deps: LogOutDeps,
  accessToken: string | undefined,
  context: RequestContext,
): Promise<void> => {
  const { claims } = await authenticate(deps, accessToken);
  await deps.sessions.removeAll(claims.uid);
  deps.audit.record('session.revoked', { username: claims.username, known: true, context });
};
