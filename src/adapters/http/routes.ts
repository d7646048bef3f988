// The one route table: the Hono app, CORS, 404/405, the CDK API resources and the README's route list read it.
// Each route keeps its request and response schemas and its error codes beside it: openapi.ts derives the document.
import type { GenericSchema } from 'valibot';
import type { ErrorCode } from '../../domain/errors';
import {
  AcceptedResponse,
  AddPasskeyBody,
  ConfirmTotpBody,
  EmptyBody,
  LoginErrorResponse,
  LoginMfaBody,
  PasskeyListResponse,
  PasskeyLoginBody,
  PasskeyResponse,
  PasswordBody,
  ProveFactorsBody,
  RecoveryCodesResponse,
  TotpEnrolmentResponse,
  WebAuthnOptionsResponse,
  ChangeEmailBody,
  ChangePasswordBody,
  DeleteAccountBody,
  ForgotPasswordBody,
  HealthResponse,
  JwksResponse,
  LoginBody,
  LogoutBody,
  MeResponse,
  OpenApiResponse,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ResetPasswordBody,
  TokenPairResponse,
  VerifyBody,
  VerifyEmailBody,
  VerifyEmailResponse,
  VerifyErrorResponse,
  VerifyResponse,
} from './schemas';

export type Method = 'GET' | 'POST' | 'DELETE';

/**
 * - `session`: a bearer access token of a live session is required; the bearer middleware checks it and hands
 *   the handler the verified claims.
 * - `optional`: the route accepts a bearer token but also other proof in the body (/verify, /logout).
 * - `none`: public.
 */
export type Auth = 'session' | 'optional' | 'none';

export type Route = {
  method: Method;
  /** OpenAPI-style: path parameters in braces, such as `/me/passkeys/{id}`. */
  path: string;
  auth: Auth;
  summary: string;
  /** The JSON body, when the route takes one. */
  body?: GenericSchema;
  /** An empty body stands for `{}` (the body is optional). */
  bodyOptional?: boolean;
  success: { status: 200 | 201 | 202 | 204; body?: GenericSchema };
  /**
   * The error codes of this route's own work (its use case, its store calls), beside those the app gives any
   * route of its shape (routeErrors in openapi.ts adds them). Statuses: STATUS_BY_CODE in error-response.ts.
   * The contract tests fail on a response whose code is not documented.
   */
  errors: readonly ErrorCode[];
  /** The shape of its error bodies, when it is not the plain ErrorResponse. */
  errorBody?: GenericSchema;
  /** Codes this route answers with another status than their usual one (see ErrorDetails.status). */
  errorStatus?: Partial<Record<ErrorCode, 400>>;
  /** The route is served only when passkeys are configured (WEBAUTHN_RP_ID / WEBAUTHN_ORIGINS); else 404. */
  needsPasskeys?: boolean;
  /** Response headers beyond the defaults (no-store for everything but these). */
  cacheControl?: string;
};

