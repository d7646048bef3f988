// Contract tests of the DynamoDB verified-address claims, over the real protocol against dynalite and DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand } from './client';
import type { EmailClaimStore } from '../../domain/mail-ports';
import { STORE_TARGETS, testClient, type TestStore } from '../../../test/stores';
import { ensureEmailsTable } from './ensure-table';
import { createDynamoEmailClaimStore } from './email-claim-store';

const owner = (uid: string) => ({ uid, username: `user-${uid}` });

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB email claim store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let claims: EmailClaimStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = `emails-${randomUUID()}`;
      await ensureEmailsTable(client, tableName);
      claims = createDynamoEmailClaimStore({ client, tableName, timeoutMs: 5000 });
    }, 120_000);

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('creates the table with the partition key `email`, a string', async () => {
      // Act
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));

      // Assess
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'email', KeyType: 'HASH' }]);
      expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'email', AttributeType: 'S' }]);
    });

    it('claims a free address, and finds its holder', async () => {
      // Act
      const result = await claims.claim({ email: 'ada@example.com', ...owner('u1') });

      // Assess
      expect(result).toBe('claimed');
      expect(await claims.find('ada@example.com')).toEqual({ email: 'ada@example.com', ...owner('u1') });
    });

    it('hands a claim over only while the stale holder still holds it', async () => {
      // Prepare
      await claims.claim({ email: 'stale@example.com', ...owner('gone') });

      // Act
      const wrongHolder = await claims.replace('stale@example.com', 'someone-else', { email: 'stale@example.com', ...owner('next') });
      const taken = await claims.replace('stale@example.com', 'gone', { email: 'stale@example.com', ...owner('next') });
      const again = await claims.replace('stale@example.com', 'gone', { email: 'stale@example.com', ...owner('third') });

      // Assess
      expect([wrongHolder, taken, again]).toEqual([false, true, false]);
      expect(await claims.find('stale@example.com')).toEqual({ email: 'stale@example.com', ...owner('next') });
    });

    it('answers claimed again for the account that holds it (a retried claim)', async () => {
      // Prepare
      await claims.claim({ email: 'again@example.com', ...owner('u2') });

      // Act
      const result = await claims.claim({ email: 'again@example.com', ...owner('u2') });

      // Assess
      expect(result).toBe('claimed');
    });

    it('answers taken for another account, and keeps the holder', async () => {
      // Prepare
      await claims.claim({ email: 'grace@example.com', ...owner('u3') });

      // Act
      const result = await claims.claim({ email: 'grace@example.com', ...owner('u4') });

      // Assess
      expect(result).toBe('taken');
      expect(await claims.find('grace@example.com')).toEqual({ email: 'grace@example.com', ...owner('u3') });
    });

    it('lets exactly one of 10 accounts claiming one address at once have it', async () => {
      // Prepare
      const uids = Array.from({ length: 10 }, (_, i) => `racer-${i}`);

      // Act
      const results = await Promise.all(uids.map((uid) => claims.claim({ email: 'race@example.com', ...owner(uid) })));

      // Assess
      const winners = uids.filter((_, i) => results[i] === 'claimed');
      expect(winners).toHaveLength(1);
      expect(results.filter((result) => result === 'taken')).toHaveLength(9);
      expect(await claims.find('race@example.com')).toEqual({ email: 'race@example.com', ...owner(winners[0] ?? '') });
    });

    it('releases only for the holder; then the address is free for another account', async () => {
      // Prepare
      await claims.claim({ email: 'moving@example.com', ...owner('u5') });

      // Act
      const byOther = await claims.release('moving@example.com', 'u6');
      const heldAfterOther = await claims.find('moving@example.com');
      const byHolder = await claims.release('moving@example.com', 'u5');
      const releasedAgain = await claims.release('moving@example.com', 'u5');
      const foundAfter = await claims.find('moving@example.com');
      const newClaim = await claims.claim({ email: 'moving@example.com', ...owner('u6') });

      // Assess
      expect(byOther).toBe(false);
      expect(heldAfterOther).toMatchObject({ uid: 'u5' });
      expect(byHolder).toBe(true);
      expect(releasedAgain).toBe(false);
      expect(foundAfter).toBeNull();
      expect(newClaim).toBe('claimed');
    });

    it('finds nothing for an unknown address, an empty one, or one too long to be a key', async () => {
      expect(await claims.find('nobody@example.com')).toBeNull();
      expect(await claims.find('')).toBeNull();
      expect(await claims.find(`${'é'.repeat(1100)}@example.com`)).toBeNull();
      expect(await claims.release('', 'u1')).toBe(false);
    });

    it('reports a missing table as an internal error, not as a free address', async () => {
      // Prepare
      const missing = createDynamoEmailClaimStore({ client, tableName: `missing-${randomUUID()}`, timeoutMs: 5000 });

      // Act / Assess
      await expect(missing.find('ada@example.com')).rejects.toMatchObject({ code: 'internal_error' });
      await expect(missing.claim({ email: 'ada@example.com', ...owner('u1') })).rejects.toMatchObject({ code: 'internal_error' });
    });
  });
}
