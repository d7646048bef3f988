// resolveKeys as every Lambda cold start runs it: keys read through the real Secrets Manager client and wire
// protocol (a local endpoint that answers GetSecretValue), checked by signing and verifying real tokens.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJwtTokens } from './adapters/jwt/jwt-tokens';
import { generatePrivateJwks, KeyError, type PrivateJwks, type SigningKeys } from './adapters/jwt/signing-keys';
import { createSecretReader } from './adapters/secrets/read-secret';
import { ConfigError, loadConfig } from './config';
import { resolveKeys } from './key-material';
import { REGION, secretArn, startSecretsManager, type SecretsManagerEndpoint } from '../test/secrets-manager';

const JWT_SECRET = 'hs256-signing-secret-from-secrets-manager-0123';
const REFRESH_SECRET = 'refresh-hmac-secret-from-secrets-manager-4567';
// Long enough to be recognizable in a message, too short (under 32 bytes) to be a key.
const SHORT_SECRET = 'too-short-secret-from-sm-XYZ';

const ARN = {
  jwt: secretArn('jwt-secret-AbCdEf'),
  refresh: secretArn('refresh-secret-GhIjKl'),
  edJwks: secretArn('jwt-private-jwks-MnOpQr'),
  short: secretArn('short-secret-StUvWx'),
  missing: secretArn('no-such-secret-YzAbCd'),
};

const CLAIMS = { username: 'ada', name: 'Ada Lovelace', uid: 'uid-1', sid: 'sid-1' };
const clock = { now: () => new Date() };

let edJwks: PrivateJwks;
let secretsManager: SecretsManagerEndpoint;

/** The Lambda configuration for these settings, keys resolved through Secrets Manager as lambda.ts does. */
const coldStart = async (env: Record<string, string>, endpoint = secretsManager.endpoint) => {
  const config = loadConfig({ AWS_REGION: REGION, ...env }, 'lambda');
  const reader = createSecretReader({ region: config.dynamodb.region, endpoint });
  try {
    return { config, keys: await resolveKeys(config, { kind: 'lambda', readSecret: (arn) => reader.read(arn) }) };
  } finally {
    reader.close();
  }
};

/** The error a start-up fails with, or a test failure if it does not fail. */
const failureOf = async (env: Record<string, string>): Promise<Error> => {
  try {
    await coldStart(env);
  } catch (error) {
    return error as Error;
  }
  throw new Error('start-up succeeded');
};

const tokensOf = (signing: SigningKeys) =>
  createJwtTokens({ keys: signing, issuer: 'login-service', audience: 'login-service', ttlSeconds: 60, clock });

beforeAll(async () => {
  edJwks = await generatePrivateJwks('EdDSA', 'ed-from-secrets-manager');
  secretsManager = await startSecretsManager({
    [ARN.jwt]: JWT_SECRET,
    [ARN.refresh]: REFRESH_SECRET,
    [ARN.edJwks]: JSON.stringify(edJwks),
    [ARN.short]: SHORT_SECRET,
  });
  // The SDK's credential chain finds these, as it finds the function role's keys on Lambda.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await secretsManager?.close();
});

