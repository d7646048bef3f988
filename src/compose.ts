// The one composition root: builds clients and adapters once per process and wires the use cases to HTTP.
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'hono';
import { createRefreshSecrets, randomIds } from './adapters/crypto/refresh-secrets';
import { createDynamoClient } from './adapters/dynamodb/client';
import { createDynamoSessionStore } from './adapters/dynamodb/session-store';
import { createDynamoUserStore } from './adapters/dynamodb/user-store';
import { createApp } from './adapters/http/app';
import { createJwtTokens } from './adapters/jwt/jwt-tokens';
import { createArgon2Hasher } from './adapters/password/argon2-hasher';
import type { Config } from './config';
import { changePassword, deleteAccount, getMe } from './domain/account';
import { logIn } from './domain/log-in';
import { logOut, logOutAll } from './domain/log-out';
import type { Clock } from './domain/ports';
import { register } from './domain/register';
import { refreshSession } from './domain/sessions';
import { verifyToken } from './domain/verify-token';
import type { KeyMaterial } from './key-material';

export type ComposeOptions = {
  keys: KeyMaterial;
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
  const store = { client, timeoutMs: config.storeTimeoutMs };
  const users = createDynamoUserStore({ ...store, tableName: config.tableName });
  const sessions = createDynamoSessionStore({ ...store, tableName: config.sessionsTableName });
  const hasher = createArgon2Hasher(config.argon2);
  const tokens = createJwtTokens({
    keys: options.keys.signing,
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
  const deps = {
    users,
    sessions,
    hasher,
    tokens,
    clock,
    log,
    ids: randomIds,
    secrets: createRefreshSecrets(options.keys.refreshSecret),
    settings: { refreshTtlSeconds: config.refreshTtlSeconds, refreshGraceSeconds: config.refreshGraceSeconds },
  };

  const app = createApp({
    register: (input) => register(deps, input),
    logIn: (input) => logIn(deps, input),
    refresh: (refreshToken) => refreshSession(deps, refreshToken),
    verifyToken: (input) => verifyToken(deps, input),
    logOut: (input) => logOut(deps, input),
    logOutAll: (accessToken) => logOutAll(deps, accessToken),
    getMe: (accessToken) => getMe(deps, accessToken),
    changePassword: (accessToken, input) => changePassword(deps, accessToken, input),
    deleteAccount: (accessToken, input) => deleteAccount(deps, accessToken, input),
    jwks: options.keys.signing.publicJwks,
    log,
    corsOrigins: config.corsOrigins,
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(options.adapterError === undefined ? {} : { adapterError: options.adapterError }),
  });
  return { app, client, logger: log };
};
