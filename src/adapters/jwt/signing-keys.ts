// Signing keys for access tokens: an HS256 secret (the tutorial's mode) or a private JWK set (EdDSA / ES256),
// with the public half served as JWKS. Every token names its key (`kid`), so keys can rotate without downtime.
import { createHash } from 'node:crypto';
import { createLocalJWKSet, errors, exportJWK, generateKeyPair, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';
import type { AsymmetricJwtAlgorithm, JwtAlgorithm } from '../../settings-types';

/** A JSON Web Key Set: the private one that signs, or the public one /.well-known/jwks.json serves. */
export type Jwks = { keys: JWK[] };
export type PrivateJwks = Jwks;

export type SigningKeys = {
  alg: JwtAlgorithm;
  kid: string;
  signingKey: CryptoKey;
  /** What verification accepts: the algorithms of the published keys, and the key a token's header names. */
  algorithms: string[];
  verificationKey: JWTVerifyGetKey;
  /** Empty in HS256 mode: a shared secret is never published. */
  publicJwks: Jwks;
};

export class KeyError extends Error {
  override readonly name = 'KeyError';
}

export const hmacKeys = async (secret: Uint8Array): Promise<SigningKeys> => {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  // A name for the secret that reveals nothing of it: tokens signed before a secret change are told apart.
  const kid = `hs256-${createHash('sha256').update(secret).digest('base64url').slice(0, 12)}`;
  // Only tokens that name this secret: a token signed under a replaced secret, or naming no key, is refused.
  const verificationKey: JWTVerifyGetKey = async (header) => {
    if (header.kid !== kid) throw new errors.JWKSNoMatchingKey();
    return key;
  };
  return { alg: 'HS256', kid, signingKey: key, algorithms: ['HS256'], verificationKey, publicJwks: { keys: [] } };
};

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

const publicPart = (jwk: JWK): JWK => {
  const out: JWK = { kid: jwk.kid, alg: jwk.alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) out[member] = jwk[member];
  return out;
};

/** Every key of the set verifies; the one named `signingKid` (default: the first) signs. */
export const asymmetricKeys = async (jwks: PrivateJwks, signingKid?: string): Promise<SigningKeys> => {
  const keys = jwks.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyError('the private JWK set has no keys');
  for (const jwk of keys) {
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new KeyError('every key of the private JWK set needs a kid');
    if (jwk.alg !== 'EdDSA' && jwk.alg !== 'ES256') throw new KeyError(`key ${jwk.kid}: alg must be EdDSA or ES256`);
    // The published alg must be the key's real one: Ed25519 for EdDSA, P-256 for ES256.
    const fits = jwk.alg === 'EdDSA' ? jwk.kty === 'OKP' && jwk.crv === 'Ed25519' : jwk.kty === 'EC' && jwk.crv === 'P-256';
    if (!fits) throw new KeyError(`key ${jwk.kid}: a ${jwk.kty}/${jwk.crv} key cannot sign ${jwk.alg}`);
    if (typeof jwk.d !== 'string') throw new KeyError(`key ${jwk.kid}: not a private key`);
  }
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new KeyError('the kids of the private JWK set repeat');
  const signing = signingKid === undefined ? keys[0] : keys.find((k) => k.kid === signingKid);
  if (signing === undefined) throw new KeyError(`JWT_SIGNING_KID ${signingKid} is not in the private JWK set`);
  const alg = signing.alg as JwtAlgorithm;
  const publicJwks = { keys: keys.map(publicPart) };
  return {
    alg,
    kid: signing.kid as string,
    signingKey: (await importJWK(signing, alg)) as CryptoKey,
    algorithms: [...new Set(keys.map((k) => k.alg as string))],
    verificationKey: createLocalJWKSet(publicJwks),
    publicJwks,
  };
};

/** A new private JWK set with one key; `kid` defaults to the algorithm and today's date. */
export const generatePrivateJwks = async (alg: AsymmetricJwtAlgorithm, kid?: string): Promise<PrivateJwks> => {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  return { keys: [{ ...jwk, kid: kid ?? `${alg.toLowerCase()}-${new Date().toISOString().slice(0, 10)}`, alg }] };
};
