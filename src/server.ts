// Local entry: validated config, the embedded store (or DYNAMODB_ENDPOINT), then the app on @hono/node-server.
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { ensureSessionsTable, ensureThrottleTable, ensureUsersTable } from './adapters/dynamodb/ensure-table';
import { KeyError } from './adapters/jwt/signing-keys';
import { startEmbeddedStore } from './adapters/local/embedded-store';
import { DataDirError, lockDataDir } from './adapters/local/data-dir';
import { commonPasswordsCandidates } from './adapters/password/common-passwords';
import { compose } from './compose';
import { ConfigError, loadConfig } from './config';
import { resolveKeys } from './key-material';

export type RunningServer = { url: string; close(): Promise<void> };

/** A start-up failure that is the environment's, not a bug: reported as one line, without a stack trace. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

// Requests Node rejects before any handler runs (headers too large, malformed HTTP) still get a JSON error.
const answerClientError = (error: NodeJS.ErrnoException, socket: Socket) => {
  if (!socket.writable) return socket.destroy();
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify(
    tooLarge
      ? { code: 'headers_too_large', message: 'the request headers are too large' }
      : { code: 'invalid_request', message: 'malformed HTTP request' },
  );
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
};

export const startServer = async (env: Readonly<Record<string, string | undefined>>): Promise<RunningServer> => {
  const config = loadConfig(env, 'local');
  const dataDir = config.dataDir === ':memory:' ? undefined : resolve(config.dataDir);
  const cleanups: (() => unknown)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    if (dataDir !== undefined) cleanups.push(lockDataDir(dataDir));

    let endpoint = config.dynamodb.endpoint;
    if (endpoint === undefined) {
      const store = await startEmbeddedStore(dataDir === undefined ? undefined : join(dataDir, 'dynamodb'));
      cleanups.push(store.close);
      endpoint = store.endpoint;
    }

    const warnings: string[] = [];
    const keys = await resolveKeys(config, { kind: 'local', dataDir, warn: (message) => warnings.push(message) });
    const { app, client, logger } = compose(config, {
      keys,
      dynamodbEndpoint: endpoint,
      commonPasswords: commonPasswordsCandidates(import.meta.url),
      peerAddress: (c) => getConnInfo(c).remote.address,
    });
    cleanups.push(() => client.destroy());
    for (const warning of warnings) logger.warn(warning);
    await Promise.all([
      ensureUsersTable(client, config.tableName),
      ensureSessionsTable(client, config.sessionsTableName),
      ensureThrottleTable(client, config.throttleTableName),
    ]).catch((error: unknown) => {
      throw new StartupError(`the DynamoDB endpoint ${endpoint} did not answer (${(error as Error).name})`, { cause: error });
    });

    const server = serve({
      // An early 413 leaves the request body unread on the socket: close it, or the client's next request fails.
      fetch: async (request, env) => {
        const response = await app.fetch(request, env);
        if (response.status === 413) response.headers.set('Connection', 'close');
        return response;
      },
      port: config.port,
      hostname: '127.0.0.1',
    });
    server.on('clientError', answerClientError);
    await new Promise<void>((resolveListen, reject) => {
      server.once('listening', resolveListen);
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new StartupError(`PORT ${config.port} is already in use; stop what uses it, or set PORT to another port`)
            : error,
        ),
      );
    });
    cleanups.push(
      () =>
        new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
};

const main = async () => {
  try {
    const running = await startServer(process.env);
    console.log(`login service listening on ${running.url}`);
    const stop = () => void running.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error) {
    const expected = [ConfigError, DataDirError, StartupError, KeyError].some((kind) => error instanceof kind);
    // Anything else is a bug: keep its stack.
    console.error(expected ? `cannot start: ${(error as Error).message}` : error);
    process.exit(1);
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
