// Lambda entry (API Gateway REST v1, HTTP API v2, Function URLs): config, clients and keys built once per cold start.
import type { Context as LambdaContext } from 'aws-lambda';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { adapterErrorOf, prepareEvent, type ApiEvent, type LambdaBindings } from './adapters/lambda/prepare-event';
import { readSecretString } from './adapters/secrets/read-secret';
import { compose } from './compose';
import { jwtSecretFrom, loadConfig } from './config';

const config = loadConfig(process.env, 'lambda');

// On AWS the secret lives in Secrets Manager (JWT_SECRET_ARN); JWT_SECRET serves the zip and local runs.
// loadConfig guarantees that one of the two is set.
const jwtSecret =
  config.jwtSecretArn === undefined
    ? (config.jwtSecret as Uint8Array)
    : jwtSecretFrom(await readSecretString(config.jwtSecretArn, { region: config.dynamodb.region }), 'the JWT_SECRET_ARN secret');

const { app } = compose(config, {
  jwtSecret,
  requestId: (c) => (c.env as LambdaBindings | undefined)?.lambdaContext?.awsRequestId,
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
