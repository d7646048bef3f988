// Contract tests of the DynamoDB throttle store, over the real protocol against dynalite and DynamoDB Local.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThrottleStore } from '../../domain/ports';
import {
  createThrottleTable,
  STORE_TARGETS,
  testClient,
  type TestStore,
} from '../../../test/stores';
import { createNameDigest } from '../crypto/refresh-secrets';
import { createDynamoThrottleStore } from './throttle-store';

const NOW = Date.UTC(2026, 10, 26);
const WINDOW = 900_000;

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB throttle store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let throttle: ThrottleStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = await createThrottleTable(store.endpoint);
      throttle = createDynamoThrottleStore({
        client,
        tableName,
        timeoutMs: 5000,
        nameDigest: createNameDigest(new TextEncoder().encode('k'.repeat(32))),
      });
    });

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('opens a failure record once, then swaps it only from the version it read', async () => {
      const opened = await throttle.writeFailures('alice', null, { failures: 1, lastFailureAt: NOW }, NOW + WINDOW);
      const openedAgain = await throttle.writeFailures('alice', null, { failures: 1, lastFailureAt: NOW }, NOW + WINDOW);
      const stale = await throttle.writeFailures('alice', 7, { failures: 9, lastFailureAt: NOW }, NOW + WINDOW);
      const swapped = await throttle.writeFailures('alice', 1, { failures: 2, lastFailureAt: NOW + 1 }, NOW + WINDOW);

      expect([opened, openedAgain, stale, swapped]).toEqual([true, false, false, true]);
      expect(await throttle.readFailures('alice')).toEqual({ failures: 2, lastFailureAt: NOW + 1, version: 2 });
    });

    it('lets exactly one of 20 concurrent swaps from one version win', async () => {
      await throttle.writeFailures('race', null, { failures: 1, lastFailureAt: NOW }, NOW + WINDOW);

      const results = await Promise.all(
        Array.from({ length: 20 }, () => throttle.writeFailures('race', 1, { failures: 2, lastFailureAt: NOW }, NOW + WINDOW)),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('forgets a name’s failures when cleared', async () => {
      await throttle.writeFailures('forgotten', null, { failures: 3, lastFailureAt: NOW }, NOW + WINDOW);

      await throttle.clearFailures('forgotten');

      expect(await throttle.readFailures('forgotten')).toBeNull();
    });

    it('stores names only as keyed digests, and the TTL attribute in epoch seconds', async () => {
      await throttle.writeFailures('MyS3cretPassw0rd', null, { failures: 1, lastFailureAt: NOW }, NOW + WINDOW);

      const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName }));

      expect(JSON.stringify(Items)).not.toContain('MyS3cretPassw0rd');
      expect(Items.every((item) => Number.isInteger(item.expiresAt) && item.expiresAt < 1e11)).toBe(true);
    });

    it('counts 25 concurrent hits in one window exactly, and opens a new window after the last one ended', async () => {
      const counts = await Promise.all(Array.from({ length: 25 }, () => throttle.hitWindow('client#a', NOW, WINDOW)));
      const later = await throttle.hitWindow('client#a', NOW + WINDOW + 1, WINDOW);

      expect(counts.map((c) => c.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(later).toEqual({ count: 1, windowStart: NOW + WINDOW + 1 });
    });

    it('gives a count back only to the window it was taken from', async () => {
      const first = await throttle.hitWindow('client#b', NOW, WINDOW);
      await throttle.hitWindow('client#b', NOW, WINDOW);

      await throttle.refundWindow('client#b', first.windowStart);
      await throttle.refundWindow('client#b', first.windowStart - 1);

      const next = await throttle.hitWindow('client#b', NOW, WINDOW);
      expect(next).toEqual({ count: 2, windowStart: NOW });
    });
  });
}
