// The store the user import and export commands work on: DYNAMODB_ENDPOINT, AWS (--aws), or DATA_DIR's own store.
import { join, resolve } from 'node:path';
import { sdkCredentialChain } from '../src/adapters/aws/sdk-credentials';
import { createDynamoClient, type DynamoClient } from '../src/adapters/dynamodb/client';
import { ensureSessionsTable, ensureUsersTable } from '../src/adapters/dynamodb/ensure-table';
import { DataDirError, lockDataDir } from '../src/adapters/local/data-dir';
import { startEmbeddedStore } from '../src/adapters/local/embedded-store';
import { ConfigError, loadConfig, type Config } from '../src/config';

export type UserTables = {
  config: Config;
  client: DynamoClient;
  /** Where the users are, in words, for the command to say before it starts. */
  where: string;
  close(): Promise<void>;
};

/** A failure the command reports as one line (a setting, the store, the lock), without a stack trace. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Opens the configured tables. With DYNAMODB_ENDPOINT, that running store; with `aws`, DynamoDB in AWS_REGION with
 * the SDK's usual credentials (the tables must exist: the CDK stack owns them); otherwise the local server's store
 * in DATA_DIR, which only one process may hold, so a running server there is named and the command stops.
 */
export const openUserTables = async (env: Env, options: { aws: boolean; verb: string }): Promise<UserTables> => {
  let config: Config;
  try {
    config = loadConfig(env, 'local');
  } catch (error) {
    if (error instanceof ConfigError) throw new CommandError(error.message);
    throw error;
  }
  const timeoutMs = config.storeTimeoutMs;
  const tables = `tables ${config.tableName} and ${config.sessionsTableName}`;
  const { endpoint } = config.dynamodb;

  if (options.aws) {
    if (endpoint !== undefined) throw new CommandError('--aws and DYNAMODB_ENDPOINT name two stores: choose one');
    // A default region would be a guess about production data: it must be said.
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (region === undefined) throw new CommandError('--aws needs AWS_REGION (the region of the deployed tables)');
    const client = createDynamoClient({ region, timeoutMs, credentials: sdkCredentialChain() });
    return { config, client, where: `AWS DynamoDB in ${region}, ${tables}`, close: async () => client.destroy() };
  }

  if (endpoint !== undefined) {
    const credentials = config.dynamodb.credentials ?? sdkCredentialChain();
    const client = createDynamoClient({ ...config.dynamodb, credentials, timeoutMs });
    await ensureTables(client, config, endpoint);
    return { config, client, where: `the store at ${endpoint}, ${tables}`, close: async () => client.destroy() };
  }

  if (config.dataDir === ':memory:') {
    throw new CommandError(
      'DATA_DIR=:memory: keeps nothing: set DATA_DIR to the local server\'s folder, or DYNAMODB_ENDPOINT to a running store',
    );
  }
  const dir = resolve(config.dataDir);
  let unlock: () => void;
  try {
    unlock = lockDataDir(dir);
  } catch (error) {
    if (!(error instanceof DataDirError)) throw error;
    throw new CommandError(
      `${error.message}. The ${options.verb} opens DATA_DIR's store itself and a running server holds it: stop the ` +
        'server and run it again (or give the store its own process and point DYNAMODB_ENDPOINT at it)',
    );
  }
  let store: Awaited<ReturnType<typeof startEmbeddedStore>> | undefined;
  try {
    store = await startEmbeddedStore(join(dir, 'dynamodb'));
    // The embedded store takes any credentials.
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const client = createDynamoClient({ region: config.dynamodb.region, endpoint: store.endpoint, credentials, timeoutMs });
    await ensureTables(client, config, `DATA_DIR ${dir}`);
    const opened = store;
    return {
      config,
      client,
      where: `the local store in DATA_DIR ${dir} (no server holds it), ${tables}`,
      close: async () => {
        client.destroy();
        await opened.close();
        unlock();
      },
    };
  } catch (error) {
    await store?.close();
    unlock();
    throw error;
  }
};

// As the local server does: a local store gets the tables it lacks.
const ensureTables = async (client: DynamoClient, config: Config, where: string) => {
  try {
    await Promise.all([ensureUsersTable(client, config.tableName), ensureSessionsTable(client, config.sessionsTableName)]);
  } catch (error) {
    client.destroy();
    throw new CommandError(`the store at ${where} did not answer (${describe(error)})`, { cause: error });
  }
};

const describe = (error: unknown): string => {
  const e = error as { name?: string; code?: string; cause?: { code?: string } } | null;
  return e?.code ?? e?.cause?.code ?? e?.name ?? 'unknown error';
};

/**
 * The progress line on stderr: rewritten in place on a terminal, else one line a second; `done` writes the last one.
 */
export const progressLine = (stream: NodeJS.WritableStream & { isTTY?: boolean }, text: () => string) => {
  const tty = stream.isTTY === true;
  let last = performance.now();
  return {
    /** A line of its own (a problem), above the progress line on a terminal. */
    note(line: string) {
      stream.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
      if (tty) last = 0;
    },
    update() {
      const now = performance.now();
      if (now - last < (tty ? 200 : 1000)) return;
      last = now;
      stream.write(tty ? `\r\x1b[K${text()}` : `${text()}\n`);
    },
    done() {
      stream.write(tty ? `\r\x1b[K${text()}\n` : `${text()}\n`);
    },
  };
};

/** Per second, for the progress line. */
export const perSecond = (count: number, startedAt: number) =>
  Math.round(count / Math.max((performance.now() - startedAt) / 1000, 0.001));
