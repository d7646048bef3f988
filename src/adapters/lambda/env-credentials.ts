// Stands in for @aws-sdk/credential-provider-node in the Lambda bundle (an esbuild alias, scripts/lambda-bundle.mjs):
// on Lambda the credentials are always in the environment, so the SDK's default chain (shared ini files, SSO,
// STS web identity, process, container and instance metadata, with their nested STS/SSO clients, 80+ KB) would
// only be parsed at every cold start and never run. Local runs and tests keep the real chain.

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/** The only name the SDK clients import from @aws-sdk/credential-provider-node. */
export const defaultProvider =
  () =>
  async (): Promise<Credentials> => {
    // Read at call time, as the SDK's own fromEnv does: this is the runtime's environment, not a setting.
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION } = process.env;
    if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) {
      throw new Error(
        'no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): ' +
          'the Lambda bundle reads credentials from the environment only',
      );
    }
    return {
      accessKeyId: AWS_ACCESS_KEY_ID,
      secretAccessKey: AWS_SECRET_ACCESS_KEY,
      ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
      ...(AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(AWS_CREDENTIAL_EXPIRATION) } : {}),
    };
  };
