// Real-format API Gateway (REST v1, HTTP API v2) and Function URL events, as AWS sends them.
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';

type Request = {
  method: string;
  path: string;
  body?: string | null;
  headers?: Record<string, string>;
  base64?: boolean;
};

const sourceIp = '198.51.100.7';
const userAgent = 'curl/8.5.0';

/** REST API, Lambda proxy integration. `resource` is the API resource: '/login', or '/{proxy+}' for a catch-all. */
export const restEvent = (req: Request, resource = req.path, stage = 'prod'): APIGatewayProxyEvent => {
  const headers = { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'User-Agent': userAgent, ...req.headers };
  return {
    resource,
    path: req.path,
    httpMethod: req.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: resource === '/{proxy+}' ? { proxy: req.path.slice(1) } : null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: req.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
      path: `/${stage}${req.path}`,
      stage,
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: 1_795_000_000_000,
      resourceId: 'res123',
      resourcePath: resource,
    },
    body: req.body ?? null,
    isBase64Encoded: req.base64 ?? false,
  };
};

/** HTTP API (payload 2.0). On a named stage, rawPath starts with the stage. */
export const httpApiEvent = (req: Request, stage = '$default'): APIGatewayProxyEventV2 => {
  const rawPath = stage === '$default' ? req.path : `/${stage}${req.path}`;
  return {
    version: '2.0',
    routeKey: `${req.method} ${req.path}`,
    rawPath,
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': userAgent,
      ...Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: req.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp, userAgent },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: `${req.method} ${req.path}`,
      stage,
      time: '26/Nov/2026:00:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
    },
    ...(req.body == null ? {} : { body: req.body }),
    isBase64Encoded: req.base64 ?? false,
  };
};

/** Lambda Function URL: payload 2.0 on the $default stage of a lambda-url domain. */
export const functionUrlEvent = (req: Request): APIGatewayProxyEventV2 => {
  const event = httpApiEvent(req);
  const domainName = 'abcdefghijklmnop.lambda-url.us-east-1.on.aws';
  return {
    ...event,
    routeKey: '$default',
    headers: { ...event.headers, host: domainName },
    requestContext: { ...event.requestContext, domainName, domainPrefix: 'abcdefghijklmnop', routeKey: '$default' },
  };
};

export const lambdaContext = (awsRequestId = 'a1b2c3d4-0000-4000-8000-000000000001'): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'login-service',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:login-service',
  memoryLimitInMB: '1024',
  awsRequestId,
  logGroupName: '/aws/lambda/login-service',
  logStreamName: '2026/11/26/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});
