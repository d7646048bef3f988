// The one composition root: builds clients and adapters once per process and wires the use cases to HTTP.
import type { Context } from 'hono';
import { createNameDigest, createRefreshSecrets, oneTimeTokens, randomIds } from './adapters/crypto/refresh-secrets';
import type { CredentialProvider } from './adapters/aws/json-protocol';
import { createDynamoClient, type DynamoClient } from './adapters/dynamodb/client';
import { createDynamoEmailClaimStore } from './adapters/dynamodb/email-claim-store';
import { createDynamoOneTimeTokenStore } from './adapters/dynamodb/one-time-token-store';
import { createSealer } from './adapters/crypto/sealer';
import { createDynamoSessionStore } from './adapters/dynamodb/session-store';
import { createDynamoThrottleStore } from './adapters/dynamodb/throttle-store';
import { createDynamoUserStore } from './adapters/dynamodb/user-store';
import { createApp, type PasskeyHandlers } from './adapters/http/app';
import { pageFilesIn, type PageFiles, type PageId } from './adapters/http/pages';
import { createJwtTokens } from './adapters/jwt/jwt-tokens';
import { createAuditLog } from './adapters/log/audit-log';
import { createMailer, createNotifier } from './adapters/mail/choose-mailer';
import { createJsonLog } from './adapters/log/json-log';
import { createArgon2Hasher } from './adapters/password/argon2-hasher';
import { createCommonPasswords } from './adapters/password/common-passwords';
import type { Config } from './config';
import { changeEmail, changePassword, deleteAccount, getMe } from './domain/account';
import { resendVerification, verifyEmail } from './domain/email-verification';
import { forgotPassword, resetPassword } from './domain/password-reset';
import { logIn } from './domain/log-in';
import { logOut, logOutAll } from './domain/log-out';
import { createPacer } from './domain/pace';
import type { Clock, Timer } from './domain/ports';
import type { PasskeySettings } from './domain/passkeys';
import type { SecondFactors } from './second-factors';
import { register } from './domain/register';
import { authenticate, refreshSession } from './domain/sessions';
import { verifyToken } from './domain/verify-token';
import type { KeyMaterial } from './key-material';

export type ComposeOptions = {
  keys: KeyMaterial;
  /** Where the common-password blocklist may be (read on first use); the entry point knows its layout. */
  commonPasswords: readonly (string | URL)[];
  /** Overrides the DynamoDB endpoint from config (the embedded store's, locally). */
  dynamodbEndpoint?: string;
  /**
   * Where real AWS credentials come from when config names none: the local server passes the SDK's chain (profiles,
   * SSO); without it, the environment's (Lambda's). The entry point decides, so the Lambda bundle holds no chain.
   */
  credentials?: CredentialProvider;
  /** A client the entry point built already (to open its connection early); otherwise one is built here. */
  dynamodbClient?: DynamoClient;
  clock?: Clock;
  requestId?(c: Context): string | undefined;
  adapterError?(c: Context): string | undefined;
  peerAddress?(c: Context): string | undefined;
  /** Serve the demo and docs pages whatever DEMO_ENABLED / DOCS_ENABLED say: the local server does. */
  allPages?: boolean;
  /** Where the pages' files come from; by default web/ beside this module (the Lambda bundle's folder). */
  pageFiles?: PageFiles;
  /** Where links point when APP_URL is not set: the local server's own URL, known once it listens. */
  appUrl?: () => string;
  /** The outbox's folder (DATA_DIR/outbox), or null for the console line alone; the local server decides. */
  outboxFolder?: string | null;
  /** What a forgot-password answer is padded to before any send was timed (tests make it short). */
  firstForgotPasswordMs?: number;
  /** Where the outbox prints its line per mail (standard output by default). */
  mailLine?: (text: string) => void;
};

/**
 * The relying party passkeys are made for. Without WEBAUTHN_ORIGINS locally the origin is the server's own URL,
 * read when a ceremony needs it (PORT=0 picks the port at listen time).
 */
const passkeySettingsOf = (config: Config, options: ComposeOptions): PasskeySettings | null => {
  const passkeys = config.passkeys;
  if (passkeys === null) return null;
  return {
    rpId: passkeys.rpId,
    rpName: passkeys.rpName,
    challengeTtlSeconds: passkeys.challengeTtlSeconds,
    get origins() {
      return passkeys.origins ?? [new URL(options.appUrl?.() ?? 'http://localhost:3000').origin];
    },
  };
};

