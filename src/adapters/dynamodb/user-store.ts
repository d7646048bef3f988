// UserStore on DynamoDB, on the tutorial's table schema: key `username`, attributes `name`, `password`, `createdAt`.
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AppError } from '../../domain/errors';
import type { UserRecord, UserStore } from '../../domain/ports';
import { isConditionFailure, translateStoreError } from './store-errors';

export type DynamoUserStoreOptions = {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Bound on one call, SDK retries included. */
  timeoutMs: number;
};

// DynamoDB refuses a partition key over 2048 bytes: such a name can never exist, so it is an unknown user.
const MAX_KEY_BYTES = 2048;
const isStorableKey = (username: string) =>
  username.length > 0 && Buffer.byteLength(username, 'utf8') <= MAX_KEY_BYTES;

export const createDynamoUserStore = (options: DynamoUserStoreOptions): UserStore => {
  const { client, tableName, timeoutMs } = options;

  // One deadline per call, SDK retries included: a hung store becomes a prompt 503, not a Lambda timeout.
  const bounded = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });

  return {
    async create(user) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { username: user.username, name: user.name, password: user.passwordHash, createdAt: user.createdAt },
            ConditionExpression: 'attribute_not_exists(username)',
          }),
          bounded(),
        );
      } catch (error) {
        if (isConditionFailure(error)) throw new AppError('username_taken', 'this username is already taken');
        throw translateStoreError(error);
      }
    },

    async find(username) {
      if (!isStorableKey(username)) return null;
      try {
        const { Item } = await client.send(
          new GetCommand({ TableName: tableName, Key: { username }, ConsistentRead: true }),
          bounded(),
        );
        return Item === undefined ? null : toUserRecord(Item);
      } catch (error) {
        throw translateStoreError(error);
      }
    },

    async replacePasswordHash(username, expectedHash, newHash) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #password = :new',
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password' },
            ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash },
          }),
          bounded(),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw translateStoreError(error);
      }
    },
  };
};

// Tutorial-era items may lack createdAt; a malformed hash simply never verifies.
const toUserRecord = (item: Record<string, unknown>): UserRecord => ({
  username: String(item.username),
  name: typeof item.name === 'string' ? item.name : '',
  passwordHash: typeof item.password === 'string' ? item.password : '',
  createdAt: typeof item.createdAt === 'string' ? item.createdAt : null,
});
