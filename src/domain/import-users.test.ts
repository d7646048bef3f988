// importUsers and parseImportLine on an in-memory store: line numbers, duplicates, existing users, overwrite, dry run.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors';
import { exportLine, importUsers, parseImportLine, type ImportedUser, type ImportOptions, type UserTransferStore } from './import-users';

type Stored = ImportedUser & { uid: string | null; credentialVersion: number };

/** A user table with DynamoDB's one-item conditional semantics; every call yields first, so writes interleave. */
const fakeStore = (initial: Stored[] = []) => {
  const items = new Map(initial.map((user) => [user.username, { ...user }]));
  const writes: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failNext: string | undefined;
  const call = async <T>(op: string, work: () => T): Promise<T> => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await nextTurn();
    inFlight -= 1;
    if (failNext === op) {
      failNext = undefined;
      throw new AppError('internal_error', 'the store failed');
    }
    return work();
  };
  const store: UserTransferStore = {
    findExisting: (keys) => call('findExisting', () => keys.find((key) => items.has(key))),
    insert: (user, uid) =>
      call('insert', () => {
        writes.push(`insert ${user.username}`);
        if (items.has(user.username)) return false;
        items.set(user.username, { ...user, uid, credentialVersion: 0 });
        return true;
      }),
    overwrite: (key, user, uid) =>
      call('overwrite', () => {
        writes.push(`overwrite ${key}`);
        const item = items.get(key);
        if (item === undefined) return undefined;
        const previousUid = item.uid;
        items.set(key, {
          ...item,
          name: user.name,
          passwordHash: user.passwordHash,
          createdAt: item.createdAt ?? user.createdAt,
          uid: item.uid ?? uid,
          credentialVersion: item.credentialVersion + 1,
        });
        return { previousUid };
      }),
  };
  return {
    store,
    items,
    writes,
    maxInFlight: () => maxInFlight,
    failNextCall: (op: string) => (failNext = op),
  };
};

const HASH = '$2b$10$' + 'a'.repeat(53);
// The domain asks the hash adapter; here any bcrypt-shaped string is "bcrypt" and the rest refused.
const checkHash = (hash: string) => (hash.startsWith('$2b$') ? { format: 'bcrypt' } : { problem: 'unknown password hash format' });
const line = (username: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ username, name: `Name of ${username}`, passwordHash: HASH, ...extra });

const run = async (
  store: ReturnType<typeof fakeStore>,
  lines: string[],
  options: Partial<ImportOptions> = {},
  sessions: string[] = [],
) => {
  const problems: string[] = [];
  let ids = 0;
  const summary = await importUsers(
    {
      users: store.store,
      sessions: { removeAll: async (uid) => void sessions.push(uid) },
      ids: { newId: () => `uid-${(ids += 1)}` },
      timer: { sleep: async () => undefined },
      checkHash,
    },
    lines,
    { dryRun: false, overwrite: false, concurrency: 8, ...options },
    { problem: (n, message) => problems.push(`line ${n}: ${message}`) },
  );
  return { summary, problems };
};

