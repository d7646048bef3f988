// OneTimeTokenStore on DynamoDB (`user-one-time-tokens`, partition key `key`): email-verification and
// password-reset tokens, stored as digests only. `expiresAt` (epoch seconds) is the table's TTL attribute, for
// cleanup; expiry itself is checked in code (TTL deletion can lag by days).
//
// "Only the newest token of an account works" with single-item writes, no transaction (the embedded store,
// dynalite, has no TransactWriteItems, and a transaction would not make it simpler). Two kinds of item:
//   token#<purpose>#<digest>  the index: which account a digest belongs to; written once, never changed;
//   latest#<purpose>#<uid>    the account's newest token of that purpose, the whole record.
// Issuing writes the index, then overwrites the account's `latest` item: that overwrite is what supersedes every
// older token. Consuming reads the index (digest -> uid), then makes one conditional write on the `latest` item,
// which must still name this digest and be unused. That write decides: of concurrent consumes exactly one passes
// it, a token superseded in the meantime fails it, and an index whose `latest` item moved on or was revoked is
// inert until TTL removes it.
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoClient } from './client';
import type { OneTimeToken, OneTimeTokenPurpose, OneTimeTokenStore } from '../../domain/mail-ports';
import { AppError } from '../../domain/errors';
import { callOptions, isConditionFailure, translated } from './store-errors';

export type DynamoOneTimeTokenStoreOptions = { client: DynamoClient; tableName: string; timeoutMs: number };

const tokenKey = (purpose: OneTimeTokenPurpose, digest: string) => `token#${purpose}#${digest}`;
const latestKey = (purpose: OneTimeTokenPurpose, uid: string) => `latest#${purpose}#${uid}`;

// Digests and uids are ours (a hash, a random id); anything longer cannot name a token, and would make a key
// DynamoDB refuses (2048 bytes at most) rather than an unknown token.
const MAX_KEY_PART = 256;
const isKeyPart = (value: string) => value.length > 0 && value.length <= MAX_KEY_PART;

// Rounded down: a token never lasts longer than asked.
const seconds = (epochMs: number) => Math.floor(epochMs / 1000);
const expired = (expiresAtSeconds: unknown, now: number) => now >= Number(expiresAtSeconds) * 1000;

export const createDynamoOneTimeTokenStore = (options: DynamoOneTimeTokenStoreOptions): OneTimeTokenStore => {
  const { client, tableName: TableName, timeoutMs } = options;
  const bounded = () => callOptions(timeoutMs);

  /** The index item of a digest that is not expired at `now`, or null. */
  const readIndex = async (purpose: OneTimeTokenPurpose, digest: string, now: number) => {
    const { Item } = await client.send(
      new GetCommand({ TableName, Key: { key: tokenKey(purpose, digest) }, ConsistentRead: true }),
      bounded(),
    );
    return Item === undefined || expired(Item.expiresAt, now) ? null : Item;
  };

  return {
    issue: (token) =>
      translated(async () => {
        const expiresAt = seconds(token.expiresAt);
        try {
          // The index first: if the second write fails, the caller sends no mail and the older token still works.
          // `uid = :uid` lets a retried write of our own pass; another account's digest is never taken over.
          await client.send(
            new PutCommand({
              TableName,
              Item: { key: tokenKey(token.purpose, token.digest), uid: token.uid, expiresAt },
              ConditionExpression: 'attribute_not_exists(#key) OR uid = :uid',
              ExpressionAttributeNames: { '#key': 'key' },
              ExpressionAttributeValues: { ':uid': token.uid },
            }),
            bounded(),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          throw new AppError('internal_error', 'a one-time token digest is already in use', { cause: error });
        }
        // Unconditional: the last token issued is the newest. (Two issued at once: one of them wins, both were
        // asked for.)
        await client.send(
          new PutCommand({
            TableName,
            Item: {
              key: latestKey(token.purpose, token.uid),
              digest: token.digest,
              uid: token.uid,
              username: token.username,
              ...(token.email === null ? {} : { email: token.email }),
              ...(token.credentialVersion === undefined ? {} : { credentialVersion: token.credentialVersion }),
              expiresAt,
            },
          }),
          bounded(),
        );
      }),

    consume: (digest, purpose, now) =>
      !isKeyPart(digest)
        ? Promise.resolve(null)
        : translated(async () => {
            const index = await readIndex(purpose, digest, now);
            if (index === null) return null;
            // A conditional update that marks the token used, not a conditional delete: if the answer to a delete
            // that happened is lost, the client's retry finds nothing and would refuse the rightful user; the
            // retried update carries the same attempt id and recognises its own mark.
            try {
              const { Attributes } = await client.send(
                new UpdateCommand({
                  TableName,
                  Key: { key: latestKey(purpose, String(index.uid)) },
                  UpdateExpression: 'SET usedBy = :attempt',
                  ConditionExpression: '#digest = :digest AND (attribute_not_exists(usedBy) OR usedBy = :attempt)',
                  ExpressionAttributeNames: { '#digest': 'digest' },
                  ExpressionAttributeValues: { ':digest': digest, ':attempt': randomUUID() },
                  ReturnValues: 'ALL_NEW',
                }),
                bounded(),
              );
              // (Its expiry is the index's, checked above: both items are written with the same.)
              return toToken(purpose, Attributes ?? {});
            } catch (error) {
              // Used, superseded by a newer token, or revoked.
              if (isConditionFailure(error)) return null;
              throw error;
            }
          }),

    peek: (digest, purpose, now) =>
      !isKeyPart(digest)
        ? Promise.resolve(null)
        : translated(async () => {
            const index = await readIndex(purpose, digest, now);
            if (index === null) return null;
            const { Item } = await client.send(
              new GetCommand({ TableName, Key: { key: latestKey(purpose, String(index.uid)) }, ConsistentRead: true }),
              bounded(),
            );
            return Item === undefined || Item.digest !== digest || Item.usedBy !== undefined ? null : toToken(purpose, Item);
          }),

    revoke: (uid, purpose) =>
      !isKeyPart(uid)
        ? Promise.resolve()
        : translated(async () => {
            await client.send(new DeleteCommand({ TableName, Key: { key: latestKey(purpose, uid) } }), bounded());
          }),
  };
};

// The purpose is the key's: the item does not repeat it.
const toToken = (purpose: OneTimeTokenPurpose, item: Record<string, unknown>): OneTimeToken => ({
  digest: String(item.digest),
  purpose,
  uid: String(item.uid),
  username: String(item.username),
  email: typeof item.email === 'string' ? item.email : null,
  ...(typeof item.credentialVersion === 'number' ? { credentialVersion: item.credentialVersion } : {}),
  expiresAt: Number(item.expiresAt) * 1000,
});
