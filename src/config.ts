// loadConfig(env): every setting validated once at start-up and frozen; a bad one stops start-up naming the variable.
import * as v from 'valibot';
import { JWT_ALGORITHMS, type JwtAlgorithm } from './adapters/jwt/signing-keys';

export type Runtime = 'lambda' | 'local';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export type Config = Readonly<{
  runtime: Runtime;
  /** Validated text (32+ bytes). Absent locally (generated into DATA_DIR) or when jwtSecretArn names it. */
  jwtSecret: string | undefined;
  /** On AWS: the Secrets Manager secret holding the signing secret, read once per cold start. */
  jwtSecretArn: string | undefined;
  jwtAlg: JwtAlgorithm;
  /** EdDSA / ES256: the private JWK set (JSON text), or on AWS its secret's ARN; locally generated when absent. */
  jwtPrivateJwks: string | undefined;
  jwtPrivateJwksArn: string | undefined;
  jwtSigningKid: string | undefined;
  /** Key of the refresh-token HMAC chain; locally generated when absent, on AWS from its secret's ARN. */
  refreshTokenSecret: string | undefined;
  refreshTokenSecretArn: string | undefined;
  refreshTtlSeconds: number;
  refreshGraceSeconds: number;
  sessionsTableName: string;
  throttleTableName: string;
  throttle: Readonly<{
    userFailures: number;
    maxDelaySeconds: number;
    windowSeconds: number;
    ipFailures: number;
    ipRegistrations: number;
  }>;
  /** How many proxies in front of us append to X-Forwarded-For; 0: the connection's address is the client's. */
  trustProxy: number;
  passwordMinLength: number;
  tableName: string;
  tokenTtlSeconds: number;
  jwtIssuer: string;
  jwtAudience: string;
  corsOrigins: '*' | readonly string[];
  argon2: Readonly<{ memoryKiB: number; timeCost: number; parallelism: number }>;
  port: number;
  /** A folder, or ':memory:' to keep nothing. */
  dataDir: string;
  dynamodb: Readonly<{
    endpoint: string | undefined;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  }>;
  storeTimeoutMs: number;
  logLevel: LogLevel;
}>;

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
export const ARGON2_MINIMUMS = { memoryKiB: 19456, timeCost: 2, parallelism: 1 } as const;

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

const SETTINGS = {
  JWT_SECRET: secretText,
  JWT_SECRET_ARN: secretArn,
  JWT_ALG: v.pipe(v.optional(v.string(), 'HS256'), v.picklist(JWT_ALGORITHMS, 'must be HS256, EdDSA or ES256')),
  JWT_PRIVATE_JWKS: jsonObject,
  JWT_PRIVATE_JWKS_ARN: secretArn,
  JWT_SIGNING_KID: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty'), v.maxLength(128, 'is too long'))),
  REFRESH_TOKEN_SECRET: secretText,
  REFRESH_TOKEN_SECRET_ARN: secretArn,
  REFRESH_TTL_SECONDS: wholeNumber(30 * 86_400, 300, 366 * 86_400),
  REFRESH_GRACE_SECONDS: wholeNumber(10, 0, 300),
  TABLE_NAME: tableName('user-table'),
  SESSIONS_TABLE_NAME: tableName('user-sessions'),
  THROTTLE_TABLE_NAME: tableName('login-throttle'),
  THROTTLE_USER_FAILURES: wholeNumber(5, 1, 999_999_999),
  THROTTLE_MAX_DELAY_SECONDS: wholeNumber(900, 1, 86_400),
  THROTTLE_WINDOW_SECONDS: wholeNumber(900, 1, 86_400),
  THROTTLE_IP_FAILURES: wholeNumber(100, 1, 999_999_999),
  THROTTLE_IP_REGISTRATIONS: wholeNumber(20, 1, 999_999_999),
  TRUST_PROXY: wholeNumber(0, 0, 10),
  PASSWORD_MIN_LENGTH: wholeNumber(8, 8, 64),
  TOKEN_TTL_SECONDS: wholeNumber(3600, 60, 86_400),
  JWT_ISSUER: label('login-service'),
  JWT_AUDIENCE: label('login-service'),
  CORS_ORIGINS: v.pipe(
    v.optional(v.string(), '*'),
    v.transform((s) => (s.trim() === '*' ? ('*' as const) : s.split(',').map((o) => o.trim()).filter(Boolean))),
    v.check(
      (o) => o === '*' || (o.length > 0 && o.every(origin)),
      'must be * or a comma-separated list of origins such as https://app.example.com',
    ),
  ),
  ARGON2_MEMORY_KIB: wholeNumber(ARGON2_MINIMUMS.memoryKiB, ARGON2_MINIMUMS.memoryKiB, 4_194_304),
  ARGON2_TIME_COST: wholeNumber(ARGON2_MINIMUMS.timeCost, ARGON2_MINIMUMS.timeCost, 100),
  ARGON2_PARALLELISM: wholeNumber(ARGON2_MINIMUMS.parallelism, ARGON2_MINIMUMS.parallelism, 64),
  PORT: wholeNumber(3000, 0, 65_535),
  DATA_DIR: v.pipe(v.optional(v.string(), '.data'), v.nonEmpty('must not be empty')),
  DYNAMODB_ENDPOINT: v.optional(
    v.pipe(
      v.string(),
      v.check((s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'must be an http(s) URL'),
    ),
  ),
  STORE_TIMEOUT_MS: wholeNumber(2000, 200, 60_000),
  LOG_LEVEL: v.pipe(
    v.optional(v.string(), 'INFO'),
    v.transform((s) => s.trim().toUpperCase()),
    v.picklist(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'], 'must be DEBUG, INFO, WARN, ERROR or SILENT'),
  ),
  AWS_REGION: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{2,32}$/, 'must be an AWS region'))),
  AWS_DEFAULT_REGION: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{2,32}$/, 'must be an AWS region'))),
  AWS_ACCESS_KEY_ID: v.optional(v.string()),
  AWS_PROFILE: v.optional(v.string()),
} as const;

