// ThrottleStore on DynamoDB: one item per counter, key `key`; single-item conditional writes only.
// Names are stored as keyed digests (a "username" may be a password typed in the wrong field). `expiresAt`
// (epoch seconds) is the table's TTL attribute, for cleanup; expiry itself is checked in code.
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ThrottleStore } from '../../domain/ports';
import { callOptions, conditionalWrite, isConditionFailure, translated, translateStoreError } from './store-errors';

export type DynamoThrottleStoreOptions = {
  client: DynamoDBDocumentClient;
  tableName: string;
  timeoutMs: number;
  /** The keyed digest names are stored under. */
  nameDigest(name: string): string;
};

const windowKey = (key: string) => `client#${key}`;
const seconds = (epochMs: number) => Math.ceil(epochMs / 1000);

export const createDynamoThrottleStore = (options: DynamoThrottleStoreOptions): ThrottleStore => {
  const { client, tableName, timeoutMs } = options;
  const userKey = (username: string) => `user#${options.nameDigest(username)}`;
  const bounded = () => callOptions(timeoutMs);
  const read = async (key: string) =>
    (
      await translated(() =>
        client.send(new GetCommand({ TableName: tableName, Key: { key }, ConsistentRead: true }), bounded()),
      )
    ).Item;

  return {
    async readFailures(username) {
      const item = await read(userKey(username));
      return item === undefined
        ? null
        : { failures: Number(item.failures), lastFailureAt: Number(item.lastFailureAt), version: Number(item.version) };
    },

    writeFailures: (username, expectedVersion, next, expiresAt) =>
      conditionalWrite(() =>
        client.send(
          new PutCommand({
            TableName: tableName,
            Item: { key: userKey(username), ...next, version: (expectedVersion ?? 0) + 1, expiresAt: seconds(expiresAt) },
            ...(expectedVersion === null
              ? { ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } }
              : {
                  ConditionExpression: '#version = :version',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':version': expectedVersion },
                }),
          }),
          bounded(),
        ),
      ),

    async clearFailures(username) {
      await translated(() =>
        client.send(new DeleteCommand({ TableName: tableName, Key: { key: userKey(username) } }), bounded()),
      );
    },


    async hitWindow(key, now, windowMs) {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        try {
          // Count in the current window...
          const { Attributes } = await client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { key: windowKey(key) },
              UpdateExpression: 'SET #count = #count + :one',
              ConditionExpression: 'attribute_exists(#key) AND #start > :cutoff',
              ExpressionAttributeNames: { '#key': 'key', '#count': 'count', '#start': 'windowStart' },
              ExpressionAttributeValues: { ':one': 1, ':cutoff': now - windowMs },
              ReturnValues: 'ALL_NEW',
            }),
            bounded(),
          );
          return { count: Number(Attributes?.count), windowStart: Number(Attributes?.windowStart) };
        } catch (error) {
          if (!isConditionFailure(error)) throw translateStoreError(error);
        }
        // ...or open a new one, unless another request just did (then count in it on the next turn).
        const opened = await conditionalWrite(() =>
          client.send(
            new PutCommand({
              TableName: tableName,
              Item: { key: windowKey(key), count: 1, windowStart: now, expiresAt: seconds(now + windowMs) },
              ConditionExpression: 'attribute_not_exists(#key) OR #start <= :cutoff',
              ExpressionAttributeNames: { '#key': 'key', '#start': 'windowStart' },
              ExpressionAttributeValues: { ':cutoff': now - windowMs },
            }),
            bounded(),
          ),
        );
        if (opened) return { count: 1, windowStart: now };
      }
      throw translateStoreError(new Error('throttle window kept changing'));
    },

    async refundWindow(key, windowStart) {
      // Only from the window it was counted in; a new window owes nothing.
      await conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { key: windowKey(key) },
            UpdateExpression: 'SET #count = #count - :one',
            ConditionExpression: '#start = :start AND #count > :zero',
            ExpressionAttributeNames: { '#count': 'count', '#start': 'windowStart' },
            ExpressionAttributeValues: { ':one': 1, ':zero': 0, ':start': windowStart },
          }),
          bounded(),
        ),
      );
    },
  };
};