export const ROUTES = {
  register: {
    method: 'POST',
    path: '/register',
    auth: 'none',
    summary: 'Create an account (with an optional email address, sent a verification link)',
    body: RegisterBody,
    success: { status: 201, body: RegisterResponse },
    errors: ['weak_password', 'username_taken', 'too_many_attempts', 'service_unavailable'],
  },
  logIn: {
    method: 'POST',
    path: '/login',
    auth: 'none',
    summary: 'Check a password (by username or verified email) and start a session: an access token and a refresh token',
    body: LoginBody,
    success: { status: 200, body: TokenPairResponse },
    errorBody: LoginErrorResponse,
    errors: ['invalid_credentials', 'mfa_required', 'too_many_attempts', 'service_unavailable'],
  },
  logInMfa: {
    method: 'POST',
    path: '/login/mfa',
    auth: 'none',
    summary: "A login's second step: the step-up token and a TOTP code or a recovery code give the token pair",
    body: LoginMfaBody,
    success: { status: 200, body: TokenPairResponse },
    errors: ['invalid_mfa_code', 'invalid_mfa_token', 'too_many_attempts', 'service_unavailable'],
  },
  passkeyLoginOptions: {
    method: 'POST',
    path: '/login/passkey/options',
    auth: 'none',
    summary: 'Authentication options for signing in with a passkey (no account named; serves autofill too)',
    body: EmptyBody,
    bodyOptional: true,
    success: { status: 200, body: WebAuthnOptionsResponse },
    errors: ['too_many_attempts', 'service_unavailable'],
    needsPasskeys: true,
  },
  logInWithPasskey: {
    method: 'POST',
    path: '/login/passkey',
    auth: 'none',
    summary: 'Sign in with a passkey (it stands for password and second factor): the token pair',
    body: PasskeyLoginBody,
    success: { status: 200, body: TokenPairResponse },
    errors: ['invalid_passkey', 'too_many_attempts', 'service_unavailable'],
    needsPasskeys: true,
  },
  refresh: {
    method: 'POST',
    path: '/token/refresh',
    auth: 'none',
    summary: 'Rotate a refresh token: a new token pair for the same session',
    body: RefreshBody,
    success: { status: 200, body: TokenPairResponse },
    errors: ['invalid_refresh_token', 'refresh_token_reused', 'service_unavailable'],
  },
  verify: {
    method: 'POST',
    path: '/verify',
    auth: 'optional',
    summary: 'Say whether an access token is valid (its session live), and for whom',
    body: VerifyBody,
    bodyOptional: true,
    success: { status: 200, body: VerifyResponse },
    errorBody: VerifyErrorResponse,
    errors: ['invalid_token', 'token_expired', 'service_unavailable'],
  },
  logOut: {
    method: 'POST',
    path: '/logout',
    auth: 'optional',
    summary: 'End one session, by its access token or its refresh token',
    body: LogoutBody,
    bodyOptional: true,
    success: { status: 204 },
    errors: ['missing_token', 'invalid_token', 'token_expired', 'invalid_refresh_token', 'service_unavailable'],
  },
  logOutAll: {
    method: 'POST',
    path: '/logout/all',
    auth: 'session',
    summary: 'End every session of the account',
    success: { status: 204 },
    errors: [],
  },
  getMe: {
    method: 'GET',
    path: '/me',
    auth: 'session',
    summary: 'The signed-in account',
    success: { status: 200, body: MeResponse },
    errors: [],
  },
  deleteAccount: {
    method: 'DELETE',
    path: '/me',
    auth: 'session',
    summary: 'Delete the account and all its sessions (needs the password)',
    body: DeleteAccountBody,
    success: { status: 204 },
    errors: ['invalid_credentials', 'too_many_attempts'],
  },
  changePassword: {
    method: 'POST',
    path: '/me/password',
    auth: 'session',
    summary: 'Change the password: every other session ends, a new token pair is returned',
    body: ChangePasswordBody,
    success: { status: 200, body: TokenPairResponse },
    errors: ['invalid_credentials', 'weak_password', 'too_many_attempts'],
  },
  startTotp: {
    method: 'POST',
    path: '/me/mfa/totp',
    auth: 'session',
    summary: 'Start setting up an authenticator app (needs the password): its secret and otpauth URI',
    body: PasswordBody,
    success: { status: 200, body: TotpEnrolmentResponse },
    errors: ['invalid_credentials', 'mfa_already_enabled', 'too_many_attempts', 'not_found'],
  },
  confirmTotp: {
    method: 'POST',
    path: '/me/mfa/totp/confirm',
    auth: 'session',
    summary: "Turn two-step verification on with a code from the app: the recovery codes, shown once",
    body: ConfirmTotpBody,
    success: { status: 200, body: RecoveryCodesResponse },
    errors: ['invalid_mfa_code', 'mfa_already_enabled', 'too_many_attempts', 'not_found'],
    errorStatus: { invalid_mfa_code: 400 },
  },
  disableTotp: {
    method: 'DELETE',
    path: '/me/mfa/totp',
    auth: 'session',
    summary: 'Turn two-step verification off (the password and a code or a recovery code)',
    body: ProveFactorsBody,
    success: { status: 204 },
    errors: ['invalid_credentials', 'invalid_mfa_code', 'mfa_not_enabled', 'too_many_attempts', 'not_found'],
  },
  replaceRecoveryCodes: {
    method: 'POST',
    path: '/me/mfa/recovery-codes',
    auth: 'session',
    summary: 'A new set of recovery codes (the password and a code or an old recovery code); the old ones stop working',
    body: ProveFactorsBody,
    success: { status: 200, body: RecoveryCodesResponse },
    errors: ['invalid_credentials', 'invalid_mfa_code', 'mfa_not_enabled', 'too_many_attempts', 'not_found'],
  },
  passkeyRegistrationOptions: {
    method: 'POST',
    path: '/me/passkeys/options',
    auth: 'session',
    summary: 'Registration options for a new passkey (the password, and a code when two-step verification is on)',
    body: ProveFactorsBody,
    success: { status: 200, body: WebAuthnOptionsResponse },
    errors: ['invalid_credentials', 'invalid_mfa_code', 'too_many_attempts', 'not_found'],
    needsPasskeys: true,
  },
  addPasskey: {
    method: 'POST',
    path: '/me/passkeys',
    auth: 'session',
    summary: "Register a passkey with the browser's answer to the registration options",
    body: AddPasskeyBody,
    success: { status: 201, body: PasskeyResponse },
    errors: ['invalid_passkey', 'not_found'],
    errorStatus: { invalid_passkey: 400 },
    needsPasskeys: true,
  },
  listPasskeys: {
    method: 'GET',
    path: '/me/passkeys',
    auth: 'session',
    summary: "The account's passkeys",
    success: { status: 200, body: PasskeyListResponse },
    errors: ['not_found'],
    needsPasskeys: true,
  },
  removePasskey: {
    method: 'DELETE',
    path: '/me/passkeys/{id}',
    auth: 'session',
    summary: 'Remove one of the account\'s passkeys (needs the password)',
    body: PasswordBody,
    success: { status: 204 },
    errors: ['invalid_credentials', 'too_many_attempts', 'not_found'],
    needsPasskeys: true,
  },
  changeEmail: {
    method: 'POST',
    path: '/me/email',
    auth: 'session',
    summary: 'Ask for a new email address (needs the password): a verification link goes to it',
    body: ChangeEmailBody,
    success: { status: 202, body: AcceptedResponse },
    errors: ['invalid_credentials', 'too_many_attempts', 'service_unavailable'],
  },
  verifyEmail: {
    method: 'POST',
    path: '/email/verify',
    auth: 'none',
    summary: "Verify an email address with its link's token",
    body: VerifyEmailBody,
    success: { status: 200, body: VerifyEmailResponse },
    errors: ['invalid_verification_token', 'email_taken', 'too_many_attempts', 'service_unavailable'],
  },
  resendVerification: {
    method: 'POST',
    path: '/email/verify/resend',
    auth: 'session',
    summary: 'Send a fresh verification link (earlier ones stop working)',
    success: { status: 202, body: AcceptedResponse },
    errors: ['too_many_attempts', 'service_unavailable'],
  },
  forgotPassword: {
    method: 'POST',
    path: '/password/forgot',
    auth: 'none',
    summary: "Mail a reset link to the account's verified address (the answer is the same for every account)",
    body: ForgotPasswordBody,
    success: { status: 202, body: AcceptedResponse },
    errors: ['too_many_attempts', 'service_unavailable'],
  },
  resetPassword: {
    method: 'POST',
    path: '/password/reset',
    auth: 'none',
    summary: "Set a new password with a reset link's token: every session ends",
    body: ResetPasswordBody,
    success: { status: 204 },
    errors: ['invalid_reset_token', 'weak_password', 'too_many_attempts', 'service_unavailable'],
  },
  jwks: {
    method: 'GET',
    path: '/.well-known/jwks.json',
    auth: 'none',
    summary: 'The public signing keys (empty with HS256)',
    success: { status: 200, body: JwksResponse },
    cacheControl: 'public, max-age=300',
    errors: [],
  },
  health: {
    method: 'GET',
    path: '/health',
    auth: 'none',
    summary: 'Liveness',
    success: { status: 200, body: HealthResponse },
    errors: [],
  },
  openApi: {
    method: 'GET',
    path: '/openapi.json',
    auth: 'none',
    summary: 'This API as an OpenAPI 3.1 document',
    success: { status: 200, body: OpenApiResponse },
    errors: [],
  },
} as const satisfies Record<string, Route>;

