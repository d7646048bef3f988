// EmailClaimStore on DynamoDB (`user-emails`, partition key `email`): one item per verified address, naming the
// account that holds it. Uniqueness is one conditional write, never a read then a write.
import { DeleteCommand, GetCommand, PutCommand, type DynamoClient } from './client';
import type { EmailClaimStore } from '../../domain/mail-ports';
import { callOptions, conditionalWrite, translated } from './store-errors';
import { MAX_EMAIL_LENGTH } from '../../domain/email';

export type DynamoEmailClaimStoreOptions = { client: DynamoClient; tableName: string; timeoutMs: number };

// Normalized addresses are at most 254 characters (4 bytes each at most: well within a key's 2048 bytes); anything
// else was never claimed, and is answered as unknown instead of the store's refusal of an empty or huge key.
const isAddress = (email: string) => email.length > 0 && email.length <= 2 * MAX_EMAIL_LENGTH;

export const createDynamoEmailClaimStore = (options: DynamoEmailClaimStoreOptions): EmailClaimStore => {
  const { client, tableName: TableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);

  return {
    claim: async ({ email, uid, username }) =>
      // `uid = :uid`: a retried claim (or a second verification by the same account) is claimed, not taken.
      (await conditionalWrite(() =>
        client.send(
          new PutCommand({
            TableName,
            Item: { email, uid, username },
            ConditionExpression: 'attribute_not_exists(email) OR uid = :uid',
            ExpressionAttributeValues: { ':uid': uid },
          }),
          bounded(),
        ),
      ))
        ? 'claimed'
        : 'taken',

    replace: (email, staleUid, claim) =>
      conditionalWrite(() =>
        client.send(
          new PutCommand({
            TableName,
            Item: { email, uid: claim.uid, username: claim.username },
            // `OR uid = :uid`: a retried takeover whose first write landed is still a takeover.
            ConditionExpression: 'uid = :stale OR uid = :uid',
            ExpressionAttributeValues: { ':stale': staleUid, ':uid': claim.uid },
          }),
          bounded(),
        ),
      ),

    find: (email) =>
      !isAddress(email)
        ? Promise.resolve(null)
        : translated(async () => {
            const { Item } = await client.send(new GetCommand({ TableName, Key: { email }, ConsistentRead: true }), bounded());
            return Item === undefined ? null : { email: String(Item.email), uid: String(Item.uid), username: String(Item.username) };
          }),

    release: (email, uid) =>
      !isAddress(email)
        ? Promise.resolve(false)
        : conditionalWrite(() =>
            client.send(
              new DeleteCommand({
                TableName,
                Key: { email },
                ConditionExpression: 'uid = :uid',
                ExpressionAttributeValues: { ':uid': uid },
              }),
              bounded(),
            ),
          ),
  };
};
