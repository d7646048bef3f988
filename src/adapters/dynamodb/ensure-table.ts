// Creates the service's tables on local stores when missing (on AWS the CDK stateful stack owns them).
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand, DescribeTableCommand, type DynamoClient } from './client';

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

/** One-time tokens (email verification, password reset): partition key `key` (a token's digest or an account's). */
const ONE_TIME_TOKENS_KEY: KeySchema = {
  AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
};

/** Verified email addresses, one item per address: partition key `email`. */
const EMAILS_KEY: KeySchema = {
  AttributeDefinitions: [{ AttributeName: 'email', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'email', KeyType: 'HASH' }],
};

// (The embedded store has no TTL API; expiry is enforced in code either way.)
/** How long a new table may take to become ACTIVE, and how often to look (local stores take milliseconds). */
const ACTIVE_WITHIN_MS = 30_000;
const POLL_MS = 100;

const tableStatus = async (client: DynamoClient, tableName: string): Promise<string | undefined> => {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
};

const ensureTable = async (client: DynamoClient, tableName: string, key: KeySchema): Promise<void> => {
  if ((await tableStatus(client, tableName)) === 'ACTIVE') return;
  try {
    await client.send(new CreateTableCommand({ TableName: tableName, ...key, BillingMode: 'PAY_PER_REQUEST' }));
  } catch (error) {
    // Another process created it between our describe and create.
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  for (const started = Date.now(); (await tableStatus(client, tableName)) !== 'ACTIVE'; ) {
    if (Date.now() - started > ACTIVE_WITHIN_MS) throw new Error(`table ${tableName} is not ACTIVE after ${ACTIVE_WITHIN_MS / 1000} s`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
};

export const ensureUsersTable = (client: DynamoClient, tableName: string) => ensureTable(client, tableName, USERS_KEY);

export const ensureSessionsTable = (client: DynamoClient, tableName: string) =>
  ensureTable(client, tableName, SESSIONS_KEY);

export const ensureThrottleTable = (client: DynamoClient, tableName: string) =>
  ensureTable(client, tableName, THROTTLE_KEY);

export const ensureOneTimeTokensTable = (client: DynamoClient, tableName: string) =>
  ensureTable(client, tableName, ONE_TIME_TOKENS_KEY);

export const ensureEmailsTable = (client: DynamoClient, tableName: string) => ensureTable(client, tableName, EMAILS_KEY);

/**
 * Passkeys: partition key `id` (the credential id: a login's one strongly consistent GetItem), and the global
 * secondary index `by-uid` (partition `uid`, sort `createdAt`: an account's list, oldest first, in one Query;
 * PASSKEYS_BY_UID_INDEX in passkey-store.ts names it). The index is created with the table, so it is ACTIVE with it.
 */
export const ensurePasskeysTable = (client: DynamoClient, tableName: string) => {
  const key: KeySchema & Pick<CreateTableCommandInput, 'GlobalSecondaryIndexes'> = {
    AttributeDefinitions: [
      { AttributeName: 'id', AttributeType: 'S' },
      { AttributeName: 'uid', AttributeType: 'S' },
      { AttributeName: 'createdAt', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'by-uid',
        KeySchema: [
          { AttributeName: 'uid', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        // Everything: the list shows most of a record, and listFor gives whole records.
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
  // ensureTable spreads the whole object into CreateTable, the index included.
  return ensureTable(client, tableName, key);
};
