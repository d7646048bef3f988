// Builds the real app (compose) against a fresh table on a real local store, with a movable clock.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll } from 'vitest';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import type { Clock } from '../src/domain/ports';
import { resolveKeys } from '../src/key-material';
import { commonPasswordsCandidates } from '../src/adapters/password/common-passwords';
import { checkEveryResponse } from './contract';
import { createTestOutbox } from './outbox';
import {
  createEmailsTable,
  createOneTimeTokensTable,
  createPasskeysTable,
  createSessionsTable,
  createThrottleTable,
  createUsersTable,
  startDynalite,
  type TestStore,
} from './stores';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long';
export const TEST_REFRESH_SECRET = 'test-refresh-secret-at-least-32-bytes-long';

export type MovableClock = Clock & {
  advance(seconds: number): void;
  /** Stops time where it is (until `run`): a test whose steps must fall within one wait, however slow the machine. */
  freeze(): void;
  run(): void;
};

export const movableClock = (): MovableClock => {
  let offsetMs = 0;
  let frozenAt: number | undefined;
  return {
    now: () => new Date((frozenAt ?? Date.now()) + offsetMs),
    advance: (seconds) => (offsetMs += seconds * 1000),
    freeze: () => (frozenAt ??= Date.now()),
    run: () => {
      if (frozenAt !== undefined) offsetMs -= Date.now() - frozenAt;
      frozenAt = undefined;
    },
  };
};

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

export type LoginAnswer = {
  token: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresIn: number;
  tokenType: string;
  user: { username: string; name: string };
};

/** `endpoint`: a running store (dynalite in most tests); pass `tableName` to reuse a table. */
export const createTestApp = async (
  endpoint: string,
  env: Record<string, string> = {},
  options: { tableName?: string; sessionsTableName?: string; createTable?: boolean } = {},
) => {
  const tableName =
    options.tableName ?? (options.createTable === false ? 'user-table' : await createUsersTable(endpoint));
  const sessionsTableName =
    options.sessionsTableName ?? (options.createTable === false ? 'user-sessions' : await createSessionsTable(endpoint));
  const throttleTableName = options.createTable === false ? 'login-throttle' : await createThrottleTable(endpoint);
  const tokensTableName = options.createTable === false ? 'user-one-time-tokens' : await createOneTimeTokensTable(endpoint);
  const emailsTableName = options.createTable === false ? 'user-emails' : await createEmailsTable(endpoint);
  const passkeysTableName = options.createTable === false ? 'user-passkeys' : await createPasskeysTable(endpoint);
  const outbox = createTestOutbox();
  const config = loadConfig(
    {
      TABLE_NAME: tableName,
      SESSIONS_TABLE_NAME: sessionsTableName,
      DYNAMODB_ENDPOINT: endpoint,
      JWT_SECRET: TEST_JWT_SECRET,
      REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
      THROTTLE_TABLE_NAME: throttleTableName,
      ONE_TIME_TOKENS_TABLE_NAME: tokensTableName,
      EMAILS_TABLE_NAME: emailsTableName,
      PASSKEYS_TABLE_NAME: passkeysTableName,
      THROTTLE_IP_MAILS: '999999999',
      APP_URL: 'http://app.test',
      // Every app.request() comes from the same unknown address: per-client ceilings off unless a test sets them.
      THROTTLE_IP_FAILURES: '999999999',
      THROTTLE_IP_REGISTRATIONS: '999999999',
      LOG_LEVEL: 'SILENT',
      ...env,
    },
    'local',
  );
  const clock = movableClock();
  const keys = await resolveKeys(config, { kind: 'local', dataDir: undefined, warn: () => undefined });
  const { app, client } = compose(config, {
    keys,
    clock,
    commonPasswords: commonPasswordsCandidates(new URL('../src/server.ts', import.meta.url)),
    // app.request() has no connection: tests say where they come from in a header of their own.
    peerAddress: (c) => c.req.header('X-Test-Peer'),
    // Mails are real .eml files in a folder of the test's own; their console lines are not printed.
    outboxFolder: outbox.folder,
    mailLine: () => undefined,
    // Tests send few links: a process's pad before its first timed send stays short here (the bench measures it).
    firstForgotPasswordMs: 50,
  });
  // Every response a test receives is checked against the OpenAPI document (test/contract.ts).
  checkEveryResponse(app);

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const registerAndLogIn = async (username: string, password = 'correct horse battery', name = 'Test User') => {
    await post('/register', { name, username, password });
    const response = await post('/login', { username, password });
    return (await response.json()) as LoginAnswer;
  };

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  return { app, client, clock, tableName, sessionsTableName, config, post, registerAndLogIn, bearer, outbox };
};

export type ServedTestApp = TestApp & { url: string; close(): Promise<void> };

/** The real composed app on a real socket (127.0.0.1, a free port): for tests that need real HTTP. */
export const serveTestApp = async (endpoint: string, env: Record<string, string> = {}): Promise<ServedTestApp> => {
  const t = await createTestApp(endpoint, env);
  const server: ServerType = await new Promise((resolve) => {
    const running = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(running));
  });
  const { port } = server.address() as AddressInfo;
  return {
    ...t,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
        t.client.destroy();
      }),
  };
};

/** A JSON response body, for assertions. */
export const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

/**
 * For a whole test file: starts dynalite and a test app on it before the tests (handing both to `ready`),
 * and stops them after.
 */
export const onDynalite = (ready: (store: TestStore, app: TestApp) => void | Promise<void>) => {
  let store: TestStore | undefined;
  let app: TestApp | undefined;
  beforeAll(async () => {
    store = await startDynalite();
    app = await createTestApp(store.endpoint);
    await ready(store, app);
  });
  afterAll(async () => {
    app?.client.destroy();
    await store?.stop();
  });
};
