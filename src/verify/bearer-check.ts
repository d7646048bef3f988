// The framework-free half of the middlewares: reads `Authorization: Bearer <token>`, verifies it, and says what
// to answer otherwise (RFC 6750 challenges on 401, a 503 when the service's keys or /verify cannot be reached).
import { TokenVerifierError, type AccessTokenClaims, type TokenVerifier, type TokenVerifierErrorCode } from './token-verifier';

export type MiddlewareOptions = {
  /**
   * Told of every refused request's error, for logs (its message names the cause; the response never does).
   * Default: 503s are written with console.error, 401s are not logged.
   */
  onError?: (error: TokenVerifierError) => void;
};

/** The codes a middleware answers with: the verifier's, plus `missing_token` for a request without a token. */
export type BearerErrorCode = TokenVerifierErrorCode | 'missing_token';

export type BearerRefusal = {
  status: 401 | 503;
  headers: Record<string, string>;
  body: { code: BearerErrorCode; message: string };
};

export type BearerOutcome = { claims: AccessTokenClaims } | { refusal: BearerRefusal };

// Fixed texts: the verifier's messages (URLs, network causes) go to onError, never to whoever sent the request.
const ANSWERS: Record<BearerErrorCode, { status: 401 | 503; message: string }> = {
  missing_token: { status: 401, message: 'a bearer token is required' },
  invalid_token: { status: 401, message: 'the token is invalid' },
  token_expired: { status: 401, message: 'the token has expired' },
  jwks_unavailable: { status: 503, message: 'the token cannot be checked right now: the signing keys are unavailable' },
  session_check_unavailable: { status: 503, message: 'the token cannot be checked right now: the login service did not answer' },
};

const refusal = (code: BearerErrorCode): BearerRefusal => {
  const { status, message } = ANSWERS[code];
  // RFC 6750 section 3: no error attribute when the request carried no token at all.
  const challenge =
    code === 'missing_token'
      ? 'Bearer'
      : status === 401
        ? `Bearer error="invalid_token", error_description="${message}"`
        : undefined;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (challenge !== undefined) headers['WWW-Authenticate'] = challenge;
  return { status, headers, body: { code, message } };
};

const defaultOnError = (error: TokenVerifierError) => {
  if (ANSWERS[error.code].status === 503) console.error(`token check unavailable: ${error.message}`);
};

/**
 * The token of an Authorization header, as the service reads it: undefined without one (no header, another
 * scheme, `Bearer` alone); null when it says Bearer but is not `Bearer <token>` (spaces in it, trailing words).
 */
export const bearerTokenOf = (header: string | undefined): string | undefined | null => {
  const match = /^Bearer(?:[ \t]+(.*))?$/is.exec(header ?? '');
  const credentials = match?.[1]?.trim();
  if (credentials === undefined || credentials === '') return undefined;
  return /\s/.test(credentials) ? null : credentials;
};

/** Verifies the request's bearer token; errors other than the verifier's (bugs) are thrown to the framework. */
export const checkBearer = async (
  verifier: TokenVerifier,
  authorization: string | undefined,
  options: MiddlewareOptions = {},
): Promise<BearerOutcome> => {
  const token = bearerTokenOf(authorization);
  if (token === undefined) return { refusal: refusal('missing_token') };
  try {
    if (token === null) throw new TokenVerifierError('invalid_token', 'the Authorization header must be "Bearer <token>"');
    return { claims: await verifier.verify(token) };
  } catch (error) {
    if (!(error instanceof TokenVerifierError)) throw error;
    (options.onError ?? defaultOnError)(error);
    return { refusal: refusal(error.code) };
  }
};
