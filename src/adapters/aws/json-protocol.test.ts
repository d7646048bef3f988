// The JSON-protocol caller against a real HTTP server the test controls: what it sends (signed as the SDK's own
// signer signs), what it retries, how it gives up, and the errors it throws.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { createJsonService, regionalEndpoint, type AwsError, type JsonServiceOptions } from './json-protocol';

type Seen = { method?: string; url?: string; headers: IncomingMessage['headers']; body: string };
type Answer = (request: Seen, response: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.closeAllConnections?.() ?? server.close(done)).catch(() => undefined)));
});

/** A server answering each request with the next of `answers` (the last one repeats), noting what it got. */
const startServer = async (...answers: Answer[]) => {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got = { method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(got);
      (answers[Math.min(seen.length, answers.length) - 1] as Answer)(got, response);
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
};

const json = (status: number, body: unknown): Answer => (_request, response) => {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1' });
  response.end(JSON.stringify(body));
};
const hang: Answer = () => undefined;

/** Whether this machine can listen on the IPv6 loopback (some containers have none). */
const hasIpv6Loopback = await new Promise<boolean>((done) => {
  const probe = createServer();
  probe.once('error', () => done(false));
  probe.listen(0, '::1', () => probe.close(() => done(true)));
});

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

const service = (endpoint: string, overrides: Partial<JsonServiceOptions> = {}) =>
  createJsonService({
    service: 'dynamodb',
    targetPrefix: 'DynamoDB_20120810',
    jsonVersion: '1.0',
    region: 'eu-west-1',
    endpoint,
    credentials: async () => CREDENTIALS,
    attemptTimeoutMs: 500,
    maxAttempts: 3,
    ...overrides,
  });

describe('JSON protocol caller', () => {
  it('sends a POST with the target, the JSON body and a Signature V4 the SDK\'s own signer agrees with', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(json(200, { Item: { username: { S: 'ada' } } }));
    const input = { TableName: 'user-table', Key: { username: { S: 'ada' } }, ConsistentRead: true };

    // Act
    const output = await service(endpoint).call('GetItem', input);

    // Assess
    expect(output).toEqual({ Item: { username: { S: 'ada' } } });
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers['x-amz-security-token']).toBe('session-token');
    expect(JSON.parse(request?.body ?? '')).toEqual(input);
    const authorization = String(request?.headers.authorization);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
    expect(signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-target', 'content-type']));
    const date = String(request?.headers['x-amz-date']);
    const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    const { host, port } = new URL(endpoint);
    const oracle = await new SignatureV4({ credentials: CREDENTIALS, region: 'eu-west-1', service: 'dynamodb', sha256: Sha256, applyChecksum: false }).sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: host.split(':')[0] as string,
        port: Number(port),
        path: '/',
        query: {},
        headers: Object.fromEntries(signedHeaders.filter((name) => name !== 'x-amz-security-token').map((name) => [name, String(request?.headers[name])])),
        body: request?.body,
      },
      { signingDate },
    );
    expect(authorization).toBe(oracle.headers.authorization);
  });

  it('uses AWS\'s regional endpoint unless given one, with the China partition\'s own domain', () => {
    expect(regionalEndpoint('dynamodb', 'eu-west-1')).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(regionalEndpoint('secretsmanager', 'cn-north-1')).toBe('https://secretsmanager.cn-north-1.amazonaws.com.cn');
  });

  it('retries a 500 and a throttling answer, then returns what the third attempt got', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(
      json(500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'boom' }),
      json(400, { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' }),
      json(200, {}),
    );

    // Act
    const output = await service(endpoint).call('PutItem', { TableName: 't', Item: {} });

    // Assess
    expect(output).toEqual({});
    expect(seen).toHaveLength(3);
  });

  it('throws a conditional check failure at once, named as AWS names it, with its status and request id', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(
      json(400, { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' }),
    );

    // Act
    const error = (await service(endpoint).call('PutItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConditionalCheckFailedException');
    expect(error.message).toBe('The conditional request failed');
    expect(error.$metadata).toEqual({ httpStatusCode: 400, requestId: 'req-1', attempts: 1 });
    expect(error.$fault).toBe('client');
  });

  it('gives up after its attempts on a store that never answers, each attempt within its time limit', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(hang);
    const started = Date.now();

    // Act
    const error = (await service(endpoint, { attemptTimeoutMs: 150 }).call('GetItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(error.name).toBe('TimeoutError');
    expect(error.$metadata.attempts).toBe(3);
    expect(seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(3 * 150 + 2000);
  });

  it('stops at once when the caller\'s signal aborts, and tries no more', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(hang);

    // Act
    const error = (await service(endpoint, { attemptTimeoutMs: 5000 })
      .call('GetItem', {}, { abortSignal: AbortSignal.timeout(100) })
      .catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(error.name).toBe('AbortError');
    expect(seen).toHaveLength(1);
  });

  it('sends nothing, and throws nothing later, when the caller gives up while the credentials are fetched', async () => {
    // Prepare: credentials that take a while (the SDK chain's first call), a caller that gives up first.
    const { endpoint, seen } = await startServer(json(200, {}));
    const uncaught: unknown[] = [];
    const note = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', note);
    const slowCredentials = () => new Promise<typeof CREDENTIALS>((done) => setTimeout(() => done(CREDENTIALS), 150));

    // Act
    const error = (await service(endpoint, { credentials: slowCredentials })
      .call('GetItem', {}, { abortSignal: AbortSignal.timeout(20) })
      .catch((e: unknown) => e)) as AwsError;
    await new Promise((done) => setTimeout(done, 200));
    process.off('uncaughtException', note);

    // Assess
    expect(error.name).toBe('AbortError');
    expect(uncaught).toEqual([]);
    expect(seen).toHaveLength(0);
  });

  it('keeps to the caller\'s bound while the credentials do not come (a hung STS or SSO call)', async () => {
    // Prepare: credentials that come only when the test says so.
    const { endpoint, seen } = await startServer(json(200, {}));
    let release: (credentials: typeof CREDENTIALS) => void = () => undefined;
    const pending = new Promise<typeof CREDENTIALS>((done) => (release = done));

    // Act
    const error = (await service(endpoint, { credentials: () => pending })
      .call('GetItem', {}, { abortSignal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e)) as AwsError;
    release(CREDENTIALS);

    // Assess
    expect(error.name).toBe('AbortError');
    expect(seen).toHaveLength(0);
  });

  it('throws the credential provider\'s own error, once, not an error of its own making', async () => {
    // Prepare
    const { endpoint, seen } = await startServer(json(200, {}));
    const missing = Object.assign(new Error('no AWS credentials: set AWS_ACCESS_KEY_ID'), { name: 'CredentialsProviderError' });

    // Act
    const error = (await service(endpoint, { credentials: () => Promise.reject(missing) }).call('GetItem', {}).catch((e: unknown) => e)) as Error;

    // Assess
    expect(error).toBe(missing);
    expect(seen).toHaveLength(0);
  });

  it('throws a 200 whose body is not JSON as a SyntaxError with its status and request id, as the SDK does', async () => {
    // Prepare: an answer cut short by a proxy that closed the connection without a content-length.
    const { endpoint, seen } = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1', connection: 'close' });
      response.end('{"Item":{"username":');
    });

    // Act
    const error = (await service(endpoint).call('GetItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(error.name).toBe('SyntaxError');
    expect(error.$metadata).toEqual({ httpStatusCode: 200, requestId: 'req-1', attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  it.skipIf(!hasIpv6Loopback)('reaches an endpoint given as an IPv6 address in brackets, as the SDK does', async () => {
    // Prepare
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.end(JSON.stringify({ host: request.headers.host })));
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '::1', done));
    const { port } = server.address() as AddressInfo;

    // Act
    const output = await service(`http://[::1]:${port}`).call<{ host: string }>('GetItem', {});

    // Assess: the brackets stay in the Host header (and so in what is signed), as HTTP wants.
    expect(output.host).toBe(`[::1]:${port}`);
  });

  it('retries on a new connection when the store drops a kept-alive one unanswered (ECONNRESET), as the SDK does', async () => {
    // Prepare: the second request on any connection finds it closed (a store's idle timeout, a frozen Lambda).
    const requestsOn = new WeakMap<object, number>();
    const connections = new Set<object>();
    const { endpoint, seen } = await startServer((request, response) => {
      const socket = response.socket as object;
      connections.add(socket);
      const count = (requestsOn.get(socket) ?? 0) + 1;
      requestsOn.set(socket, count);
      if (count === 2) response.socket?.destroy();
      else json(200, { answered: true })(request, response);
    });
    const caller = service(endpoint);

    // Act
    await caller.call('GetItem', {});
    const second = await caller.call('GetItem', {});
    caller.destroy();

    // Assess
    expect(second).toEqual({ answered: true });
    expect(seen).toHaveLength(3);
    expect(connections.size).toBe(2);
  });

  it('closes the connection of an attempt that timed out mid-answer, and answers the next call on a new one', async () => {
    // Prepare: the first answer starts and never ends.
    const closed: Promise<void>[] = [];
    const { endpoint } = await startServer(
      (_request, response) => {
        closed.push(new Promise((done) => response.socket?.once('close', () => done())));
        response.writeHead(200, { 'content-length': '100' });
        response.write('{"Item":');
      },
      json(200, { answered: true }),
    );
    const caller = service(endpoint, { attemptTimeoutMs: 150, maxAttempts: 1 });

    // Act
    const error = (await caller.call('GetItem', {}).catch((e: unknown) => e)) as AwsError;
    await closed[0];
    const next = await caller.call('GetItem', {});
    caller.destroy();

    // Assess
    expect(error.name).toBe('TimeoutError');
    expect(next).toEqual({ answered: true });
  });

  it('names a refused connection by its code, after retrying it', async () => {
    // Prepare: a port that was free a moment ago.
    const { endpoint } = await startServer(json(200, {}));
    await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));

    // Act
    const error = (await service(endpoint).call('GetItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.$metadata.attempts).toBe(3);
  });

  it('turns an answer that is not AWS JSON (a proxy\'s error page) into an error with its status', async () => {
    // Prepare
    const { endpoint } = await startServer((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad Gateway</html>');
    });

    // Act
    const error = (await service(endpoint, { maxAttempts: 1 }).call('GetItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(error.name).toBe('InternalServerError');
    expect(error.$metadata.httpStatusCode).toBe(502);
    expect(error.$fault).toBe('server');
  });
  it('reads an empty 200 as an empty output and a 500 whose body is JSON null as a server error, as the SDK does', async () => {
    // Prepare
    const { endpoint } = await startServer(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        response.end('');
      },
      json(500, null),
    );
    const caller = service(endpoint, { maxAttempts: 1 });

    // Act
    const empty = await caller.call('DeleteItem', {});
    const error = (await caller.call('DeleteItem', {}).catch((e: unknown) => e)) as AwsError;

    // Assess
    expect(empty).toEqual({});
    expect(error.name).toBe('InternalServerError');
    expect(error.$metadata.httpStatusCode).toBe(500);
  });

  it('does not make calls queue for a connection: 80 at once against a slow store all answer within their limit', async () => {
    // Prepare: each answer takes 300 ms; with a cap of 50 connections the last 30 would wait 300 ms more.
    const { endpoint, seen } = await startServer((_request, response) => {
      setTimeout(() => json(200, {})(_request, response), 300);
    });
    const caller = service(endpoint, { attemptTimeoutMs: 450, maxAttempts: 1 });

    // Act
    const results = await Promise.allSettled(Array.from({ length: 80 }, () => caller.call('GetItem', {})));

    // Assess
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(seen).toHaveLength(80);
    caller.destroy();
  });
});
