// UserTransferStore on DynamoDB, for the import and export commands: conditional writes of whole users, and a scan.
import { AppError } from '../../domain/errors';
import type { UserTransferStore } from '../../domain/import-users';
import type { UserRecord } from '../../domain/ports';
import { BatchGetCommand, ScanCommand, UpdateCommand, type DynamoClient } from './client';
import { callOptions, isConditionFailure, translated, translateStoreError } from './store-errors';
import { putNewUser } from './user-store';

export type DynamoUserTransferOptions = { client: DynamoClient; tableName: string; timeoutMs: number };

export type DynamoUserTransfer = UserTransferStore & {
  /** Every user, a page at a time (a Scan: eventually consistent, so a user written during it may be missed). */
  scan(): AsyncIterable<UserRecord[]>;
};

// The item shape is the user store's (see user-store.ts): the hash lives in `password`, as the tutorial stored it.
export const createDynamoUserTransfer = (options: DynamoUserTransferOptions): DynamoUserTransfer => {
  const { client, tableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);

  return {
    async findExisting(keys) {
      if (keys.length === 0) return undefined;
      const { Responses, UnprocessedKeys } = await translated(() =>
        client.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: { Keys: keys.map((username) => ({ username })), ProjectionExpression: 'username', ConsistentRead: true },
            },
          }),
          bounded(),
        ),
      );
      // Keys left unread are DynamoDB's throttling: the store is busy, the use case tries again shortly.
      if (Object.keys(UnprocessedKeys ?? {}).length > 0) {
        throw new AppError('service_unavailable', 'the store left keys unread; try again shortly');
      }
      const found = new Set((Responses?.[tableName] ?? []).map((item) => String(item.username)));
      return keys.find((key) => found.has(key));
    },

    insert: (user, uid) => putNewUser(client, tableName, { ...user, uid, credentialVersion: 0 }, bounded()),

    async overwrite(key, user, uid) {
      try {
        const { Attributes } = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username: key },
            UpdateExpression:
              'SET #name = :name, #password = :password, #uid = if_not_exists(#uid, :uid), ' +
              '#version = if_not_exists(#version, :zero) + :one' +
              (user.createdAt === null ? '' : ', #createdAt = if_not_exists(#createdAt, :createdAt)'),
            ConditionExpression: 'attribute_exists(username)',
            ExpressionAttributeNames: {
              '#name': 'name',
              '#password': 'password',
              '#uid': 'uid',
              '#version': 'credentialVersion',
              ...(user.createdAt === null ? {} : { '#createdAt': 'createdAt' }),
            },
            ExpressionAttributeValues: {
              ':name': user.name,
              ':password': user.passwordHash,
              ':uid': uid,
              ':zero': 0,
              ':one': 1,
              ...(user.createdAt === null ? {} : { ':createdAt': user.createdAt }),
            },
            ReturnValues: 'ALL_OLD',
          }),
          bounded(),
        );
        return { previousUid: typeof Attributes?.uid === 'string' ? Attributes.uid : null };
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw translateStoreError(error);
      }
    },

    async *scan() {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await translated(() =>
          client.send(
            new ScanCommand({
              TableName: tableName,
              ProjectionExpression: 'username, #name, #password, createdAt',
              ExpressionAttributeNames: { '#name': 'name', '#password': 'password' },
              ExclusiveStartKey: startKey,
            }),
            bounded(),
          ),
        );
        yield (page.Items ?? []).map(toUser);
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    },
  };
};

const toUser = (item: Record<string, unknown>): UserRecord => ({
  username: String(item.username),
  name: typeof item.name === 'string' ? item.name : '',
  passwordHash: typeof item.password === 'string' ? item.password : '',
  createdAt: typeof item.createdAt === 'string' ? item.createdAt : null,
  uid: null,
  credentialVersion: 0,
  // Addresses are not exported: an import brings names and hashes, and each account verifies its own address.
  email: null,
  emailVerified: false,
  pendingEmail: null,
});
