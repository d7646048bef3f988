// UserStore on DynamoDB, on the tutorial's table schema: key `username`, attributes `name`, `password`, `createdAt`,
// plus `uid` and `credentialVersion` (absent on tutorial-era items until their first login or password change).
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { AppError } from '../../domain/errors';
import type { UserRecord, UserStore } from '../../domain/ports';
import { callOptions, conditionalWrite, translated } from './store-errors';

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
  const bounded = () => callOptions(timeoutMs);


  const find = async (username: string): Promise<UserRecord | null> => {
    if (!isStorableKey(username)) return null;
    const { Item } = await translated(() =>
      client.send(new GetCommand({ TableName: tableName, Key: { username }, ConsistentRead: true }), bounded()),
    );
    return Item === undefined ? null : toUserRecord(Item);
  };

  return {
    async create(user) {
      const created = await conditionalWrite(() =>
        client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              username: user.username,
              name: user.name,
              password: user.passwordHash,
              createdAt: user.createdAt,
              uid: user.uid,
              credentialVersion: user.credentialVersion,
            },
            ConditionExpression: 'attribute_not_exists(username)',
          }),
          bounded(),
        ),
      );
      if (!created) throw new AppError('username_taken', 'this username is already taken');
    },

    find,

    replacePasswordHash: (username, expectedHash, newHash) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #password = :new',
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password' },
            ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash },
          }),
          bounded(),
        ),
      ),

    async assignUid(username, uid, expectedHash) {
      const assigned = await conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #uid = :uid',
            ConditionExpression: '#password = :hash AND attribute_not_exists(#uid)',
            ExpressionAttributeNames: { '#uid': 'uid', '#password': 'password' },
            ExpressionAttributeValues: { ':uid': uid, ':hash': expectedHash },
          }),
          bounded(),
        ),
      );
      if (assigned) return uid;
      // A concurrent first login won (same password: its uid stands), or the account changed under us.
      const now = await find(username);
      return now !== null && now.passwordHash === expectedHash ? now.uid : null;
    },

    changePassword: (username, expectedHash, newHash) =>
      conditionalWrite(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { username },
            UpdateExpression: 'SET #password = :new, #version = if_not_exists(#version, :zero) + :one',
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password', '#version': 'credentialVersion' },
            ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash, ':zero': 0, ':one': 1 },
          }),
          bounded(),
        ),
      ),

    remove: (username, expectedHash) =>
      conditionalWrite(() =>
        client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { username },
            ConditionExpression: '#password = :expected',
            ExpressionAttributeNames: { '#password': 'password' },
            ExpressionAttributeValues: { ':expected': expectedHash },
          }),
          bounded(),
        ),
      ),
  };
};

// Tutorial-era items may lack createdAt and uid; a malformed hash simply never verifies.
const toUserRecord = (item: Record<string, unknown>): UserRecord => ({
  username: String(item.username),
  name: typeof item.name === 'string' ? item.name : '',
  passwordHash: typeof item.password === 'string' ? item.password : '',
  createdAt: typeof item.createdAt === 'string' ? item.createdAt : null,
  uid: typeof item.uid === 'string' ? item.uid : null,
  credentialVersion: typeof item.credentialVersion === 'number' ? item.credentialVersion : 0,
});
