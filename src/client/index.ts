// The typed client of the login service: one method per route, typed by the server's own route table and schemas
// (type-only imports: nothing of the server is in the bundle), the session held in memory and its access token
// refreshed before it expires. Needs nothing but fetch, so it runs in browsers and in Node alike.
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type * as v from 'valibot';
import type { ROUTES } from '../adapters/http/routes';
import { ENDPOINTS, type EndpointId } from './endpoints';
import { errorFromAnswer, LoginServiceError } from './login-service-error';

export { LoginServiceError, MfaRequiredError } from './login-service-error';
export type { ClientErrorCode, LoginServiceErrorCode, LoginServiceErrorInit, MfaMethod } from './login-service-error';
export type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
};

type Route<K extends EndpointId> = (typeof ROUTES)[K];
/** What a route's body schema accepts. */
type BodyOf<K extends EndpointId> = Route<K> extends { body: infer S extends v.GenericSchema } ? v.InferInput<S> : never;
/** What a route answers on success; undefined for a 204. */
type ResultOf<K extends EndpointId> = Route<K>['success'] extends { body: infer S extends v.GenericSchema }
  ? v.InferOutput<S>
  : undefined;

/** `email` is optional: the account keeps it unverified and a verification link goes to it. */
export type RegisterInput = BodyOf<'register'>;
/**
 * By username, or by a verified email address: one of the two, never both (the server answers that with
 * invalid_request).
 */
export type LoginInput =
  | (Pick<BodyOf<'logIn'>, 'password'> & { username: string; email?: never })
  | (Pick<BodyOf<'logIn'>, 'password'> & { email: string; username?: never });
export type VerifyEmailInput = BodyOf<'verifyEmail'>;
export type ChangeEmailInput = BodyOf<'changeEmail'>;
/** The account by its username or by its verified email address: one of the two. */
export type ForgotPasswordInput = { username: string; email?: never } | { email: string; username?: never };
export type ResetPasswordInput = BodyOf<'resetPassword'>;
/** No token: the session's access token is checked (as a bearer token). */
export type VerifyInput = Pick<BodyOf<'verify'>, 'token' | 'username'>;
export type ChangePasswordInput = BodyOf<'changePassword'>;
export type DeleteAccountInput = BodyOf<'deleteAccount'>;
/** A second factor: a code from the authenticator app or one of the recovery codes, one of the two. */
export type SecondFactor = { code: string; recoveryCode?: never } | { recoveryCode: string; code?: never };
/** The step-up token of an MfaRequiredError and the second factor. */
export type LoginMfaInput = Pick<BodyOf<'logInMfa'>, 'mfaToken'> & SecondFactor;
export type StartTotpInput = BodyOf<'startTotp'>;
export type ConfirmTotpInput = BodyOf<'confirmTotp'>;
export type DisableTotpInput = Pick<BodyOf<'disableTotp'>, 'password'> & SecondFactor;
/** The password and a second factor (a code, or one of the current recovery codes, which is spent). */
export type ReplaceRecoveryCodesInput = Pick<BodyOf<'replaceRecoveryCodes'>, 'password'> & SecondFactor;
/** The password, and a second factor when the account has TOTP on. */
export type PasskeyRegistrationOptionsInput = Pick<BodyOf<'passkeyRegistrationOptions'>, 'password'> &
  (SecondFactor | { code?: never; recoveryCode?: never });
