// `npm run -s jwks -- [EdDSA|ES256] [kid]`: prints a new private JWK set with one key, for JWT_PRIVATE_JWKS or
// its Secrets Manager secret. To rotate, add the new key to the existing set's "keys" (see the README).
import { exportJWK, generateKeyPair } from 'jose';

const alg = process.argv[2] ?? 'EdDSA';
if (alg !== 'EdDSA' && alg !== 'ES256') {
  console.error('usage: npm run -s jwks -- [EdDSA|ES256] [kid]');
  process.exit(2);
}
const kid = process.argv[3] ?? `${alg.toLowerCase()}-${new Date().toISOString().slice(0, 10)}`;
const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
console.log(JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid, alg }] }));
