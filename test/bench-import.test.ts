// benchImport, the import's rate for npm run bench: it really imports the users it counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchImport } from '../scripts/bench-import';
import { ScanCommand } from '../src/adapters/dynamodb/client';
import { startDynalite, testClient, type TestStore } from './stores';

describe('benchImport', () => {
  let store: TestStore;

  beforeAll(async () => {
    store = await startDynalite();
  });

  afterAll(async () => {
    await store?.stop();
  });

  it('imports the users it reports into a fresh table of the given store, and answers a rate', async () => {
    // Act
    const result = await benchImport({ endpoint: store.endpoint, users: 120, concurrency: 8 });

    // Assess
    const client = testClient(store.endpoint);
    const { Items } = await client.send(new ScanCommand({ TableName: result.tableName }));
    client.destroy();
    expect(Items).toHaveLength(120);
    expect(result).toMatchObject({ users: 120, concurrency: 8 });
    expect(result.usersPerSecond).toBeGreaterThan(0);
  });
});
