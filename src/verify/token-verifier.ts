// createTokenVerifier: checks the login service's access tokens in another service, offline against its JWKS
// (pinned algorithms, type, issuer, audience, expiry) and, optionally, live against its /verify.
// Runs wherever fetch and WebCrypto do: it imports jose and nothing of the service itself.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';

/** What an access token of the login service says, once verified. */
export type AccessTokenClaims = JWTPayload & {
  /** The normalized username; `username` repeats it. */
  sub: string;
  username: string;
  /** The display name. */
  name: string;
  /** The account's stable id: a name deleted and registered again is another uid. */
  uid: string;
  /** The session the token belongs to. */
  sid: string;
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
};

/** Stable codes, public API as the service's own: switch on `error.code`, never on the message. */
export const TOKEN_VERIFIER_ERROR_CODES = [
  'invalid_token',
  'token_expired',
  /** The JWKS could not be fetched, or has no keys to check with (an HS256 deployment without verifyUrl). */
  'jwks_unavailable',
  /** verifyUrl did not answer, or not in time. */
  'session_check_unavailable',
] as const;
export type TokenVerifierErrorCode = (typeof TOKEN_VERIFIER_ERROR_CODES)[number];

export class TokenVerifierError extends Error {
  override readonly name = 'TokenVerifierError';
  constructor(
    readonly code: TokenVerifierErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The algorithms the login service signs with and publishes keys for; HS256 keys are never published. */
export type PublishedAlgorithm = 'EdDSA' | 'ES256';

export type TokenVerifierOptions = {
  /** The service's JWT_ISSUER (default there: `login-service`). */
  issuer: string;
  /** The service's JWT_AUDIENCE (default there: `login-service`). */
  audience: string;
  /** `<service URL>/.well-known/jwks.json`. Leave it out with an HS256 deployment (verifyUrl alone). */
  jwksUrl?: string | URL;
  /**
   * `<service URL>/verify`: when set, every token is also checked there, so a logged-out session is refused at
   * once instead of when the token expires. One request to the service per call; the only way to check the
   * tokens of an HS256 deployment, whose JWKS is empty.
   */
  verifyUrl?: string | URL;
  /** Narrows the accepted algorithms (default both the service can sign with). */
  algorithms?: readonly PublishedAlgorithm[];
  /** Bound on each request to the service (JWKS or /verify), in ms. Default 5000. */
  timeoutMs?: number;
  /** After a fetch, how long an unknown `kid` waits before it may trigger another (ms). Default 30000. */
  cooldownMs?: number;
  /**
   * How long fetched keys are trusted before they are fetched again (ms): a key removed from the set (a
   * compromised one) is still accepted this long. Default 300000, the max-age the service's JWKS announces.
   */
  cacheMaxAgeMs?: number;
  /** Allowed clock skew on `exp`, `iat`, `nbf`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** The time; tests pass a fixed one. */
  clock?: { now(): Date };
};

export type TokenVerifier = {
  /** Resolves to the token's claims; rejects with a TokenVerifierError. */
  verify(token: string): Promise<AccessTokenClaims>;
};

const ACCESS_TOKEN_TYPE = 'at+jwt';
const PUBLISHED_ALGORITHMS: readonly PublishedAlgorithm[] = ['EdDSA', 'ES256'];
// As the service: far above any token it issues, and no megabyte of junk is parsed.
const MAX_TOKEN_LENGTH = 16 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

const invalid = (message: string, cause?: unknown) => new TokenVerifierError('invalid_token', message, { cause });

/** A short, log-worthy reason for a failed request: the network error's code, a timeout, a status. */
const reasonOf = (error: unknown, timeoutMs: number): string => {
  if (error instanceof errors.JWKSTimeout || (error instanceof Error && error.name === 'TimeoutError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
};

/** The claims the service always issues, with the types it issues them in; anything else is not its token. */
const accessClaims = (payload: JWTPayload): AccessTokenClaims => {
  const { sub, username, name, uid, sid, jti } = payload;
  const strings = [sub, name, uid, sid, jti].every((value) => typeof value === 'string' && value !== '');
  if (!strings || username !== sub) throw invalid('the token lacks the claims of a login-service access token');
  return payload as AccessTokenClaims;
};

export const createTokenVerifier = (options: TokenVerifierOptions): TokenVerifier => {
  const { issuer, audience, jwksUrl, verifyUrl } = options;
  if (jwksUrl === undefined && verifyUrl === undefined) throw new TypeError('createTokenVerifier needs jwksUrl, verifyUrl or both');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const algorithms = [...(options.algorithms ?? PUBLISHED_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((alg) => !PUBLISHED_ALGORITHMS.includes(alg))) {
    throw new TypeError(`algorithms must be some of ${PUBLISHED_ALGORITHMS.join(', ')}`);
  }
  const now = () => options.clock?.now() ?? new Date();
  const remoteKeys =
    jwksUrl === undefined
      ? undefined
      : createRemoteJWKSet(new URL(jwksUrl), {
          timeoutDuration: timeoutMs,
          cooldownDuration: options.cooldownMs ?? 30_000,
          cacheMaxAge: options.cacheMaxAgeMs ?? 300_000,
        });

  const jwksUnavailable = (error: unknown) =>
    error instanceof TokenVerifierError
      ? error
      : new TokenVerifierError('jwks_unavailable', `the JWKS at ${jwksUrl} could not be fetched: ${reasonOf(error, timeoutMs)}`, {
          cause: error,
        });

  /** Whether the published set has keys, fetching it when the cache is cold or stale. */
  const hasPublishedKeys = async (): Promise<boolean> => {
    if (remoteKeys === undefined) return false;
    if (!remoteKeys.fresh) await remoteKeys.reload().catch((error: unknown) => Promise.reject(jwksUnavailable(error)));
    return (remoteKeys.jwks()?.keys.length ?? 0) > 0;
  };

  const verifyOffline = async (token: string): Promise<AccessTokenClaims> => {
    const keys = remoteKeys as NonNullable<typeof remoteKeys>;
    try {
      const { payload } = await jwtVerify(
        token,
        // A refetch on an unknown kid can fail too: that is the JWKS's fault, not the token's.
        async (header, jws) => {
          // Every token of the service names its key; a token that names none could match several.
          if (typeof header.kid !== 'string') throw invalid('the token names no key (kid)');
          try {
            return await keys(header, jws);
          } catch (error) {
            if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
            throw jwksUnavailable(error);
          }
        },
        {
          algorithms,
          typ: ACCESS_TOKEN_TYPE,
          issuer,
          audience,
          requiredClaims: ['exp', 'iat', 'sub'],
          clockTolerance: options.clockToleranceSeconds ?? 5,
          currentDate: now(),
        },
      );
      return accessClaims(payload);
    } catch (error) {
      if (error instanceof TokenVerifierError) throw error;
      if (error instanceof errors.JWTExpired) throw new TokenVerifierError('token_expired', 'the token has expired', { cause: error });
      if (error instanceof errors.JWKSNoMatchingKey) throw invalid('no published key matches the token (kid and alg)', error);
      if (error instanceof errors.JOSEError) throw invalid(`the token is invalid (${error.code})`, error);
      throw error;
    }
  };

  /** The service's own answer: is the token valid and its session live right now? */
  const checkSession = async (token: string): Promise<void> => {
    let response: Response;
    let body: { verified?: unknown; code?: unknown } | undefined;
    try {
      response = await fetch(verifyUrl as string | URL, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = (await response.json().catch(() => undefined)) as typeof body;
    } catch (error) {
      throw new TokenVerifierError(
        'session_check_unavailable',
        `the session check at ${verifyUrl} did not answer: ${reasonOf(error, timeoutMs)}`,
        { cause: error },
      );
    }
    if (response.status === 200 && body?.verified === true) return;
    if (response.status === 401) {
      if (body?.code === 'token_expired') throw new TokenVerifierError('token_expired', 'the token has expired');
      throw invalid('the login service refused the token (its session may have ended)');
    }
    throw new TokenVerifierError(
      'session_check_unavailable',
      `the session check at ${verifyUrl} answered ${response.status}${typeof body?.code === 'string' ? ` ${body.code}` : ''}`,
    );
  };

  /**
   * After /verify accepted the token its payload is the service's word; the local checks guard against a
   * verifyUrl that points at another deployment than issuer and audience name.
   */
  const claimsOfVerified = (token: string): AccessTokenClaims => {
    let payload: JWTPayload;
    try {
      if (decodeProtectedHeader(token).typ !== ACCESS_TOKEN_TYPE) throw invalid('the token is not an access token (typ)');
      payload = decodeJwt(token);
    } catch (error) {
      if (error instanceof TokenVerifierError) throw error;
      throw invalid('the token is malformed', error);
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (payload.iss !== issuer || !audiences.includes(audience)) {
      throw invalid('the token is of another issuer or audience than this verifier expects');
    }
    return accessClaims(payload);
  };

  return {
    async verify(token) {
      if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_LENGTH) throw invalid('the token is malformed');
      if (await hasPublishedKeys()) {
        const claims = await verifyOffline(token);
        if (verifyUrl !== undefined) await checkSession(token);
        return claims;
      }
      if (verifyUrl === undefined) {
        throw new TokenVerifierError(
          'jwks_unavailable',
          `the JWKS at ${jwksUrl} has no keys: the login service signs with HS256 (a shared secret it never publishes), ` +
            'so its tokens cannot be checked offline; pass verifyUrl (<service URL>/verify) to check them there, ' +
            'or switch the service to JWT_ALG=ES256 or EdDSA',
        );
      }
      await checkSession(token);
      return claimsOfVerified(token);
    },
  };
};
