// ThrottleStore on DynamoDB: one item per counter, key `key`; single-item conditional writes only.
// Names are stored as keyed digests (a "username" may be a password typed in the wrong field). `expiresAt`
// (epoch seconds) is the table's TTL attribute, for cleanup; expiry itself is checked in code.
import { GetCommand, PutCommand, UpdateCommand, type DynamoClient } from './client';
import type { ThrottleStore } from '../../domain/ports';
import { callOptions, conditionalWrite, translated } from './store-errors';

export type DynamoThrottleStoreOptions = {
  client: DynamoClient;
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
        : {
            failures: Number(item.failures),
            lastFailureAt: Number(item.lastFailureAt),
            version: Number(item.version),
            ...(typeof item.lastAttempt === 'string' ? { lastAttempt: item.lastAttempt } : {}),
          };
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

    countFailure: (username, at, when, expiresAt, attempt) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { key: userKey(username) },
            UpdateExpression:
              'SET #failures = if_not_exists(#failures, :zero) + :one, #last = :at, #version = if_not_exists(#version, :zero) + :one, #expires = :expires, #attempt = :attempt',
            // A retried call whose first try landed finds its own attempt there and counts nothing.
            ConditionExpression:
              '(attribute_not_exists(#key) OR (#failures < :below AND #last > :since)) AND (attribute_not_exists(#attempt) OR #attempt <> :attempt)',
            ExpressionAttributeNames: {
              '#key': 'key',
              '#failures': 'failures',
              '#last': 'lastFailureAt',
              '#version': 'version',
              '#expires': 'expiresAt',
              '#attempt': 'lastAttempt',
            },
            ExpressionAttributeValues: {
              ':attempt': attempt,
              ':zero': 0,
              ':one': 1,
              ':at': at,
              ':below': when.below,
              ':since': when.since,
              ':expires': seconds(expiresAt),
            },
          }),
          bounded(),
        ),
      ),

    async windowCount(key) {
      const item = await read(windowKey(key));
      return item?.events instanceof Set ? item.events.size : 0;
    },

    addToWindow(key, id, expiresAt, cap) {
      // A string set: adding an id twice (an SDK retry of this same call) counts it once, and is still added. A
      // full window stays as it is (the condition fails, false): it cannot grow towards DynamoDB's item size limit.
      return conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { key: windowKey(key) },
            UpdateExpression: 'ADD #events :event SET #expires = :expires',
            ConditionExpression: 'attribute_not_exists(#events) OR size(#events) < :cap OR contains(#events, :id)',
            ExpressionAttributeNames: { '#events': 'events', '#expires': 'expiresAt' },
            ExpressionAttributeValues: { ':event': new Set([id]), ':id': id, ':expires': seconds(expiresAt), ':cap': cap },
          }),
          bounded(),
        ),
      );
    },

    async removeFromWindow(key, id) {
      // Nothing to take back from a window that is not there.
      await conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { key: windowKey(key) },
            UpdateExpression: 'DELETE #events :event',
            ConditionExpression: 'attribute_exists(#events)',
            ExpressionAttributeNames: { '#events': 'events' },
            ExpressionAttributeValues: { ':event': new Set([id]) },
          }),
          bounded(),
        ),
      );
    },
  };
};
