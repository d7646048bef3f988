// Express (4 or 5, or connect) middleware: the verified claims as req.auth, or the bearer check's 401 / 503.
// Express is imported for its types only: the module never loads it.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { checkBearer, type MiddlewareOptions } from './bearer-check';
import type { AccessTokenClaims, TokenVerifier } from './token-verifier';

/** A request past the middleware: `(req as AuthenticatedRequest).auth.username` in a handler. */
export type AuthenticatedRequest = Request & { auth: AccessTokenClaims };

export const expressMiddleware =
  (verifier: TokenVerifier, options?: MiddlewareOptions): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) => {
    // A promise chain rather than an async handler: Express 4 would not catch a rejection of one.
    checkBearer(verifier, req.headers.authorization, options).then((outcome) => {
      if ('refusal' in outcome) {
        const { status, headers, body } = outcome.refusal;
        // Node's own response API, which Express extends: no dependence on Express's helpers or their version.
        res.writeHead(status, headers).end(JSON.stringify(body));
        return;
      }
      (req as AuthenticatedRequest).auth = outcome.claims;
      next();
    }, next);
  };
