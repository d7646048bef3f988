// The HTTP API (`-c api=http`): payload 2.0, cheaper and faster than the REST API, one route per table route.
import { Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpIntegrationType,
  HttpMethod,
  HttpRoute,
  HttpRouteIntegration,
  HttpRouteKey,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type HttpRouteIntegrationConfig,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CORS, frontDoorPaths } from './api-routes';
import type { FrontDoorProps } from './rest-api';

/**
 * One access-log line per request, as JSON, from the variables an HTTP API has (a REST API's standard fields
 * include some it does not). `integrationError` says why the function could not answer (timeout, crash).
 */
export const HTTP_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

// The function as an AWS_PROXY integration, without the permission CDK's HttpLambdaIntegration adds: that is one
// permission per route, or one for `{api}/*/*/*`, which does not match the `$default` route (`{api}/{stage}/$default`).
class FunctionIntegration extends HttpRouteIntegration {
  constructor(
    id: string,
    private readonly fn: IFunction,
  ) {
    super(id);
  }

  bind(): HttpRouteIntegrationConfig {
    return {
      type: HttpIntegrationType.AWS_PROXY,
      uri: this.fn.functionArn,
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    };
  }
}

/**
 * Errors the gateway raises itself cannot be reshaped on an HTTP API (it has no gateway responses), so:
 *
 * - every route of the table is its own route (its key in the access log, room for per-route throttling or an
 *   authorizer later), and the `$default` route sends everything else to the function too, so an unknown path
 *   or method gets the app's `404 not_found` / `405 method_not_allowed` JSON instead of the gateway's
 *   `{"message":"Not Found"}`. The price: such requests invoke the function (bounded by the stage throttle), and
 *   CORS preflights reach it as well (a route matches them), answered as the app answers them locally;
 * - what the gateway still answers itself keeps its own `{"message": ...}` body: 429 when the stage throttle
 *   trips (no Retry-After), 413 over its 10 MB limit (the app's own 413 starts at 16 KB), 500 when the function
 *   fails or times out, 504 should it outlast the integration timeout (30 s; the function's own is 10 s), and
 *   401/403 once an authorizer is added.
 *   The README's deploy section lists them beside the REST API's gateway-response mapping.
 */
export const createHttpApi = (scope: Construct, props: FrontDoorProps) => {
  const integration = new FunctionIntegration('FunctionIntegration', props.function);
  const api = new HttpApi(scope, 'HttpApi', {
    apiName: 'login-service',
    description: 'Register, log in and verify tokens',
    createDefaultStage: false,
    defaultIntegration: integration,
    // With CORS configured the gateway replaces the function's CORS headers on every answer: the same settings.
    corsPreflight: {
      allowOrigins: [...props.corsOrigins],
      allowMethods: CORS.allowMethods.map((method) => CorsHttpMethod[method as keyof typeof CorsHttpMethod]),
      allowHeaders: [...CORS.allowHeaders],
      exposeHeaders: [...CORS.exposeHeaders],
      maxAge: Duration.seconds(CORS.maxAgeSeconds),
    },
  });
  // The enabled pages' paths are routes like the table's: each its key in the access log.
  const paths = frontDoorPaths(props.routes, props.pages);
  for (const [path, methods] of [...paths.api, ...paths.pages]) {
    for (const method of methods) {
      new HttpRoute(api, `${method}${path}`, {
        httpApi: api,
        routeKey: HttpRouteKey.with(path, HttpMethod[method as keyof typeof HttpMethod]),
        integration,
      });
    }
  }

  // HTTP APIs write access logs through a log delivery of their own: no account-wide CloudWatch role.
  const accessLogs = new LogGroup(scope, 'HttpApiAccessLogs', { retention: props.logRetention });
  const stage = api.addStage('DefaultStage', {
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: props.throttlingRateLimit, burstLimit: props.throttlingBurstLimit },
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
    },
  });

  // Only this API, any of its stages and routes (`$default` included), may invoke the function.
  props.function.addPermission('HttpApiInvoke', {
    principal: new ServicePrincipal('apigateway.amazonaws.com'),
    sourceArn: Stack.of(scope).formatArn({ service: 'execute-api', resource: api.apiId, resourceName: '*' }),
  });
  return { api, stage, url: stage.url };
};
