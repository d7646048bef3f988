// SessionStore on DynamoDB: key (uid, sid), so a user's sessions are one Query and a check is one GetItem.
// `expiresAt` (epoch seconds) is the table's TTL attribute: DynamoDB deletes ended sessions for cleanup,
// while expiry itself is enforced in code (TTL deletion can lag by days).
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoClient,
} from './client';
import type { Session, SessionStore } from '../../domain/ports';
import { AppError } from '../../domain/errors';
import { AGAIN, ATTEMPTS, retry } from '../../domain/retry';
import { callOptions, conditionalWrite, translated } from './store-errors';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type DynamoSessionStoreOptions = { client: DynamoClient; tableName: string; timeoutMs: number };

// Keys are ids we generated; anything else in a token cannot name a session.
const isId = (value: string) => value.length > 0 && value.length <= 64;

export const createDynamoSessionStore = (options: DynamoSessionStoreOptions): SessionStore => {
  const { client, tableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);

  return {
    create: (session) =>
      translated(async () => {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: toItem(session),
            ConditionExpression: 'attribute_not_exists(sid)',
          }),
          bounded(),
        );
      }),

    find: (uid, sid) =>
      !isId(uid) || !isId(sid)
        ? Promise.resolve(null)
        : translated(async () => {
            const { Item } = await client.send(
              new GetCommand({ TableName: tableName, Key: { uid, sid }, ConsistentRead: true }),
              bounded(),
            );
            return Item === undefined ? null : toSession(Item);
          }),

    rotate: (uid, sid, expectedHash, next) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { uid, sid },
            UpdateExpression: 'SET refreshHash = :hash, rotatedAt = :at, generation = :generation',
            ConditionExpression: 'refreshHash = :expected',
            ExpressionAttributeValues: {
              ':hash': next.refreshHash,
              ':at': next.rotatedAt,
              ':generation': next.generation,
              ':expected': expectedHash,
            },
          }),
          bounded(),
        ),
      ),

    remove: (uid, sid) =>
      !isId(uid) || !isId(sid)
        ? Promise.resolve()
        : translated(async () => {
            await client.send(new DeleteCommand({ TableName: tableName, Key: { uid, sid } }), bounded());
          }),

    removeAll: (uid) => removeAllBut(uid, undefined),

    removeOthers: (uid, keepSid) => removeAllBut(uid, keepSid),

    carryOver: (uid, sid, credentialVersion) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { uid, sid },
            UpdateExpression: 'SET credentialVersion = :version',
            // From the version just before only (a retry finds it there already): a session an earlier change
            // ended, still being removed, is never revived.
            ConditionExpression: 'attribute_exists(sid) AND (credentialVersion = :previous OR credentialVersion = :version)',
            ExpressionAttributeValues: { ':version': credentialVersion, ':previous': credentialVersion - 1 },
          }),
          bounded(),
        ),
      ),
  };

  function removeAllBut(uid: string, keepSid: string | undefined) {
    return translated(async () => {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'uid = :uid',
              ExpressionAttributeValues: { ':uid': uid },
              ProjectionExpression: 'sid',
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
            bounded(),
          );
          const sids = (page.Items ?? []).map((item) => String(item.sid)).filter((sid) => sid !== keepSid);
          for (let i = 0; i < sids.length; i += 25) await deleteBatch(uid, sids.slice(i, i + 25));
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined);
      });
  }

  // BatchWriteItem may leave items unprocessed under load: retry those a few times, then fail loudly.
  async function deleteBatch(uid: string, sids: string[]) {
    let requests = sids.map((sid) => ({ DeleteRequest: { Key: { uid, sid } } }));
    await retry({ attempts: ATTEMPTS.cleanUp, pause: async (turn) => { await sleep(20 * 2 ** turn); } }, async () => {
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }), bounded());
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      return requests.length === 0 ? true : AGAIN;
    });
    // Items left unprocessed are DynamoDB's throttling: the store is busy, try again shortly.
    if (requests.length > 0) {
      throw new AppError('service_unavailable', 'the store is busy, try again shortly', {
        cause: new Error(`could not delete ${requests.length} sessions`),
      });
    }
  }
};

const toItem = (session: Session) => ({
  ...session,
  // The TTL attribute must be epoch seconds.
  expiresAt: Math.ceil(session.expiresAt / 1000),
});

const toSession = (item: Record<string, unknown>): Session => ({
  uid: String(item.uid),
  sid: String(item.sid),
  username: String(item.username),
  name: typeof item.name === 'string' ? item.name : '',
  createdAt: Number(item.createdAt),
  expiresAt: Number(item.expiresAt) * 1000,
  refreshHash: String(item.refreshHash),
  rotatedAt: Number(item.rotatedAt),
  generation: Number(item.generation),
  credentialVersion: Number(item.credentialVersion ?? 0),
});
