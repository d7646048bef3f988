// A slow or failing store for tests: an HTTP proxy in front of a real one (dynalite) that delays or refuses
// chosen DynamoDB operations, so the service meets real timeouts and real partial failures, not a mock.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One DynamoDB call as the proxy sees it: its operation (`UpdateItem`), its table and its JSON body. */
export type StoreCall = { operation: string; table: string; body: string };

export type Fault = {
  /** Held before the call reaches the store: the store never sees it if the client gives up first. */
  delayRequestMs?: number;
  /** The store does the call, then its answer is held: a write that succeeds but whose answer is lost. */
  delayResponseMs?: number;
  /** Answered with this status (500, 503, ...) without reaching the store. */
  failWith?: number;
};

export type StoreProxy = {
  endpoint: string;
  /** Decides each call's fault; `() => undefined` is a healthy store. */
  setFault(rule: (call: StoreCall) => Fault | undefined): void;
  /** The calls that reached the store since the last reset. */
  calls(): readonly StoreCall[];
  reset(): void;
  close(): Promise<void>;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const startStoreProxy = async (upstream: string): Promise<StoreProxy> => {
  let rule: (call: StoreCall) => Fault | undefined = () => undefined;
  let seen: StoreCall[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    let table = '';
    const text = body.toString('utf8');
    try {
      table = String((JSON.parse(text) as { TableName?: unknown }).TableName ?? '');
    } catch {
      // not JSON: no table
    }
    const call = { operation, table, body: text };
    const fault = rule(call) ?? {};
    if (fault.delayRequestMs !== undefined) await sleep(fault.delayRequestMs);
    if (fault.failWith !== undefined) {
      response.writeHead(fault.failWith, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected' }));
      return;
    }
    seen.push(call);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
    ) as Record<string, string>;
    const answer = await fetch(upstream, { method: request.method ?? 'POST', headers, body });
    const answerBody = Buffer.from(await answer.arrayBuffer());
    if (fault.delayResponseMs !== undefined) await sleep(fault.delayResponseMs);
    if (response.destroyed) return;
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    response.end(answerBody);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFault: (next) => {
      rule = next;
    },
    calls: () => seen,
    reset: () => {
      seen = [];
      rule = () => undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
