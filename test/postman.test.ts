// The committed Postman collection: what `npm run postman` writes now, and run by newman against a real local server.
import { readFileSync } from 'node:fs';
import newman, { type NewmanRunSummary } from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionText, COLLECTION_PATH } from '../scripts/postman';
import { startServer, type RunningServer } from '../src/server';
import { checkResponse } from './contract';

type RequestEvent = {
  request: { method: string; url: { getPath(): string } };
  response?: { code: number; stream?: Buffer; headers: { each(visit: (header: { key: string; value: string }) => void): void } };
};

describe('the Postman collection', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:', PORT: '0', LOG_LEVEL: 'SILENT' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('is what npm run postman writes from the current document', async () => {
    expect(readFileSync(COLLECTION_PATH, 'utf8')).toBe(await collectionText());
  });

  it('passes every check of every request when newman runs it against a local server', async () => {
    const collection = JSON.parse(readFileSync(COLLECTION_PATH, 'utf8')) as object;
    const contractErrors: string[] = [];

    const summary = await new Promise<NewmanRunSummary>((resolve, reject) => {
      newman
        .run(
          { collection, envVar: [{ key: 'baseUrl', value: server.url }], reporters: [], timeoutRequest: 10_000 },
          (error, result) => (error === null ? resolve(result) : reject(error)),
        )
        // Each answer newman gets is also held to the OpenAPI document, as the HTTP tests' answers are.
        .on('request', (error: Error | null, event: RequestEvent) => {
          if (error !== null || event.response === undefined) return;
          const headers = new Headers();
          event.response.headers.each((header) => headers.append(header.key, header.value));
          try {
            checkResponse({
              method: event.request.method,
              path: event.request.url.getPath(),
              status: event.response.code,
              headers,
              body: event.response.stream?.toString('utf8') ?? '',
            });
          } catch (problem) {
            contractErrors.push((problem as Error).message);
          }
        });
    });

    const failures = summary.run.failures.map((failure) => `${failure.source?.name}: ${failure.error.message}`);
    expect(failures).toEqual([]);
    expect(contractErrors).toEqual([]);
    expect(summary.run.stats.requests).toMatchObject({ total: 19, failed: 0 });
    // Three checks at most per request (status, code, shape), and never fewer than the status and the shape.
    expect(summary.run.stats.assertions.total).toBeGreaterThanOrEqual(19 * 2);
    expect(summary.run.stats.assertions.failed).toBe(0);
  });
});
