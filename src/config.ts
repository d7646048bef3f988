// loadConfig(env): every setting validated once at start-up and frozen; a bad one stops start-up naming the variable.
// Each setting is one entry of SETTINGS (its variable, its rule, its place in Config); the Config type is derived.
import { isIP } from 'node:net';
import * as v from 'valibot';
import type { EmailSettings } from './domain/email-verification';
import type { ThrottleSettings } from './domain/throttle';
import { DEFAULT_OUTBOX_FROM, JWT_ALGORITHMS, LOG_LEVELS, type Argon2Params, type LogLevel } from './settings-types';

export type Runtime = 'lambda' | 'local';
export type { LogLevel };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const MIN_JWT_SECRET_BYTES = 32;

/** The signing secret from its text, or a ConfigError naming where it came from. */
export const jwtSecretFrom = (text: string, source: string): Uint8Array => {
  const secret = new TextEncoder().encode(text);
  if (secret.length < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`invalid configuration: ${source} must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
  }
  return secret;
};
export const ARGON2_MINIMUMS = { memoryKiB: 19456, timeCost: 2, parallelism: 1 } as const satisfies Argon2Params;

const wholeNumber = (fallback: number, min: number, max: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.regex(/^\d{1,9}$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const label = (fallback: string) =>
  v.pipe(v.optional(v.string(), fallback), v.trim(), v.nonEmpty('must not be empty'), v.maxLength(256, 'is too long'));

const origin = (value: string) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
};

const secretArn = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/, 'must be a Secrets Manager secret ARN'),
  ),
);

const tableName = (fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)'),
  );

const secretText = v.optional(
  v.pipe(
    v.string(),
    v.check(
      (s) => Buffer.byteLength(s, 'utf8') >= MIN_JWT_SECRET_BYTES,
      `must be at least ${MIN_JWT_SECRET_BYTES} bytes`,
    ),
  ),
);

const jsonObject = v.optional(
  v.pipe(
    v.string(),
    v.check((s) => {
      try {
        const parsed = JSON.parse(s) as unknown;
        return typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys);
      } catch {
        return false;
      }
    }, 'must be a JSON Web Key Set: {"keys": [...]}'),
  ),
);

/** An on/off switch: `true` or `false` (default off). */
const flag = v.pipe(
  v.optional(v.string(), 'false'),
  v.transform((s) => s.trim().toLowerCase()),
  v.picklist(['true', 'false'], 'must be true or false'),
  v.transform((s) => s === 'true'),
);

const awsRegion = v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{2,32}$/, 'must be an AWS region')));

// Square brackets are how URLs write IPv6 addresses; accepted here too, so HOST=[::] means what it looks like.
const listenAddress = v.pipe(
  v.optional(v.string(), '127.0.0.1'),
  v.trim(),
  v.transform((s) => s.replace(/^\[(.*)\]$/, '$1')),
  v.check(
    (s) => s === 'localhost' || isIP(s) !== 0,
    'must be an IPv4 or IPv6 address or localhost (127.0.0.1 serves this machine only, 0.0.0.0 the network)',
  ),
);

// `Name <address>` or a bare address; no line breaks (it becomes a header).
const mailbox = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, 'must be an address, or a name and <address>'),
  ),
);

const smtpUrl = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.check((s) => /^smtps?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'must be smtp://user:pass@host:port or smtps://...'),
  ),
);

const appUrl = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.check((s) => {
      if (!/^https?:\/\/[^\s]+$/.test(s) || !URL.canParse(s)) return false;
      const url = new URL(s);
      const bare = url.search === '' && url.hash === '' && !s.includes('?') && !s.includes('#');
      return bare && url.username === '' && url.password === '';
    }, 'must be an http(s) URL without a user, password, query or fragment, such as https://app.example.com'),
    v.transform((s) => s.replace(/\/+$/, '')),
  ),
);

// A WebAuthn relying party id is a registrable host name: letters, digits, hyphens and dots, no port.
const hostName = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.toLowerCase(),
    v.regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a host name such as example.com (no scheme, no port)'),
  ),
);

const originList = v.optional(
  v.pipe(
    v.string(),
    v.transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
    v.check((list) => list.length > 0 && list.every(origin), 'must be a comma-separated list of origins such as https://example.com'),
  ),
);

/** An origin's host is the RP id or one of its subdomains (WebAuthn's rule), and it is https unless it is localhost. */
const fitsRpId = (origin: string, rpId: string) => {
  const url = new URL(origin);
  const host = url.hostname;
  return (host === rpId || host.endsWith(`.${rpId}`)) && (url.protocol === 'https:' || host === 'localhost');
};

type Schema = v.GenericSchema<string | undefined, unknown>;
/** One environment variable: its name and the rule that validates and converts its text. */
type Setting<S extends Schema = Schema> = Readonly<{ variable: string; schema: S }>;
type Group = { readonly [key: string]: Setting | Group };
/** The values a group of settings yields: each setting's output type, nested groups frozen likewise. */
type Values<G> = Readonly<{ [K in keyof G]: G[K] extends Setting<infer S> ? v.InferOutput<S> : Values<G[K]> }>;
/** The settings that make up a shape declared elsewhere: every member, each yielding that member's type. */
type SettingsOf<T> = { readonly [K in keyof T]-?: Setting<v.GenericSchema<string | undefined, T[K]>> };

const setting = <S extends Schema>(variable: string, schema: S): Setting<S> => ({ variable, schema });
const isSetting = (entry: Setting | Group): entry is Setting => typeof entry.variable === 'string';

/** Every setting, once. Config has the same keys and nesting; the variable names are public API. */
const SETTINGS = {
  /** Validated text (32+ bytes). Absent locally (generated into DATA_DIR) or when jwtSecretArn names it. */
  jwtSecret: setting('JWT_SECRET', secretText),
  /** On AWS: the Secrets Manager secret holding the signing secret, read once per cold start. */
  jwtSecretArn: setting('JWT_SECRET_ARN', secretArn),
  jwtAlg: setting(
    'JWT_ALG',
    v.pipe(v.optional(v.string(), 'HS256'), v.picklist(JWT_ALGORITHMS, `must be ${JWT_ALGORITHMS.join(', ')}`)),
  ),
  /** EdDSA / ES256: the private JWK set (JSON text), or on AWS its secret's ARN; locally generated when absent. */
  jwtPrivateJwks: setting('JWT_PRIVATE_JWKS', jsonObject),
  jwtPrivateJwksArn: setting('JWT_PRIVATE_JWKS_ARN', secretArn),
  jwtSigningKid: setting(
    'JWT_SIGNING_KID',
    v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'), v.maxLength(128, 'is too long'))),
  ),
  /** Key of the refresh-token HMAC chain; locally generated when absent, on AWS from its secret's ARN. */
  refreshTokenSecret: setting('REFRESH_TOKEN_SECRET', secretText),
  refreshTokenSecretArn: setting('REFRESH_TOKEN_SECRET_ARN', secretArn),
  refreshTtlSeconds: setting('REFRESH_TTL_SECONDS', wholeNumber(30 * 86_400, 300, 366 * 86_400)),
  /**
   * How long a just-replaced refresh token still gets the same successor. Bounded as Cognito bounds it (0-60 s):
   * an unbounded grace would let two holders of one token alternate forever without reuse ever being seen.
   */
  refreshGraceSeconds: setting('REFRESH_GRACE_SECONDS', wholeNumber(60, 0, 60)),
  tableName: setting('TABLE_NAME', tableName('user-table')),
  sessionsTableName: setting('SESSIONS_TABLE_NAME', tableName('user-sessions')),
  throttleTableName: setting('THROTTLE_TABLE_NAME', tableName('login-throttle')),
  throttle: {
    userFailures: setting('THROTTLE_USER_FAILURES', wholeNumber(5, 1, 999_999_999)),
    maxDelaySeconds: setting('THROTTLE_MAX_DELAY_SECONDS', wholeNumber(900, 1, 86_400)),
    windowSeconds: setting('THROTTLE_WINDOW_SECONDS', wholeNumber(900, 1, 86_400)),
    ipFailures: setting('THROTTLE_IP_FAILURES', wholeNumber(100, 1, 999_999_999)),
    ipRegistrations: setting('THROTTLE_IP_REGISTRATIONS', wholeNumber(20, 1, 999_999_999)),
    ipMails: setting('THROTTLE_IP_MAILS', wholeNumber(20, 1, 999_999_999)),
  } satisfies SettingsOf<ThrottleSettings>,
  oneTimeTokensTableName: setting('ONE_TIME_TOKENS_TABLE_NAME', tableName('user-one-time-tokens')),
  emailsTableName: setting('EMAILS_TABLE_NAME', tableName('user-emails')),
  email: {
    // At most a day: NIST SP 800-63B rev. 4 (4.2.1.2) bounds codes sent by email to 24 hours.
    verifyTtlSeconds: setting('VERIFY_TTL_SECONDS', wholeNumber(86_400, 300, 86_400)),
    resetTtlSeconds: setting('RESET_TTL_SECONDS', wholeNumber(1800, 300, 86_400)),
    mailsPerAccountPerHour: setting('MAILS_PER_ACCOUNT_PER_HOUR', wholeNumber(5, 1, 1000)),
  } satisfies SettingsOf<EmailSettings>,
  mail: {
    /** The sender for SMTP and SES (required by both); the outbox's default otherwise. */
    from: setting('MAIL_FROM', mailbox),
    /** smtp://user:pass@host:port or smtps://...: send over SMTP (wins over SES, on Lambda too). */
    smtpUrl: setting('SMTP_URL', smtpUrl),
    /** Where mailed links point; locally the server's own URL when absent. Required on Lambda when mail is sent. */
    appUrl: setting('APP_URL', appUrl),
    productName: setting('MAIL_PRODUCT_NAME', label('login-service')),
    /** An SES configuration set (event destinations, suppression), for SES only. */
    sesConfigurationSet: setting(
      'SES_CONFIGURATION_SET',
      v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES configuration set name'))),
    ),
  },
  mfa: {
    /** The name authenticator apps show beside the account (the otpauth URI's issuer): no colon, as the URI format says. */
    issuer: setting('MFA_ISSUER', v.pipe(label('login-service'), v.check((s) => !s.includes(':'), 'must not contain ":"'))),
    /** Key of the TOTP secrets' encryption at rest (32+ bytes of text); locally generated, on AWS from its secret. */
    encryptionKey: setting('MFA_ENCRYPTION_KEY', secretText),
    encryptionKeyArn: setting('MFA_ENCRYPTION_KEY_ARN', secretArn),
    /** How long the step-up token of a right password lasts. */
    tokenTtlSeconds: setting('MFA_TOKEN_TTL_SECONDS', wholeNumber(300, 60, 900)),
  },
  passkeysTableName: setting('PASSKEYS_TABLE_NAME', tableName('user-passkeys')),
  webauthn: {
    /** The relying party id: the site's host name (no scheme, no port). Locally `localhost`; required on Lambda. */
    rpId: setting('WEBAUTHN_RP_ID', hostName),
    /** The origins passkeys may be used from, comma-separated. Locally http://localhost:PORT; required on Lambda. */
    origins: setting('WEBAUTHN_ORIGINS', originList),
    /** The name authenticators show for the site; MFA_ISSUER when absent. */
    rpName: setting('WEBAUTHN_RP_NAME', v.optional(v.pipe(v.string(), v.trim(), v.nonEmpty('must not be empty'), v.maxLength(256, 'is too long')))),
    challengeTtlSeconds: setting('WEBAUTHN_CHALLENGE_TTL_SECONDS', wholeNumber(300, 30, 600)),
  },
  /** How many proxies in front of us append to X-Forwarded-For; 0: the connection's address is the client's. */
  trustProxy: setting('TRUST_PROXY', wholeNumber(0, 0, 10)),
  passwordMinLength: setting('PASSWORD_MIN_LENGTH', wholeNumber(8, 8, 64)),
  tokenTtlSeconds: setting('TOKEN_TTL_SECONDS', wholeNumber(3600, 60, 86_400)),
  jwtIssuer: setting('JWT_ISSUER', label('login-service')),
  jwtAudience: setting('JWT_AUDIENCE', label('login-service')),
  corsOrigins: setting(
    'CORS_ORIGINS',
    v.pipe(
      v.optional(v.string(), '*'),
      v.transform((s): '*' | readonly string[] =>
        s.trim() === '*' ? '*' : s.split(',').map((o) => o.trim()).filter(Boolean),
      ),
      v.check(
        (o) => o === '*' || (o.length > 0 && o.every(origin)),
        'must be * or a comma-separated list of origins such as https://app.example.com',
      ),
    ),
  ),
  argon2: {
    memoryKiB: setting('ARGON2_MEMORY_KIB', wholeNumber(ARGON2_MINIMUMS.memoryKiB, ARGON2_MINIMUMS.memoryKiB, 4_194_304)),
    timeCost: setting('ARGON2_TIME_COST', wholeNumber(ARGON2_MINIMUMS.timeCost, ARGON2_MINIMUMS.timeCost, 100)),
    parallelism: setting('ARGON2_PARALLELISM', wholeNumber(ARGON2_MINIMUMS.parallelism, ARGON2_MINIMUMS.parallelism, 64)),
  } satisfies SettingsOf<Argon2Params>,
  /** Local server: the address it listens on; its one URL is http://localhost:PORT whatever this is. */
  host: setting('HOST', listenAddress),
  port: setting('PORT', wholeNumber(3000, 0, 65_535)),
  /** A folder, or ':memory:' to keep nothing. */
  dataDir: setting('DATA_DIR', v.pipe(v.optional(v.string(), '.data'), v.nonEmpty('must not be empty'))),
  /** Bound on one store call, SDK retries included. */
  storeTimeoutMs: setting('STORE_TIMEOUT_MS', wholeNumber(2000, 200, 30_000)),
  /** One deadline for a whole request: each store call gets the smaller of storeTimeoutMs and what is left of it. */
  requestTimeoutMs: setting('REQUEST_TIMEOUT_MS', wholeNumber(5000, 1000, 30_000)),
  /** Lambda: serve the API reference at /docs (swagger-ui, read from beside the bundle). The local server always does. */
  docsEnabled: setting('DOCS_ENABLED', flag),
  /** Lambda: serve the demo page at /. The local server always does. */
  demoEnabled: setting('DEMO_ENABLED', flag),
  logLevel: setting(
    'LOG_LEVEL',
    v.pipe(
      v.optional(v.string(), 'INFO'),
      v.transform((s) => s.trim().toUpperCase()),
      v.picklist(LOG_LEVELS, `must be ${LOG_LEVELS.join(', ')}`),
    ),
  ),
} as const satisfies Group;

const optionalUrl = v.optional(
  v.pipe(
    v.string(),
    v.check((s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'must be an http(s) URL'),
  ),
);

/** Read only to decide how to reach AWS; what they decide is config.dynamodb and config.secretsManager. */
const STORE_SETTINGS = {
  endpoint: setting('DYNAMODB_ENDPOINT', optionalUrl),
  region: setting('AWS_REGION', awsRegion),
  defaultRegion: setting('AWS_DEFAULT_REGION', awsRegion),
  accessKeyId: setting('AWS_ACCESS_KEY_ID', v.optional(v.string())),
  profile: setting('AWS_PROFILE', v.optional(v.string())),
  // The AWS SDK's own name for a service's endpoint; set by tests and the bench, never on AWS.
  secretsManagerEndpoint: setting('AWS_ENDPOINT_URL_SECRETS_MANAGER', optionalUrl),
  // The same for SES v2 (aws-ses-v2-local in the tests).
  sesEndpoint: setting('AWS_ENDPOINT_URL_SESV2', optionalUrl),
} as const satisfies Group;

export type Config = Readonly<
  { runtime: Runtime } & Values<typeof SETTINGS> & {
      dynamodb: Readonly<{
        endpoint: Values<typeof STORE_SETTINGS>['endpoint'];
        region: string;
        /** Dummies for a local store (which accepts any); undefined: the SDK's own chain finds real ones. */
        credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
      }>;
      secretsManager: Readonly<{ endpoint: string | undefined; region: string }>;
      /**
       * Passkeys' relying party: locally localhost and http://localhost:PORT unless set; on Lambda both settings or
       * null (no passkeys: their routes answer 404).
       */
      passkeys: Readonly<{
        rpId: string;
        rpName: string;
        /** Null: the local server's own URL, http://localhost:PORT (known once it listens: PORT=0 picks one). */
        origins: readonly string[] | null;
        challengeTtlSeconds: number;
      }> | null;
      /**
       * How mail goes: SMTP when SMTP_URL is set; else SES on Lambda when MAIL_FROM is; else the outbox locally;
       * none on Lambda without a sender (nothing is sent, and asking for a link that must go answers 503).
       */
      mailer: Readonly<
        | { kind: 'smtp'; url: string; from: string }
        | { kind: 'ses'; from: string; endpoint: string | undefined; region: string; configurationSet: string | undefined }
        | { kind: 'outbox'; from: string }
        | { kind: 'none' }
      >;
    }
>;

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable the settings read, in declaration order (the README's settings table is checked against it). */
export const settingVariables = (): string[] => {
  const of = (group: Group): string[] =>
    Object.values(group).flatMap((entry) => (isSetting(entry) ? [entry.variable] : of(entry)));
  return [...of(SETTINGS), ...of(STORE_SETTINGS)];
};

/** Every setting of the group parsed, nested groups frozen; a setting that fails adds a problem naming it. */
const parseGroup = <G extends Group>(group: G, env: Env, problems: string[]): Values<G> => {
  const values: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(group)) {
    if (!isSetting(entry)) {
      values[key] = Object.freeze(parseGroup(entry, env, problems));
      continue;
    }
    const raw = env[entry.variable] === '' ? undefined : env[entry.variable];
    const result = v.safeParse(entry.schema, raw);
    if (result.success) values[key] = result.output;
    else problems.push(`${entry.variable} ${result.issues[0].message}`);
  }
  return values as Values<G>;
};

const mailerOf = (
  runtime: Runtime,
  mail: Values<typeof SETTINGS>['mail'],
  sesEndpoint: string | undefined,
  region: string,
): Config['mailer'] => {
  if (mail.smtpUrl !== undefined) return { kind: 'smtp', url: mail.smtpUrl, from: mail.from as string };
  if (runtime === 'lambda') {
    return mail.from === undefined
      ? { kind: 'none' }
      : { kind: 'ses', from: mail.from, endpoint: sesEndpoint, region, configurationSet: mail.sesConfigurationSet };
  }
  return { kind: 'outbox', from: mail.from ?? DEFAULT_OUTBOX_FROM };
};

export const loadConfig = (env: Env, runtime: Runtime): Config => {
  const problems: string[] = [];
  const s = parseGroup(SETTINGS, env, problems);
  const store = parseGroup(STORE_SETTINGS, env, problems);
  if (problems.length === 0 && runtime === 'lambda') {
    const hmac = s.jwtAlg === 'HS256';
    if (hmac && s.jwtSecret === undefined && s.jwtSecretArn === undefined) {
      problems.push('JWT_SECRET_ARN or JWT_SECRET is required on Lambda');
    }
    if (!hmac && s.jwtPrivateJwks === undefined && s.jwtPrivateJwksArn === undefined) {
      problems.push(`JWT_PRIVATE_JWKS_ARN or JWT_PRIVATE_JWKS is required on Lambda with JWT_ALG=${s.jwtAlg}`);
    }
    if (s.refreshTokenSecret === undefined && s.refreshTokenSecretArn === undefined) {
      problems.push('REFRESH_TOKEN_SECRET_ARN or REFRESH_TOKEN_SECRET is required on Lambda');
    }
  }
  // Both parsed: the request's deadline must leave room for at least one whole store call.
  if (s.requestTimeoutMs !== undefined && s.storeTimeoutMs !== undefined && s.requestTimeoutMs < s.storeTimeoutMs) {
    problems.push(
      `REQUEST_TIMEOUT_MS (${s.requestTimeoutMs}) must be at least STORE_TIMEOUT_MS (${s.storeTimeoutMs}): ` +
        'raise REQUEST_TIMEOUT_MS or lower STORE_TIMEOUT_MS',
    );
  }
  if (problems.length === 0 && s.mail.smtpUrl !== undefined && s.mail.from === undefined) {
    problems.push('MAIL_FROM is required with SMTP_URL (the sender of every mail)');
  }
  const sends = s.mail.smtpUrl !== undefined || (runtime === 'lambda' && s.mail.from !== undefined);
  if (problems.length === 0 && runtime === 'lambda' && sends && s.mail.appUrl === undefined) {
    problems.push('APP_URL is required on Lambda when mail is sent (MAIL_FROM or SMTP_URL): the links point there');
  }
  const { rpId, origins } = s.webauthn;
  if (problems.length === 0 && runtime === 'lambda' && (rpId === undefined) !== (origins === undefined)) {
    problems.push('WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS go together: set both for passkeys, or neither');
  }
  if (problems.length === 0 && runtime === 'local' && rpId !== undefined && rpId !== 'localhost' && origins === undefined) {
    problems.push(`WEBAUTHN_RP_ID ${rpId} needs WEBAUTHN_ORIGINS: the local default, http://localhost:PORT, is not on it`);
  }
  const passkeysRpId = rpId ?? (runtime === 'local' ? 'localhost' : undefined);
  const passkeyOrigins = origins ?? (runtime === 'local' ? null : undefined);
  if (problems.length === 0 && passkeysRpId !== undefined && passkeyOrigins != null) {
    const stray = passkeyOrigins.filter((o) => !fitsRpId(o, passkeysRpId));
    if (stray.length > 0) {
      problems.push(
        `WEBAUTHN_ORIGINS ${stray.join(', ')} must be https (or localhost) on WEBAUTHN_RP_ID ${passkeysRpId} or a subdomain of it`,
      );
    }
  }
  const region = store.region ?? store.defaultRegion;
  const localStore = runtime === 'local' || store.endpoint !== undefined;
  if (problems.length === 0 && region === undefined && !localStore) problems.push('AWS_REGION is required');
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);

  return Object.freeze({
    runtime,
    ...s,
    dynamodb: Object.freeze({
      endpoint: store.endpoint,
      region: region ?? 'us-east-1',
      // Local stores accept any credentials; real ones, when set (keys or a profile), are still used.
      credentials:
        localStore && store.accessKeyId === undefined && store.profile === undefined
          ? { accessKeyId: 'local', secretAccessKey: 'local' }
          : undefined,
    }),
    secretsManager: Object.freeze({ endpoint: store.secretsManagerEndpoint, region: region ?? 'us-east-1' }),
    mailer: Object.freeze(mailerOf(runtime, s.mail, store.sesEndpoint, region ?? 'us-east-1')),
    passkeys:
      passkeysRpId === undefined || passkeyOrigins === undefined
        ? null
        : Object.freeze({
            rpId: passkeysRpId,
            rpName: s.webauthn.rpName ?? s.mfa.issuer,
            origins: passkeyOrigins === null ? null : Object.freeze(passkeyOrigins),
            challengeTtlSeconds: s.webauthn.challengeTtlSeconds,
          }),
  });
};
