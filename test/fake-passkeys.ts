// An in-memory PasskeyStore with the DynamoDB adapter's rules (src/adapters/dynamodb/passkey-store.ts), for the
// passkey use-case tests: a credential id is one account's for good, a use is recorded only against the counter
// it was verified with, removal only by the owner. Each request yields to the event loop before it applies, so
// concurrent use cases really interleave.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Passkey, PasskeyStore } from '../src/domain/passkey-ports';

type PasskeyOp = keyof PasskeyStore;

export type FakePasskeyStore = PasskeyStore & {
  /** Requests per operation so far. */
  readonly calls: Partial<Record<PasskeyOp, number>>;
  /** Direct look at a stored passkey, bypassing the port (a copy). */
  peek(id: string): Passkey | undefined;
  /** Every stored passkey (copies), in the order added. */
  all(): Passkey[];
  /** Changes a stored passkey directly (another request's write, or a test's setup). */
  patch(id: string, change: Partial<Passkey>): void;
  /** Makes requests of `op` throw `error` until cleared (the store down); undefined clears it. */
  fail(op: PasskeyOp, error: Error | undefined): void;
};

// As the adapter: anything else cannot name a passkey.
const isCredentialId = (value: string) => /^[A-Za-z0-9_-]{1,1364}$/.test(value);

export const createPasskeyStore = (initial: readonly Passkey[] = []): FakePasskeyStore => {
  const rows = new Map<string, Passkey>(initial.map((passkey) => [passkey.id, { ...passkey }]));
  const calls: Partial<Record<PasskeyOp, number>> = {};
  const faults = new Map<PasskeyOp, Error>();
  const copy = (passkey: Passkey): Passkey => ({ ...passkey, transports: [...passkey.transports] });

  const request = async <T>(op: PasskeyOp, apply: () => T): Promise<T> => {
    calls[op] = (calls[op] ?? 0) + 1;
    await nextTurn();
    const fault = faults.get(op);
    if (fault !== undefined) throw fault;
    return apply();
  };
  const ownedBy = (id: string, uid: string) => rows.get(id)?.uid === uid;

  return {
    calls,
    add: (passkey) =>
      request('add', () => {
        const held = rows.get(passkey.id);
        // A free id, or our own write again (same account, key and time); never another account's id.
        if (held !== undefined && !(held.uid === passkey.uid && held.publicKey === passkey.publicKey && held.createdAt === passkey.createdAt)) {
          return false;
        }
        rows.set(passkey.id, copy(passkey));
        return true;
      }),
    find: (id) =>
      request('find', () => {
        const held = isCredentialId(id) ? rows.get(id) : undefined;
        return held === undefined ? null : copy(held);
      }),
    listFor: (uid) =>
      request('listFor', () =>
        [...rows.values()]
          .filter((passkey) => passkey.uid === uid)
          .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
          .map(copy),
      ),
    recordUse: (id, uid, use) =>
      request('recordUse', () => {
        const held = rows.get(id);
        if (held === undefined || held.uid !== uid || held.counter !== use.expectedCounter) return false;
        rows.set(id, {
          ...held,
          counter: use.counter,
          lastUsedAt: use.lastUsedAt,
          ...(use.backedUp === undefined ? {} : { backedUp: use.backedUp }),
        });
        return true;
      }),
    remove: (id, uid) =>
      request('remove', () => {
        if (!ownedBy(id, uid)) return false;
        rows.delete(id);
        return true;
      }),
    removeAllFor: (uid) =>
      request('removeAllFor', () => {
        for (const [id, passkey] of rows) if (passkey.uid === uid) rows.delete(id);
      }),
    peek: (id) => {
      const held = rows.get(id);
      return held === undefined ? undefined : copy(held);
    },
    all: () => [...rows.values()].map(copy),
    patch: (id, change) => {
      const held = rows.get(id);
      if (held === undefined) throw new Error(`no passkey ${id} to patch`);
      rows.set(id, { ...held, ...change });
    },
    fail: (op, error) => {
      if (error === undefined) faults.delete(op);
      else faults.set(op, error);
    },
  };
};
