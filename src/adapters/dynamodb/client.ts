// Builds the one DynamoDB client a process uses: short per-attempt timeouts that really throw, keep-alive on.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
