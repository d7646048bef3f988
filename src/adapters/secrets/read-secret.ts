// Reads secret strings from AWS Secrets Manager at cold start (the signing and refresh keys), with one client.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretReaderOptions = { region: string; endpoint?: string };

export type SecretReader = { read(secretArn: string): Promise<string>; close(): void };

export const createSecretReader = (options: SecretReaderOptions): SecretReader => {
  const client = new SecretsManagerClient({ ...options, maxAttempts: 3 });
  return {
    async read(secretArn) {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }), {
        abortSignal: AbortSignal.timeout(5000),
      });
      if (SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
      return SecretString;
    },
    close: () => client.destroy(),
  };
};
