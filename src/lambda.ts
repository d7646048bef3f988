// Lambda entry (API Gateway REST v1, HTTP API v2, Function URLs): config, clients and keys built once per cold start.
import type { Context as LambdaContext } from 'aws-lambda';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { adapterErrorOf, prepareEvent, type ApiEvent, type LambdaBindings } from './adapters/lambda/prepare-event';
import { compose } from './compose';
import { loadConfig } from './config';

const config = loadConfig(process.env, 'lambda');

const { app } = compose(config, {
  // loadConfig guarantees it on Lambda.
  jwtSecret: config.jwtSecret as Uint8Array,
  requestId: (c) => (c.env as LambdaBindings | undefined)?.lambdaContext?.awsRequestId,
  adapterError: (c) => adapterErrorOf(c.env as LambdaBindings | undefined),
});

const honoHandler = handle(app);

// hono's event type differs from @types/aws-lambda only in nullability (queryStringParameters: null vs undefined).
export const handler = (event: ApiEvent, context: LambdaContext) =>
  honoHandler(prepareEvent(event) as unknown as LambdaEvent, context);
