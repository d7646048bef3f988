// Resolves the service's keys once at start-up: the access-token signing keys and the refresh-token HMAC key,
// from settings, from Secrets Manager (Lambda), or generated once into DATA_DIR (local runs).
import {
  asymmetricKeys,
  generatePrivateJwks,
  hmacKeys,
  KeyError,
  type PrivateJwks,
  type SigningKeys,
} from './adapters/jwt/signing-keys';
import { keptInDataDir, randomSecretText } from './adapters/local/data-dir';
import { ConfigError, jwtSecretFrom, type Config } from './config';
import type { AsymmetricJwtAlgorithm } from './settings-types';

/** `mfaKey`: the text that keys TOTP secrets' encryption at rest; null on Lambda without one (TOTP is off). */
export type KeyMaterial = { signing: SigningKeys; refreshSecret: Uint8Array; mfaKey: Uint8Array | null };

export type KeySources =
  /** On Lambda: a value is in the settings or in the secret its *_ARN names. */
  | { kind: 'lambda'; readSecret(arn: string): Promise<string> }
  /** Locally: a value is in the settings or kept in DATA_DIR (undefined: memory only); `warn` says which. */
  | { kind: 'local'; dataDir: string | undefined; warn(message: string): void };

const parseJwks = (text: string, source: string): PrivateJwks => {
  try {
    const parsed = JSON.parse(text) as PrivateJwks;
    if (Array.isArray(parsed.keys)) return parsed;
  } catch {
    // reported below
  }
  throw new ConfigError(`invalid configuration: ${source} must be a JSON Web Key Set`);
};

/** One value: from the settings, else from its secret (Lambda) or DATA_DIR (local). */
const valueOf = async (
  sources: KeySources,
  setting: { name: string; value: string | undefined; arn: string | undefined; file: string },
  generate: () => Promise<string> | string,
): Promise<string> => {
  if (setting.value !== undefined) return setting.value;
  if (sources.kind === 'lambda') {
    // loadConfig made sure that on Lambda one of the two is set.
    return sources.readSecret(setting.arn as string);
  }
  const kept = await keptInDataDir(sources.dataDir, setting.file, generate);
  sources.warn(
    kept.path === undefined
      ? `${setting.name} is not set: using a generated one for this run only`
      : `${setting.name} is not set: using the generated one kept in ${kept.path}`,
  );
  return kept.value;
};

export const resolveKeys = async (config: Config, sources: KeySources): Promise<KeyMaterial> => {
  const signing =
    config.jwtAlg === 'HS256'
      ? valueOf(
          sources,
          {
            name: 'JWT_SECRET',
            value: config.jwtSecret,
            arn: config.jwtSecretArn,
            file: 'jwt-secret',
          },
          randomSecretText,
        ).then((text) => hmacKeys(jwtSecretFrom(text, 'JWT_SECRET')))
      : valueOf(
          sources,
          { name: 'JWT_PRIVATE_JWKS', value: config.jwtPrivateJwks, arn: config.jwtPrivateJwksArn, file: 'jwks.json' },
          async () => JSON.stringify(await generatePrivateJwks(config.jwtAlg as AsymmetricJwtAlgorithm)),
        )
          .then((text) => asymmetricKeys(parseJwks(text, 'JWT_PRIVATE_JWKS'), config.jwtSigningKid))
          .then((keys) => {
            if (keys.alg !== config.jwtAlg) {
              throw new KeyError(`JWT_ALG is ${config.jwtAlg} but the signing key ${keys.kid} is ${keys.alg}`);
            }
            return keys;
          });
  const refresh = valueOf(
    sources,
    {
      name: 'REFRESH_TOKEN_SECRET',
      value: config.refreshTokenSecret,
      arn: config.refreshTokenSecretArn,
      file: 'refresh-secret',
    },
    randomSecretText,
  ).then((text) => jwtSecretFrom(text, 'REFRESH_TOKEN_SECRET'));
  const { encryptionKey, encryptionKeyArn } = config.mfa;
  const mfa =
    sources.kind === 'lambda' && encryptionKey === undefined && encryptionKeyArn === undefined
      ? Promise.resolve(null)
      : valueOf(
          sources,
          { name: 'MFA_ENCRYPTION_KEY', value: encryptionKey, arn: encryptionKeyArn, file: 'mfa-key' },
          randomSecretText,
        ).then((text) => jwtSecretFrom(text, 'MFA_ENCRYPTION_KEY'));
  // On Lambda these are Secrets Manager reads: in parallel, so a cold start pays one round trip.
  const [signingKeys, refreshSecret, mfaKey] = await Promise.all([signing, refresh, mfa]);
  return { signing: signingKeys, refreshSecret, mfaKey };
};
