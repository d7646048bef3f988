// Local entry: validated config, the embedded store (or DYNAMODB_ENDPOINT), then the app on @hono/node-server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6, type AddressInfo, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import {
  ensureEmailsTable,
  ensureOneTimeTokensTable,
  ensurePasskeysTable,
  ensureSessionsTable,
  ensureThrottleTable,
  ensureUsersTable,
} from './adapters/dynamodb/ensure-table';
import type { PageFiles } from './adapters/http/pages';
import { describeCause } from './adapters/dynamodb/store-errors';
import { KeyError } from './adapters/jwt/signing-keys';
import { startEmbeddedStore } from './adapters/local/embedded-store';
import { DataDirError, lockDataDir } from './adapters/local/data-dir';
import { sdkCredentialChain } from './adapters/aws/sdk-credentials';
import { commonPasswordsCandidates } from './adapters/password/common-passwords';
import { compose } from './compose';
import { ConfigError, loadConfig } from './config';
import { resolveKeys } from './key-material';

export type RunningServer = {
  /**
   * http://localhost:PORT, the one local URL (links and the WebAuthn origin need a host name, not an address);
   * only a HOST that localhost does not reach (one other interface of this machine) gives that address instead.
   */
  url: string;
  /** Lines to print after the URL: with HOST=0.0.0.0 or ::, that other machines can reach the server, and where. */
  notes: readonly string[];
  close(): Promise<void>;
};

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

// Node answers an Expect other than 100-continue with an empty 417 unless told otherwise: say why, in our shape.
const answerExpectation = (_request: IncomingMessage, response: ServerResponse) => {
  const body = JSON.stringify({ code: 'invalid_request', message: 'the only Expect this server supports is 100-continue' });
  // The request's body, if any, is never read: close the connection rather than parse it as the next request.
  response.writeHead(417, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  response.end(body);
};

// As prepare-event does on Lambda: a GET or HEAD that carries a body is refused, not served with the body ignored.
const bodyOnBodilessMethod = (incoming: IncomingMessage): string | undefined => {
  const method = incoming.method ?? '';
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const length = incoming.headers['content-length'];
  const hasBody = incoming.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0);
  return hasBody ? `a ${method} request must not have a body` : undefined;
};

/**
 * The demo and docs pages' files, built from src/web with esbuild in memory on the first page request: no build
 * step before `npm start`, a fresh page after each restart, and nothing paid by a server that serves no page.
 */
const builtPageFiles = (): PageFiles => {
  let built: Promise<Map<string, Uint8Array>> | undefined;
  return {
    read: async (file) => {
      built ??= import('../scripts/web-assets.mjs').then((assets) => assets.buildWebAssets());
      try {
        return (await built).get(file);
      } catch (error) {
        // A failed build (a syntax error in src/web) is tried again on the next request, not remembered.
        built = undefined;
        throw error;
      }
    },
  };
};

const isWildcard = (host: string) => host === '0.0.0.0' || (isIPv6(host) && /^[0:]+$/.test(host));

/** localhost reaches these; any other address is all a client can use (HOST names one interface of this machine). */
const servesLocalhost = (host: string) => isWildcard(host) || ['127.0.0.1', '::1', 'localhost'].includes(host);

/** Where other machines find a server that listens on every interface: this machine's external addresses. */
const networkNotes = (host: string, port: number): string[] => {
  const families = host === '0.0.0.0' ? ['IPv4'] : ['IPv4', 'IPv6'];
  const urls = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((a) => !a.internal && families.includes(a.family) && !a.address.startsWith('fe80:'))
    .map((a) => (a.family === 'IPv6' ? `http://[${a.address}]:${port}` : `http://${a.address}:${port}`));
  const where = urls.length > 0 ? ` at ${urls.join(', ')}` : '';
  return [`HOST=${host}: also reachable from other machines on this network${where}`];
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
    // The server's one URL, known once it listens (PORT=0 picks a port): mailed links point there without APP_URL.
    let url = `http://localhost:${config.port}`;
    const keys = await resolveKeys(config, { kind: 'local', dataDir, warn: (message) => warnings.push(message) });
    const { app, client, logger } = compose(config, {
      keys,
      dynamodbEndpoint: endpoint,
      credentials: sdkCredentialChain(),
      commonPasswords: commonPasswordsCandidates(import.meta.url),
      peerAddress: (c) => getConnInfo(c).remote.address,
      adapterError: (c) => bodyOnBodilessMethod((c.env as HttpBindings).incoming),
      // Whatever NODE_ENV or the *_ENABLED settings say: the local server is where a developer tries the service.
      allPages: true,
      pageFiles: builtPageFiles(),
      appUrl: () => url,
      outboxFolder: dataDir === undefined ? null : join(dataDir, 'outbox'),
    });
    cleanups.push(() => client.destroy());
    for (const warning of warnings) logger.warn(warning);
    await Promise.all([
      ensureUsersTable(client, config.tableName),
      ensureSessionsTable(client, config.sessionsTableName),
      ensureThrottleTable(client, config.throttleTableName),
      ensureOneTimeTokensTable(client, config.oneTimeTokensTableName),
      ensureEmailsTable(client, config.emailsTableName),
      ensurePasskeysTable(client, config.passkeysTableName),
    ]).catch((error: unknown) => {
      throw new StartupError(`the DynamoDB endpoint ${endpoint} did not answer (${describeCause(error)})`, { cause: error });
    });

    const server = createAdaptorServer({
      // An early 413 leaves the request body unread on the socket: close it, or the client's next request fails.
      fetch: async (request, env) => {
        const response = await app.fetch(request, env);
        if (response.status === 413) response.headers.set('Connection', 'close');
        return response;
      },
      // The URL of a request that names no Host (HTTP/1.0): the canonical local one.
      hostname: 'localhost',
    });
    server.on('clientError', answerClientError);
    server.on('checkExpectation', answerExpectation);
    await new Promise<void>((resolveListen, reject) => {
      server.listen(config.port, config.host);
      server.once('listening', resolveListen);
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new StartupError(`PORT ${config.port} is already in use; stop what uses it, or set PORT to another port`)
            : error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT'
              ? new StartupError(`HOST ${config.host} is not an address of this machine; 127.0.0.1 or 0.0.0.0 always is`)
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
    const host = config.host.includes(':') ? `[${config.host.replace('%', '%25')}]` : config.host;
    url = `http://${servesLocalhost(config.host) ? 'localhost' : host}:${port}`;
    return {
      url,
      notes: isWildcard(config.host) ? networkNotes(config.host, port) : [],
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
};

const main = async () => {
  try {
    const running = await startServer(process.env);
    console.log(`login service listening on ${running.url}`);
    for (const note of running.notes) console.log(note);
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
