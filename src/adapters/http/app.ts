// The HTTP adapter: the routes of the route table, validation at the edge, CORS, body limit, one request deadline,
// one request log line, one error mapper.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type * as v from 'valibot';
import type { ChangePasswordInput, Me } from '../../domain/account';
import { AppError } from '../../domain/errors';
import type { ChangeEmailInput, VerifiedEmail } from '../../domain/email-verification';
import type { LogInInput } from '../../domain/log-in';
import type { ForgotPasswordInput, ResetPasswordInput } from '../../domain/password-reset';
import type { LogOutInput } from '../../domain/log-out';
import type { AccessClaims, PublicUser, RequestContext } from '../../domain/ports';
import type { RegisterInput } from '../../domain/register';
import type { TokenPair } from '../../domain/sessions';
import type { VerifyTokenInput } from '../../domain/verify-token';
import { withDeadline } from '../request-deadline';
import { bearerToken, missingToken, requireSession, type SessionVariables } from './bearer';
import { errorResponse, STATUS_BY_CODE, toAppError } from './error-response';
import type { OpenApiSource } from './openapi';
import { registerPages, type PagesOption } from './pages';
import { allowedMethods, CORS, honoPath, matchPath, ROUTES, routeList, type RouteId } from './routes';
import { ErrorResponse, parseJsonObject, validate } from './schemas';

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
  logOutAll(claims: AccessClaims, context: RequestContext): Promise<void>;
  getMe(claims: AccessClaims): Promise<Me>;
  changePassword(claims: AccessClaims, input: ChangePasswordInput, context: RequestContext): Promise<TokenPair>;
  deleteAccount(claims: AccessClaims, input: { password: string }, context: RequestContext): Promise<void>;
  verifyEmail(input: { token: string }, context: RequestContext): Promise<VerifiedEmail>;
  resendVerification(claims: AccessClaims, context: RequestContext): Promise<void>;
  changeEmail(claims: AccessClaims, input: ChangeEmailInput, context: RequestContext): Promise<void>;
  forgotPassword(input: ForgotPasswordInput, context: RequestContext): Promise<{ message: string }>;
  resetPassword(input: ResetPasswordInput, context: RequestContext): Promise<void>;
  logInMfa(input: { mfaToken: string; code?: string; recoveryCode?: string }, context: RequestContext): Promise<TokenPair>;
  startTotp(claims: AccessClaims, input: { password: string }, context: RequestContext): Promise<{ secret: string; otpauthUri: string }>;
  confirmTotp(claims: AccessClaims, input: { code: string }, context: RequestContext): Promise<{ recoveryCodes: string[] }>;
  disableTotp(claims: AccessClaims, input: FactorProof, context: RequestContext): Promise<void>;
  replaceRecoveryCodes(claims: AccessClaims, input: FactorProof, context: RequestContext): Promise<{ recoveryCodes: string[] }>;
  /** The passkey routes' use cases; absent when passkeys are not configured (those routes answer 404). */
  passkeys?: PasskeyHandlers;
  /** A bearer token of a live session, verified; throws invalid_token / token_expired otherwise. */
  authenticate(accessToken: string): Promise<AccessClaims>;
  /** The public signing keys (empty in HS256 mode). */
  jwks: { keys: unknown[] };
  log: RequestLog;
  corsOrigins: '*' | readonly string[];
  /** Each request's whole budget (REQUEST_TIMEOUT_MS): store calls and waits end by then. */
  requestTimeoutMs: number;
  /** The use cases' clock, in epoch ms: a request's deadline is handed to them in its terms. */
  now(): number;
  /** The platform's request id when there is one (Lambda); otherwise one is generated. */
  requestId?(c: Context): string | undefined;
  /** A problem the platform adapter found in the raw request before Hono saw it (bad base64, ...). */
  adapterError?(c: Context): string | undefined;
  /** The address the request came from, as the platform saw it (the connection, or API Gateway's context). */
  peerAddress?(c: Context): string | undefined;
  /** Proxies in front of us that append to X-Forwarded-For (TRUST_PROXY); 0 ignores the header. */
  trustProxy?: number;
  /** The web pages to serve beside the API (the demo page, the API docs), and where their files come from. */
  pages?: PagesOption;
};