describe('resolveKeys on Lambda, through Secrets Manager', () => {
  it('HS256: signs with the secret JWT_SECRET_ARN names and chains refresh tokens on REFRESH_TOKEN_SECRET_ARN', async () => {
    // Prepare
    const env = { JWT_SECRET_ARN: ARN.jwt, REFRESH_TOKEN_SECRET_ARN: ARN.refresh };

    // Act
    const { keys } = await coldStart(env);
    const { token } = await tokensOf(keys.signing).issue(CLAIMS);

    // Assess
    const reads = secretsManager.requests.filter((r) => r.target === 'secretsmanager.GetSecretValue' && r.signed);
    expect(reads.map((r) => r.body)).toEqual(expect.arrayContaining([{ SecretId: ARN.jwt }, { SecretId: ARN.refresh }]));
    expect(keys.signing).toMatchObject({ alg: 'HS256', algorithms: ['HS256'], publicJwks: { keys: [] } });
    // The token verifies under the secret as stored, checked by jose alone, and not under the refresh key.
    const verified = await jwtVerify(token, new TextEncoder().encode(JWT_SECRET), { algorithms: ['HS256'] });
    expect(verified.payload).toMatchObject({ sub: 'ada', uid: 'uid-1', sid: 'sid-1' });
    await expect(jwtVerify(token, new TextEncoder().encode(REFRESH_SECRET))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    await expect(tokensOf(keys.signing).verify(token)).resolves.toEqual(CLAIMS);
    expect(keys.refreshSecret).toEqual(new TextEncoder().encode(REFRESH_SECRET));
  });

  it('reads the two secrets in parallel, so a cold start waits for one round trip', async () => {
    // Prepare
    const slow = await startSecretsManager(
      { [ARN.jwt]: JWT_SECRET, [ARN.refresh]: REFRESH_SECRET },
      { answerAfterMs: 150 },
    );

    // Act
    await coldStart({ JWT_SECRET_ARN: ARN.jwt, REFRESH_TOKEN_SECRET_ARN: ARN.refresh }, slow.endpoint);
    await slow.close();

    // Assess
    expect(slow.requests).toHaveLength(2);
    expect(slow.maxInFlight()).toBe(2);
  });

  it('EdDSA: signs with the JWK set JWT_PRIVATE_JWKS_ARN names and publishes only its public members', async () => {
    // Prepare
    const env = { JWT_ALG: 'EdDSA', JWT_PRIVATE_JWKS_ARN: ARN.edJwks, REFRESH_TOKEN_SECRET_ARN: ARN.refresh };
    const privateKey = edJwks.keys[0]!;

    // Act
    const { keys } = await coldStart(env);
    const { token } = await tokensOf(keys.signing).issue(CLAIMS);

    // Assess
    expect(keys.signing).toMatchObject({ alg: 'EdDSA', kid: 'ed-from-secrets-manager', algorithms: ['EdDSA'] });
    expect(keys.signing.publicJwks).toEqual({
      keys: [{ kid: 'ed-from-secrets-manager', alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519', x: privateKey.x }],
    });
    expect(keys.signing.publicJwks.keys.every((k) => !('d' in k))).toBe(true);
    expect(JSON.stringify(keys.signing.publicJwks)).not.toContain(privateKey.d);
    // Anyone holding only the published set can verify the token.
    const verified = await jwtVerify(token, createLocalJWKSet(keys.signing.publicJwks), { algorithms: ['EdDSA'] });
    expect(verified.protectedHeader).toMatchObject({ alg: 'EdDSA', kid: 'ed-from-secrets-manager' });
    expect(keys.refreshSecret).toEqual(new TextEncoder().encode(REFRESH_SECRET));
  });

  it('refuses to start when JWT_ALG is ES256 but the secret holds an EdDSA key set, naming both', async () => {
    // Prepare
    const env = { JWT_ALG: 'ES256', JWT_PRIVATE_JWKS_ARN: ARN.edJwks, REFRESH_TOKEN_SECRET_ARN: ARN.refresh };

    // Act
    const error = await failureOf(env);

    // Assess
    expect(error).toBeInstanceOf(KeyError);
    expect(error.message).toBe('JWT_ALG is ES256 but the signing key ed-from-secrets-manager is EdDSA');
    expect(error.message).not.toContain(edJwks.keys[0]!.d);
  });

  it.each([
    { setting: 'JWT_SECRET', env: { JWT_SECRET_ARN: ARN.short, REFRESH_TOKEN_SECRET_ARN: ARN.refresh } },
    { setting: 'REFRESH_TOKEN_SECRET', env: { JWT_SECRET_ARN: ARN.jwt, REFRESH_TOKEN_SECRET_ARN: ARN.short } },
  ])('refuses a too-short $setting from Secrets Manager, naming it and never showing it', async ({ setting, env }) => {
    // Act
    const error = await failureOf(env);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`invalid configuration: ${setting} must be at least 32 bytes`);
    expect(error.message).not.toContain(SHORT_SECRET);
    expect(String(error.stack)).not.toContain(SHORT_SECRET);
  });

  it('fails start-up with Secrets Manager’s ResourceNotFoundException when a secret does not exist', async () => {
    // Prepare
    const env = { JWT_SECRET_ARN: ARN.missing, REFRESH_TOKEN_SECRET_ARN: ARN.refresh };

    // Act
    const error = await failureOf(env);

    // Assess
    expect(error).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    expect(secretsManager.requests.some((r) => (r.body as { SecretId?: string }).SecretId === ARN.missing)).toBe(true);
  });
});
