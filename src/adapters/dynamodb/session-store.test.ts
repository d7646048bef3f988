// Contract tests of the DynamoDB session store, over the real protocol against dynalite and DynamoDB Local.
import { GetCommand } from './client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session, SessionStore } from '../../domain/ports';
import {
  createSessionsTable,
  STORE_TARGETS,
  testClient,
  type TestStore,
} from '../../../test/stores';
import { createDynamoSessionStore } from './session-store';

const NOW = Date.UTC(2026, 10, 26);

const session = (uid: string, sid: string, overrides: Partial<Session> = {}): Session => ({
  uid,
  sid,
  username: `user-${uid}`,
  name: 'Session Owner',
  createdAt: NOW,
  expiresAt: NOW + 30 * 86_400_000,
  refreshHash: 'hash-0',
  rotatedAt: NOW,
  generation: 0,
  credentialVersion: 0,
  ...overrides,
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB session store on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let tableName: string;
    let sessions: SessionStore;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      tableName = await createSessionsTable(store.endpoint);
      sessions = createDynamoSessionStore({ client, tableName, timeoutMs: 5000 });
    });

    afterAll(async () => {
      client?.destroy();
      await store?.stop();
    });

    it('finds a created session with every attribute', async () => {
      await sessions.create(session('u1', 's1'));

      expect(await sessions.find('u1', 's1')).toEqual(session('u1', 's1'));
    });

    it('stores the expiry as epoch seconds, the TTL attribute DynamoDB cleans up by', async () => {
      await sessions.create(session('u2', 's1'));

      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { uid: 'u2', sid: 's1' } }));

      expect(Item?.expiresAt).toBe((NOW + 30 * 86_400_000) / 1000);
    });

    it('returns null for an unknown session, or ids no token of ours carries', async () => {
      expect(await sessions.find('u1', 'nope')).toBeNull();
      expect(await sessions.find('', 's1')).toBeNull();
      expect(await sessions.find('u'.repeat(500), 's1')).toBeNull();
    });

    it('lets exactly one of 20 concurrent rotations of one refresh hash win', async () => {
      await sessions.create(session('u3', 's1'));

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          sessions.rotate('u3', 's1', 'hash-0', { refreshHash: `hash-${i + 1}`, rotatedAt: NOW + 1, generation: 1 }),
        ),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await sessions.find('u3', 's1')).toMatchObject({ generation: 1, rotatedAt: NOW + 1 });
    });

    it('removes one session, and removing it again is fine', async () => {
      await sessions.create(session('u4', 's1'));
      await sessions.create(session('u4', 's2'));

      await sessions.remove('u4', 's1');
      await sessions.remove('u4', 's1');

      expect(await sessions.find('u4', 's1')).toBeNull();
      expect(await sessions.find('u4', 's2')).not.toBeNull();
    });

    it('removes all 60 sessions of a user (several batches) and no one else’s', async () => {
      await Promise.all(Array.from({ length: 60 }, (_, i) => sessions.create(session('u5', `s${i}`))));
      await sessions.create(session('u6', 's1'));

      await sessions.removeAll('u5');

      const left = await Promise.all(Array.from({ length: 60 }, (_, i) => sessions.find('u5', `s${i}`)));
      expect(left.filter((s) => s !== null)).toHaveLength(0);
      expect(await sessions.find('u6', 's1')).not.toBeNull();
    });

    it('removes every session of a user but the one kept (several batches), and no one else’s', async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => sessions.create(session('u7', `s${i}`))));
      await sessions.create(session('u8', 's3'));

      await sessions.removeOthers('u7', 's3');

      const left = await Promise.all(Array.from({ length: 40 }, (_, i) => sessions.find('u7', `s${i}`)));
      expect(left.filter((s) => s !== null).map((s) => s?.sid)).toEqual(['s3']);
      expect(await sessions.find('u7', 's3')).toEqual(session('u7', 's3'));
      expect(await sessions.find('u8', 's3')).not.toBeNull();
    });

    it('removes them all when the session to keep is not one of the user’s, and is fine with none to remove', async () => {
      await sessions.create(session('u9', 's1'));
      await sessions.create(session('u9', 's2'));

      await sessions.removeOthers('u9', 'not-a-session');
      await sessions.removeOthers('u9', 'not-a-session');
      await sessions.removeOthers('u-without-sessions', 's1');

      expect(await sessions.find('u9', 's1')).toBeNull();
      expect(await sessions.find('u9', 's2')).toBeNull();
    });

    it('carries a session over to a new credentialVersion, leaving the rest of it and other sessions as they were', async () => {
      await sessions.create(session('u10', 's1', { credentialVersion: 2, generation: 3, refreshHash: 'hash-3' }));
      await sessions.create(session('u10', 's2', { credentialVersion: 2 }));

      const carried = await sessions.carryOver('u10', 's1', 3);

      expect(carried).toBe(true);
      expect(await sessions.find('u10', 's1')).toEqual(session('u10', 's1', { credentialVersion: 3, generation: 3, refreshHash: 'hash-3' }));
      expect((await sessions.find('u10', 's2'))?.credentialVersion).toBe(2);
      // Retried after it landed: the same answer and the same session.
      expect(await sessions.carryOver('u10', 's1', 3)).toBe(true);
      expect((await sessions.find('u10', 's1'))?.credentialVersion).toBe(3);
    });

    it('never carries over a session from an older version than the one just before (a session a change ended)', async () => {
      await sessions.create(session('u12', 's1', { credentialVersion: 0 }));

      expect(await sessions.carryOver('u12', 's1', 2)).toBe(false);
      expect((await sessions.find('u12', 's1'))?.credentialVersion).toBe(0);
    });

    it('answers false for carryOver of a missing or removed session, and creates no item', async () => {
      await sessions.create(session('u11', 's1'));
      await sessions.remove('u11', 's1');

      expect(await sessions.carryOver('u11', 's1', 1)).toBe(false);
      expect(await sessions.carryOver('u11', 'never', 1)).toBe(false);

      const raw = async (sid: string) =>
        (await client.send(new GetCommand({ TableName: tableName, Key: { uid: 'u11', sid }, ConsistentRead: true }))).Item;
      expect(await raw('s1')).toBeUndefined();
      expect(await raw('never')).toBeUndefined();
    });

    it('keeps the carried-over session through removeOthers: the factor change’s own session is the one left', async () => {
      await sessions.create(session('u12', 'mine'));
      await sessions.create(session('u12', 'theirs'));

      await sessions.removeOthers('u12', 'mine');
      const carried = await sessions.carryOver('u12', 'mine', 1);

      expect(carried).toBe(true);
      expect(await sessions.find('u12', 'theirs')).toBeNull();
      expect(await sessions.carryOver('u12', 'theirs', 1)).toBe(false);
      expect((await sessions.find('u12', 'mine'))?.credentialVersion).toBe(1);
    });
  });
}