type FactorProof = { password: string; code?: string | undefined; recoveryCode?: string | undefined };

export type PasskeyHandlers = {
  registrationOptions(claims: AccessClaims, input: FactorProof, context: RequestContext): Promise<unknown>;
  add(
    claims: AccessClaims,
    input: { response: unknown; name?: string | undefined },
    context: RequestContext,
  ): Promise<{ id: string; name: string; createdAt: string }>;
  list(claims: AccessClaims): Promise<{ passkeys: unknown[] }>;
  remove(claims: AccessClaims, id: string, input: { password: string }, context: RequestContext): Promise<void>;
  loginOptions(context: RequestContext): Promise<unknown>;
  logIn(input: { response: unknown }, context: RequestContext): Promise<TokenPair>;
};

const MAX_BODY_BYTES = 16 * 1024;

/** What GET /openapi.json is generated from (openapi.ts imports none of it, to stay a chunk of its own). */
export const openApiSource = (): OpenApiSource => ({ routes: routeList(), statusByCode: STATUS_BY_CODE, errorBody: ErrorResponse });

const VERIFICATION_SENT = 'a verification link is on its way to the address';

// Token responses must never be cached (RFC 6749 5.1).
const NO_STORE = { 'Cache-Control': 'no-store' };

// A refresh whose answer was lost (a 503) is retried with the same token: it must come back inside the grace
// window (REFRESH_GRACE_SECONDS), which gives it the same successor instead of ending the session as a reuse.
const REFRESH_RETRY_AFTER_SECONDS = 1;

const tokenPairBody = (result: TokenPair) => ({
  user: result.user,
  token: result.token,
  tokenType: 'Bearer',
  expiresIn: result.expiresIn,
  refreshToken: result.refreshToken,
  refreshExpiresIn: result.refreshExpiresIn,
});

type Env = {
  Variables: SessionVariables & { requestId: string; deadline: number; failure?: Record<string, unknown> };
};

/** A route's validated body, typed by its schema in the route table. */
type BodyOf<K extends RouteId> = (typeof ROUTES)[K] extends { body: infer S extends v.GenericSchema }
  ? v.InferOutput<S>
  : undefined;