describe('parseImportLine', () => {
  it('normalizes the username as registration does and keeps the checked fields', () => {
    // Act
    const parsed = parseImportLine(line('Ａda.Lovelace', { createdAt: '2020-02-02T10:00:00+01:00', extra: 1 }), checkHash);

    // Assess
    expect(parsed).toEqual({
      kind: 'user',
      user: { username: 'ada.lovelace', name: 'Name of Ａda.Lovelace', passwordHash: HASH, createdAt: '2020-02-02T09:00:00.000Z' },
      format: 'bcrypt',
      olderKeys: ['ａda.lovelace'],
    });
  });

  it.each([
    ['{"username": "ada"', 'not JSON'],
    ['["ada"]', 'not a JSON object'],
    [JSON.stringify({ username: 'ada', name: 'Ada' }), 'passwordHash must be a string'],
    [JSON.stringify({ username: 42, name: 'Ada', passwordHash: HASH }), 'username must be a string'],
    [line('ab'), 'username must be 3 to 64 letters, digits or . _ - @ +'],
    [line('pаypal'), 'username must be in one script'],
    [JSON.stringify({ username: 'ada', name: '\u200b', passwordHash: HASH }), 'name must be visible text'],
    [line('ada', { createdAt: 'yesterday' }), 'createdAt must be an ISO 8601 timestamp'],
    [line('ada', { passwordHash: 'md5$x$y' }), 'passwordHash: unknown password hash format'],
  ])('refuses %s: %s', (text, message) => {
    // Act
    const parsed = parseImportLine(text, checkHash);

    // Assess
    expect(parsed.kind === 'invalid' && parsed.problem).toContain(message);
  });

  it('reads back what exportLine writes', () => {
    // Prepare
    const text = exportLine({ username: 'ada', name: 'Ada', passwordHash: HASH, createdAt: '2026-01-01T00:00:00.000Z' });

    // Act
    const parsed = parseImportLine(text, checkHash);

    // Assess
    expect(parsed.kind === 'user' && parsed.user).toEqual({
      username: 'ada',
      name: 'Ada',
      passwordHash: HASH,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
  });
});

describe('importUsers', () => {
  it('reports each bad line by its number (counted from 1, blank lines too) and imports the rest', async () => {
    // Prepare
    const store = fakeStore();

    // Act
    const { summary, problems } = await run(store, [line('first'), '', 'oops', line('second'), line('x')]);

    // Assess
    expect(problems).toEqual([
      'line 3: not JSON',
      'line 5: username must be 3 to 64 letters, digits or . _ - @ +',
    ]);
    expect([...store.items.keys()].sort()).toEqual(['first', 'second']);
    expect(summary).toMatchObject({ lines: 5, created: 2, invalid: 2, duplicates: 0, formats: { bcrypt: 2 } });
  });

  it('keeps the first of two lines with one normalized name and reports the second', async () => {
    // Prepare
    const store = fakeStore();

    // Act
    const { summary, problems } = await run(store, [line('Alice', { name: 'First' }), line('ALICE', { name: 'Second' })]);

    // Assess
    expect(store.items.get('alice')?.name).toBe('First');
    expect(problems).toEqual(['line 2: duplicate of line 1 (both are "alice"): the first one is kept']);
    expect(summary).toMatchObject({ created: 1, duplicates: 1 });
  });

  it('skips an existing user and leaves it as it was', async () => {
    // Prepare
    const existing = { username: 'taken', name: 'Owner', passwordHash: 'theirs', createdAt: null, uid: 'u0', credentialVersion: 3 };
    const store = fakeStore([existing]);

    // Act
    const { summary, problems } = await run(store, [line('taken'), line('fresh')]);

    // Assess
    expect(store.items.get('taken')).toEqual(existing);
    expect(problems).toEqual([]);
    expect(summary).toMatchObject({ created: 1, skipped: 1, replaced: 0 });
  });

  it('treats an account stored under an older key of the name as existing (a new item would shadow it)', async () => {
    // Prepare: stored before the second NFKC pass, under the lower-cased name.
    const olderKey = 'J\u030cohnx'.normalize('NFKC').toLowerCase();
    const store = fakeStore([{ username: olderKey, name: 'Old', passwordHash: 'old', createdAt: null, uid: 'u1', credentialVersion: 0 }]);

    // Act
    const { summary } = await run(store, [line('J\u030cohnX')]);

    // Assess
    expect(olderKey).not.toBe('ǰohnx');
    expect(store.items.has('ǰohnx')).toBe(false);
    expect(summary).toMatchObject({ created: 0, skipped: 1 });
  });

  it('with overwrite, replaces name and hash, keeps the uid, bumps credentialVersion and ends its sessions', async () => {
    // Prepare
    const store = fakeStore([
      { username: 'taken', name: 'Owner', passwordHash: 'theirs', createdAt: '2001-01-01T00:00:00.000Z', uid: 'u0', credentialVersion: 3 },
    ]);
    const ended: string[] = [];

    // Act
    const { summary } = await run(store, [line('taken')], { overwrite: true }, ended);

    // Assess
    expect(store.items.get('taken')).toEqual({
      username: 'taken',
      name: 'Name of taken',
      passwordHash: HASH,
      createdAt: '2001-01-01T00:00:00.000Z',
      uid: 'u0',
      credentialVersion: 4,
    });
    expect(ended).toEqual(['u0']);
    expect(summary).toMatchObject({ replaced: 1, created: 0 });
  });

  it('in a dry run reads the store, writes nothing, and says what it would have done', async () => {
    // Prepare
    const store = fakeStore([{ username: 'taken', name: 'Owner', passwordHash: 'x', createdAt: null, uid: 'u0', credentialVersion: 0 }]);

    // Act
    const plain = await run(store, [line('taken'), line('fresh'), 'bad'], { dryRun: true });
    const overwriting = await run(store, [line('taken'), line('fresh')], { dryRun: true, overwrite: true });

    // Assess
    expect(store.writes).toEqual([]);
    expect(store.items.size).toBe(1);
    expect(plain.summary).toMatchObject({ created: 1, skipped: 1, invalid: 1 });
    expect(overwriting.summary).toMatchObject({ created: 1, replaced: 1 });
  });

  it('writes in parallel but never more than the concurrency at once', async () => {
    // Prepare
    const store = fakeStore();
    const lines = Array.from({ length: 50 }, (_, i) => line(`user${i}`));

    // Act
    const { summary } = await run(store, lines, { concurrency: 4 });

    // Assess
    expect(summary.created).toBe(50);
    expect(store.maxInFlight()).toBe(4);
  });

  it('reports a store failure as that line failing and goes on with the rest', async () => {
    // Prepare
    const store = fakeStore();
    store.failNextCall('insert');

    // Act
    const { summary, problems } = await run(store, [line('unlucky'), line('lucky')], { concurrency: 1 });

    // Assess
    expect(problems).toEqual(['line 1: internal_error: the store failed']);
    expect([...store.items.keys()]).toEqual(['lucky']);
    expect(summary).toMatchObject({ created: 1, failed: 1 });
  });
});
