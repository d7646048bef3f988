// Hono middleware: the verified claims as c.get('auth'), or the bearer check's 401 / 503. Hono is imported for
// its types only, so the module loads in services that do not use it.
import type { MiddlewareHandler } from 'hono';
import { checkBearer, type MiddlewareOptions } from './bearer-check';
import type { AccessTokenClaims, TokenVerifier } from './token-verifier';

/** Declare the app with these: `new Hono<{ Variables: AuthVariables }>()`, then `c.get('auth').username`. */
export type AuthVariables = { auth: AccessTokenClaims };

export const honoMiddleware =
  (verifier: TokenVerifier, options?: MiddlewareOptions): MiddlewareHandler<{ Variables: AuthVariables }> =>
  async (c, next) => {
    const outcome = await checkBearer(verifier, c.req.header('Authorization'), options);
    if ('refusal' in outcome) {
      const { status, headers, body } = outcome.refusal;
      return c.json(body, status, headers);
    }
    c.set('auth', outcome.claims);
    await next();
  };
