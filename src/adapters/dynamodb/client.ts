// Builds the one DynamoDB client a process uses: short per-attempt timeouts that really throw, keep-alive on.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

export type DynamoClientOptions = {
  region: string;
  endpoint?: string | undefined;
  /** Set for local stores that accept any credentials; on AWS the SDK finds the real ones. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** The budget of one store call, retries included; a single attempt gets a share of it. */
  timeoutMs: number;
};

export const createDynamoClient = (options: DynamoClientOptions): DynamoDBDocumentClient => {
  const attemptTimeoutMs = Math.max(100, Math.floor(options.timeoutMs / 2));
  const client = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: attemptTimeoutMs,
      requestTimeout: attemptTimeoutMs,
      // Without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
};

/**
 * Opens the client's connection (TCP and TLS) and does its first request's one-time work (endpoint rules,
 * credentials, signing key, middleware) with one small read of the users table, for an entry point to run
 * during initialization. Never fails: a store that is down is reported by the first real request.
 */
export const openConnection = async (
  client: DynamoDBDocumentClient,
  usersTableName: string,
  timeoutMs: number,
): Promise<void> => {
  try {
    // Any key will do: the answer (one attribute at most) is dropped; only the round trip matters.
    const Key = { username: 'connection-check' };
    await client.send(new GetCommand({ TableName: usersTableName, Key, ProjectionExpression: 'username' }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    // see above
  }
};