/** The browser's answer to the registration options (`startRegistration` of @simplewebauthn/browser). */
export type AddPasskeyInput = Omit<BodyOf<'addPasskey'>, 'response'> & { response: RegistrationResponseJSON };
/** The browser's answer to the login options (`startAuthentication` of @simplewebauthn/browser). */
export type PasskeyLoginInput = { response: AuthenticationResponseJSON };
export type RemovePasskeyInput = { id: string } & BodyOf<'removePasskey'>;
export type TokenPair = ResultOf<'logIn'>;
/** `secret` (base32, for typing in by hand) and `otpauthUri` (for a QR code). */
export type TotpEnrolment = ResultOf<'startTotp'>;
/** Shown this once: the service keeps only their digests. */
export type RecoveryCodesResult = ResultOf<'confirmTotp'>;
export type PasskeyResult = ResultOf<'addPasskey'>;
export type PasskeyListResult = ResultOf<'listPasskeys'>;
export type RegisterResult = ResultOf<'register'>;
export type VerifyResult = ResultOf<'verify'>;
/** `user.email` (null when none), `user.emailVerified`, `user.pendingEmail` (a change waiting for its link). */
export type MeResult = ResultOf<'getMe'>;
export type VerifyEmailResult = ResultOf<'verifyEmail'>;
/** A mail was asked for: `message` says what happens next, never whether the account exists. */
export type AcceptedResult = ResultOf<'forgotPassword'>;
export type JwksResult = ResultOf<'jwks'>;
export type HealthResult = ResultOf<'health'>;

/** The part of fetch the client uses: a wrapper (to log, to add headers, to count calls) only needs this much. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export type LoginClientOptions = {
  /** Where the service answers, with any stage prefix: `http://localhost:3000`, `https://api.example.com/prod`. */
  baseUrl: string;
  /** Defaults to the global fetch. */
  fetch?: Fetch;
  /** Milliseconds since the epoch, for the access token's expiry; defaults to Date.now. */
  now?: () => number;
};

export type LoginClient = ReturnType<typeof createLoginClient>;

/**
 * A bearer call refreshes first when less than this is left of the access token's life (the shortest is 60 s),
 * so the token does not expire on the way; the expiry is counted on this clock from when the pair arrived.
 */
const REFRESH_MARGIN_SECONDS = 30;

type Held = { pair: TokenPair; expiresAt: number };
type Call<K extends EndpointId> = {
  body?: BodyOf<K> | undefined;
  token?: string | undefined;
  /** Values for the path's `{name}` parameters. */
  params?: Readonly<Record<string, string>> | undefined;
};

/**
 * A body holding the browser's WebAuthn answer, as its route's type: the schema reads that answer as any JSON
 * object (the server's library checks its shape), which SimpleWebAuthn's interfaces are, but TypeScript does not
 * count an interface without an index signature as one.
 */
const webAuthnBody = <K extends 'addPasskey' | 'logInWithPasskey'>(body: { response: object }) =>
  body as unknown as BodyOf<K>;

/** `/me/passkeys/{id}` with its parameters filled in, each encoded as one path segment. */
const fillPath = (path: string, params: Readonly<Record<string, string>> = {}) =>
  path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`the path ${path} needs ${name}`);
    return encodeURIComponent(value);
  });

