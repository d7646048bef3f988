// Lambda entry (API Gateway REST v1, HTTP API v2, Function URLs): config, clients and keys built once per cold start.
import type { Context as LambdaContext } from 'aws-lambda';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { createDynamoClient, openConnection } from './adapters/dynamodb/client';
import {
  adapterErrorOf,
  prepareEvent,
  sourceIpOf,
  type ApiEvent,
  type LambdaBindings,
} from './adapters/lambda/prepare-event';
import { commonPasswordsCandidates } from './adapters/password/common-passwords';
import { createSecretReader, type SecretReader } from './adapters/secrets/read-secret';
import { compose } from './compose';
import { loadConfig } from './config';
import { resolveKeys } from './key-material';

const config = loadConfig(process.env, 'lambda');

const dynamodbClient = createDynamoClient({ ...config.dynamodb, timeoutMs: config.storeTimeoutMs });

// On AWS the keys live in Secrets Manager (*_ARN settings); plain settings serve the zip and tests. While they are
// read, the DynamoDB connection opens (TCP, TLS, the SDK's one-time work for a first request) instead of during
// the first login. Keys given as settings leave nothing to wait for: then opening early would only add a request
// (measured: no faster locally), so the first login opens it.
// Made on the first read: keys given as settings never load the HTTPS stack Secrets Manager is reached over.
let secrets: SecretReader | undefined;
let connected: Promise<void> | undefined;
const readSecret = (arn: string) => {
  connected ??= openConnection(dynamodbClient, config.tableName, config.storeTimeoutMs);
  secrets ??= createSecretReader(config.secretsManager);
  return secrets.read(arn);
};
const keys = await resolveKeys(config, { kind: 'lambda', readSecret });
await connected;
secrets?.close();

const { app } = compose(config, {
  keys,
  dynamodbClient,
  // Beside the bundle (dist/lambda, the zip, the CDK asset), or in data/ when running from src/.
  commonPasswords: commonPasswordsCandidates(import.meta.url),
  requestId: (c) => (c.env as LambdaBindings | undefined)?.lambdaContext?.awsRequestId,
  peerAddress: (c) => sourceIpOf(c.env as LambdaBindings | undefined),
  adapterError: (c) => adapterErrorOf(c.env as LambdaBindings | undefined),
});

const honoHandler = handle(app);

// hono's event type differs from @types/aws-lambda only in nullability (queryStringParameters: null vs undefined).
export const handler = async (event: ApiEvent, context: LambdaContext) => {
  // Not an HTTP event at all (a console test event, a mistaken trigger): answer in our format anyway.
  if (event === null || typeof event !== 'object' || typeof event.requestContext !== 'object') {
    return {
      statusCode: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'invalid_request', message: 'not an API Gateway or Function URL event' }),
    };
  }
  return honoHandler(prepareEvent(event) as unknown as LambdaEvent, context);
};
