// Express (4 or 5, or connect) middleware: the verified claims as req.auth, or the bearer check's 401 / 503.
// Typed by the shape it uses, not by Express's types: nothing of Express is loaded, nor needed to type-check.
import { checkBearer, type MiddlewareOptions } from './bearer-check';
import type { AccessTokenClaims, TokenVerifier } from './token-verifier';

/** What the middleware reads of a request: Node's IncomingMessage has it, and so Express's Request. */
export type RequestLike = { headers: { authorization?: string | undefined } };
/** What it uses of a response: Node's ServerResponse API, which Express's Response extends. */
export type ResponseLike = { writeHead(status: number, headers: Record<string, string>): { end(body: string): unknown } };

/** A request past the middleware: `(req as AuthenticatedRequest<Request>).auth.username` in a handler. */
export type AuthenticatedRequest<R = RequestLike> = R & { auth: AccessTokenClaims };

export const expressMiddleware =
  (verifier: TokenVerifier, options?: MiddlewareOptions) =>
  (req: RequestLike, res: ResponseLike, next: (error?: unknown) => void): void => {
    // A promise chain rather than an async handler: Express 4 would not catch a rejection of one.
    checkBearer(verifier, req.headers.authorization, options).then((outcome) => {
      if ('refusal' in outcome) {
        const { status, headers, body } = outcome.refusal;
        res.writeHead(status, headers).end(JSON.stringify(body));
        return;
      }
      (req as AuthenticatedRequest).auth = outcome.claims;
      next();
    }, next);
  };