type Handlers = { [K in RouteId]: (c: Context<Env>, body: BodyOf<K>) => Response | Promise<Response> };

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
  const requestContext = (c: Context<Env>): RequestContext => ({
    ip: clientIp(c),
    requestId: c.get('requestId'),
    deadline: c.get('deadline'),
  });

  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = deps.requestId?.(c) ?? crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('deadline', deps.now() + deps.requestTimeoutMs);
    await withDeadline(deps.requestTimeoutMs, next);
    c.header('X-Request-Id', requestId);
    const failure = c.get('failure');
    const fields = {
      requestId,
      method: c.req.method,
      route: matchPath(c.req.path) ?? 'unmatched',
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
    if (c.req.method === 'OPTIONS' && matchPath(c.req.path) === undefined) {
      throw new AppError('not_found', 'no such endpoint');
    }
    await next();
  });

  app.use(
    cors({
      origin: deps.corsOrigins === '*' ? '*' : [...deps.corsOrigins],
      allowMethods: [...CORS.allowMethods],
      allowHeaders: [...CORS.allowHeaders],
      exposeHeaders: [...CORS.exposeHeaders],
      maxAge: CORS.maxAgeSeconds,
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

  const passkeys = (): PasskeyHandlers => {
    if (deps.passkeys === undefined) throw new AppError('not_found', 'no such endpoint');
    return deps.passkeys;
  };

  const handlers: Handlers = {
    register: async (c, body) => c.json(await deps.register(body, requestContext(c)), 201, NO_STORE),
    logIn: async (c, body) => c.json(tokenPairBody(await deps.logIn(body, requestContext(c))), 200, NO_STORE),
    refresh: async (c, body) =>
      c.json(tokenPairBody(await deps.refresh(body.refreshToken, requestContext(c))), 200, NO_STORE),
    verify: async (c, body) => {
      const token = body.token === undefined || body.token === '' ? bearerToken(c) : body.token;
      if (token === undefined) throw new AppError('invalid_token', 'a token is required');
      const claimed = [body.username, body.user?.username].filter((name): name is string => name !== undefined);
      const user = await deps.verifyToken({ token, claimedUsernames: claimed });
      return c.json({ verified: true, message: 'success', username: user.username, user }, 200, NO_STORE);
    },
    logOut: async (c, body) => {
      const accessToken = body.refreshToken === undefined ? bearerToken(c) : undefined;
      if (body.refreshToken === undefined && accessToken === undefined) {
        throw missingToken('a bearer token or a refreshToken is required');
      }
      const input = body.refreshToken === undefined ? { accessToken: accessToken as string } : { refreshToken: body.refreshToken };
      await deps.logOut(input, requestContext(c));
      return c.body(null, 204);
    },
    logOutAll: async (c) => {
      await deps.logOutAll(c.get('claims'), requestContext(c));
      return c.body(null, 204);
    },
    getMe: async (c) => c.json({ user: await deps.getMe(c.get('claims')) }, 200, NO_STORE),
    changePassword: async (c, body) =>
      c.json(tokenPairBody(await deps.changePassword(c.get('claims'), body, requestContext(c))), 200, NO_STORE),
    deleteAccount: async (c, body) => {
      await deps.deleteAccount(c.get('claims'), body, requestContext(c));
      return c.body(null, 204);
    },
    verifyEmail: async (c, body) => c.json(await deps.verifyEmail(body, requestContext(c)), 200, NO_STORE),
    resendVerification: async (c) => {
      await deps.resendVerification(c.get('claims'), requestContext(c));
      return c.json({ message: VERIFICATION_SENT }, 202, NO_STORE);
    },
    changeEmail: async (c, body) => {
      await deps.changeEmail(c.get('claims'), body, requestContext(c));
      return c.json({ message: VERIFICATION_SENT }, 202, NO_STORE);
    },
    forgotPassword: async (c, body) => c.json(await deps.forgotPassword(body, requestContext(c)), 202, NO_STORE),
    resetPassword: async (c, body) => {
      await deps.resetPassword(body, requestContext(c));
      return c.body(null, 204);
    },
    logInMfa: async (c, body) => c.json(tokenPairBody(await deps.logInMfa(body, requestContext(c))), 200, NO_STORE),
    startTotp: async (c, body) => c.json(await deps.startTotp(c.get('claims'), body, requestContext(c)), 200, NO_STORE),
    confirmTotp: async (c, body) => c.json(await deps.confirmTotp(c.get('claims'), body, requestContext(c)), 200, NO_STORE),
    disableTotp: async (c, body) => {
      await deps.disableTotp(c.get('claims'), body, requestContext(c));
      return c.body(null, 204);
    },
    replaceRecoveryCodes: async (c, body) =>
      c.json(await deps.replaceRecoveryCodes(c.get('claims'), body, requestContext(c)), 200, NO_STORE),
    passkeyRegistrationOptions: async (c, body) =>
      c.json(await passkeys().registrationOptions(c.get('claims'), body, requestContext(c)), 200, NO_STORE),
    addPasskey: async (c, body) => c.json(await passkeys().add(c.get('claims'), body, requestContext(c)), 201, NO_STORE),
    listPasskeys: async (c) => c.json(await passkeys().list(c.get('claims')), 200, NO_STORE),
    removePasskey: async (c, body) => {
      await passkeys().remove(c.get('claims'), c.req.param('id') ?? '', body, requestContext(c));
      return c.body(null, 204);
    },
    passkeyLoginOptions: async (c) => c.json(await passkeys().loginOptions(requestContext(c)), 200, NO_STORE),
    logInWithPasskey: async (c, body) =>
      c.json(tokenPairBody(await passkeys().logIn(body, requestContext(c))), 200, NO_STORE),
    // Public keys change rarely and must be fetchable by every verifier: cacheable for 5 minutes.
    jwks: (c) => c.json(deps.jwks, 200, { 'Cache-Control': ROUTES.jwks.cacheControl }),
    health: (c) => c.json({ status: 'ok' }),
    // Loaded on the first request for it: the generator stays out of what a Lambda cold start imports.
    openApi: async (c) => c.json((await import('./openapi')).openApiDocument(openApiSource())),
  };

  // RFC 6750: a request without credentials learns it needs them before anything about its body, so the bearer
  // check runs first, as a middleware, on the routes the table marks as needing a session.
  const sessionOnly = requireSession(deps.authenticate);
  // Passkey routes without passkeys configured: 404 before anything else, a token check included.
  const unserved = async (): Promise<never> => {
    throw new AppError('not_found', 'no such endpoint: passkeys are not configured here');
  };
  for (const route of routeList()) {
    if (route.needsPasskeys === true && deps.passkeys === undefined) {
      app.on(route.method, honoPath(route.path), unserved);
      continue;
    }
    const handle = async (c: Context<Env>) => {
      const body =
        route.body === undefined
          ? undefined
          : validate(route.body, parseJsonObject(await bodyText(c), { allowEmpty: route.bodyOptional === true }));
      const handler = handlers[route.id] as (c: Context<Env>, body: unknown) => Response | Promise<Response>;
      return handler(c, body);
    };
    if (route.auth === 'session') app.on(route.method, honoPath(route.path), sessionOnly, handle);
    else app.on(route.method, honoPath(route.path), handle);
  }

  registerPages(app, deps.pages);

  app.notFound((c) => {
    const path = matchPath(c.req.path);
    const allowed = path === undefined ? undefined : allowedMethods(path);
    if (allowed === undefined) return respondWithError(c, new AppError('not_found', 'no such endpoint'));
    const usable = allowed.filter((method) => method !== 'OPTIONS');
    c.header('Allow', allowed.join(', '));
    return respondWithError(c, new AppError('method_not_allowed', `use ${usable.join(' or ')} for ${c.req.path}`));
  });

  app.onError((error, c) => {
    const appError = toAppError(error);
    if (appError.code === 'internal_error' || appError.code === 'service_unavailable') {
      c.set('failure', { code: appError.code, ...describe(error) });
    }
    const response = respondWithError(c, appError);
    if (appError.code === 'service_unavailable' && matchPath(c.req.path) === ROUTES.refresh.path) {
      response.headers.set('Retry-After', String(REFRESH_RETRY_AFTER_SECONDS));
    }
    return response;
  });

  return app;
};

// /verify answers errors with verified:false too, as tutorial clients read that flag.
const respondWithError = (c: Context, error: AppError) =>
  errorResponse(c, error, c.req.path === ROUTES.verify.path ? { verified: false } : {});

// Strict UTF-8: a lenient decoder would turn distinct invalid bytes into the same U+FFFD, so two different
// passwords could match.
const utf8 = new TextDecoder('utf-8', { fatal: true });

const bodyText = async (c: Context): Promise<string> => {
  let bytes: ArrayBuffer;
  try {
    bytes = await c.req.arrayBuffer();
  } catch (error) {
    if (error instanceof AppError) throw error;
    // The client hung up mid-body (or sent less than it announced): its fault, not a server fault.
    throw new AppError('invalid_request', 'the request body could not be read in full', { cause: error });
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AppError('invalid_json', 'the request body must be UTF-8 encoded JSON');
  }
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
