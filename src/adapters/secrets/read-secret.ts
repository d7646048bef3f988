// Reads secret strings from AWS Secrets Manager at cold start (the signing and refresh keys): GetSecretValue over
// the same small JSON-protocol caller the DynamoDB client uses, so reading keys loads no SDK client.
import { createJsonService, type CredentialProvider } from '../aws/json-protocol';
import { environmentCredentials } from '../lambda/env-credentials';

export type SecretReaderOptions = {
  region: string;
  /** A local endpoint speaking the protocol (tests, the bench); otherwise AWS's regional one. */
  endpoint?: string | undefined;
  credentials?: CredentialProvider;
};

export type SecretReader = { read(secretArn: string): Promise<string>; close(): void };

/** A cold start waits for its keys: a read that takes longer than this is a failed start, said as such. */
const READ_TIMEOUT_MS = 5000;

export const createSecretReader = (options: SecretReaderOptions): SecretReader => {
  const service = createJsonService({
    service: 'secretsmanager',
    targetPrefix: 'secretsmanager',
    jsonVersion: '1.1',
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials ?? environmentCredentials,
    attemptTimeoutMs: Math.floor(READ_TIMEOUT_MS / 2),
    maxAttempts: 3,
  });
  return {
    async read(secretArn) {
      const { SecretString } = await service.call<{ SecretString?: string }>(
        'GetSecretValue',
        { SecretId: secretArn },
        { abortSignal: AbortSignal.timeout(READ_TIMEOUT_MS) },
      );
      if (SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
      return SecretString;
    },
    close: () => service.destroy(),
  };
};
