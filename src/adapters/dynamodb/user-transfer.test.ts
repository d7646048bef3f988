// Contract tests of the import/export store over the real protocol, against dynalite and DynamoDB Local.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsersTable, STORE_TARGETS, testClient, type TestStore } from '../../../test/stores';
import { GetCommand, PutCommand } from './client';
import { createDynamoUserStore } from './user-store';
import { createDynamoUserTransfer, type DynamoUserTransfer } from './user-transfer';

const imported = (username: string, createdAt: string | null = null) => ({
  username,
  name: `Name of ${username}`,
  passwordHash: `hash of ${username}`,
  createdAt,
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB user transfer on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let transfer: DynamoUserTransfer;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = await createUsersTable(store.endpoint);
      transfer = createDynamoUserTransfer({ client, tableName, timeoutMs: 5000 });
    });

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    const item = async (username: string) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: { username }, ConsistentRead: true }))).Item;

    it('inserts a user as the user store reads it, with the uid given and credentialVersion 0', async () => {
      // Act
      const inserted = await transfer.insert(imported('ada', '2020-01-01T00:00:00.000Z'), 'uid-ada');

      // Assess
      const users = createDynamoUserStore({ client, tableName, timeoutMs: 5000 });
      expect(inserted).toBe(true);
      expect(await users.find('ada')).toEqual({
        username: 'ada',
        name: 'Name of ada',
        passwordHash: 'hash of ada',
        createdAt: '2020-01-01T00:00:00.000Z',
        uid: 'uid-ada',
        credentialVersion: 0,
        email: null,
        emailVerified: false,
        pendingEmail: null,
      });
    });

    it('does not insert over an existing user, which stays as it was', async () => {
      // Prepare
      await transfer.insert(imported('grace'), 'uid-grace');

      // Act
      const second = await transfer.insert({ ...imported('grace'), name: 'Intruder' }, 'uid-other');

      // Assess
      expect(second).toBe(false);
      expect(await item('grace')).toMatchObject({ name: 'Name of grace', uid: 'uid-grace' });
    });

    it('of 20 concurrent inserts of one name, exactly one lands', async () => {
      // Act
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => transfer.insert({ ...imported('race'), name: `Racer ${i}` }, `uid-${i}`)),
      );

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('overwrites name and hash, keeps uid and createdAt, bumps credentialVersion and keeps the login state', async () => {
      // Prepare
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            username: 'owned',
            name: 'Owner',
            password: 'old hash',
            createdAt: '2001-01-01T00:00:00.000Z',
            uid: 'uid-owned',
            credentialVersion: 2,
            loginFailures: 1,
          },
        }),
      );

      // Act
      const result = await transfer.overwrite('owned', imported('owned', '2020-01-01T00:00:00.000Z'), 'uid-new');

      // Assess
      expect(result).toEqual({ previousUid: 'uid-owned' });
      expect(await item('owned')).toEqual({
        username: 'owned',
        name: 'Name of owned',
        password: 'hash of owned',
        createdAt: '2001-01-01T00:00:00.000Z',
        uid: 'uid-owned',
        credentialVersion: 3,
        loginFailures: 1,
      });
    });

    it('gives a tutorial-era user (no uid, no version) a uid and version 1 when overwriting, and says it had none', async () => {
      // Prepare
      await client.send(new PutCommand({ TableName: tableName, Item: { username: 'tutorial', name: 'T', password: 'bcrypt' } }));

      // Act
      const result = await transfer.overwrite('tutorial', imported('tutorial', '2020-01-01T00:00:00.000Z'), 'uid-t');

      // Assess
      expect(result).toEqual({ previousUid: null });
      expect(await item('tutorial')).toMatchObject({ uid: 'uid-t', credentialVersion: 1, createdAt: '2020-01-01T00:00:00.000Z' });
    });

    it('overwrites nobody when nobody is there (and creates nothing)', async () => {
      // Act
      const result = await transfer.overwrite('nobody', imported('nobody'), 'uid-n');

      // Assess
      expect(result).toBeUndefined();
      expect(await item('nobody')).toBeUndefined();
    });

    it('finds the first of several keys that holds a user', async () => {
      // Prepare
      await transfer.insert(imported('second-key'), 'uid-s');

      // Act
      const found = await transfer.findExisting(['missing-key', 'second-key']);
      const none = await transfer.findExisting(['missing-key', 'also-missing']);

      // Assess
      expect([found, none]).toEqual(['second-key', undefined]);
    });

    it('scans every user across pages, with the fields an export needs', async () => {
      // Prepare: a table of its own, with items large enough that a scan takes several 1 MB pages.
      const own = await createUsersTable(store.endpoint);
      const ownTransfer = createDynamoUserTransfer({ client, tableName: own, timeoutMs: 5000 });
      const padding = 'p'.repeat(30_000);
      await Promise.all(
        Array.from({ length: 80 }, (_, i) => ownTransfer.insert({ ...imported(`user${i}`), passwordHash: padding }, `uid-${i}`)),
      );

      // Act
      const pages: number[] = [];
      const names: string[] = [];
      for await (const page of ownTransfer.scan()) {
        pages.push(page.length);
        names.push(...page.map((user) => user.username));
      }

      // Assess
      expect(pages.length).toBeGreaterThan(1);
      expect(names.sort()).toEqual(Array.from({ length: 80 }, (_, i) => `user${i}`).sort());
    });
  });
}
