// Creates the service's tables on local stores when missing (on AWS the CDK stateful stack owns them).
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

type KeySchema = Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema'>;

/** The tutorial's users table: partition key `username`. */
const USERS_KEY: KeySchema = {
  AttributeDefinitions: [{ AttributeName: 'username', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'username', KeyType: 'HASH' }],
};

/** Sessions: partition key `uid` (all of a user's sessions in one Query), sort key `sid`. */
const SESSIONS_KEY: KeySchema = {
  AttributeDefinitions: [
    { AttributeName: 'uid', AttributeType: 'S' },
    { AttributeName: 'sid', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'uid', KeyType: 'HASH' },
    { AttributeName: 'sid', KeyType: 'RANGE' },
  ],
};

/** Throttle counters: partition key `key`. */
const THROTTLE_KEY: KeySchema = {
  AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
};

// (The embedded store has no TTL API; expiry is enforced in code either way.)
const ensureTable = async (client: DynamoDBClient, tableName: string, key: KeySchema): Promise<void> => {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(new CreateTableCommand({ TableName: tableName, ...key, BillingMode: 'PAY_PER_REQUEST' }));
  } catch (error) {
    // Another process created it between our describe and create.
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
};

export const ensureUsersTable = (client: DynamoDBClient, tableName: string) => ensureTable(client, tableName, USERS_KEY);

export const ensureSessionsTable = (client: DynamoDBClient, tableName: string) =>
  ensureTable(client, tableName, SESSIONS_KEY);

export const ensureThrottleTable = (client: DynamoDBClient, tableName: string) =>
  ensureTable(client, tableName, THROTTLE_KEY);
