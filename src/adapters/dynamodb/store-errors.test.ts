// describeCause: a start-up message names the real reason a store did not answer, not a bare "Error".
import { connect, createServer } from 'node:net';
import { createDynamoClient, DescribeTableCommand } from './client';
import { describe, expect, it } from 'vitest';
import { describeCause } from './store-errors';

/** A local port nothing listens on: taken, then given back. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** Node's own error for a refused connection (an ErrnoException with code ECONNREFUSED). */
const refusedConnection = (port: number) =>
  new Promise<Error>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, autoSelectFamily: false });
    socket.once('error', resolve);
  });

describe('describeCause', () => {
  it('names ECONNREFUSED and the address for what the client throws at a closed port', async () => {
    // Prepare
    const port = await closedPort();
    const client = createDynamoClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      timeoutMs: 1000,
    });
    const failure = await client.send(new DescribeTableCommand({ TableName: 'user-table' })).catch((e: unknown) => e);
    client.destroy();

    // Act
    const text = describeCause(failure);

    // Assess
    expect((failure as Error).name).toBe('Error');
    expect(text).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('lists each address of an AggregateError (as Node reports a host tried on IPv4 and IPv6), not its empty message', async () => {
    // Prepare: Node's happy-eyeballs connect throws this shape, its code on the aggregate and its message empty.
    const [first, second] = [await closedPort(), await closedPort()];
    const errors = [await refusedConnection(first), await refusedConnection(second)];
    const aggregate = Object.assign(new AggregateError(errors, ''), { code: 'ECONNREFUSED' });

    // Act
    const text = describeCause(aggregate);

    // Assess
    expect(text).toBe(`connect ECONNREFUSED 127.0.0.1:${first}; connect ECONNREFUSED 127.0.0.1:${second}`);
  });

  it('follows cause, and says a repeated cause once', async () => {
    // Prepare
    const refused = await refusedConnection(await closedPort());
    const wrapped = new Error('socket hang up', { cause: refused });
    const repeated = new Error(refused.message, { cause: refused });

    // Act
    const texts = [describeCause(wrapped), describeCause(repeated)];

    // Assess
    expect(texts).toEqual([`socket hang up: ${refused.message}`, refused.message]);
  });

  it('puts the code before a message that does not say it, falls back to the name, and keeps a message on one line', () => {
    // Prepare
    const timedOut = Object.assign(new Error('the request took too long'), { code: 'ETIMEDOUT' });
    const codeOnly = Object.assign(new Error(''), { code: 'EHOSTUNREACH' });
    const bare = Object.assign(new Error(''), { name: 'TimeoutError' });
    const twoLines = new Error('Unexpected token\n  Deserialization error');

    // Act
    const texts = [timedOut, codeOnly, bare, twoLines].map((e) => describeCause(e));

    // Assess
    expect(texts).toEqual([
      'ETIMEDOUT: the request took too long',
      'EHOSTUNREACH',
      'TimeoutError',
      'Unexpected token Deserialization error',
    ]);
  });
});
