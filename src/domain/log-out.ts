// Use cases: end one session (by access or refresh token), or every session of a user. Idempotent.
import { invalidRefreshToken } from './errors';
import type { AccessClaims, AuditLog, RequestContext } from './ports';
import { generationsBehind, parseRefreshToken, type SessionDeps } from './sessions';

export type LogOutDeps = Pick<SessionDeps, 'sessions' | 'tokens' | 'clock' | 'secrets'> & { audit: AuditLog };
/** The HTTP adapter hands over one proof or the other; it answers a request with neither (missing_token). */
export type LogOutInput = { refreshToken: string } | { accessToken: string };

export const logOut = async (deps: LogOutDeps, input: LogOutInput, context: RequestContext): Promise<void> => {
  if ('refreshToken' in input) {
    const parsed = parseRefreshToken(input.refreshToken);
    if (parsed === null) throw invalidRefreshToken();
    const session = await deps.sessions.find(parsed.uid, parsed.sid);
    // Knowing the locator is not enough to end somebody's session: the secret must be one of its chain. A wrong
    // secret ends nothing, and is answered like a session that has already ended, so the answer does not tell
    // a holder of the locator (any access token carries it) whether the session is live.
    if (session === null || generationsBehind(deps, session, parsed.secret) === undefined) return;
    await deps.sessions.remove(session.uid, session.sid);
    deps.audit.record('session.revoked', { username: session.username, known: true, context });
    return;
  }
  // A validly signed token of a session that already ended logs out again without complaint.
  const claims = await deps.tokens.verify(input.accessToken);
  await deps.sessions.remove(claims.uid, claims.sid);
  deps.audit.record('session.revoked', { username: claims.username, known: true, context });
};

export const logOutAll = async (deps: LogOutDeps, claims: AccessClaims, context: RequestContext): Promise<void> => {
  await deps.sessions.removeAll(claims.uid);
  deps.audit.record('session.revoked', { username: claims.username, known: true, context });
};