export const createLoginClient = (options: LoginClientOptions) => {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  // Looked up at each call, never stored unbound: a browser's fetch refuses to run as another object's method.
  const fetchFn: Fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const now = options.now ?? (() => Date.now());
  let held: Held | null = null;
  let refreshing: Promise<Held> | undefined;

  const send = async <K extends EndpointId>(id: K, { body, token, params }: Call<K> = {}): Promise<ResultOf<K>> => {
    const { method } = ENDPOINTS[id];
    const path = fillPath(ENDPOINTS[id].path, params);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await response.text();
    } catch (cause) {
      const reason = (cause as { cause?: { code?: unknown } }).cause?.code ?? (cause as Error).message;
      throw new LoginServiceError({
        status: 0,
        code: 'network_error',
        message: `could not reach the login service at ${baseUrl} (${String(reason)})`,
        cause,
      });
    }
    if (!response.ok) throw errorFromAnswer(response.status, response.headers, text, now());
    if (response.status === 204) return undefined as ResultOf<K>;
    try {
      return JSON.parse(text) as ResultOf<K>;
    } catch {
      throw new LoginServiceError({
        status: response.status,
        code: 'invalid_response',
        message: `the login service answered ${response.status} with a body that is not JSON`,
      });
    }
  };

  const hold = (pair: TokenPair): Held => (held = { pair, expiresAt: now() + pair.expiresIn * 1000 });

  const noSession = () =>
    new LoginServiceError({ status: 0, code: 'no_session', message: 'not logged in: there is no session to refresh' });

  /** One refresh at a time: every caller that needs one while it runs waits for the same answer. */
  const refreshSession = (): Promise<Held> => {
    if (refreshing !== undefined) return refreshing;
    const current = held;
    if (current === null) return Promise.reject(noSession());
    refreshing = send('refresh', { body: { refreshToken: current.pair.refreshToken } })
      .then(
        (pair) => {
          // A login or logout while this ran decided the session: its answer stands, not this one.
          if (held !== current) {
            if (held === null) throw noSession();
            return held;
          }
          return hold(pair);
        },
        (error: unknown) => {
          // A refused refresh token (401 invalid_refresh_token, refresh_token_reused) cannot be tried again; a
          // network error, 429 or 503 can, with the same token, inside the server's grace window.
          const refused = error instanceof LoginServiceError && error.status >= 400 && error.status < 500;
          if (refused && error.status !== 429 && held === current) held = null;
          throw error;
        },
      )
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };

  /** A bearer call: refreshed first when the token is about to expire, retried once if it expired anyway. */
  const withSession = async <K extends EndpointId>(
    id: K,
    body?: BodyOf<K>,
    params?: Readonly<Record<string, string>>,
  ): Promise<ResultOf<K>> => {
    let current = held;
    if (current !== null && now() >= current.expiresAt - REFRESH_MARGIN_SECONDS * 1000) current = await refreshSession();
    try {
      return await send(id, { body, token: current?.pair.token, params });
    } catch (error) {
      if (!(error instanceof LoginServiceError) || error.code !== 'token_expired' || current === null) throw error;
      // Another call may have refreshed meanwhile: then its token is the one to use.
      const fresh = held !== null && held.pair.token !== current.pair.token ? held : await refreshSession();
      return send(id, { body, token: fresh.pair.token, params });
    }
  };

  return {
    /** The token pair of the current session, or null when logged out. Held in memory only. */
    get session(): TokenPair | null {
      return held?.pair ?? null;
    },

    register: (input: RegisterInput): Promise<RegisterResult> => send('register', { body: input }),

    /**
     * Starts a session: the client holds it and uses it for the calls below. An account with a second factor
     * rejects with MfaRequiredError (code mfa_required) instead: no session yet, finish with loginMfa.
     */
    login: async (input: LoginInput): Promise<TokenPair> => hold(await send('logIn', { body: input })).pair,

    /** A login's second step: the MfaRequiredError's mfaToken and a code (or a recovery code); holds the session. */
    loginMfa: async (input: LoginMfaInput): Promise<TokenPair> => hold(await send('logInMfa', { body: input })).pair,

    /**
     * Public: options for the browser's `startAuthentication` (no account named, so they also serve the
     * browser's passkey autofill). Each works once, for a few minutes.
     */
    passkeyLoginOptions: async (): Promise<PublicKeyCredentialRequestOptionsJSON> =>
      (await send('passkeyLoginOptions', { body: {} })) as unknown as PublicKeyCredentialRequestOptionsJSON,

    /** Signs in with the browser's answer to passkeyLoginOptions (password and second factor in one); holds it. */
    loginWithPasskey: async (input: PasskeyLoginInput): Promise<TokenPair> =>
      hold(await send('logInWithPasskey', { body: webAuthnBody<'logInWithPasskey'>(input) })).pair,

    /** Rotates the refresh token now (the bearer calls do this on their own when they need to). */
    refresh: async (): Promise<TokenPair> => (await refreshSession()).pair,

    verify: ({ token, username }: VerifyInput = {}): Promise<VerifyResult> =>
      token === undefined ? withSession('verify', { username }) : send('verify', { body: { token, username } }),

    me: (): Promise<MeResult> => withSession('getMe'),

    /** Every other session ends; the client holds the new one the answer starts. */
    changePassword: async (input: ChangePasswordInput): Promise<TokenPair> =>
      hold(await withSession('changePassword', input)).pair,

    /**
     * Starts setting up an authenticator app: its secret and otpauth URI. Nothing changes until confirmTotp; a
     * second call before then starts over with a new secret.
     */
    startTotp: (input: StartTotpInput): Promise<TotpEnrolment> => withSession('startTotp', input),

    /**
     * Turns TOTP on with a code from the app: the recovery codes, shown this once. Every other session ends;
     * this one goes on.
     */
    confirmTotp: (input: ConfirmTotpInput): Promise<RecoveryCodesResult> => withSession('confirmTotp', input),

    /** Turns TOTP off (the password and a code or a recovery code) and drops the recovery codes. */
    disableTotp: async (input: DisableTotpInput): Promise<void> => {
      await withSession('disableTotp', input);
    },

    /**
     * A new set of recovery codes, shown this once, for the password and a code or an old recovery code (new codes
     * sign in, so the password alone is not enough); the old ones stop working. Every other session ends.
     */
    replaceRecoveryCodes: (input: ReplaceRecoveryCodesInput): Promise<RecoveryCodesResult> =>
      withSession('replaceRecoveryCodes', input),

    /** Options for the browser's `startRegistration`: the password, and a second factor when TOTP is on. */
    passkeyRegistrationOptions: async (
      input: PasskeyRegistrationOptionsInput,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> =>
      (await withSession('passkeyRegistrationOptions', input)) as unknown as PublicKeyCredentialCreationOptionsJSON,

    /** Registers the browser's answer to passkeyRegistrationOptions. Every other session ends; this one goes on. */
    addPasskey: (input: AddPasskeyInput): Promise<PasskeyResult> =>
      withSession('addPasskey', webAuthnBody<'addPasskey'>(input)),

    listPasskeys: (): Promise<PasskeyListResult> => withSession('listPasskeys'),

    /** Removes one of the account's passkeys (needs the password). */
    removePasskey: async ({ id, ...body }: RemovePasskeyInput): Promise<void> => {
      await withSession('removePasskey', body, { id });
    },

    /**
     * Ends this session by its refresh token (which works when the access token has expired). The client forgets
     * the session first, so it is logged out here even if the request fails. No session: nothing to do.
     */
    logout: async (): Promise<void> => {
      if (refreshing !== undefined) await refreshing.catch(() => undefined);
      const current = held;
      if (current === null) return;
      held = null;
      await send('logOut', { body: { refreshToken: current.pair.refreshToken } });
    },

    /** Ends every session of the account; the session stays held if the request fails, so it can be retried. */
    logoutAll: async (): Promise<void> => {
      await withSession('logOutAll');
      held = null;
    },

    /** Public: the token of a verification link (`/verify-email#token=...`) marks its address verified. */
    verifyEmail: (input: VerifyEmailInput): Promise<VerifyEmailResult> => send('verifyEmail', { body: input }),

    /** A fresh verification link for the account's unverified or pending address; earlier links stop working. */
    resendVerification: (): Promise<AcceptedResult> => withSession('resendVerification'),

    /** Needs the password; the verified address stays in force until the new one's link is opened. */
    changeEmail: (input: ChangeEmailInput): Promise<AcceptedResult> => withSession('changeEmail', input),

    /** The same answer for every account, known or not; a link goes only to a verified address. */
    forgotPassword: (input: ForgotPasswordInput): Promise<AcceptedResult> => send('forgotPassword', { body: input }),

    /**
     * Public: the token of a reset link and the new password. Every session of the account ends and none starts:
     * log in with the new password (a session this client holds for that account no longer works).
     */
    resetPassword: async (input: ResetPasswordInput): Promise<void> => {
      await send('resetPassword', { body: input });
    },

    /** The session stays held if the request fails (a wrong password, say). */
    deleteAccount: async (input: DeleteAccountInput): Promise<void> => {
      await withSession('deleteAccount', input);
      held = null;
    },

    jwks: (): Promise<JwksResult> => send('jwks'),
    health: (): Promise<HealthResult> => send('health'),
  };
};
