// The HTTP adapter: routes, validation at the edge, CORS, body limit, one request log line, one error mapper.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { AppError } from '../../domain/errors';
import type { ChangePasswordInput, Me } from '../../domain/account';
import type { LogInInput } from '../../domain/log-in';
import type { LogOutInput } from '../../domain/log-out';
import type { PublicUser, RequestContext } from '../../domain/ports';
import type { RegisterInput } from '../../domain/register';
import type { TokenPair } from '../../domain/sessions';
import type { VerifyTokenInput } from '../../domain/verify-token';
import { errorResponse, toAppError } from './error-response';
import {
  ChangePasswordBody,
  DeleteAccountBody,
  LoginBody,
  LogoutBody,
  parseJsonObject,
  RefreshBody,
  RegisterBody,
  validate,
  VerifyBody,
} from './schemas';

export type RequestLog = {
  info(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
};

export type AppDeps = {
  register(input: RegisterInput, context: RequestContext): Promise<{ username: string }>;
  logIn(input: LogInInput, context: RequestContext): Promise<TokenPair>;
  refresh(refreshToken: string, context: RequestContext): Promise<TokenPair>;
  verifyToken(input: VerifyTokenInput): Promise<PublicUser>;
  logOut(input: LogOutInput, context: RequestContext): Promise<void>;
  logOutAll(accessToken: string | undefined, context: RequestContext): Promise<void>;
  getMe(accessToken: string | undefined): Promise<Me>;
  changePassword(accessToken: string | undefined, input: ChangePasswordInput, context: RequestContext): Promise<TokenPair>;
  deleteAccount(accessToken: string | undefined, input: { password: string }, context: RequestContext): Promise<void>;
  /** The public signing keys (empty in HS256 mode). */
  jwks: { keys: unknown[] };
  log: RequestLog;
  corsOrigins: '*' | readonly string[];
  /** The platform's request id when there is one (Lambda); otherwise one is generated. */
  requestId?(c: Context): string | undefined;
  /** A problem the platform adapter found in the raw request before Hono saw it (bad base64, ...). */
  adapterError?(c: Context): string | undefined;
  /** The address the request came from, as the platform saw it (the connection, or API Gateway's context). */
  peerAddress?(c: Context): string | undefined;
  /** Proxies in front of us that append to X-Forwarded-For (TRUST_PROXY); 0 ignores the header. */
  trustProxy?: number;
};

const MAX_BODY_BYTES = 16 * 1024;

const ROUTES: Record<string, readonly string[]> = {
  '/register': ['POST'],
  '/login': ['POST'],
  '/token/refresh': ['POST'],
  '/verify': ['POST'],
  '/logout': ['POST'],
  '/logout/all': ['POST'],
  '/me': ['GET', 'HEAD', 'DELETE'],
  '/me/password': ['POST'],
  '/.well-known/jwks.json': ['GET', 'HEAD'],
  '/health': ['GET', 'HEAD'],
};

// Token responses must never be cached (RFC 6749 5.1).
const NO_STORE = { 'Cache-Control': 'no-store' };

const tokenPairBody = (result: TokenPair) => ({
  user: result.user,
  token: result.token,
  tokenType: 'Bearer',
  expiresIn: result.expiresIn,
  refreshToken: result.refreshToken,
  refreshExpiresIn: result.refreshExpiresIn,
});

type Env = { Variables: { requestId: string; failure?: Record<string, unknown> } };

export const createApp = (deps: AppDeps) => {
  const app = new Hono<Env>();

  /**
   * Who is asking: the platform's peer address, never a header a client can set, unless TRUST_PROXY says how
   * many proxies of ours append to X-Forwarded-For (then the entry that many from the right).
   */
  const clientIp = (c: Context): string => {
    const peer = deps.peerAddress?.(c) ?? 'unknown';
    const hops = deps.trustProxy ?? 0;
    if (hops === 0) return peer;
    const forwarded = (c.req.header('X-Forwarded-For') ?? '').split(',').map((part) => part.trim()).filter(Boolean);
    return forwarded[forwarded.length - hops] ?? peer;
  };
  const requestContext = (c: Context<Env>): RequestContext => ({ ip: clientIp(c), requestId: c.get('requestId') });

  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = deps.requestId?.(c) ?? crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('X-Request-Id', requestId);
    const failure = c.get('failure');
    const fields = {
      requestId,
      method: c.req.method,
      route: knownRoute(c.req.path) ?? 'unmatched',
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(failure === undefined ? {} : { failure }),
    };
    // One line per request; a server fault is the same line at error level, with what went wrong.
    if (failure === undefined) deps.log.info('request', fields);
    else deps.log.error('request', fields);
  });

  // A preflight for a path we do not serve is a 404, not a CORS answer.
  app.use(async (c, next) => {
    if (c.req.method === 'OPTIONS' && knownRoute(c.req.path) === undefined) {
      throw new AppError('not_found', 'no such endpoint');
    }
    await next();
  });

  app.use(
    cors({
      origin: deps.corsOrigins === '*' ? '*' : [...deps.corsOrigins],
      allowMethods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization'],
      exposeHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
      maxAge: 600,
    }),
  );

  app.use(async (c, next) => {
    const problem = deps.adapterError?.(c);
    if (problem !== undefined) throw new AppError('invalid_request', problem);
    await next();
  });

  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError('payload_too_large', `the request body must be at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.post('/register', async (c) => {
    const body = validate(RegisterBody, parseJsonObject(await bodyText(c)));
    const { username } = await deps.register(body, requestContext(c));
    return c.json({ username }, 201, NO_STORE);
  });

  app.post('/login', async (c) => {
    const body = validate(LoginBody, parseJsonObject(await bodyText(c)));
    return c.json(tokenPairBody(await deps.logIn(body, requestContext(c))), 200, NO_STORE);
  });

  app.post('/token/refresh', async (c) => {
    const body = validate(RefreshBody, parseJsonObject(await bodyText(c)));
    return c.json(tokenPairBody(await deps.refresh(body.refreshToken, requestContext(c))), 200, NO_STORE);
  });

  app.post('/logout', async (c) => {
    const body = validate(LogoutBody, parseJsonObject(await bodyText(c), { allowEmpty: true }));
    await deps.logOut(
      { refreshToken: body.refreshToken, accessToken: bearerToken(c.req.header('Authorization')) },
      requestContext(c),
    );
    return c.body(null, 204);
  });

  app.post('/logout/all', async (c) => {
    await deps.logOutAll(bearerToken(c.req.header('Authorization')), requestContext(c));
    return c.body(null, 204);
  });

  app.get('/me', async (c) => c.json({ user: await deps.getMe(bearerToken(c.req.header('Authorization'))) }, 200, NO_STORE));

  app.post('/me/password', async (c) => {
    const token = requireBearer(c);
    const body = validate(ChangePasswordBody, parseJsonObject(await bodyText(c)));
    const result = await deps.changePassword(token, body, requestContext(c));
    return c.json(tokenPairBody(result), 200, NO_STORE);
  });

  app.delete('/me', async (c) => {
    const token = requireBearer(c);
    const body = validate(DeleteAccountBody, parseJsonObject(await bodyText(c)));
    await deps.deleteAccount(token, body, requestContext(c));
    return c.body(null, 204);
  });

  // Public keys change rarely and must be fetchable by every verifier: cacheable for 5 minutes.
  app.get('/.well-known/jwks.json', (c) => c.json(deps.jwks, 200, { 'Cache-Control': 'public, max-age=300' }));

  app.post('/verify', async (c) => {
    const body = validate(VerifyBody, parseJsonObject(await bodyText(c), { allowEmpty: true }));
    const token = body.token ?? bearerToken(c.req.header('Authorization'));
    const claimed = [body.username, body.user?.username].filter((name): name is string => name !== undefined);
    const user = await deps.verifyToken({ token, claimedUsernames: claimed });
    return c.json({ verified: true, message: 'success', username: user.username, user }, 200, NO_STORE);
  });

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.notFound((c) => {
    const allowed = knownRoute(c.req.path) === undefined ? undefined : ROUTES[c.req.path];
    if (allowed === undefined) return respondWithError(c, new AppError('not_found', 'no such endpoint'));
    c.header('Allow', [...allowed, 'OPTIONS'].join(', '));
    return respondWithError(c, new AppError('method_not_allowed', `use ${allowed.join(' or ')} for ${c.req.path}`));
  });

  app.onError((error, c) => {
    const appError = toAppError(error);
    if (appError.code === 'internal_error' || appError.code === 'service_unavailable') {
      c.set('failure', { code: appError.code, ...describe(error) });
    }
    return respondWithError(c, appError);
  });

  return app;
};

// /verify answers errors with verified:false too, as tutorial clients read that flag.
const respondWithError = (c: Context, error: AppError) =>
  errorResponse(c, error, c.req.path === '/verify' ? { verified: false } : {});

const knownRoute = (path: string) => (Object.hasOwn(ROUTES, path) ? path : undefined);

// Strict UTF-8: a lenient decoder would turn distinct invalid bytes into the same U+FFFD, so two different
// passwords could match.
const utf8 = new TextDecoder('utf-8', { fatal: true });

const bodyText = async (c: Context): Promise<string> => {
  const bytes = await c.req.arrayBuffer();
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AppError('invalid_json', 'the request body must be UTF-8 encoded JSON');
  }
};

// RFC 6750: a request without credentials learns it needs them before anything about its body.
const requireBearer = (c: Context): string => {
  const token = bearerToken(c.req.header('Authorization'));
  if (token === undefined) throw new AppError('missing_token', 'a bearer token is required');
  return token;
};

const bearerToken = (header: string | undefined): string | undefined => {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
};

// For the log only: names and messages of the error chain, never request data.
const describe = (error: unknown): Record<string, unknown> => {
  if (!(error instanceof Error)) return { value: typeof error };
  const cause = (error as { cause?: unknown }).cause;
  return {
    name: error.name,
    message: error.message,
    ...(cause instanceof Error ? { cause: { name: cause.name, message: cause.message } } : {}),
  };
};