type Parsed = { [K in keyof typeof SETTINGS]: v.InferOutput<(typeof SETTINGS)[K]> };

export const loadConfig = (env: Readonly<Record<string, string | undefined>>, runtime: Runtime): Config => {
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(SETTINGS)) {
    const raw = env[name] === '' ? undefined : env[name];
    const result = v.safeParse(schema, raw);
    if (result.success) parsed[name] = result.output;
    else problems.push(`${name} ${result.issues[0].message}`);
  }
  const s = parsed as Parsed;
  if (problems.length === 0 && runtime === 'lambda') {
    const hmac = s.JWT_ALG === 'HS256';
    if (hmac && s.JWT_SECRET === undefined && s.JWT_SECRET_ARN === undefined) {
      problems.push('JWT_SECRET_ARN or JWT_SECRET is required on Lambda');
    }
    if (!hmac && s.JWT_PRIVATE_JWKS === undefined && s.JWT_PRIVATE_JWKS_ARN === undefined) {
      problems.push(`JWT_PRIVATE_JWKS_ARN or JWT_PRIVATE_JWKS is required on Lambda with JWT_ALG=${s.JWT_ALG}`);
    }
    if (s.REFRESH_TOKEN_SECRET === undefined && s.REFRESH_TOKEN_SECRET_ARN === undefined) {
      problems.push('REFRESH_TOKEN_SECRET_ARN or REFRESH_TOKEN_SECRET is required on Lambda');
    }
  }
  const region = s.AWS_REGION ?? s.AWS_DEFAULT_REGION;
  const localStore = runtime === 'local' || s.DYNAMODB_ENDPOINT !== undefined;
  if (problems.length === 0 && region === undefined && !localStore) problems.push('AWS_REGION is required');
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);

  return Object.freeze({
    runtime,
    jwtSecret: s.JWT_SECRET,
    jwtSecretArn: s.JWT_SECRET_ARN,
    jwtAlg: s.JWT_ALG,
    jwtPrivateJwks: s.JWT_PRIVATE_JWKS,
    jwtPrivateJwksArn: s.JWT_PRIVATE_JWKS_ARN,
    jwtSigningKid: s.JWT_SIGNING_KID,
    refreshTokenSecret: s.REFRESH_TOKEN_SECRET,
    refreshTokenSecretArn: s.REFRESH_TOKEN_SECRET_ARN,
    refreshTtlSeconds: s.REFRESH_TTL_SECONDS,
    refreshGraceSeconds: s.REFRESH_GRACE_SECONDS,
    sessionsTableName: s.SESSIONS_TABLE_NAME,
    throttleTableName: s.THROTTLE_TABLE_NAME,
    throttle: Object.freeze({
      userFailures: s.THROTTLE_USER_FAILURES,
      maxDelaySeconds: s.THROTTLE_MAX_DELAY_SECONDS,
      windowSeconds: s.THROTTLE_WINDOW_SECONDS,
      ipFailures: s.THROTTLE_IP_FAILURES,
      ipRegistrations: s.THROTTLE_IP_REGISTRATIONS,
    }),
    trustProxy: s.TRUST_PROXY,
    passwordMinLength: s.PASSWORD_MIN_LENGTH,
    tableName: s.TABLE_NAME,
    tokenTtlSeconds: s.TOKEN_TTL_SECONDS,
    jwtIssuer: s.JWT_ISSUER,
    jwtAudience: s.JWT_AUDIENCE,
    corsOrigins: s.CORS_ORIGINS,
    argon2: Object.freeze({
      memoryKiB: s.ARGON2_MEMORY_KIB,
      timeCost: s.ARGON2_TIME_COST,
      parallelism: s.ARGON2_PARALLELISM,
    }),
    port: s.PORT,
    dataDir: s.DATA_DIR,
    dynamodb: Object.freeze({
      endpoint: s.DYNAMODB_ENDPOINT,
      region: region ?? 'us-east-1',
      // Local stores accept any credentials; real ones, when set (keys or a profile), are still used.
      credentials:
        localStore && s.AWS_ACCESS_KEY_ID === undefined && s.AWS_PROFILE === undefined
          ? { accessKeyId: 'local', secretAccessKey: 'local' }
          : undefined,
    }),
    storeTimeoutMs: s.STORE_TIMEOUT_MS,
    logLevel: s.LOG_LEVEL,
  });
};
