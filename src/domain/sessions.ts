// Sessions: start one at login, rotate its refresh token, and authenticate an access token against it.
import { AppError, invalidCredentials, invalidRefreshToken } from './errors';
import { AGAIN, ATTEMPTS, retry } from './retry';
import type {
  AccessClaims,
  AuditLog,
  RequestContext,
  Clock,
  EmailClaims,
  Ids,
  IssuedToken,
  PublicUser,
  RefreshSecrets,
  Session,
  SessionStore,
  TokenService,
  UserRecord,
  UserStore,
} from './ports';

export type SessionSettings = { refreshTtlSeconds: number; refreshGraceSeconds: number };

export type SessionDeps = {
  users: UserStore;
  sessions: SessionStore;
  tokens: TokenService;
  secrets: RefreshSecrets;
  ids: Ids;
  clock: Clock;
  settings: SessionSettings;
};

/** What login, refresh and password change answer. */
export type TokenPair = IssuedToken & { user: PublicUser; refreshToken: string; refreshExpiresIn: number };

// How far back a superseded refresh token is still recognised as one (and its reuse ends the session):
// 100 rotations. Older ones are simply unknown. The bound keeps a forged token cheap to refuse
// (at most 100 HMACs, well under a millisecond) however long a session has lived.
const MAX_GENERATIONS = 100;

const invalidRefresh = invalidRefreshToken;

/** `uid.sid.secret`: the locator finds the session, the secret proves possession (only its digest is stored). */
const formatRefreshToken = (uid: string, sid: string, secret: string) => `${uid}.${sid}.${secret}`;

export const parseRefreshToken = (token: string): { uid: string; sid: string; secret: string } | null => {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 256 || parts.some((part) => part === '')) return null;
  const [uid, sid, secret] = parts as [string, string, string];
  return { uid, sid, secret };
};

const secondsUntil = (deps: SessionDeps, epochMs: number) =>
  Math.max(0, Math.round((epochMs - deps.clock.now().getTime()) / 1000));

/** OpenID's `email` / `email_verified` for the access token, whenever the account has an address. */
const emailClaimsOf = (user: Pick<UserRecord, 'email' | 'emailVerified'>): EmailClaims =>
  user.email === null ? {} : { email: user.email, emailVerified: user.emailVerified };

const pair = async (deps: SessionDeps, session: Session, secret: string, email: EmailClaims): Promise<TokenPair> => {
  const user = { username: session.username, name: session.name };
  const access = await deps.tokens.issue({ ...user, uid: session.uid, sid: session.sid, ...email });
  return {
    user,
    ...access,
    refreshToken: formatRefreshToken(session.uid, session.sid, secret),
    refreshExpiresIn: secondsUntil(deps, session.expiresAt),
  };
};

/** The user is still there, still the same account, with the same password as when the session began. */
const stillValid = (user: UserRecord | null, session: Pick<Session, 'uid' | 'credentialVersion'>) =>
  user !== null && user.uid === session.uid && user.credentialVersion === session.credentialVersion;

/**
 * Starts a session for a user whose password was just checked. Without transactions, the order of writes
 * keeps the rule that no session outlives its user or its password: the session is written first, then the
 * user is read again, and the session is dropped if the user was deleted or changed password meanwhile
 * (those operations change the user first, then remove the sessions).
 */
export const startSession = async (
  deps: SessionDeps,
  user: Pick<UserRecord, 'username' | 'name' | 'credentialVersion' | 'email' | 'emailVerified'> & { uid: string },
  /** Says whether the account is still the one whose password was checked (login: its last write does). */
  confirm?: () => Promise<boolean>,
): Promise<TokenPair> => {
  const now = deps.clock.now().getTime();
  const secret = deps.secrets.newSecret();
  const session: Session = {
    uid: user.uid,
    sid: deps.ids.newId(),
    username: user.username,
    name: user.name,
    createdAt: now,
    expiresAt: now + deps.settings.refreshTtlSeconds * 1000,
    refreshHash: deps.secrets.digest(secret),
    rotatedAt: now,
    generation: 0,
    credentialVersion: user.credentialVersion,
  };
  await deps.sessions.create(session);
  const stands = await (confirm ?? (async () => stillValid(await deps.users.find(user.username), session)))().catch(
    async (error: unknown) => {
      // Unconfirmed, the session must not stay behind: drop it (if the store lets us) and report the failure.
      await deps.sessions.remove(session.uid, session.sid).catch(() => undefined);
      throw error;
    },
  );
  if (!stands) {
    // The account changed meanwhile: this session must not stay behind, so its removal is tried again.
    await retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.sessions.remove(session.uid, session.sid));
    throw invalidCredentials();
  }
  return pair(deps, session, secret, emailClaimsOf(user));
};

