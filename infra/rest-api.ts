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
import type { PageId } from '../src/adapters/http/pages';
import { addGatewayErrors } from './api-errors';
import { CORS, frontDoorPaths, type RouteShape } from './api-routes';

export type FrontDoorProps = {
  function: IFunction;
  corsOrigins: readonly string[];
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  logRetention: RetentionDays;
  /** Default: the route table. */
  routes?: readonly RouteShape[];
  /** The web pages whose paths are routed too (the function must serve them: DEMO_ENABLED, DOCS_ENABLED); default none. */
  pages?: readonly PageId[];
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
 * One resource per path (nested: `/token/refresh` is `refresh` under `token`; `{id}` stays `{id}`; `/` is the
 * root), each of its methods a Lambda proxy integration, and a CORS preflight mock on each API path. Resources
 * that are only a step on the way (`/token`, `/.well-known`, the root without the demo page) get no method, so
 * API Gateway answers them, OPTIONS included, with its missing-route error, which api-errors.ts turns into our
 * 404: as the app does. A page's path gets the same 404 for OPTIONS and every method but GET and HEAD: the app's
 * answer there too (its preflights and 405s are for the route table's paths).
 * The pages are text (HTML, scripts, CSS, SVG): no binary media types are needed to pass them through.
 */
export const addRestRoutes = (
  api: RestApi,
  props: Pick<FrontDoorProps, 'function' | 'corsOrigins' | 'routes' | 'pages'>,
) => {
  // One invoke permission for this API (any stage, method and path) instead of one per method: the function's
  // resource policy is limited to 20 KB, and a statement per method would grow it with every route.
  const integration = new LambdaIntegration(props.function, { scopePermissionToMethod: false });
  const resourceAt = (path: string) => (path === '/' ? api.root : api.root.resourceForPath(path));
  const paths = frontDoorPaths(props.routes, props.pages);
  for (const [path, methods] of paths.api) {
    const resource = resourceAt(path);
    for (const method of methods) resource.addMethod(method, integration);
    resource.addCorsPreflight({
      allowOrigins: props.corsOrigins.includes('*') ? Cors.ALL_ORIGINS : [...props.corsOrigins],
      allowMethods: [...CORS.allowMethods],
      allowHeaders: [...CORS.allowHeaders],
      maxAge: Duration.seconds(CORS.maxAgeSeconds),
    });
  }
  for (const [path, methods] of paths.pages) {
    const resource = resourceAt(path);
    for (const method of methods) resource.addMethod(method, integration);
  }
};
