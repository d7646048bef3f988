// A local endpoint that speaks Secrets Manager's JSON 1.1 protocol for GetSecretValue, so the real SDK client
// (createSecretReader) can be pointed at it: known secrets answer, anything else is ResourceNotFoundException.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export const REGION = 'eu-west-1';

/** A secret ARN in the form the Lambda settings require. */
export const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:123456789012:secret:${name}`;

export type SecretsManagerRequest = {
  method: string | undefined;
  path: string | undefined;
  target: string | undefined;
  body: unknown;
  /** SigV4-signed, as every real Secrets Manager call must be. */
  signed: boolean;
};

export type SecretsManagerEndpoint = {
  endpoint: string;
  /** Every request received, in order of arrival. */
  requests: SecretsManagerRequest[];
  /** The most requests that were being answered at the same moment. */
  maxInFlight(): number;
  close(): Promise<void>;
};

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

/**
 * `secrets`: ARN (or name) to secret string. `answerAfterMs` holds every answer back that long, so a test can see
 * whether reads overlap.
 */
export const startSecretsManager = async (
  secrets: Readonly<Record<string, string>>,
  options: { answerAfterMs?: number } = {},
): Promise<SecretsManagerEndpoint> => {
  const requests: SecretsManagerRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer(async (req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const body = await readJson(req);
    const target = req.headers['x-amz-target'] as string | undefined;
    requests.push({
      method: req.method,
      path: req.url,
      target,
      body,
      signed: String(req.headers.authorization).startsWith('AWS4-HMAC-SHA256'),
    });
    if (options.answerAfterMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.answerAfterMs));
    const secretId = (body as { SecretId?: unknown } | null)?.SecretId;
    const answer = (status: number, payload: unknown) => {
      inFlight -= 1;
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/x-amz-json-1.1');
      res.end(JSON.stringify(payload));
    };
    if (req.method !== 'POST' || req.url !== '/' || target !== 'secretsmanager.GetSecretValue') {
      answer(400, { __type: 'UnknownOperationException', message: `no such operation: ${String(target)}` });
    } else if (typeof secretId === 'string' && Object.hasOwn(secrets, secretId)) {
      const name = secretId.split(':secret:')[1] ?? secretId;
      answer(200, { ARN: secretId, Name: name, SecretString: secrets[secretId], VersionId: 'v1' });
    } else {
      answer(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
};
