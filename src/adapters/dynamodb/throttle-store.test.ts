// Contract tests of the DynamoDB throttle store, over the real protocol against dynalite and DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { ScanCommand } from './client';
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

    it('stores names only as keyed digests, and the TTL attribute in epoch seconds', async () => {
      await throttle.writeFailures('MyS3cretPassw0rd', null, { failures: 1, lastFailureAt: NOW }, NOW + WINDOW);
      await throttle.countFailure('An0therS3cret', NOW, { below: 5, since: NOW - WINDOW }, NOW + WINDOW, randomUUID());

      const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName }));

      expect(JSON.stringify(Items)).not.toContain('MyS3cretPassw0rd');
      expect(JSON.stringify(Items)).not.toContain('An0therS3cret');
      expect(Items.every((item) => Number.isInteger(item.expiresAt) && item.expiresAt < 1e11)).toBe(true);
    });

    const since = NOW - WINDOW;
    const rawItems = async () => (await client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];

    it('counts a failure of a name with no record in one write, opening the record', async () => {
      const counted = await throttle.countFailure('fresh', NOW, { below: 5, since }, NOW + WINDOW, randomUUID());

      expect(counted).toBe(true);
      expect(await throttle.readFailures('fresh')).toMatchObject({ failures: 1, lastFailureAt: NOW, version: 1 });
    });

    it('counts failures while below the limit and recent, then refuses without writing', async () => {
      const results = [];
      for (let i = 1; i <= 6; i += 1) results.push(await throttle.countFailure('counted', NOW + i, { below: 5, since }, NOW + WINDOW, randomUUID()));

      expect(results).toEqual([true, true, true, true, true, false]);
      expect(await throttle.readFailures('counted')).toMatchObject({ failures: 5, lastFailureAt: NOW + 5, version: 5 });
    });

    it('refuses to count on a record whose last failure is no longer recent (forgotten), leaving it as it was', async () => {
      await throttle.writeFailures('stale', null, { failures: 2, lastFailureAt: since }, NOW + WINDOW);

      const counted = await throttle.countFailure('stale', NOW, { below: 5, since }, NOW + WINDOW, randomUUID());

      expect(counted).toBe(false);
      expect(await throttle.readFailures('stale')).toEqual({ failures: 2, lastFailureAt: since, version: 1 });
    });

    it('keeps counting and swapping consistent: a swap after counts starts from the version they left', async () => {
      await throttle.countFailure('mixed', NOW, { below: 5, since }, NOW + WINDOW, randomUUID());
      await throttle.countFailure('mixed', NOW, { below: 5, since }, NOW + WINDOW, randomUUID());

      const stale = await throttle.writeFailures('mixed', 1, { failures: 9, lastFailureAt: NOW }, NOW + WINDOW);
      const swapped = await throttle.writeFailures('mixed', 2, { failures: 3, lastFailureAt: NOW + 1 }, NOW + WINDOW);

      expect([stale, swapped]).toEqual([false, true]);
      expect(await throttle.readFailures('mixed')).toMatchObject({ failures: 3, lastFailureAt: NOW + 1, version: 3 });
    });

    it('lets exactly 5 of 25 concurrent failure counts with below=5 count', async () => {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => throttle.countFailure('crowd', NOW + i, { below: 5, since }, NOW + WINDOW, randomUUID())),
      );

      expect(results.filter(Boolean)).toHaveLength(5);
      expect((await throttle.readFailures('crowd'))?.failures).toBe(5);
    });

    it('counts a failure count retried with the same attempt once (its first try landed)', async () => {
      const first = await throttle.countFailure('retried', NOW, { below: 5, since }, NOW + WINDOW, 'attempt-1');
      const again = await throttle.countFailure('retried', NOW, { below: 5, since }, NOW + WINDOW, 'attempt-1');

      expect([first, again]).toEqual([true, false]);
      expect(await throttle.readFailures('retried')).toEqual({ failures: 1, lastFailureAt: NOW, version: 1, lastAttempt: 'attempt-1' });
    });

    it('adds no more events to a window that holds its cap, and says so', async () => {
      const added: boolean[] = [];
      for (const id of ['e1', 'e2', 'e3']) added.push(await throttle.addToWindow('login#capped', id, NOW + WINDOW, 2));
      // An id already in the full window (a retried add) is added, not refused.
      const retried = await throttle.addToWindow('login#capped', 'e2', NOW + WINDOW, 2);

      expect(added).toEqual([true, true, false]);
      expect(retried).toBe(true);
      expect(await throttle.windowCount('login#capped')).toBe(2);
    });

    it('lets exactly the cap in when many add at once', async () => {
      const added = await Promise.all(
        Array.from({ length: 12 }, (_, i) => throttle.addToWindow('mails#burst', `b${i}`, NOW + WINDOW, 5)),
      );

      expect(added.filter(Boolean)).toHaveLength(5);
      expect(await throttle.windowCount('mails#burst')).toBe(5);
    });

    it('counts 0 events in a window that is not there', async () => {
      expect(await throttle.windowCount('login#203.0.113.1#0')).toBe(0);
    });

    it('counts the same event id added twice once (a retried call), and distinct ids each', async () => {
      await throttle.addToWindow('login#a', 'e1', NOW + WINDOW, 1000);
      await throttle.addToWindow('login#a', 'e1', NOW + WINDOW, 1000);
      await throttle.addToWindow('login#a', 'e2', NOW + WINDOW, 1000);

      expect(await throttle.windowCount('login#a')).toBe(2);
    });

    it('counts 25 concurrent adds of distinct ids exactly', async () => {
      await Promise.all(Array.from({ length: 25 }, (_, i) => throttle.addToWindow('login#b', `e${i}`, NOW + WINDOW, 1000)));

      expect(await throttle.windowCount('login#b')).toBe(25);
    });

    it('keeps windows apart by key', async () => {
      await throttle.addToWindow('login#c#1', 'e1', NOW + WINDOW, 1000);

      expect(await throttle.windowCount('login#c#2')).toBe(0);
      expect(await throttle.windowCount('register#c#1')).toBe(0);
    });

    it('takes an event back out of its window, and taking it back again changes nothing', async () => {
      await throttle.addToWindow('login#d', 'e1', NOW + WINDOW, 1000);
      await throttle.addToWindow('login#d', 'e2', NOW + WINDOW, 1000);

      await throttle.removeFromWindow('login#d', 'e1');
      await throttle.removeFromWindow('login#d', 'e1');

      expect(await throttle.windowCount('login#d')).toBe(1);
    });

    it('takes the last event out, and the window counts 0 and can count again', async () => {
      await throttle.addToWindow('login#e', 'e1', NOW + WINDOW, 1000);

      await throttle.removeFromWindow('login#e', 'e1');
      await throttle.removeFromWindow('login#e', 'e1');
      const emptied = await throttle.windowCount('login#e');
      await throttle.addToWindow('login#e', 'e2', NOW + WINDOW, 1000);

      expect(emptied).toBe(0);
      expect(await throttle.windowCount('login#e')).toBe(1);
    });

    it('takes nothing back from a window that is not there, without error and without creating it', async () => {
      const before = (await rawItems()).length;

      await throttle.removeFromWindow('login#never', 'e1');

      expect(await throttle.windowCount('login#never')).toBe(0);
      expect((await rawItems()).length).toBe(before);
    });

    it('stores a window’s expiry as the TTL attribute in epoch seconds', async () => {
      await throttle.addToWindow('login#ttl', 'e1', NOW + WINDOW + 1, 1000);

      const items = await rawItems();

      const window = items.find((item) => item.key === 'client#login#ttl');
      expect(window?.expiresAt).toBe(Math.ceil((NOW + WINDOW + 1) / 1000));
    });
  });
}
