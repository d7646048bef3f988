// Contract tests of the DynamoDB passkey store, over the real protocol against dynalite and DynamoDB Local.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand, GetCommand } from './client';
import type { Passkey, PasskeyStore } from '../../domain/passkey-ports';
import { STORE_TARGETS, testClient, type TestStore } from '../../../test/stores';
import { ensurePasskeysTable } from './ensure-table';
import { createDynamoPasskeyStore, PASSKEYS_BY_UID_INDEX } from './passkey-store';

const base64url = (bytes: number) => randomBytes(bytes).toString('base64url');

const passkey = (uid: string, overrides: Partial<Passkey> = {}): Passkey => ({
  id: base64url(32),
  uid,
  // Usernames are the users table's key; the store keeps the one it is given.
  username: `user-${uid}`,
  userHandle: base64url(32),
  // The shape of a COSE EC2 P-256 key (77 bytes), as bytes never seen as text.
  publicKey: base64url(77),
  counter: 0,
  transports: ['internal', 'hybrid'],
  deviceType: 'multiDevice',
  backedUp: true,
  name: 'Ada’s phone',
  createdAt: '2026-12-01T12:00:00.000Z',
  lastUsedAt: null,
  ...overrides,
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB passkey store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let passkeys: PasskeyStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = `passkeys-${randomUUID()}`;
      await ensurePasskeysTable(client, tableName);
      passkeys = createDynamoPasskeyStore({ client, tableName, timeoutMs: 5000 });
    }, 120_000);

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('creates the table keyed by credential id, with the per-account index, and again is fine', async () => {
      // Act
      await ensurePasskeysTable(client, tableName);
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));

      // Assess
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
      const index = Table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === PASSKEYS_BY_UID_INDEX);
      expect(index?.KeySchema).toEqual([
        { AttributeName: 'uid', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ]);
      expect(index?.Projection?.ProjectionType).toBe('ALL');
    });

    it('finds an added passkey with every value as it was given', async () => {
      // Prepare: the longest credential id WebAuthn allows (1023 bytes), base64url with - and _ in it.
      const added = passkey('u1', { id: `-_${base64url(1021)}`, transports: ['usb', 'nfc', 'ble'], counter: 41 });

      // Act
      const stored = await passkeys.add(added);

      // Assess
      expect(stored).toBe(true);
      expect(await passkeys.find(added.id)).toEqual(added);
    });

    it('keeps bytes as base64url text in the table, and no lastUsedAt before the first use', async () => {
      // Prepare
      const added = passkey('u2', { transports: [] });
      await passkeys.add(added);

      // Act
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { id: added.id } }));

      // Assess
      expect(Item?.publicKey).toBe(added.publicKey);
      expect(Item?.userHandle).toBe(added.userHandle);
      expect(Item?.username).toBe(added.username);
      expect(Item).not.toHaveProperty('lastUsedAt');
      expect(await passkeys.find(added.id)).toEqual(added);
    });

    it('refuses a credential id that is already registered, to another account or the same, and keeps the first', async () => {
      // Prepare
      const first = passkey('u3');
      await passkeys.add(first);

      // Act
      const byOther = await passkeys.add(passkey('u4', { id: first.id }));
      const bySameAgain = await passkeys.add(passkey('u3', { id: first.id, name: 'again' }));

      // Assess
      expect(byOther).toBe(false);
      expect(bySameAgain).toBe(false);
      expect(await passkeys.find(first.id)).toEqual(first);
    });

    it('lets exactly one of 10 concurrent adds of one credential id in', async () => {
      // Prepare
      const id = base64url(16);

      // Act
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => passkeys.add(passkey(`race-${i}`, { id }))));

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await passkeys.find(id))?.uid).toBe(`race-${winner}`);
    });

    it('accepts its own add again (a retry after a lost answer) without changing the record', async () => {
      // Prepare
      const added = passkey('u5');
      await passkeys.add(added);

      // Act
      const retried = await passkeys.add(added);

      // Assess
      expect(retried).toBe(true);
      expect(await passkeys.find(added.id)).toEqual(added);
    });

    it('finds nothing for an unknown id, or for text no credential id can be', async () => {
      expect(await passkeys.find(base64url(32))).toBeNull();
      expect(await passkeys.find('')).toBeNull();
      expect(await passkeys.find('not base64url!')).toBeNull();
      expect(await passkeys.find('A'.repeat(3000))).toBeNull();
    });

    it('lists an account’s passkeys oldest first, and no one else’s', async () => {
      // Prepare
      const newer = passkey('u6', { createdAt: '2026-12-02T08:00:00.000Z', name: 'laptop' });
      const older = passkey('u6', { createdAt: '2026-12-01T08:00:00.000Z', name: 'phone' });
      await passkeys.add(newer);
      await passkeys.add(older);
      await passkeys.add(passkey('u7'));

      // Act
      const listed = await passkeys.listFor('u6');

      // Assess
      expect(listed).toEqual([older, newer]);
      expect(await passkeys.listFor('nobody')).toEqual([]);
      expect(await passkeys.listFor('')).toEqual([]);
    });

    it('removes one of the account’s passkeys, and says false when it is gone already', async () => {
      // Prepare
      const kept = passkey('u8', { createdAt: '2026-12-01T08:00:00.000Z' });
      const removed = passkey('u8', { createdAt: '2026-12-02T08:00:00.000Z' });
      await passkeys.add(kept);
      await passkeys.add(removed);

      // Act
      const first = await passkeys.remove(removed.id, 'u8');
      const second = await passkeys.remove(removed.id, 'u8');

      // Assess
      expect(first).toBe(true);
      expect(second).toBe(false);
      expect(await passkeys.find(removed.id)).toBeNull();
      expect(await passkeys.listFor('u8')).toEqual([kept]);
    });

    it('refuses to remove another account’s passkey, which stays', async () => {
      // Prepare
      const theirs = passkey('u9');
      await passkeys.add(theirs);

      // Act
      const removed = await passkeys.remove(theirs.id, 'u10');

      // Assess
      expect(removed).toBe(false);
      expect(await passkeys.find(theirs.id)).toEqual(theirs);
      expect(await passkeys.remove('', 'u9')).toBe(false);
    });

    it('removes all of an account’s passkeys and no one else’s', async () => {
      // Prepare
      const mine = Array.from({ length: 12 }, (_, i) =>
        passkey('u11', { createdAt: `2026-12-01T08:00:${String(i).padStart(2, '0')}.000Z` }),
      );
      for (const key of mine) await passkeys.add(key);
      const theirs = passkey('u12');
      await passkeys.add(theirs);

      // Act
      await passkeys.removeAllFor('u11');

      // Assess
      expect(await passkeys.listFor('u11')).toEqual([]);
      for (const key of mine) expect(await passkeys.find(key.id)).toBeNull();
      expect(await passkeys.find(theirs.id)).toEqual(theirs);
      await passkeys.removeAllFor('u11');
    });

    it('records a use: the new counter, the time and the backed-up flag, while the counter is as expected', async () => {
      // Prepare
      const added = passkey('u13', { counter: 5, backedUp: false });
      await passkeys.add(added);

      // Act
      const recorded = await passkeys.recordUse(added.id, 'u13', {
        counter: 6,
        lastUsedAt: '2026-12-03T09:00:00.000Z',
        backedUp: true,
        expectedCounter: 5,
      });

      // Assess
      expect(recorded).toBe(true);
      expect(await passkeys.find(added.id)).toEqual({
        ...added,
        counter: 6,
        lastUsedAt: '2026-12-03T09:00:00.000Z',
        backedUp: true,
      });
    });

    it('refuses a use against a counter that moved on, and changes nothing', async () => {
      // Prepare
      const added = passkey('u14', { counter: 9 });
      await passkeys.add(added);

      // Act
      const recorded = await passkeys.recordUse(added.id, 'u14', {
        counter: 10,
        lastUsedAt: '2026-12-03T09:00:00.000Z',
        expectedCounter: 8,
      });

      // Assess
      expect(recorded).toBe(false);
      expect(await passkeys.find(added.id)).toEqual(added);
    });

    it('refuses a use of another account’s passkey, or of one that does not exist', async () => {
      // Prepare
      const added = passkey('u15', { counter: 1 });
      await passkeys.add(added);
      const use = { counter: 2, lastUsedAt: '2026-12-03T09:00:00.000Z', expectedCounter: 1 };

      // Act
      const byOther = await passkeys.recordUse(added.id, 'u16', use);
      const unknown = await passkeys.recordUse(base64url(32), 'u15', use);

      // Assess
      expect(byOther).toBe(false);
      expect(unknown).toBe(false);
      expect(await passkeys.find(added.id)).toEqual(added);
    });

    it('lets exactly one of 10 concurrent uses verified against the same counter win (a clone racing the original)', async () => {
      // Prepare
      const added = passkey('u17', { counter: 20 });
      await passkeys.add(added);

      // Act
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          passkeys.recordUse(added.id, 'u17', {
            counter: 21 + i,
            lastUsedAt: `2026-12-03T09:00:0${i}.000Z`,
            expectedCounter: 20,
          }),
        ),
      );

      // Assess
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await passkeys.find(added.id)).toMatchObject({ counter: 21 + winner, lastUsedAt: `2026-12-03T09:00:0${winner}.000Z` });
    });

    it('never makes concurrent uses of a counter-less passkey (0 stays 0) conflict', async () => {
      // Prepare: synced passkeys report 0 every time; their replay guard is the challenge, spent once.
      const added = passkey('u18', { counter: 0 });
      await passkeys.add(added);

      // Act
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          passkeys.recordUse(added.id, 'u18', { counter: 0, lastUsedAt: '2026-12-03T09:00:00.000Z', expectedCounter: 0 }),
        ),
      );

      // Assess
      expect(results).toEqual([true, true, true, true, true]);
      expect(await passkeys.find(added.id)).toMatchObject({ counter: 0, lastUsedAt: '2026-12-03T09:00:00.000Z' });
    });
  });
}