const systemClock: Clock = { now: () => new Date() };
// Measured: a cold Lambda's first SES send took 480 ms in the bench (client import, credentials, connection).
const FIRST_FORGOT_PASSWORD_MS = 1000;
const systemTimer: Timer = { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export const compose = (config: Config, options: ComposeOptions) => {
  const clock = options.clock ?? systemClock;
  const client =
    options.dynamodbClient ??
    createDynamoClient({
      ...config.dynamodb,
      endpoint: options.dynamodbEndpoint ?? config.dynamodb.endpoint,
      // A local store's dummies; else the entry point's (the local server: the SDK's chain); else Lambda's environment.
      credentials: config.dynamodb.credentials ?? options.credentials,
      timeoutMs: config.storeTimeoutMs,
    });
  const store = { client, timeoutMs: config.storeTimeoutMs };
  const users = createDynamoUserStore({ ...store, tableName: config.tableName });
  const sessions = createDynamoSessionStore({ ...store, tableName: config.sessionsTableName });
  const nameDigest = createNameDigest(options.keys.refreshSecret);
  const throttle = createDynamoThrottleStore({ ...store, tableName: config.throttleTableName, nameDigest });
  const oneTimeTokenStore = createDynamoOneTimeTokenStore({ ...store, tableName: config.oneTimeTokensTableName });
  const emailClaims = createDynamoEmailClaimStore({ ...store, tableName: config.emailsTableName });
  const hasher = createArgon2Hasher(config.argon2);
  const tokens = createJwtTokens({
    keys: options.keys.signing,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.tokenTtlSeconds,
    clock,
  });
  const log = createJsonLog({ service: 'login-service', level: config.logLevel, clock });
  // The audit trail is its own stream of JSON lines; LOG_LEVEL=SILENT silences it too.
  const audit = createAuditLog(clock, nameDigest, (line) => {
    if (config.logLevel !== 'SILENT') process.stdout.write(`${line}\n`);
  });
  // The senders import their clients on the first mail: nothing of nodemailer or the SES SDK loads at start-up.
  const mailer = createMailer(config.mailer, {
    outboxFolder: options.outboxFolder ?? null,
    line: options.mailLine ?? ((text) => process.stdout.write(`${text}\n`)),
    clock,
  });
  const appUrl = () => config.mail.appUrl ?? options.appUrl?.() ?? 'http://localhost';
  const deps = {
    users,
    oneTimeTokens: oneTimeTokenStore,
    emailClaims,
    tokenMaker: oneTimeTokens,
    // Half the request's budget: the rest is the store calls' and the answer's.
    mail: createNotifier(mailer, appUrl, config.mail.productName, Math.floor(config.requestTimeoutMs / 2)),
    emailSettings: config.email,
    // Every answer waits as long as 9 in 10 recent sends took: sends vary (a mail server's answer, a file write), and
    // a median would leave the slower half of real sends longer than every padded answer. Until a send is timed, a
    // process pads to the time of a cold first send (the mail client's import, its first connection).
    forgotPacer: createPacer(clock, systemTimer, options.firstForgotPasswordMs ?? FIRST_FORGOT_PASSWORD_MS, 0.9),
    sessions,
    throttle,
    throttleSettings: config.throttle,
    audit,
    pacer: createPacer(clock, systemTimer),
    timer: systemTimer,
    passwordPolicy: { minLength: config.passwordMinLength, common: createCommonPasswords(options.commonPasswords) },
    hasher,
    tokens,
    clock,
    log,
    ids: randomIds,
    secrets: createRefreshSecrets(options.keys.refreshSecret),
    settings: { refreshTtlSeconds: config.refreshTtlSeconds, refreshGraceSeconds: config.refreshGraceSeconds },
    // A password login needs only to know whether the account has a second factor and to seal its step-up token.
    stepUpTokens: createSealer(options.keys.refreshSecret, 'step-up'),
    mfaSettings: { issuer: config.mfa.issuer, tokenTtlSeconds: config.mfa.tokenTtlSeconds },
    passkeysEnabled: config.passkeys !== null,
    // An account's passkeys go with it; their store loads with the rest of the second factors.
    passkeys: { removeAllFor: async (uid: string): Promise<void> => (await factors()).passkeyStore.removeAllFor(uid) },
  };
  // The second factors' code loads with the first request that needs it (a password login never does).
  let loaded: Promise<SecondFactors> | undefined;
  const factors = (): Promise<SecondFactors> =>
    (loaded ??= import('./second-factors').then(({ createSecondFactors }) =>
      createSecondFactors(deps, {
        store,
        passkeysTableName: config.passkeysTableName,
        mfaKey: options.keys.mfaKey,
        refreshSecret: options.keys.refreshSecret,
        passkeySettings: passkeySettingsOf(config, options),
      }),
    ));
  // Each passkey route's use case, from the module once it is loaded.
  const viaFactors =
    <K extends keyof PasskeyHandlers>(route: K) =>
    async (...args: Parameters<PasskeyHandlers[K]>): Promise<Awaited<ReturnType<PasskeyHandlers[K]>>> =>
      // The handlers' parameters are the route's own; TypeScript cannot follow K through the spread.
      (await ((await factors()).passkeys[route] as (...a: Parameters<PasskeyHandlers[K]>) => ReturnType<PasskeyHandlers[K]>)(
        ...args,
      )) as Awaited<ReturnType<PasskeyHandlers[K]>>;
  const passkeyRoutes: PasskeyHandlers | undefined =
    config.passkeys === null
      ? undefined
      : {
          registrationOptions: viaFactors('registrationOptions'),
          add: viaFactors('add'),
          list: viaFactors('list'),
          remove: viaFactors('remove'),
          loginOptions: viaFactors('loginOptions'),
          logIn: viaFactors('logIn'),
        };

  const pages: PageId[] = [
    ...(options.allPages === true || config.demoEnabled ? (['demo'] as const) : []),
    ...(options.allPages === true || config.docsEnabled ? (['docs'] as const) : []),
  ];
  const app = createApp({
    register: (input, context) => register(deps, input, context),
    logIn: (input, context) => logIn(deps, input, context),
    refresh: (refreshToken, context) => refreshSession(deps, refreshToken, context),
    verifyToken: (input) => verifyToken(deps, input),
    logOut: (input, context) => logOut(deps, input, context),
    logOutAll: (claims, context) => logOutAll(deps, claims, context),
    getMe: (claims) => getMe(deps, claims),
    changePassword: (claims, input, context) => changePassword(deps, claims, input, context),
    deleteAccount: (claims, input, context) => deleteAccount(deps, claims, input, context),
    verifyEmail: (input, context) => verifyEmail(deps, input, context),
    resendVerification: (claims, context) => resendVerification(deps, claims, context),
    changeEmail: (claims, input, context) => changeEmail(deps, claims, input, context),
    forgotPassword: (input, context) => forgotPassword(deps, input, context),
    resetPassword: (input, context) => resetPassword(deps, input, context),
    logInMfa: async (input, context) => (await factors()).logInMfa(input, context),
    startTotp: async (claims, input, context) => (await factors()).startTotp(claims, input, context),
    confirmTotp: async (claims, input, context) => (await factors()).confirmTotp(claims, input, context),
    disableTotp: async (claims, input, context) => (await factors()).disableTotp(claims, input, context),
    replaceRecoveryCodes: async (claims, input, context) => (await factors()).replaceRecoveryCodes(claims, input, context),
    ...(passkeyRoutes === undefined ? {} : { passkeys: passkeyRoutes }),
    authenticate: async (accessToken) => (await authenticate(deps, accessToken)).claims,
    jwks: options.keys.signing.publicJwks,
    log,
    corsOrigins: config.corsOrigins,
    requestTimeoutMs: config.requestTimeoutMs,
    now: () => clock.now().getTime(),
    trustProxy: config.trustProxy,
    // Bundled, this module is dist/lambda/index.mjs: the build copies the pages' files into dist/lambda/web/.
    pages: { enabled: pages, files: options.pageFiles ?? pageFilesIn(new URL('./web/', import.meta.url)) },
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(options.adapterError === undefined ? {} : { adapterError: options.adapterError }),
    ...(options.peerAddress === undefined ? {} : { peerAddress: options.peerAddress }),
  });
  return { app, client, logger: log };
};
