// The one composition root: builds clients and adapters once per process and wires the use cases to HTTP.
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'hono';
import { createDynamoClient } from './adapters/dynamodb/client';
import { createDynamoUserStore } from './adapters/dynamodb/user-store';
import { createApp } from './adapters/http/app';
import { createJwtTokens } from './adapters/jwt/jwt-tokens';
import { createArgon2Hasher } from './adapters/password/argon2-hasher';
import type { Config } from './config';
import { logIn } from './domain/log-in';
import type { Clock } from './domain/ports';
import { register } from './domain/register';
import { verifyToken } from './domain/verify-token';

export type ComposeOptions = {
  /** The signing secret, from config or (locally) from DATA_DIR. */
  jwtSecret: Uint8Array;
  /** Overrides the DynamoDB endpoint from config (the embedded store's, locally). */
  dynamodbEndpoint?: string;
  clock?: Clock;
  requestId?(c: Context): string | undefined;
  adapterError?(c: Context): string | undefined;
};

export const systemClock: Clock = { now: () => new Date() };

export const compose = (config: Config, options: ComposeOptions) => {
  const clock = options.clock ?? systemClock;
  const logger = new Logger({ serviceName: 'login-service', logLevel: config.logLevel });
  const client = createDynamoClient({
    ...config.dynamodb,
    endpoint: options.dynamodbEndpoint ?? config.dynamodb.endpoint,
    timeoutMs: config.storeTimeoutMs,
  });
  const users = createDynamoUserStore({ client, tableName: config.tableName, timeoutMs: config.storeTimeoutMs });
  const hasher = createArgon2Hasher(config.argon2);
  const tokens = createJwtTokens({
    secret: options.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.tokenTtlSeconds,
    clock,
  });
  const log = {
    info: (message: string, fields: Record<string, unknown>) => logger.info(message, fields),
    warn: (message: string, fields: Record<string, unknown> = {}) => logger.warn(message, fields),
    error: (message: string, fields: Record<string, unknown>) => logger.error(message, fields),
  };

  const app = createApp({
    register: (input) => register({ users, hasher, clock }, input),
    logIn: (input) => logIn({ users, hasher, tokens, log }, input),
    verifyToken: (input) => verifyToken({ tokens }, input),
    log,
    corsOrigins: config.corsOrigins,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(options.adapterError === undefined ? {} : { adapterError: options.adapterError }),
  });
  return { app, client, logger: log };
};
