// The Secrets Manager read over the real SDK client and wire protocol, against a local endpoint that answers it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSecretReader } from './read-secret';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf';
const requests: { target: string | undefined; body: unknown; signed: boolean }[] = [];
let server: Server;
let endpoint: string;

const readBody = async (req: IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text) as { SecretId?: string };
};

beforeAll(async () => {
  // Speaks Secrets Manager's JSON 1.1 protocol for GetSecretValue: one known secret, anything else not found.
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    requests.push({
      target: req.headers['x-amz-target'] as string | undefined,
      body,
      signed: String(req.headers.authorization).startsWith('AWS4-HMAC-SHA256'),
    });
    res.setHeader('Content-Type', 'application/x-amz-json-1.1');
    if (body.SecretId === ARN) {
      res.end(JSON.stringify({ ARN, Name: 'jwt', SecretString: 'a-generated-secret-of-enough-length-0123456789' }));
    } else {
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the secret.' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => server.close(resolve));
});

describe('readSecretString', () => {
  it('returns the secret string through a signed GetSecretValue call', async () => {
    const reader = createSecretReader({ region: 'eu-west-1', endpoint });
    const secret = await reader.read(ARN);
    reader.close();

    expect(secret).toBe('a-generated-secret-of-enough-length-0123456789');
    expect(requests.at(-1)).toEqual({ target: 'secretsmanager.GetSecretValue', body: { SecretId: ARN }, signed: true });
  });

  it('fails start-up loudly when the secret does not exist', async () => {
    const reader = createSecretReader({ region: 'eu-west-1', endpoint });
    const attempt = reader.read(`${ARN}-missing`);

    await expect(attempt).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    reader.close();
  });
});
