// The runtime's own AWS credentials, as Lambda gives them: read from the environment at each request (the SDK's
// fromEnv does the same; they are the runtime's, not a setting). The DynamoDB and Secrets Manager clients use them on
// Lambda; runs off Lambda against AWS pass the SDK's chain instead (aws/sdk-credentials.ts, chosen by the local
// entry point), so the Lambda bundle holds none of that chain (shared ini files, SSO, STS web identity, process,
// container and instance metadata, with their nested STS/SSO clients, 80+ KB that would be parsed and never run).
import type { CredentialProvider } from '../aws/json-protocol';

export const environmentCredentials: CredentialProvider = async () => {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION } = process.env;
  if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) {
    throw Object.assign(new Error('no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE'), {
      name: 'CredentialsProviderError',
    });
  }
  return {
    accessKeyId: AWS_ACCESS_KEY_ID,
    secretAccessKey: AWS_SECRET_ACCESS_KEY,
    ...(AWS_SESSION_TOKEN ? { sessionToken: AWS_SESSION_TOKEN } : {}),
    ...(AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(AWS_CREDENTIAL_EXPIRATION) } : {}),
  };
};
