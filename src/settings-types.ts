// Facts that the settings and the adapters both need, declared once here so config.ts imports no adapter.

/** The access-token algorithms the service signs with: HS256 (a shared secret) or a private JWK set. */
export const JWT_ALGORITHMS = ['HS256', 'EdDSA', 'ES256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
/** The algorithms that sign with a private JWK set, whose public half /.well-known/jwks.json serves. */
export type AsymmetricJwtAlgorithm = Exclude<JwtAlgorithm, 'HS256'>;

/** The argon2id cost of a new hash: memory in KiB, passes, lanes. */
export type Argon2Params = { memoryKiB: number; timeCost: number; parallelism: number };

/** Log levels, least severe first: a level shows its own entries and those after it; SILENT shows none. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The outbox's sender when MAIL_FROM is not set (SMTP and SES need a real one). */
export const DEFAULT_OUTBOX_FROM = 'login-service <no-reply@localhost>';
