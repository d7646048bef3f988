// `npm run -s jwks -- [EdDSA|ES256] [kid]`: prints a new private JWK set with one key, for JWT_PRIVATE_JWKS or
// its Secrets Manager secret. To rotate, add the new key to the existing set's "keys" (see the README).
import { generatePrivateJwks } from '../src/adapters/jwt/signing-keys';
import { JWT_ALGORITHMS, type AsymmetricJwtAlgorithm } from '../src/settings-types';

const asymmetric = JWT_ALGORITHMS.filter((name): name is AsymmetricJwtAlgorithm => name !== 'HS256');
const alg = (process.argv[2] ?? 'EdDSA') as AsymmetricJwtAlgorithm;
if (!asymmetric.includes(alg)) {
  console.error(`usage: npm run -s jwks -- [${asymmetric.join('|')}] [kid]`);
  process.exit(2);
}
console.log(JSON.stringify(await generatePrivateJwks(alg, process.argv[3])));
