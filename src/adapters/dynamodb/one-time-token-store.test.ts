// Contract tests of the DynamoDB one-time token store, over the real protocol against dynalite and DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand, GetCommand, ScanCommand } from './client';
import type { OneTimeToken, OneTimeTokenStore } from '../../domain/mail-ports';
import { STORE_TARGETS, testClient, type TestStore } from '../../../test/stores';
import { startStoreProxy } from '../../../test/store-proxy';
import { ensureOneTimeTokensTable } from './ensure-table';
import { createDynamoOneTimeTokenStore } from './one-time-token-store';

const NOW = Date.UTC(2026, 11, 1, 12);
const HOUR = 3_600_000;

const token = (uid: string, overrides: Partial<OneTimeToken> = {}): OneTimeToken => ({
  digest: `digest-${randomUUID()}`,
  purpose: 'reset_password',
  uid,
  username: `user-${uid}`,
  email: null,
  expiresAt: NOW + HOUR,
  ...overrides,
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB one-time token store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let tokens: OneTimeTokenStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = `one-time-tokens-${randomUUID()}`;
      await ensureOneTimeTokensTable(client, tableName);
      tokens = createDynamoOneTimeTokenStore({ client, tableName, timeoutMs: 5000 });
    }, 120_000);

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('creates the table with the partition key `key`, a string', async () => {
      // Act
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));

      // Assess
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'key', KeyType: 'HASH' }]);
      expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'key', AttributeType: 'S' }]);
    });

    it('gives back an issued token’s whole record when it is consumed', async () => {
      // Prepare
      const issued = token('u1', { purpose: 'verify_email', email: 'ada@example.com' });
      await tokens.issue(issued);

      // Act
      const consumed = await tokens.consume(issued.digest, 'verify_email', NOW);

      // Assess
      expect(consumed).toEqual(issued);
    });

    it('works once: a second consume of the same token is refused', async () => {
      // Prepare
      const issued = token('u2');
      await tokens.issue(issued);

      // Act
      const first = await tokens.consume(issued.digest, 'reset_password', NOW);
      const second = await tokens.consume(issued.digest, 'reset_password', NOW);

      // Assess
      expect(first).toEqual(issued);
      expect(second).toBeNull();
    });

    it('lets exactly one of 20 concurrent consumes of one token have it', async () => {
      // Prepare
      const issued = token('u3');
      await tokens.issue(issued);

      // Act
      const results = await Promise.all(Array.from({ length: 20 }, () => tokens.consume(issued.digest, 'reset_password', NOW)));

      // Assess
      expect(results.filter((result) => result !== null)).toEqual([issued]);
    });

    it('refuses a token superseded by a newer one of the same account and purpose, and takes the newer', async () => {
      // Prepare
      const older = token('u4');
      const newer = token('u4');
      await tokens.issue(older);
      await tokens.issue(newer);

      // Act
      const olderResult = await tokens.consume(older.digest, 'reset_password', NOW);
      const newerResult = await tokens.consume(newer.digest, 'reset_password', NOW);

      // Assess
      expect(olderResult).toBeNull();
      expect(newerResult).toEqual(newer);
    });

    it('keeps an older token refused after the newer one was used', async () => {
      // Prepare
      const older = token('u5');
      const newer = token('u5');
      await tokens.issue(older);
      await tokens.issue(newer);
      await tokens.consume(newer.digest, 'reset_password', NOW);

      // Act
      const result = await tokens.consume(older.digest, 'reset_password', NOW);

      // Assess
      expect(result).toBeNull();
    });

    it('lets exactly one of 10 tokens issued at once for one account work', async () => {
      // Prepare
      const issued = Array.from({ length: 10 }, () => token('u6'));
      await Promise.all(issued.map((each) => tokens.issue(each)));

      // Act
      const results = await Promise.all(issued.map((each) => tokens.consume(each.digest, 'reset_password', NOW)));

      // Assess
      expect(results.filter((result) => result !== null)).toHaveLength(1);
    });

    it('keeps purposes and accounts apart: a newer token supersedes only its own account’s of its own purpose', async () => {
      // Prepare
      const verify = token('u7', { purpose: 'verify_email', email: 'grace@example.com' });
      const reset = token('u7', { purpose: 'reset_password' });
      const otherAccount = token('u8', { purpose: 'reset_password' });
      await tokens.issue(verify);
      await tokens.issue(reset);
      await tokens.issue(otherAccount);

      // Act
      const results = [
        await tokens.consume(verify.digest, 'verify_email', NOW),
        await tokens.consume(reset.digest, 'reset_password', NOW),
        await tokens.consume(otherAccount.digest, 'reset_password', NOW),
      ];

      // Assess
      expect(results).toEqual([verify, reset, otherAccount]);
    });

    it('refuses a token consumed for another purpose, and it still works for its own', async () => {
      // Prepare
      const issued = token('u9', { purpose: 'verify_email', email: 'ada@example.com' });
      await tokens.issue(issued);

      // Act
      const wrongPurpose = await tokens.consume(issued.digest, 'reset_password', NOW);
      const ownPurpose = await tokens.consume(issued.digest, 'verify_email', NOW);

      // Assess
      expect(wrongPurpose).toBeNull();
      expect(ownPurpose).toEqual(issued);
    });

    it('refuses an expired token although the store still holds it, and keeps it unused', async () => {
      // Prepare
      const issued = token('u10', { expiresAt: NOW + 1000 });
      await tokens.issue(issued);

      // Act
      const atExpiry = await tokens.consume(issued.digest, 'reset_password', NOW + 1000);
      const later = await tokens.consume(issued.digest, 'reset_password', NOW + 2 * HOUR);
      const { Item: stillStored } = await client.send(
        new GetCommand({ TableName: tableName, Key: { key: `token#reset_password#${issued.digest}` }, ConsistentRead: true }),
      );
      const justBefore = await tokens.consume(issued.digest, 'reset_password', NOW + 999);

      // Assess
      expect(atExpiry).toBeNull();
      expect(later).toBeNull();
      expect(stillStored).toBeDefined();
      expect(justBefore).toEqual(issued);
    });

    it('rounds the expiry down to whole seconds: the token never lasts longer than asked', async () => {
      // Prepare
      const issued = token('u11', { expiresAt: NOW + 1999 });
      await tokens.issue(issued);

      // Act
      const afterWholeSecond = await tokens.consume(issued.digest, 'reset_password', NOW + 1000);

      // Assess
      expect(afterWholeSecond).toBeNull();
    });

    it('stores no token, only its digest, and the TTL attribute expiresAt in epoch seconds on every item', async () => {
      // Prepare
      const issued = token('u12', { purpose: 'verify_email', email: 'ttl@example.com' });
      await tokens.issue(issued);

      // Act
      const { Items = [] } = await client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'uid = :uid',
          ExpressionAttributeValues: { ':uid': 'u12' },
          ConsistentRead: true,
        }),
      );

      // Assess
      expect(Items.map((item) => item.key).sort()).toEqual([`latest#verify_email#u12`, `token#verify_email#${issued.digest}`]);
      for (const item of Items) expect(item.expiresAt).toBe((NOW + HOUR) / 1000);
    });

    it('refuses an unknown digest, and one too long to be a key, without a store error', async () => {
      expect(await tokens.consume('never-issued', 'reset_password', NOW)).toBeNull();
      expect(await tokens.consume('é'.repeat(2000), 'reset_password', NOW)).toBeNull();
      expect(await tokens.consume('', 'reset_password', NOW)).toBeNull();
    });

    it('revokes: no token of the account for that purpose works any more; revoking again is fine', async () => {
      // Prepare
      const reset = token('u13', { purpose: 'reset_password' });
      const verify = token('u13', { purpose: 'verify_email', email: 'kept@example.com' });
      await tokens.issue(reset);
      await tokens.issue(verify);

      // Act
      await tokens.revoke('u13', 'reset_password');
      await tokens.revoke('u13', 'reset_password');

      // Assess
      expect(await tokens.consume(reset.digest, 'reset_password', NOW)).toBeNull();
      expect(await tokens.consume(verify.digest, 'verify_email', NOW)).toEqual(verify);
    });

    it('lets a token issued after a revoke work', async () => {
      // Prepare
      await tokens.issue(token('u14'));
      await tokens.revoke('u14', 'reset_password');
      const issued = token('u14');
      await tokens.issue(issued);

      // Act
      const result = await tokens.consume(issued.digest, 'reset_password', NOW);

      // Assess
      expect(result).toEqual(issued);
    });

    it('consumes once even when the store did the write but its answer was lost and the client retried', async () => {
      // Prepare: the first UpdateItem reaches the store, its answer is held past the client's attempt limit
      const proxy = await startStoreProxy(store.endpoint);
      const proxied = testClient(proxy.endpoint, 2000);
      const throughProxy = createDynamoOneTimeTokenStore({ client: proxied, tableName, timeoutMs: 4000 });
      const issued = token('u15');
      await tokens.issue(issued);
      let updates = 0;
      proxy.setFault((call) => (call.operation === 'UpdateItem' && (updates += 1) === 1 ? { delayResponseMs: 1500 } : undefined));

      try {
        // Act
        const consumed = await throughProxy.consume(issued.digest, 'reset_password', NOW);
        const again = await tokens.consume(issued.digest, 'reset_password', NOW);

        // Assess
        expect(proxy.calls().filter((call) => call.operation === 'UpdateItem')).toHaveLength(2);
        expect(consumed).toEqual(issued);
        expect(again).toBeNull();
      } finally {
        proxied.destroy();
        await proxy.close();
      }
    });

    it('reports a missing table as an internal error, not as an unknown token', async () => {
      // Prepare
      const missing = createDynamoOneTimeTokenStore({ client, tableName: `missing-${randomUUID()}`, timeoutMs: 5000 });

      // Act / Assess
      await expect(missing.consume('some-digest', 'reset_password', NOW)).rejects.toMatchObject({ code: 'internal_error' });
      await expect(missing.issue(token('u16'))).rejects.toMatchObject({ code: 'internal_error' });
    });
  });
}
