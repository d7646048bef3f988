// PasskeyStore on DynamoDB (`user-passkeys`): partition key `id` (the credential id) and a global secondary index
// `by-uid` (partition `uid`, sort `createdAt`) for an account's list.
//
// Why this way round: a login looks a passkey up by credential id, and that read must be strongly consistent (a
// passkey removed a moment ago must not sign in), which only the table's own key gives: GSI reads are eventually
// consistent, and DynamoDB refuses ConsistentRead on them. Keying the table by id also makes "a credential id is
// registered once, across all accounts" one conditional PutItem. Only the list (GET /me/passkeys,
// excludeCredentials) and account deletion read the index, where a moment's lag does no harm.
// Both test stores, dynalite and DynamoDB Local, support GSIs on PAY_PER_REQUEST tables (the contract tests run
// on both).
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoClient } from './client';
import type { Passkey, PasskeyStore, PasskeyTransport } from '../../domain/passkey-ports';
import { callOptions, conditionalWrite, translated } from './store-errors';

export type DynamoPasskeyStoreOptions = { client: DynamoClient; tableName: string; timeoutMs: number };

/** The index `listFor` and `removeAllFor` query (ensurePasskeysTable creates it). */
export const PASSKEYS_BY_UID_INDEX = 'by-uid';

// WebAuthn credential ids are at most 1023 bytes: 1364 base64url characters. Anything else cannot name a passkey,
// and would make a key DynamoDB refuses (an error) rather than an unknown passkey.
const isCredentialId = (value: string) => /^[A-Za-z0-9_-]{1,1364}$/.test(value);
// uids are ours (random ids).
const isUid = (value: string) => value.length > 0 && value.length <= 256;

export const createDynamoPasskeyStore = (options: DynamoPasskeyStoreOptions): PasskeyStore => {
  const { client, tableName: TableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);

  /** Every page of the account's passkeys from the index, oldest first. */
  const queryFor = async (uid: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName,
          IndexName: PASSKEYS_BY_UID_INDEX,
          KeyConditionExpression: 'uid = :uid',
          ExpressionAttributeValues: { ':uid': uid },
          ExclusiveStartKey,
        }),
        bounded(),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey !== undefined);
    return items;
  };

  /** Deletes one passkey if it is `uid`'s; false when it is not (or is gone). */
  const removeOwn = (id: string, uid: string) =>
    conditionalWrite(() =>
      client.send(
        new DeleteCommand({
          TableName,
          Key: { id },
          ConditionExpression: 'uid = :uid',
          ExpressionAttributeValues: { ':uid': uid },
        }),
        bounded(),
      ),
    );

  return {
    add: (passkey) =>
      conditionalWrite(() =>
        client.send(
          new PutCommand({
            TableName,
            Item: toItem(passkey),
            // A free id; or our own write retried after its answer was lost (same account, key and time), which
            // writes the same item again. Never another account's credential id.
            ConditionExpression: 'attribute_not_exists(id) OR (uid = :uid AND publicKey = :publicKey AND createdAt = :createdAt)',
            ExpressionAttributeValues: { ':uid': passkey.uid, ':publicKey': passkey.publicKey, ':createdAt': passkey.createdAt },
          }),
          bounded(),
        ),
      ),

    find: (id) =>
      !isCredentialId(id)
        ? Promise.resolve(null)
        : translated(async () => {
            const { Item } = await client.send(new GetCommand({ TableName, Key: { id }, ConsistentRead: true }), bounded());
            return Item === undefined ? null : toPasskey(Item);
          }),

    listFor: (uid) => (!isUid(uid) ? Promise.resolve([]) : translated(async () => (await queryFor(uid)).map(toPasskey))),

    recordUse: (id, uid, use) =>
      !isCredentialId(id) || !isUid(uid)
        ? Promise.resolve(false)
        : conditionalWrite(() =>
            client.send(
              new UpdateCommand({
                TableName,
                Key: { id },
                UpdateExpression: `SET #counter = :counter, lastUsedAt = :at, useId = :use${use.backedUp === undefined ? '' : ', backedUp = :backedUp'}`,
                // `useId = :use`: this very call, retried after its answer was lost, recognises its own write (a
                // fresh id per call, so no other use can match it).
                ConditionExpression: 'uid = :uid AND (#counter = :expected OR useId = :use)',
                ExpressionAttributeNames: { '#counter': 'counter' },
                ExpressionAttributeValues: {
                  ':counter': use.counter,
                  ':at': use.lastUsedAt,
                  ':use': randomUUID(),
                  ':uid': uid,
                  ':expected': use.expectedCounter,
                  ...(use.backedUp === undefined ? {} : { ':backedUp': use.backedUp }),
                },
              }),
              bounded(),
            ),
          ),

    // (A retried delete whose first answer was lost finds nothing and says false: the passkey is gone either way.)
    remove: (id, uid) => (!isCredentialId(id) || !isUid(uid) ? Promise.resolve(false) : removeOwn(id, uid)),

    removeAllFor: (uid) =>
      !isUid(uid)
        ? Promise.resolve()
        : translated(async () => {
            // An account has a handful of passkeys: one conditional delete each (BatchWriteItem has no condition, and
            // the condition keeps a stale index entry from deleting a credential id that is now someone else's).
            const items = await queryFor(uid);
            await Promise.all(items.map((item) => removeOwn(String(item.id), uid)));
          }),
  };
};

// `lastUsedAt` is left out until the first use, rather than stored as NULL.
const toItem = (passkey: Passkey): Record<string, unknown> => {
  const { lastUsedAt, ...rest } = passkey;
  return { ...rest, transports: [...passkey.transports], ...(lastUsedAt === null ? {} : { lastUsedAt }) };
};

const toPasskey = (item: Record<string, unknown>): Passkey => ({
  id: String(item.id),
  uid: String(item.uid),
  username: String(item.username),
  userHandle: String(item.userHandle),
  publicKey: String(item.publicKey),
  counter: Number(item.counter ?? 0),
  transports: Array.isArray(item.transports) ? (item.transports.map(String) as PasskeyTransport[]) : [],
  deviceType: item.deviceType === 'multiDevice' ? 'multiDevice' : 'singleDevice',
  backedUp: item.backedUp === true,
  name: typeof item.name === 'string' ? item.name : '',
  createdAt: String(item.createdAt),
  lastUsedAt: typeof item.lastUsedAt === 'string' ? item.lastUsedAt : null,
});
