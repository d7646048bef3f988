// The REST API (the tutorial's front door, the default): one resource per path of the route table.
import { Duration } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { addGatewayErrors } from './api-errors';
import { CORS, gatewayPaths, type RouteShape } from './api-routes';

export type FrontDoorProps = {
  function: IFunction;
  corsOrigins: readonly string[];
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  logRetention: RetentionDays;
  /** Default: the route table. */
  routes?: readonly RouteShape[];
};

export const REST_STAGE = 'prod';

/** The construct ids are the ones the stack had before the route table: a redeploy updates, not replaces. */
export const createRestApi = (scope: Construct, props: FrontDoorProps & { cloudWatchRole: boolean }) => {
  const accessLogs = new LogGroup(scope, 'ApiAccessLogs', { retention: props.logRetention });
  const api = new RestApi(scope, 'Api', {
    restApiName: 'login-service',
    description: 'Register, log in and verify tokens',
    endpointTypes: [EndpointType.REGIONAL],
    cloudWatchRole: props.cloudWatchRole,
    deployOptions: {
      stageName: REST_STAGE,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      accessLogDestination: new LogGroupLogDestination(accessLogs),
      accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
    },
  });
  addRestRoutes(api, props);
  const singleOrigin = props.corsOrigins.includes('*') ? '*' : props.corsOrigins.length === 1 ? props.corsOrigins[0] : undefined;
  addGatewayErrors(scope, api, singleOrigin);
  return { api, url: api.url };
};

/**
 * One resource per path (nested: `/token/refresh` is `refresh` under `token`; `{id}` stays `{id}`), each of its
 * methods a Lambda proxy integration, and a CORS preflight mock on each path that has methods. Resources that
 * are only a step on the way (`/token`, `/.well-known`, the root) get no method, so API Gateway answers them,
 * OPTIONS included, with its missing-route error, which api-errors.ts turns into our 404: as the app does.
 */
export const addRestRoutes = (api: RestApi, props: Pick<FrontDoorProps, 'function' | 'corsOrigins' | 'routes'>) => {
  // One invoke permission for this API (any stage, method and path) instead of one per method: the function's
  // resource policy is limited to 20 KB, and a statement per method would grow it with every route.
  const integration = new LambdaIntegration(props.function, { scopePermissionToMethod: false });
  for (const [path, methods] of gatewayPaths(props.routes)) {
    const resource = api.root.resourceForPath(path);
    for (const method of methods) resource.addMethod(method, integration);
    resource.addCorsPreflight({
      allowOrigins: props.corsOrigins.includes('*') ? Cors.ALL_ORIGINS : [...props.corsOrigins],
      allowMethods: [...CORS.allowMethods],
      allowHeaders: [...CORS.allowHeaders],
      maxAge: Duration.seconds(CORS.maxAgeSeconds),
    });
  }
};
