// Reads a secret string from AWS Secrets Manager, once per cold start (the signing secret on AWS).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type ReadSecretOptions = { region: string; endpoint?: string };

export const readSecretString = async (secretArn: string, options: ReadSecretOptions): Promise<string> => {
  const client = new SecretsManagerClient({ ...options, maxAttempts: 3 });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }), {
      abortSignal: AbortSignal.timeout(5000),
    });
    if (SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
    return SecretString;
  } finally {
    client.destroy();
  }
};
