// The Secrets Manager read over the real wire protocol (signed JSON), against a local endpoint that answers it.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REGION, secretArn, startSecretsManager, type SecretsManagerEndpoint } from '../../../test/secrets-manager';
import { createSecretReader } from './read-secret';

const ARN = secretArn('jwt-AbCdEf');
const SECRET = 'a-generated-secret-of-enough-length-0123456789';
let secretsManager: SecretsManagerEndpoint;

beforeAll(async () => {
  secretsManager = await startSecretsManager({ [ARN]: SECRET });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await secretsManager?.close();
});

describe('createSecretReader', () => {
  it('returns the secret string through a signed GetSecretValue call', async () => {
    // Prepare
    const reader = createSecretReader({ region: REGION, endpoint: secretsManager.endpoint });

    // Act
    const secret = await reader.read(ARN);
    reader.close();

    // Assess
    expect(secret).toBe(SECRET);
    expect(secretsManager.requests.at(-1)).toEqual({
      method: 'POST',
      path: '/',
      target: 'secretsmanager.GetSecretValue',
      body: { SecretId: ARN },
      signed: true,
    });
  });

  it('fails start-up loudly when the secret does not exist', async () => {
    // Prepare
    const reader = createSecretReader({ region: REGION, endpoint: secretsManager.endpoint });

    // Act
    const attempt = reader.read(`${ARN}-missing`);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    reader.close();
  });
});
