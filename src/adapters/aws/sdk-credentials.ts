// The AWS SDK's full credential chain (environment, shared config and credentials files with profiles, SSO, web
// identity, container and instance metadata), for runs off Lambda against real AWS: the local server and the
// scripts. Imported on first use, so nothing that finds its credentials in the environment ever loads it.
import type { AwsCredentials, CredentialProvider } from './json-protocol';

/** Refreshes this long before credentials expire, so a request never signs with ones about to lapse. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export const sdkCredentialChain = (): CredentialProvider => {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  let current: Promise<AwsCredentials> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    const cached = current === undefined ? undefined : await current.catch(() => undefined);
    if (cached !== undefined && (cached.expiration === undefined || cached.expiration.getTime() - Date.now() > EXPIRY_MARGIN_MS)) {
      return cached;
    }
    current = (await provider)();
    return current;
  };
};