/**
 * Ends every session of an account whose user has just changed (a new password, a reset, a deletion). Tried again
 * on failure: the user is already changed, so a session left behind would outlive its password or its account.
 */
export const endAllSessions = (deps: Pick<SessionDeps, 'sessions'>, uid: string) =>
  retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.sessions.removeAll(uid));

/** How many rotations ago `secret` was current: 0 = current, 1 = just superseded, undefined = not of this session. */
export const generationsBehind = (
  deps: Pick<SessionDeps, 'secrets'>,
  session: Session,
  secret: string,
): number | undefined => {
  let candidate = secret;
  const limit = Math.min(session.generation, MAX_GENERATIONS);
  for (let behind = 0; behind <= limit; behind += 1) {
    if (deps.secrets.same(deps.secrets.digest(candidate), session.refreshHash)) return behind;
    candidate = deps.secrets.successor(candidate);
  }
  return undefined;
};

/**
 * Rotates a refresh token. The current one gets a successor (a compare-and-swap, so concurrent refreshes cannot
 * fork the session); the one just superseded, within the grace window, gets that same successor again; any older
 * one is a reuse, which ends the session.
 */
export const refreshSession = async (
  deps: SessionDeps & { audit: AuditLog },
  refreshToken: string,
  context: RequestContext,
): Promise<TokenPair> => {
  const parsed = parseRefreshToken(refreshToken);
  if (parsed === null) throw invalidRefresh();
  const rotated = await retry({ attempts: ATTEMPTS.compareAndSwap }, async () => {
    const session = await deps.sessions.find(parsed.uid, parsed.sid);
    const now = deps.clock.now().getTime();
    if (session === null || session.expiresAt <= now) throw invalidRefresh();
    const behind = generationsBehind(deps, session, parsed.secret);
    // A forged secret must not end somebody else's session: only a real, superseded one counts as reuse.
    if (behind === undefined) throw invalidRefresh();
    const inGrace = behind === 1 && now - session.rotatedAt <= deps.settings.refreshGraceSeconds * 1000;
    if (behind >= 1 && !inGrace) {
      await deps.sessions.remove(session.uid, session.sid);
      deps.audit.record('session.revoked', { username: session.username, known: true, context });
      throw new AppError('refresh_token_reused', 'this refresh token was already used; the session has ended');
    }
    const user = await deps.users.find(session.username);
    if (user === null || !stillValid(user, session)) {
      await deps.sessions.remove(session.uid, session.sid);
      throw invalidRefresh();
    }
    const next = deps.secrets.successor(parsed.secret);
    // The token just replaced, presented again in the grace window: the same successor, recomputed.
    if (inGrace) return pair(deps, session, next, emailClaimsOf(user));
    const rotation = { refreshHash: deps.secrets.digest(next), rotatedAt: now, generation: session.generation + 1 };
    if (await deps.sessions.rotate(session.uid, session.sid, session.refreshHash, rotation)) {
      return pair(deps, { ...session, ...rotation }, next, emailClaimsOf(user));
    }
    // Another refresh of this same token won the swap: read again, and this one now falls in its grace window.
    return AGAIN;
  });
  if (rotated === undefined) throw invalidRefresh();
  return rotated;
};

/**
 * Authoritative check of an access token: signature and claims, then its session, in one read. Sessions are
 * removed whenever their user changes or goes (see startSession and the account use cases), so a live session
 * stands for a live user; the one gap, a clean-up that failed three times, is closed by repeating it.
 */
export const authenticate = async (
  deps: Pick<SessionDeps, 'sessions' | 'tokens' | 'clock'>,
  accessToken: string,
): Promise<{ claims: AccessClaims; session: Session }> => {
  const claims = await deps.tokens.verify(accessToken);
  const session = await deps.sessions.find(claims.uid, claims.sid);
  if (session === null || session.expiresAt <= deps.clock.now().getTime() || session.username !== claims.username) {
    throw new AppError('invalid_token', 'the session has ended');
  }
  return { claims, session };
};
