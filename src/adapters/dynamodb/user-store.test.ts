// Contract tests of the DynamoDB user store, over the real protocol against dynalite and DynamoDB Local.
import { GetCommand, PutCommand } from './client';
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

const NOW = Date.UTC(2026, 10, 26);

const user = (username: string, passwordHash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA') => ({
  username,
  name: `Name of ${username}`,
  passwordHash,
  createdAt: '2026-11-26T00:00:00.000Z',
  uid: `uid-of-${username}`,
  credentialVersion: 0,
});

/** What `find` adds for an account that has no address. */
const NO_EMAIL = { email: null, emailVerified: false, pendingEmail: null };

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

      expect(found).toEqual({ ...user('ada'), ...NO_EMAIL });
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
        ...NO_EMAIL,
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

    const lease = (id: string, deadline = NOW + 5000) => ({ id, deadline, uid: `fresh-uid-${id}` });
    const rawItem = async (username: string) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: { username }, ConsistentRead: true }))).Item;

    it('opens an attempt on a user: one write that returns the user, its login state and the new lease', async () => {
      await users.create(user('opener'));

      const opened = await users.openAttempt('opener', lease('a1'));

      expect(opened).toEqual({
        ...user('opener'),
        ...NO_EMAIL,
        login: { failures: 0, lastFailureAt: 0, leases: { a1: NOW + 5000 } },
      });
    });

    it('returns every lease held, its own and those of attempts before it', async () => {
      await users.create(user('busy'));
      await users.openAttempt('busy', lease('b1', NOW + 1));

      const second = await users.openAttempt('busy', lease('b2', NOW + 2));

      expect(second?.login.leases).toEqual({ b1: NOW + 1, b2: NOW + 2 });
    });

    it('gives each of 16 concurrent opens its own view: they see 1 to 16 leases, once each', async () => {
      await users.create(user('crowd'));

      const opened = await Promise.all(Array.from({ length: 16 }, (_, i) => users.openAttempt('crowd', lease(`c${i}`))));

      const seen = opened.map((o) => Object.keys(o?.login.leases ?? {}).length).sort((x, y) => x - y);
      expect(seen).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      opened.forEach((o, i) => expect(o?.login.leases).toHaveProperty(`c${i}`));
    });

    it('answers null for an unknown user and writes nothing (no item is created)', async () => {
      const opened = await users.openAttempt('ghost-open', lease('g1'));

      expect(opened).toBeNull();
      expect(await rawItem('ghost-open')).toBeUndefined();
    });

    it('answers null for a name too long to be a DynamoDB key', async () => {
      expect(await users.openAttempt('é'.repeat(1500), lease('long'))).toBeNull();
    });

    it('gives a tutorial-era item without uid the attempt\u2019s uid, and keeps it on the next open', async () => {
      await client.send(new PutCommand({ TableName: tableName, Item: { username: 'nouid', name: 'Old', password: '$2a$10$abc' } }));

      const first = await users.openAttempt('nouid', lease('n1'));
      const second = await users.openAttempt('nouid', lease('n2'));

      expect(first).toMatchObject({ uid: 'fresh-uid-n1', createdAt: null, credentialVersion: 0, passwordHash: '$2a$10$abc' });
      expect(second?.uid).toBe('fresh-uid-n1');
      expect((await users.find('nouid'))?.uid).toBe('fresh-uid-n1');
    });

    it('keeps the uid of a user that has one', async () => {
      await users.create(user('hasuid'));

      const opened = await users.openAttempt('hasuid', lease('h1'));

      expect(opened?.uid).toBe('uid-of-hasuid');
      expect((await users.find('hasuid'))?.uid).toBe('uid-of-hasuid');
    });

    it('closes an attempt: its lease and the expired ones named go, other leases stay', async () => {
      await users.create(user('closer'));
      await users.openAttempt('closer', lease('dead', NOW - 1));
      await users.openAttempt('closer', lease('other'));
      await users.openAttempt('closer', lease('mine'));

      await users.closeAttempt('closer', 'mine', ['dead']);

      const state = await users.openAttempt('closer', lease('look'));
      expect(state?.login.leases).toEqual({ other: NOW + 5000, look: NOW + 5000 });
    });

    it('closes an attempt on a user that is gone without creating an item', async () => {
      await users.closeAttempt('ghost-close', 'x1', ['x0']);

      expect(await rawItem('ghost-close')).toBeUndefined();
    });

    it('records a failure: the lease goes, one more failure at that time', async () => {
      await users.create(user('failer'));
      await users.openAttempt('failer', lease('f1'));

      await users.recordFailure('failer', 'f1', { at: NOW + 10, expired: [] });

      const state = await users.openAttempt('failer', lease('look'));
      expect(state?.login).toEqual({ failures: 1, lastFailureAt: NOW + 10, leases: { look: NOW + 5000 } });
    });

    it('counts a failure recorded twice with the same lease once (a retried call)', async () => {
      await users.create(user('retried'));
      await users.openAttempt('retried', lease('r1'));

      await users.recordFailure('retried', 'r1', { at: NOW + 1, expired: [] });
      await users.recordFailure('retried', 'r1', { at: NOW + 2, expired: [] });

      const state = await users.openAttempt('retried', lease('look'));
      expect(state?.login).toMatchObject({ failures: 1, lastFailureAt: NOW + 1 });
    });

    it('counts 5 concurrent failures of 5 leases as 5', async () => {
      await users.create(user('five'));
      await Promise.all([1, 2, 3, 4, 5].map((i) => users.openAttempt('five', lease(`v${i}`))));

      await Promise.all([1, 2, 3, 4, 5].map((i) => users.recordFailure('five', `v${i}`, { at: NOW + i, expired: [] })));

      const state = await users.openAttempt('five', lease('look'));
      expect(state?.login).toMatchObject({ failures: 5, leases: { look: NOW + 5000 } });
    });

    it('restarts forgotten failures at 1 while the last failure is still the one they were read with', async () => {
      await users.create(user('restart'));
      for (const id of ['s1', 's2', 's3']) {
        await users.openAttempt('restart', lease(id));
        await users.recordFailure('restart', id, { at: NOW, expired: [] });
      }
      await users.openAttempt('restart', lease('late'));

      await users.recordFailure('restart', 'late', { at: NOW + 900_000, restartAfter: NOW, expired: [] });

      const state = await users.openAttempt('restart', lease('look'));
      expect(state?.login).toMatchObject({ failures: 1, lastFailureAt: NOW + 900_000 });
    });

    it('adds to the failures instead when a concurrent failure restarted them already', async () => {
      await users.create(user('restarted'));
      await users.openAttempt('restarted', lease('old'));
      await users.recordFailure('restarted', 'old', { at: NOW, expired: [] });
      await users.openAttempt('restarted', lease('t1'));
      await users.openAttempt('restarted', lease('t2'));

      await users.recordFailure('restarted', 't1', { at: NOW + 900_000, restartAfter: NOW, expired: [] });
      await users.recordFailure('restarted', 't2', { at: NOW + 900_001, restartAfter: NOW, expired: [] });

      const state = await users.openAttempt('restarted', lease('look'));
      expect(state?.login).toMatchObject({ failures: 2, lastFailureAt: NOW + 900_001 });
    });

    it('records no failure for a user that is gone, and creates no item', async () => {
      await users.recordFailure('ghost-fail', 'l1', { at: NOW, expired: [] });
      await users.recordFailure('ghost-fail', 'l1', { at: NOW, restartAfter: NOW - 1, expired: [] });

      expect(await rawItem('ghost-fail')).toBeUndefined();
    });

    it('records a success: the lease and dead leases go, the failures are cleared', async () => {
      await users.create(user('winner'));
      await users.openAttempt('winner', lease('w0'));
      await users.recordFailure('winner', 'w0', { at: NOW, expired: [] });
      await users.openAttempt('winner', lease('dead', NOW - 1));
      await users.openAttempt('winner', lease('w1'));

      const settled = await users.recordSuccess('winner', 'w1', { uid: 'uid-of-winner', credentialVersion: 0, expired: ['dead'] });

      expect(settled).toBe(true);
      const state = await users.openAttempt('winner', lease('look'));
      expect(state?.login).toMatchObject({ failures: 0, leases: { look: NOW + 5000 } });
    });

    it('records a success on a tutorial-era item without credentialVersion as version 0', async () => {
      await client.send(new PutCommand({ TableName: tableName, Item: { username: 'oldwin', name: 'Old', password: 'h' } }));
      const opened = await users.openAttempt('oldwin', lease('o1'));

      const settled = await users.recordSuccess('oldwin', 'o1', { uid: opened?.uid ?? '', credentialVersion: 0, expired: [] });

      expect(settled).toBe(true);
    });

    it('answers false and changes nothing when the credentialVersion changed since the check', async () => {
      await users.create(user('moved', 'hash-0'));
      await users.openAttempt('moved', lease('m0'));
      await users.recordFailure('moved', 'm0', { at: NOW, expired: [] });
      await users.openAttempt('moved', lease('m1'));
      await users.changePassword('moved', 'hash-0', 'hash-1');

      const settled = await users.recordSuccess('moved', 'm1', { uid: 'uid-of-moved', credentialVersion: 0, expired: [] });

      expect(settled).toBe(false);
      const item = await rawItem('moved');
      expect(item).toMatchObject({ loginFailures: 1, attempt_m1: NOW + 5000, credentialVersion: 1 });
    });

    it('answers false when the name now belongs to another account (another uid)', async () => {
      await users.create(user('reborn'));
      await users.openAttempt('reborn', lease('x1'));

      const settled = await users.recordSuccess('reborn', 'x1', { uid: 'uid-of-the-old-account', credentialVersion: 0, expired: [] });

      expect(settled).toBe(false);
    });

    it('answers false when the user is gone, and creates no item', async () => {
      await users.create(user('vanished', 'hash-v'));
      await users.openAttempt('vanished', lease('y1'));
      await users.remove('vanished', 'hash-v');

      const settled = await users.recordSuccess('vanished', 'y1', { uid: 'uid-of-vanished', credentialVersion: 0, expired: [] });

      expect(settled).toBe(false);
      expect(await rawItem('vanished')).toBeUndefined();
    });

    it('keeps the login state out of the user it reads: find returns the account only', async () => {
      await users.create(user('plain'));
      await users.openAttempt('plain', lease('p1'));

      expect(await users.find('plain')).toEqual({ ...user('plain'), ...NO_EMAIL });
    });

    it('takes the attempt\u2019s own lease among the expired ones (its deadline passed during the check) without a store error (fails today: removeLeases names it twice, DynamoDB refuses overlapping paths, a 500)', async () => {
      // The login names every lease past its deadline as expired, its own included once its deadline has come.
      await users.create(user('overdue', 'hash-o'));
      for (const id of ['o1', 'o2', 'o3']) await users.openAttempt('overdue', lease(id, NOW - 1));

      const closed = users.closeAttempt('overdue', 'o1', ['o1']);
      const failed = users.recordFailure('overdue', 'o2', { at: NOW, expired: ['o2'] });
      const settled = users.recordSuccess('overdue', 'o3', { uid: 'uid-of-overdue', credentialVersion: 0, expired: ['o3'] });

      await expect(closed).resolves.toBeUndefined();
      await expect(failed).resolves.toBeUndefined();
      await expect(settled).resolves.toBe(true);
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

    it('stores the address of a user created with one, unverified and with no change pending', async () => {
      await users.create({ ...user('mailer'), email: 'mailer@example.com' });

      expect(await users.find('mailer')).toEqual({
        ...user('mailer'),
        email: 'mailer@example.com',
        emailVerified: false,
        pendingEmail: null,
      });
      expect(await rawItem('mailer')).toMatchObject({ email: 'mailer@example.com', emailVerified: false });
    });

    it('stores no address attributes for a user created without one (email null)', async () => {
      await users.create({ ...user('nomail'), email: null });

      expect(await users.find('nomail')).toEqual({ ...user('nomail'), ...NO_EMAIL });
      expect(Object.keys((await rawItem('nomail')) ?? {})).not.toContain('emailVerified');
    });

    /** A user whose address is verified (created with it, then confirmed). */
    const verifiedUser = async (username: string, email = `${username}@example.com`) => {
      await users.create({ ...user(username), email });
      expect(await users.confirmEmail(username, `uid-of-${username}`, email)).toEqual({ replaced: null });
    };

    it('records a pending address (pending=true) only while the address is verified, which stays in force', async () => {
      await users.create({ ...user('unsure'), email: 'unsure@example.com' });
      await verifiedUser('sure');

      const onUnverified = await users.requestEmail('unsure', 'uid-of-unsure', 'next@example.com', true);
      const onVerified = await users.requestEmail('sure', 'uid-of-sure', 'next@example.com', true);

      expect([onUnverified, onVerified]).toEqual([false, true]);
      expect(await users.find('unsure')).toMatchObject({ email: 'unsure@example.com', emailVerified: false, pendingEmail: null });
      expect(await users.find('sure')).toMatchObject({
        email: 'sure@example.com',
        emailVerified: true,
        pendingEmail: 'next@example.com',
      });
    });

    it('replaces an unverified address (pending=false) and drops a pending one, but never a verified address', async () => {
      await client.send(
        new PutCommand({
          TableName: tableName,
          // An unverified address with a change pending: a state only an older write or a race leaves behind.
          Item: {
            username: 'swapper',
            name: 'Swapper',
            password: 'hash-s',
            uid: 'uid-of-swapper',
            email: 'old@example.com',
            emailVerified: false,
            pendingEmail: 'stale@example.com',
          },
        }),
      );
      await users.create(user('bare'));
      await verifiedUser('keeper');

      const replaced = await users.requestEmail('swapper', 'uid-of-swapper', 'new@example.com', false);
      const added = await users.requestEmail('bare', 'uid-of-bare', 'bare@example.com', false);
      const onVerified = await users.requestEmail('keeper', 'uid-of-keeper', 'other@example.com', false);

      expect([replaced, added, onVerified]).toEqual([true, true, false]);
      expect(await users.find('swapper')).toMatchObject({ email: 'new@example.com', emailVerified: false, pendingEmail: null });
      expect(await users.find('bare')).toMatchObject({ email: 'bare@example.com', emailVerified: false, pendingEmail: null });
      expect(await users.find('keeper')).toMatchObject({ email: 'keeper@example.com', emailVerified: true, pendingEmail: null });
    });

    it('refuses requestEmail for another account under the name (another uid) and for an unknown user', async () => {
      await users.create({ ...user('other'), email: 'other@example.com' });
      await verifiedUser('otherv');

      const results = [
        await users.requestEmail('other', 'uid-of-someone-else', 'x@example.com', false),
        await users.requestEmail('otherv', 'uid-of-someone-else', 'x@example.com', true),
        await users.requestEmail('nobody-here', 'uid-of-nobody-here', 'x@example.com', false),
        await users.requestEmail('nobody-here', 'uid-of-nobody-here', 'x@example.com', true),
      ];

      expect(results).toEqual([false, false, false, false]);
      expect(await users.find('other')).toMatchObject({ email: 'other@example.com', pendingEmail: null });
      expect(await users.find('otherv')).toMatchObject({ email: 'otherv@example.com', pendingEmail: null });
      expect(await rawItem('nobody-here')).toBeUndefined();
    });

    it('confirms an unverified address: verified, nothing replaced', async () => {
      await users.create({ ...user('confirmer'), email: 'confirmer@example.com' });

      const confirmed = await users.confirmEmail('confirmer', 'uid-of-confirmer', 'confirmer@example.com');

      expect(confirmed).toEqual({ replaced: null });
      expect(await users.find('confirmer')).toMatchObject({
        email: 'confirmer@example.com',
        emailVerified: true,
        pendingEmail: null,
      });
    });

    it('confirms a pending address: it becomes the address, and the verified one it replaced is returned', async () => {
      await verifiedUser('mover', 'first@example.com');
      await users.requestEmail('mover', 'uid-of-mover', 'second@example.com', true);

      const confirmed = await users.confirmEmail('mover', 'uid-of-mover', 'second@example.com');

      expect(confirmed).toEqual({ replaced: 'first@example.com' });
      expect(await users.find('mover')).toMatchObject({
        email: 'second@example.com',
        emailVerified: true,
        pendingEmail: null,
      });
    });

    it('confirms the verified address again with nothing replaced, and drops a pending change', async () => {
      await verifiedUser('again', 'again@example.com');
      await users.requestEmail('again', 'uid-of-again', 'later@example.com', true);

      const confirmed = await users.confirmEmail('again', 'uid-of-again', 'again@example.com');

      expect(confirmed).toEqual({ replaced: null });
      expect(await users.find('again')).toMatchObject({ email: 'again@example.com', emailVerified: true, pendingEmail: null });
    });

    it('refuses confirmEmail for an address that is neither the address nor the pending one, another uid, or an unknown user', async () => {
      await verifiedUser('strict', 'strict@example.com');
      await users.requestEmail('strict', 'uid-of-strict', 'pending@example.com', true);

      const results = [
        await users.confirmEmail('strict', 'uid-of-strict', 'neither@example.com'),
        await users.confirmEmail('strict', 'uid-of-someone-else', 'pending@example.com'),
        await users.confirmEmail('strict', 'uid-of-someone-else', 'strict@example.com'),
        await users.confirmEmail('ghost-mail', 'uid-of-ghost-mail', 'ghost@example.com'),
      ];

      expect(results).toEqual([false, false, false, false]);
      expect(await users.find('strict')).toMatchObject({
        email: 'strict@example.com',
        emailVerified: true,
        pendingEmail: 'pending@example.com',
      });
      expect(await rawItem('ghost-mail')).toBeUndefined();
    });

    it('resets a password: the new hash, the credential version bumped, the failures forgotten', async () => {
      await users.create(user('forgetful', 'hash-0'));
      for (const id of ['r1', 'r2', 'r3']) {
        await users.openAttempt('forgetful', lease(id));
        await users.recordFailure('forgetful', id, { at: NOW + 10, expired: [] });
      }

      const reset = await users.resetPassword('forgetful', 'uid-of-forgetful', 'hash-reset');

      expect(reset).toBe(true);
      expect(await users.find('forgetful')).toMatchObject({ passwordHash: 'hash-reset', credentialVersion: 1 });
      const state = await users.openAttempt('forgetful', lease('after'));
      expect(state?.login.failures).toBe(0);
    });

    it('resets a tutorial-era item without credentialVersion to version 1', async () => {
      await client.send(
        new PutCommand({ TableName: tableName, Item: { username: 'oldreset', name: 'Old', password: 'old', uid: 'uid-old' } }),
      );

      expect(await users.resetPassword('oldreset', 'uid-old', 'new')).toBe(true);
      expect(await users.find('oldreset')).toMatchObject({ passwordHash: 'new', credentialVersion: 1 });
    });

    it('refuses resetPassword for another account under the name (another uid) and for an unknown user', async () => {
      await users.create(user('guarded', 'hash-g'));

      const otherUid = await users.resetPassword('guarded', 'uid-of-the-old-account', 'hash-x');
      const unknown = await users.resetPassword('ghost-reset', 'uid-of-ghost-reset', 'hash-x');

      expect([otherUid, unknown]).toEqual([false, false]);
      expect(await users.find('guarded')).toMatchObject({ passwordHash: 'hash-g', credentialVersion: 0 });
      expect(await rawItem('ghost-reset')).toBeUndefined();
    });

    describe('second factors (updateFactors, ensureUserHandle)', () => {
      const SEALED = 'sealed-totp-secret';
      const LATER = NOW + 600_000;
      const account = (username: string, credentialVersion = 0) => ({ uid: `uid-of-${username}`, credentialVersion });
      let looks = 0;

      /**
       * The MFA state as both reads return it: `find`, and `openAttempt` (a login's read), which must agree. Each
       * look opens a lease of its own; no factor write is conditional on leases.
       */
      const mfaBack = async (username: string) => {
        const found = await users.find(username);
        const opened = await users.openAttempt(username, lease(`look${(looks += 1)}`));
        expect(opened?.mfa).toEqual(found?.mfa);
        return found?.mfa;
      };

      /** A user with TOTP on (last step `lastStep`) and recovery codes `codes`, at credentialVersion 1. */
      const withTotp = async (username: string, lastStep = 100, codes = ['digest-a', 'digest-b']) => {
        await users.create(user(username));
        expect(await users.updateFactors(username, { expect: account(username), pendingTotp: { secret: SEALED, expiresAt: LATER } })).toBe(true);
        expect(
          await users.updateFactors(username, {
            expect: account(username),
            totp: { secret: SEALED, lastStep, now: NOW },
            recoveryCodes: codes,
            bump: true,
          }),
        ).toBe(true);
      };

      it('keeps mfa absent on an account that never had a factor, in both reads', async () => {
        await users.create(user('nofactor'));

        expect(await users.find('nofactor')).not.toHaveProperty('mfa');
        expect(await users.openAttempt('nofactor', lease('nf1'))).not.toHaveProperty('mfa');
      });

      it('writes only while the account is the expected uid at the expected credentialVersion; nothing written otherwise', async () => {
        await users.create(user('expecter'));
        await users.changePassword('expecter', user('expecter').passwordHash, 'hash-1');
        const before = await rawItem('expecter');
        const pendingTotp = { secret: SEALED, expiresAt: LATER };

        const results = [
          await users.updateFactors('expecter', { expect: { uid: 'uid-of-another', credentialVersion: 1 }, pendingTotp }),
          await users.updateFactors('expecter', { expect: account('expecter', 0), pendingTotp }),
          await users.updateFactors('expecter', { expect: account('expecter', 2), pendingTotp }),
          await users.updateFactors('expecter', { expect: account('expecter', 0), bump: true }),
        ];

        expect(results).toEqual([false, false, false, false]);
        expect(await rawItem('expecter')).toEqual(before);
        expect(await users.updateFactors('expecter', { expect: account('expecter', 1), pendingTotp })).toBe(true);
      });

      it('takes credentialVersion 0 for an item without the attribute (a tutorial-era item given a uid)', async () => {
        await client.send(
          new PutCommand({ TableName: tableName, Item: { username: 'oldmfa', name: 'Old', password: 'h', uid: 'uid-of-oldmfa' } }),
        );

        expect(await users.updateFactors('oldmfa', { expect: account('oldmfa', 1), passkeys: 1 })).toBe(false);
        expect(await users.updateFactors('oldmfa', { expect: account('oldmfa', 0), passkeys: 1, bump: true })).toBe(true);
        expect(await users.find('oldmfa')).toMatchObject({ credentialVersion: 1, mfa: { passkeys: 1 } });
      });

      it('answers false for an unknown username, or one too long to be a key, and creates no item', async () => {
        const change = { expect: account('ghost-mfa'), pendingTotp: { secret: SEALED, expiresAt: LATER } };

        expect(await users.updateFactors('ghost-mfa', change)).toBe(false);
        expect(await users.updateFactors('ghost-mfa', { expect: account('ghost-mfa') })).toBe(false);
        expect(await users.updateFactors('é'.repeat(1500), change)).toBe(false);
        expect(await rawItem('ghost-mfa')).toBeUndefined();
      });

      it('a change of nothing but expect checks the account and changes nothing', async () => {
        await users.create(user('nothing'));
        const before = await rawItem('nothing');

        expect(await users.updateFactors('nothing', { expect: account('nothing') })).toBe(true);
        expect(await users.updateFactors('nothing', { expect: account('nothing', 3) })).toBe(false);
        expect(await rawItem('nothing')).toEqual(before);
      });

      it('starts and restarts an enrolment (pendingTotp) while TOTP is off', async () => {
        await users.create(user('enroller'));

        expect(await users.updateFactors('enroller', { expect: account('enroller'), pendingTotp: { secret: 's1', expiresAt: LATER } })).toBe(true);
        expect(await mfaBack('enroller')).toEqual({
          totp: null,
          pendingTotp: { secret: 's1', expiresAt: LATER },
          recoveryCodes: [],
          passkeys: 0,
          userHandle: null,
          mfaSpentAt: 0,
        });
        expect(await users.updateFactors('enroller', { expect: account('enroller'), pendingTotp: { secret: 's2', expiresAt: LATER + 1 } })).toBe(true);
        expect((await mfaBack('enroller'))?.pendingTotp).toEqual({ secret: 's2', expiresAt: LATER + 1 });
      });

      it('refuses pendingTotp while TOTP is on, and leaves the factors as they were', async () => {
        await withTotp('enabled');
        const before = await mfaBack('enabled');

        expect(await users.updateFactors('enabled', { expect: account('enabled', 1), pendingTotp: { secret: 'other', expiresAt: LATER } })).toBe(false);
        expect(await mfaBack('enabled')).toEqual(before);
        expect(before?.pendingTotp).toBeNull();
      });

      it('turns TOTP on with the pending secret: pending removed, the confirming step as last used, codes as digests, version bumped', async () => {
        await withTotp('confirmer-mfa', 4242, ['digest-z', 'digest-y', 'digest-x']);

        expect(await mfaBack('confirmer-mfa')).toEqual({
          totp: { secret: SEALED, lastStep: 4242 },
          pendingTotp: null,
          recoveryCodes: ['digest-x', 'digest-y', 'digest-z'],
          passkeys: 0,
          userHandle: null,
          mfaSpentAt: 0,
        });
        expect((await users.find('confirmer-mfa'))?.credentialVersion).toBe(1);
        const item = await rawItem('confirmer-mfa');
        expect(item).not.toHaveProperty('totpPending');
        expect(item).not.toHaveProperty('totpPendingExpiresAt');
      });

      it('refuses to turn TOTP on for another secret, an expired enrolment (expiresAt at or before now), or none', async () => {
        await users.create(user('late'));
        await users.create(user('unstarted'));
        await users.updateFactors('late', { expect: account('late'), pendingTotp: { secret: SEALED, expiresAt: LATER } });
        const before = await rawItem('late');
        const enable = (secret: string, now: number) => ({ expect: account('late'), totp: { secret, lastStep: 1, now }, bump: true });

        const results = [
          await users.updateFactors('late', enable('another-secret', NOW)),
          await users.updateFactors('late', enable(SEALED, LATER)),
          await users.updateFactors('late', enable(SEALED, LATER + 1)),
          await users.updateFactors('unstarted', { expect: account('unstarted'), totp: { secret: SEALED, lastStep: 1, now: NOW } }),
        ];

        expect(results).toEqual([false, false, false, false]);
        expect(await rawItem('late')).toEqual(before);
        expect(await users.find('unstarted')).not.toHaveProperty('mfa');
        // One millisecond before the end it still holds.
        expect(await users.updateFactors('late', enable(SEALED, LATER - 1))).toBe(true);
      });

      it('confirms once: the same confirmation retried (or a second enrolment confirmed) answers false', async () => {
        await users.create(user('twice'));
        await users.updateFactors('twice', { expect: account('twice'), pendingTotp: { secret: SEALED, expiresAt: LATER } });
        const confirm = { expect: account('twice'), totp: { secret: SEALED, lastStep: 7, now: NOW }, recoveryCodes: ['d1'] };

        expect(await users.updateFactors('twice', confirm)).toBe(true);
        expect(await users.updateFactors('twice', confirm)).toBe(false);
        expect((await mfaBack('twice'))?.totp).toEqual({ secret: SEALED, lastStep: 7 });
      });

      it('records a step only while TOTP is on and the step is later than the last one used', async () => {
        await withTotp('stepper', 100);
        await users.create(user('steppless'));
        await users.updateFactors('steppless', { expect: account('steppless'), pendingTotp: { secret: SEALED, expiresAt: LATER } });
        const step = (n: number) => ({ expect: account('stepper', 1), step: n });

        const results = [
          await users.updateFactors('stepper', step(100)),
          await users.updateFactors('stepper', step(99)),
          await users.updateFactors('stepper', step(101)),
          await users.updateFactors('stepper', step(101)),
          await users.updateFactors('stepper', step(100)),
          await users.updateFactors('steppless', { expect: account('steppless'), step: 1 }),
        ];

        expect(results).toEqual([false, false, true, false, false, false]);
        expect((await mfaBack('stepper'))?.totp).toEqual({ secret: SEALED, lastStep: 101 });
        expect((await mfaBack('steppless'))?.totp).toBeNull();
      });

      it('lets exactly one of 10 concurrent uses of one step win', async () => {
        await withTotp('steprace', 100);

        const results = await Promise.all(
          Array.from({ length: 10 }, () => users.updateFactors('steprace', { expect: account('steprace', 1), step: 101 })),
        );

        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('spends a recovery code once; the last one spent leaves no attribute and recoveryCodes []', async () => {
        await withTotp('coder', 100, ['digest-a', 'digest-b']);
        const spend = (code: string) => users.updateFactors('coder', { expect: account('coder', 1), recoveryCode: code });

        expect(await spend('digest-a')).toBe(true);
        expect((await mfaBack('coder'))?.recoveryCodes).toEqual(['digest-b']);
        expect(await spend('digest-a')).toBe(false);
        expect(await spend('digest-unknown')).toBe(false);
        expect(await spend('digest-b')).toBe(true);

        expect(await rawItem('coder')).not.toHaveProperty('recoveryCodes');
        expect(await mfaBack('coder')).toMatchObject({ totp: { secret: SEALED, lastStep: 100 }, recoveryCodes: [] });
        expect(await spend('digest-b')).toBe(false);
      });

      it('lets exactly one of 10 concurrent uses of one recovery code win', async () => {
        await withTotp('coderace', 100, ['digest-a', 'digest-b']);

        const results = await Promise.all(
          Array.from({ length: 10 }, () => users.updateFactors('coderace', { expect: account('coderace', 1), recoveryCode: 'digest-a' })),
        );

        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await mfaBack('coderace'))?.recoveryCodes).toEqual(['digest-b']);
      });

      it('disables with a recovery code: the code spent and the set removed in one write (both on one attribute, no store error)', async () => {
        await withTotp('offcode', 100, ['digest-a', 'digest-b']);
        const disable = (code: string) => ({
          expect: account('offcode', 1),
          recoveryCode: code,
          totp: null,
          recoveryCodes: null,
          bump: true,
        });

        expect(await users.updateFactors('offcode', disable('digest-unknown'))).toBe(false);
        expect((await mfaBack('offcode'))?.totp).not.toBeNull();
        expect(await users.updateFactors('offcode', disable('digest-a'))).toBe(true);

        expect(await users.find('offcode')).toMatchObject({ credentialVersion: 2 });
        // Nothing of TOTP is left: the account reads as one that never had a factor.
        expect(await mfaBack('offcode')).toBeUndefined();
        const item = await rawItem('offcode');
        for (const attribute of ['totpSecret', 'totpLastStep', 'totpPending', 'totpPendingExpiresAt', 'recoveryCodes']) {
          expect(item).not.toHaveProperty(attribute);
        }
      });

      it('disables with a code: the step checked (a used one refused, nothing written) while TOTP goes', async () => {
        await withTotp('offstep', 100);
        await users.updateFactors('offstep', { expect: account('offstep', 1), passkeys: 1 });
        const disable = (step: number) => ({ expect: account('offstep', 1), step, totp: null, recoveryCodes: null, bump: true });
        const before = await rawItem('offstep');

        expect(await users.updateFactors('offstep', disable(100))).toBe(false);
        expect(await rawItem('offstep')).toEqual(before);
        expect(await users.updateFactors('offstep', disable(101))).toBe(true);

        expect(await mfaBack('offstep')).toEqual({
          totp: null,
          pendingTotp: null,
          recoveryCodes: [],
          passkeys: 1,
          userHandle: null,
          mfaSpentAt: 0,
        });
        // Retried after it landed: TOTP is off and the version moved on.
        expect(await users.updateFactors('offstep', disable(101))).toBe(false);
      });

      it('refuses to turn TOTP off when it is off', async () => {
        await users.create(user('alreadyoff'));

        expect(await users.updateFactors('alreadyoff', { expect: account('alreadyoff'), totp: null, recoveryCodes: null })).toBe(false);
      });

      it('answers false (no store error) for a step with an enrolment, or an enrolment with TOTP off: they cannot both hold', async () => {
        await withTotp('contra', 100);
        await users.create(user('contra2'));

        const both = { expect: account('contra', 1), step: 101, totp: { secret: SEALED, lastStep: 101, now: NOW } };
        const pendingAndOff = { expect: account('contra2'), pendingTotp: { secret: SEALED, expiresAt: LATER }, totp: null };

        await expect(users.updateFactors('contra', both)).resolves.toBe(false);
        await expect(users.updateFactors('contra2', pendingAndOff)).resolves.toBe(false);
        expect((await mfaBack('contra'))?.totp).toEqual({ secret: SEALED, lastStep: 100 });
        expect(await users.find('contra2')).not.toHaveProperty('mfa');
      });

      it('replaces the recovery codes (the old ones stop working); null or [] leaves none', async () => {
        await withTotp('replacer', 100, ['digest-a', 'digest-b']);

        expect(await users.updateFactors('replacer', { expect: account('replacer', 1), recoveryCodes: ['digest-c', 'digest-d', 'digest-e'], bump: true })).toBe(true);
        expect((await mfaBack('replacer'))?.recoveryCodes).toEqual(['digest-c', 'digest-d', 'digest-e']);
        expect(await users.updateFactors('replacer', { expect: account('replacer', 2), recoveryCode: 'digest-a' })).toBe(false);

        expect(await users.updateFactors('replacer', { expect: account('replacer', 2), recoveryCodes: [] })).toBe(true);
        expect((await mfaBack('replacer'))?.recoveryCodes).toEqual([]);
        expect(await users.updateFactors('replacer', { expect: account('replacer', 2), recoveryCodes: ['digest-f'] })).toBe(true);
        expect(await users.updateFactors('replacer', { expect: account('replacer', 2), recoveryCodes: null })).toBe(true);
        expect(await rawItem('replacer')).not.toHaveProperty('recoveryCodes');
        expect((await mfaBack('replacer'))?.totp).not.toBeNull();
      });

      it('spends a recovery code while replacing the set: the code must still be in the old set', async () => {
        await withTotp('respend', 100, ['digest-a']);

        expect(await users.updateFactors('respend', { expect: account('respend', 1), recoveryCode: 'digest-x', recoveryCodes: ['digest-n'] })).toBe(false);
        expect(await users.updateFactors('respend', { expect: account('respend', 1), recoveryCode: 'digest-a', recoveryCodes: ['digest-n'] })).toBe(true);
        expect((await mfaBack('respend'))?.recoveryCodes).toEqual(['digest-n']);
      });

      it('counts passkeys one more or fewer', async () => {
        await users.create(user('keys'));
        const by = (passkeys: 1 | -1) => users.updateFactors('keys', { expect: account('keys'), passkeys });

        expect(await by(1)).toBe(true);
        expect((await mfaBack('keys'))?.passkeys).toBe(1);
        expect(await by(1)).toBe(true);
        expect(await by(-1)).toBe(true);
        expect((await mfaBack('keys'))?.passkeys).toBe(1);
        expect(await by(-1)).toBe(true);
        expect((await mfaBack('keys'))?.passkeys).toBe(0);
      });

      it('never counts below zero: one fewer at zero stays zero, so the next passkey counts as one', async () => {
        await users.create(user('drift'));
        const by = (passkeys: 1 | -1) => users.updateFactors('drift', { expect: account('drift'), passkeys });

        expect(await by(-1)).toBe(true);
        // No count stored, not -1: the account reads as one without passkeys.
        expect(await rawItem('drift')).not.toHaveProperty('passkeyCount');
        expect((await mfaBack('drift'))?.passkeys ?? 0).toBe(0);
        expect(await by(1)).toBe(true);
        expect((await mfaBack('drift'))?.passkeys).toBe(1);
        expect((await rawItem('drift'))?.passkeyCount).toBe(1);
        // The other parts of the change still hold it to their rules.
        expect(await users.updateFactors('drift', { expect: account('drift', 5), passkeys: -1 })).toBe(false);
      });

      it('bumps the credential version (from an item without it, too)', async () => {
        await client.send(
          new PutCommand({ TableName: tableName, Item: { username: 'bumper', name: 'Old', password: 'h', uid: 'uid-of-bumper' } }),
        );

        expect(await users.updateFactors('bumper', { expect: account('bumper', 0), bump: true })).toBe(true);
        expect(await users.updateFactors('bumper', { expect: account('bumper', 1), bump: true })).toBe(true);
        expect(await users.updateFactors('bumper', { expect: account('bumper', 1), bump: true })).toBe(false);
        expect((await users.find('bumper'))?.credentialVersion).toBe(2);
      });

      it('completes a step-up login: the lease and expired ones go, others stay, failures reset, the token spent', async () => {
        await withTotp('stepup', 100);
        await users.openAttempt('stepup', lease('f1'));
        await users.recordFailure('stepup', 'f1', { at: NOW, expired: [] });
        await users.openAttempt('stepup', lease('dead', NOW - 1));
        await users.openAttempt('stepup', lease('other'));
        await users.openAttempt('stepup', lease('mine'));

        const done = await users.updateFactors('stepup', {
          expect: account('stepup', 1),
          step: 101,
          login: { leaseId: 'mine', expired: ['dead', 'mine'], mfaIssuedAt: NOW + 10 },
        });

        expect(done).toBe(true);
        const item = await rawItem('stepup');
        expect(item).toMatchObject({ loginFailures: 0, mfaSpentAt: NOW + 10, totpLastStep: 101, attempt_other: NOW + 5000 });
        expect(item).not.toHaveProperty('attempt_mine');
        expect(item).not.toHaveProperty('attempt_dead');
        expect(await mfaBack('stepup')).toMatchObject({ mfaSpentAt: NOW + 10, totp: { lastStep: 101 } });
      });

      it('refuses a step-up token issued at or before the last one spent, and a retried login write', async () => {
        await withTotp('spender', 100, ['digest-a', 'digest-b', 'digest-c']);
        const login = (issuedAt: number, code: string) =>
          users.updateFactors('spender', {
            expect: account('spender', 1),
            recoveryCode: code,
            login: { leaseId: `l-${code}`, expired: [], mfaIssuedAt: issuedAt },
          });
        await users.openAttempt('spender', lease('l-digest-a'));

        expect(await login(NOW, 'digest-a')).toBe(true);
        expect(await login(NOW, 'digest-a')).toBe(false);
        expect(await login(NOW, 'digest-b')).toBe(false);
        expect(await login(NOW - 1, 'digest-b')).toBe(false);
        expect((await mfaBack('spender'))?.recoveryCodes).toEqual(['digest-b', 'digest-c']);
        expect(await login(NOW + 1, 'digest-b')).toBe(true);
        expect(await mfaBack('spender')).toMatchObject({ mfaSpentAt: NOW + 1, recoveryCodes: ['digest-c'] });
      });

      it('lets one code serve once when a step-up login and a disable race with it: exactly one write holds', async () => {
        await withTotp('racer-mfa', 100, ['digest-a']);
        await users.openAttempt('racer-mfa', lease('r1'));

        const [login, disable] = await Promise.all([
          users.updateFactors('racer-mfa', {
            expect: account('racer-mfa', 1),
            recoveryCode: 'digest-a',
            login: { leaseId: 'r1', expired: [], mfaIssuedAt: NOW },
          }),
          users.updateFactors('racer-mfa', {
            expect: account('racer-mfa', 1),
            recoveryCode: 'digest-a',
            totp: null,
            recoveryCodes: null,
            bump: true,
          }),
        ]);

        expect([login, disable].filter(Boolean)).toHaveLength(1);
        expect(await rawItem('racer-mfa')).not.toHaveProperty('recoveryCodes');
      });

      it('completes a login whose own lease is also among the expired ones without a store error', async () => {
        await withTotp('overdue-mfa', 100);
        await users.openAttempt('overdue-mfa', lease('o1', NOW - 1));

        const done = users.updateFactors('overdue-mfa', {
          expect: account('overdue-mfa', 1),
          step: 101,
          login: { leaseId: 'o1', expired: ['o1', 'o1'], mfaIssuedAt: NOW },
        });

        await expect(done).resolves.toBe(true);
      });

      it('ensureUserHandle sets the handle once, returns the existing one after, and null for another account', async () => {
        await users.create(user('handled'));

        expect(await users.ensureUserHandle('handled', 'uid-of-handled', 'handle-1')).toBe('handle-1');
        expect(await users.ensureUserHandle('handled', 'uid-of-handled', 'handle-2')).toBe('handle-1');
        expect(await users.ensureUserHandle('handled', 'uid-of-someone-else', 'handle-3')).toBeNull();
        expect(await users.ensureUserHandle('ghost-handle', 'uid-of-ghost-handle', 'handle-4')).toBeNull();
        expect(await users.ensureUserHandle('é'.repeat(1500), 'uid', 'handle-5')).toBeNull();

        expect(await mfaBack('handled')).toEqual({
          totp: null,
          pendingTotp: null,
          recoveryCodes: [],
          passkeys: 0,
          userHandle: 'handle-1',
          mfaSpentAt: 0,
        });
        expect(await rawItem('ghost-handle')).toBeUndefined();
      });

      it('gives 8 concurrent ensureUserHandle calls one handle', async () => {
        await users.create(user('handlerace'));

        const handles = await Promise.all(
          Array.from({ length: 8 }, (_, i) => users.ensureUserHandle('handlerace', 'uid-of-handlerace', `h${i}`)),
        );

        expect(new Set(handles).size).toBe(1);
        expect((await mfaBack('handlerace'))?.userHandle).toBe(handles[0]);
      });

      it('keeps the user handle and passkey count when TOTP goes off', async () => {
        await withTotp('keeper-mfa', 100);
        await users.ensureUserHandle('keeper-mfa', 'uid-of-keeper-mfa', 'handle-k');
        await users.updateFactors('keeper-mfa', { expect: account('keeper-mfa', 1), passkeys: 1 });

        expect(await users.updateFactors('keeper-mfa', { expect: account('keeper-mfa', 1), step: 101, totp: null, recoveryCodes: null, bump: true })).toBe(true);
        expect(await mfaBack('keeper-mfa')).toEqual({
          totp: null,
          pendingTotp: null,
          recoveryCodes: [],
          passkeys: 1,
          userHandle: 'handle-k',
          mfaSpentAt: 0,
        });
      });
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
