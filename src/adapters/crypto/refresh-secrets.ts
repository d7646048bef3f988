// RefreshSecrets on node:crypto: 256 random bits, successors by HMAC-SHA-256 under a server key, SHA-256 digests.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Ids, RefreshSecrets } from '../../domain/ports';
import type { OneTimeTokens } from '../../domain/mail-ports';

export const createRefreshSecrets = (key: Uint8Array): RefreshSecrets => ({
  newSecret: () => randomBytes(32).toString('base64url'),
  // Without the key nobody can compute a successor, so a stolen digest or an old token predicts nothing.
  successor: (secret) => createHmac('sha256', key).update(secret).digest('base64url'),
  digest: (secret) => createHash('sha256').update(secret).digest('base64url'),
  same: (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b)),
});

export const randomIds: Ids = { newId: () => randomUUID() };

/**
 * A keyed digest of a name (an HMAC under a key derived from `secret`): throttle records and audit lines can
 * tell names apart without holding them, and a dictionary of guesses cannot reverse it without the key.
 * A "name" may be a password typed into the wrong field.
 */
export const createNameDigest = (secret: Uint8Array): ((name: string) => string) => {
  const key = createHmac('sha256', secret).update('login-service name digest v1').digest();
  return (name) => createHmac('sha256', key).update(name).digest('base64url');
};

/** Tokens for mailed links: 256 random bits; the store keeps only their SHA-256 (the token is unguessable). */
export const oneTimeTokens: OneTimeTokens = {
  newToken: () => randomBytes(32).toString('base64url'),
  digest: (token) => createHash('sha256').update(token).digest('base64url'),
};