export type RouteId = keyof typeof ROUTES;

export const routeList = (): readonly (Route & { id: RouteId })[] =>
  (Object.entries(ROUTES) as [RouteId, Route][]).map(([id, route]) => ({ id, ...route }));

/** The methods a path answers: its routes' methods, HEAD wherever GET is, and OPTIONS (CORS preflight). */
export const allowedMethods = (path: string): readonly string[] | undefined => {
  const methods = routeList().filter((route) => route.path === path).map((route) => route.method);
  if (methods.length === 0) return undefined;
  return [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'];
};

/** Every method some route answers, for the CORS allow list. */
export const ALL_METHODS: readonly string[] = [
  ...new Set(routeList().flatMap((route) => allowedMethods(route.path) ?? [])),
];

/** The CORS answer every route shares: the app sends it, and the API Gateway settings copy it from here. */
export const CORS = {
  allowMethods: ALL_METHODS,
  allowHeaders: ['Content-Type', 'Authorization'],
  exposeHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
  maxAgeSeconds: 600,
} as const;

/** `/me/passkeys/{id}` as a pattern matching `/me/passkeys/abc`. */
const pathPattern = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);

const PATTERNS = [...new Set(routeList().map((route) => route.path))].map((path) => ({ path, pattern: pathPattern(path) }));

/** The table's path for a request path (`/me/passkeys/abc` -> `/me/passkeys/{id}`), or undefined. */
export const matchPath = (requestPath: string): string | undefined =>
  PATTERNS.find(({ pattern }) => pattern.test(requestPath))?.path;

/** Hono's form of a path: `{id}` -> `:id`. */
export const honoPath = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');
