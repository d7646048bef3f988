// Contract tests of the DynamoDB user store, over the real protocol against dynalite and DynamoDB Local.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserStore } from '../../domain/ports';
import {
  createUsersTable,
  deadEndpoint,
  startBlackhole,
  STORE_TARGETS,
  testClient,
  type TestStore,
} from '../../../test/stores';
import { createDynamoUserStore } from './user-store';

const user = (username: string, passwordHash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA') => ({
  username,
  name: `Name of ${username}`,
  passwordHash,
  createdAt: '2026-11-26T00:00:00.000Z',
  uid: `uid-of-${username}`,
  credentialVersion: 0,
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB user store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let users: UserStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = await createUsersTable(store.endpoint);
      users = createDynamoUserStore({ client, tableName, timeoutMs: 5000 });
    });

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('finds a created user with every attribute', async () => {
      await users.create(user('ada'));

      const found = await users.find('ada');

      expect(found).toEqual(user('ada'));
    });

    it('refuses a second create of a taken username and keeps the first user', async () => {
      await users.create(user('grace', 'first-hash'));

      const second = users.create({ ...user('grace', 'second-hash'), name: 'Intruder' });

      await expect(second).rejects.toMatchObject({ code: 'username_taken' });
      expect(await users.find('grace')).toMatchObject({ name: 'Name of grace', passwordHash: 'first-hash' });
    });

    it('lets exactly one of 20 concurrent creates of one username win', async () => {
      const attempts = Array.from({ length: 20 }, (_, i) => users.create(user('race', `hash-${i}`)));

      const results = await Promise.allSettled(attempts);

      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.map((r) => r.reason.code)).toEqual(Array(19).fill('username_taken'));
    });

    it('returns null for an unknown user', async () => {
      expect(await users.find('nobody')).toBeNull();
    });

    it('treats a name too long to be a DynamoDB key as an unknown user', async () => {
      expect(await users.find('é'.repeat(1500))).toBeNull();
    });

    it('reads a tutorial-era item without createdAt', async () => {
      await client.send(
        new PutCommand({ TableName: tableName, Item: { username: 'legacy', name: 'Old', password: '$2a$10$abc' } }),
      );

      expect(await users.find('legacy')).toEqual({
        username: 'legacy',
        name: 'Old',
        passwordHash: '$2a$10$abc',
        createdAt: null,
        uid: null,
        credentialVersion: 0,
      });
    });

    it('replaces a password hash only while it is still the expected one', async () => {
      await users.create(user('swap', 'old-hash'));

      const stale = await users.replacePasswordHash('swap', 'not-the-hash', 'new-hash');
      const fresh = await users.replacePasswordHash('swap', 'old-hash', 'new-hash');

      expect(stale).toBe(false);
      expect(fresh).toBe(true);
      expect((await users.find('swap'))?.passwordHash).toBe('new-hash');
    });

    it('does not create a user when replacing the hash of an unknown one', async () => {
      expect(await users.replacePasswordHash('ghost', 'x', 'y')).toBe(false);
      expect(await users.find('ghost')).toBeNull();
    });

    it('gives a legacy user a uid once; a second assignment keeps the first', async () => {
      await client.send(
        new PutCommand({ TableName: tableName, Item: { username: 'nouid', name: 'Old', password: '$2a$10$abc' } }),
      );

      const first = await users.assignUid('nouid', 'uid-1', '$2a$10$abc');
      const second = await users.assignUid('nouid', 'uid-2', '$2a$10$abc');

      expect(first).toBe('uid-1');
      expect(second).toBe('uid-1');
      expect((await users.find('nouid'))?.uid).toBe('uid-1');
    });

    it('assigns no uid when the hash is no longer the one whose password was checked', async () => {
      await client.send(
        new PutCommand({ TableName: tableName, Item: { username: 'replaced', name: 'New', password: 'new-owner-hash' } }),
      );

      const assigned = await users.assignUid('replaced', 'uid-old', 'old-owner-hash');

      expect(assigned).toBeNull();
      expect((await users.find('replaced'))?.uid).toBeNull();
    });

    it('does not create a user when assigning a uid to an unknown one', async () => {
      expect(await users.assignUid('ghost-uid', 'uid-3', 'any-hash')).toBeNull();
      expect(await users.find('ghost-uid')).toBeNull();
    });

    it('changes the password only while the hash is the expected one, bumping the credential version', async () => {
      await users.create(user('changer', 'hash-0'));

      const stale = await users.changePassword('changer', 'not-the-hash', 'hash-x');
      const first = await users.changePassword('changer', 'hash-0', 'hash-1');
      const second = await users.changePassword('changer', 'hash-1', 'hash-2');

      expect([stale, first, second]).toEqual([false, true, true]);
      expect(await users.find('changer')).toMatchObject({ passwordHash: 'hash-2', credentialVersion: 2 });
    });

    it('counts a legacy item without a version as version 0 when changing its password', async () => {
      await client.send(
        new PutCommand({ TableName: tableName, Item: { username: 'oldver', name: 'Old', password: 'old-hash' } }),
      );

      await users.changePassword('oldver', 'old-hash', 'new-hash');

      expect((await users.find('oldver'))?.credentialVersion).toBe(1);
    });

    it('removes a user only while the hash is the expected one', async () => {
      await users.create(user('leaver', 'hash-0'));

      const stale = await users.remove('leaver', 'other-hash');
      const kept = await users.find('leaver');
      const removed = await users.remove('leaver', 'hash-0');

      expect(stale).toBe(false);
      expect(kept).not.toBeNull();
      expect(removed).toBe(true);
      expect(await users.find('leaver')).toBeNull();
    });

    it('reports a missing table as an internal error, not as an unknown user', async () => {
      const orphan = createDynamoUserStore({ client, tableName: 'no-such-table', timeoutMs: 5000 });

      await expect(orphan.find('ada')).rejects.toMatchObject({ code: 'internal_error' });
    });
  });
}

describe('DynamoDB user store when the store is unreachable', () => {
  it('answers service_unavailable promptly when nothing listens', async () => {
    const client = testClient(await deadEndpoint(), 1000);
    const users = createDynamoUserStore({ client, tableName: 'user-table', timeoutMs: 1000 });
    const started = Date.now();

    const result = users.find('ada');

    await expect(result).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - started).toBeLessThan(3000);
    client.destroy();
  });

  it('gives up on a store that accepts connections but never answers, within its bound', async () => {
    const blackhole = await startBlackhole();
    const client = testClient(blackhole.endpoint, 1000);
    const users = createDynamoUserStore({ client, tableName: 'user-table', timeoutMs: 1000 });
    const started = Date.now();

    const result = users.create(user('ada'));

    await expect(result).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - started).toBeLessThan(2500);
    client.destroy();
    await blackhole.stop();
  });
});
