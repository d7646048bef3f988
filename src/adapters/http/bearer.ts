// The one bearer check (RFC 6750): reads `Authorization: Bearer <token>`, answers a missing or malformed one, and
// puts the verified claims of a live session on the context for the routes that need one.
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../domain/errors';
import type { AccessClaims } from '../../domain/ports';

export const missingToken = (what = 'a bearer token is required') => new AppError('missing_token', what);

/**
 * The bearer token of a request: undefined when there is none (no header, another scheme, or `Bearer` alone);
 * invalid_token when the header says Bearer but is not `Bearer <token>` (a token with spaces, trailing words).
 */
export const bearerToken = (c: Context): string | undefined => {
  const match = /^Bearer(?:[ \t]+(.*))?$/is.exec(c.req.header('Authorization') ?? '');
  const credentials = match?.[1]?.trim();
  if (credentials === undefined || credentials === '') return undefined;
  if (/\s/.test(credentials)) throw new AppError('invalid_token', 'the Authorization header must be "Bearer <token>"');
  return credentials;
};

export type SessionVariables = { claims: AccessClaims };

/** For routes that need a live session: the use cases receive verified claims, never a raw or missing token. */
export const requireSession =
  (authenticate: (token: string) => Promise<AccessClaims>): MiddlewareHandler<{ Variables: SessionVariables }> =>
  async (c, next) => {
    const token = bearerToken(c);
    if (token === undefined) throw missingToken();
    c.set('claims', await authenticate(token));
    await next();
  };
