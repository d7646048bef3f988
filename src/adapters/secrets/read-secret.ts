// Reads secret strings from AWS Secrets Manager at cold start (the signing and refresh keys), with one client.
// The SDK client is imported on the first read (its own chunk in the Lambda bundle), so keys given as plain
// settings never load it; the entry point closes it once the keys are read.

export type SecretReaderOptions = { region: string; endpoint?: string };

export type SecretReader = { read(secretArn: string): Promise<string>; close(): void };

type OpenClient = { read(secretArn: string): Promise<string | undefined>; destroy(): void };

const openClient = async (options: SecretReaderOptions): Promise<OpenClient> => {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({ ...options, maxAttempts: 3 });
  return {
    async read(secretArn) {
      const command = new GetSecretValueCommand({ SecretId: secretArn });
      return (await client.send(command, { abortSignal: AbortSignal.timeout(5000) })).SecretString;
    },
    destroy: () => client.destroy(),
  };
};

export const createSecretReader = (options: SecretReaderOptions): SecretReader => {
  // Concurrent first reads share one import and one client.
  let client: Promise<OpenClient> | undefined;
  return {
    async read(secretArn) {
      client ??= openClient(options);
      const secret = await (await client).read(secretArn);
      if (secret === undefined) throw new Error(`secret ${secretArn} has no string value`);
      return secret;
    },
    close() {
      client?.then((open) => open.destroy()).catch(() => undefined);
    },
  };
};
