// The DynamoDB client against dynalite and DynamoDB Local, with the AWS SDK's document client as the reference:
// what one writes, the other reads back the same, for every kind of value, in every operation that carries items.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as sdk from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsersTable, LOCAL_CREDENTIALS, STORE_TARGETS, testClient, type TestStore } from '../../../test/stores';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from './client';

/** Every kind of attribute value the document model has. */
const everyKind = (username: string) => ({
  username,
  text: 'héllo ✓',
  empty: '',
  integer: 42,
  negative: -7.25,
  big: Number.MAX_SAFE_INTEGER,
  yes: true,
  nothing: null,
  bytes: new Uint8Array([0, 1, 2, 250, 255]),
  words: new Set(['a', 'b']),
  numbers: new Set([1, 2.5]),
  blobs: new Set([new Uint8Array([1]), new Uint8Array([2, 3])]),
  list: [1, 'two', { three: [3] }, new Uint8Array([4])],
  map: { nested: { deeper: 'yes', bytes: new Uint8Array([9]) }, count: 0 },
});

for (const target of STORE_TARGETS) {
  describe.skipIf(!target.enabled)(`DynamoDB client on ${target.name}`, () => {
    let store: TestStore;
    let client: ReturnType<typeof testClient>;
    let reference: sdk.DynamoDBDocumentClient;
    let TableName: string;

    beforeAll(async () => {
      store = await target.start();
      client = testClient(store.endpoint, 5000);
      reference = sdk.DynamoDBDocumentClient.from(
        new DynamoDBClient({ region: 'us-east-1', endpoint: store.endpoint, credentials: LOCAL_CREDENTIALS }),
      );
      TableName = await createUsersTable(store.endpoint);
    }, 120_000);

    afterAll(async () => {
      client?.destroy();
      reference?.destroy();
      await store?.stop();
    });

    it('writes every kind of value so the SDK reads it back unchanged, and reads back what the SDK wrote', async () => {
      // Prepare
      const ours = everyKind('ours');
      const theirs = everyKind('theirs');

      // Act
      await client.send(new PutCommand({ TableName, Item: ours }));
      await reference.send(new sdk.PutCommand({ TableName, Item: theirs }));
      const readBySdk = await reference.send(new sdk.GetCommand({ TableName, Key: { username: 'ours' }, ConsistentRead: true }));
      const readByUs = await client.send(new GetCommand({ TableName, Key: { username: 'theirs' }, ConsistentRead: true }));

      // Assess
      expect(readBySdk.Item).toEqual(ours);
      expect(readByUs.Item).toEqual(theirs);
    });

    it('updates with expression values and returns the new item, as the SDK does', async () => {
      // Prepare
      await client.send(new PutCommand({ TableName, Item: { username: 'counted', count: 1 } }));
      const update = {
        TableName,
        UpdateExpression: 'SET #c = #c + :one, tags = :tags, payload = :raw',
        ConditionExpression: '#c = :expected',
        ExpressionAttributeNames: { '#c': 'count' },
        ReturnValues: 'ALL_NEW' as const,
      };

      // Act
      const ours = await client.send(
        new UpdateCommand({ ...update, Key: { username: 'counted' }, ExpressionAttributeValues: { ':one': 1, ':expected': 1, ':tags': new Set(['x']), ':raw': new Uint8Array([7]) } }),
      );
      const theirs = await reference.send(
        new sdk.UpdateCommand({ ...update, Key: { username: 'counted' }, ExpressionAttributeValues: { ':one': 1, ':expected': 2, ':tags': new Set(['x']), ':raw': new Uint8Array([7]) } }),
      );

      // Assess
      expect(ours.Attributes).toEqual({ username: 'counted', count: 2, tags: new Set(['x']), payload: new Uint8Array([7]) });
      expect(theirs.Attributes).toEqual({ ...ours.Attributes, count: 3 });
    });

    it('throws a failed condition as ConditionalCheckFailedException, as the adapters expect', async () => {
      // Act
      const error = await client
        .send(new PutCommand({ TableName, Item: { username: 'ours' }, ConditionExpression: 'attribute_not_exists(username)' }))
        .catch((e: unknown) => e);

      // Assess
      expect((error as Error).name).toBe('ConditionalCheckFailedException');
      expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
    });

    it('queries, scans, batch-writes, batch-gets and deletes with items translated both ways', async () => {
      // Prepare
      const names = ['batch-a', 'batch-b', 'batch-c'];

      // Act
      const written = await client.send(
        new BatchWriteCommand({ RequestItems: { [TableName]: names.map((username) => ({ PutRequest: { Item: { username, bytes: new Uint8Array([1]) } } })) } }),
      );
      const got = await client.send(new BatchGetCommand({ RequestItems: { [TableName]: { Keys: names.map((username) => ({ username })) } } }));
      const queried = await client.send(
        new QueryCommand({ TableName, KeyConditionExpression: 'username = :u', ExpressionAttributeValues: { ':u': 'batch-b' } }),
      );
      const scanned = await client.send(new ScanCommand({ TableName, Limit: 2 }));
      const deleted = await client.send(new DeleteCommand({ TableName, Key: { username: 'batch-c' }, ReturnValues: 'ALL_OLD' }));
      const gone = await reference.send(new sdk.GetCommand({ TableName, Key: { username: 'batch-c' }, ConsistentRead: true }));

      // Assess
      expect(written.UnprocessedItems ?? {}).toEqual({});
      expect(got.Responses?.[TableName]?.map((item) => item.username).sort()).toEqual(names);
      expect(got.Responses?.[TableName]?.[0]?.bytes).toEqual(new Uint8Array([1]));
      expect(queried.Items).toEqual([{ username: 'batch-b', bytes: new Uint8Array([1]) }]);
      expect(scanned.Items).toHaveLength(2);
      expect(scanned.LastEvaluatedKey).toEqual({ username: expect.any(String) });
      expect(deleted.Attributes).toEqual({ username: 'batch-c', bytes: new Uint8Array([1]) });
      expect(gone.Item).toBeUndefined();
    });
  });
}
