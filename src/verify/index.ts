// The `./verify` entry: check the login service's access tokens in your own service (see the README section
// "Checking our tokens in your own services"). Depends on jose alone at run time.
export {
  createTokenVerifier,
  TOKEN_VERIFIER_ERROR_CODES,
  TokenVerifierError,
  type AccessTokenClaims,
  type PublishedAlgorithm,
  type TokenVerifier,
  type TokenVerifierErrorCode,
  type TokenVerifierOptions,
} from './token-verifier';
export { bearerTokenOf, checkBearer, type BearerErrorCode, type BearerOutcome, type BearerRefusal, type MiddlewareOptions } from './bearer-check';
export { honoMiddleware, type AuthVariables } from './hono-middleware';
export { expressMiddleware, type AuthenticatedRequest } from './express-middleware';
