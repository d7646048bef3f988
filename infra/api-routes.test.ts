// The route tree builders, with the table and with routes it does not have yet (path parameters, nesting).
import { App, Stack } from 'aws-cdk-lib';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { PAGE_IDS, PAGES } from '../src/adapters/http/pages';
import { allowedMethods, routeList } from '../src/adapters/http/routes';
import { frontDoorPaths, gatewayPaths, gatewayRouteKeys, type RouteShape } from './api-routes';
import { createHttpApi } from './http-api';
import { addRestRoutes } from './rest-api';
import { httpRouteKeys, restResourcePaths, restRouteKeys } from './template-routes';

// What the next issues add: a collection and an item under a path parameter, below a path with no route.
const PASSKEYS: RouteShape[] = [
  { method: 'GET', path: '/me/passkeys' },
  { method: 'POST', path: '/me/passkeys' },
  { method: 'DELETE', path: '/me/passkeys/{id}' },
  { method: 'POST', path: '/me/passkeys/{id}/rename' },
];

const bareStack = () => {
  const stack = new Stack(new App(), 'Test');
  const fn = new LambdaFunction(stack, 'Fn', {
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 })'),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_22_X,
  });
  return { stack, fn };
};

describe('gatewayPaths', () => {
  it('gives each path of the table the methods allowedMethods gives it, but OPTIONS (the preflight)', () => {
    const paths = gatewayPaths();

    expect([...paths.keys()].sort()).toEqual([...new Set(routeList().map((route) => route.path))].sort());
    for (const [path, methods] of paths) expect([...methods, 'OPTIONS']).toEqual(allowedMethods(path));
  });

  it('adds HEAD beside GET only', () => {
    expect(Object.fromEntries(gatewayPaths(PASSKEYS))).toEqual({
      '/me/passkeys': ['GET', 'POST', 'HEAD'],
      '/me/passkeys/{id}': ['DELETE'],
      '/me/passkeys/{id}/rename': ['POST'],
    });
  });

  it('refuses a route twice, a malformed path, a greedy parameter in the middle, and two parameter names at one level', () => {
    expect(() => gatewayPaths([...PASSKEYS, { method: 'GET', path: '/me/passkeys' }])).toThrow(/twice/);
    expect(() => gatewayPaths([{ method: 'GET', path: 'me' }])).toThrow(/not \/segment/);
    expect(() => gatewayPaths([{ method: 'GET', path: '/me//passkeys' }])).toThrow(/not \/segment/);
    expect(() => gatewayPaths([{ method: 'GET', path: '/me/{id' }])).toThrow(/not \/segment/);
    expect(() => gatewayPaths([{ method: 'GET', path: '/files/{path+}/meta' }])).toThrow(/greedy/);
    expect(() =>
      gatewayPaths([...PASSKEYS, { method: 'GET', path: '/me/passkeys/{name}/label' }]),
    ).toThrow(/already has the parameter \{id\}/);
  });
});

describe('frontDoorPaths', () => {
  it('routes no page by default, and each enabled page file as GET and HEAD, the root included', () => {
    expect([...frontDoorPaths().pages]).toEqual([]);
    expect(Object.fromEntries(frontDoorPaths(undefined, ['demo']).pages)).toEqual(
      Object.fromEntries(PAGES.demo.files.map((file) => [file.path, ['GET', 'HEAD']])),
    );
    const all = frontDoorPaths(undefined, [...PAGE_IDS, 'docs']);
    expect([...all.pages.keys()].sort()).toEqual(PAGE_IDS.flatMap((id) => PAGES[id].files.map((file) => file.path)).sort());
    expect(all.pages.get('/')).toEqual(['GET', 'HEAD']);
    expect([...all.api.keys()]).toEqual([...gatewayPaths().keys()]);
  });

  it('refuses a page path that is also a path of the route table', () => {
    expect(() => frontDoorPaths([...PASSKEYS, { method: 'POST', path: '/docs' }], ['docs'])).toThrow(/\/docs is also a path/);
  });
});

describe('REST API tree', () => {
  it('nests resources by path, keeps {id} as a path-parameter resource, and puts the preflight only where routes are', () => {
    const { stack, fn } = bareStack();
    const api = new RestApi(stack, 'Api');

    addRestRoutes(api, { function: fn, corsOrigins: ['*'], routes: PASSKEYS });

    const template = Template.fromStack(stack);
    expect(restResourcePaths(template)).toEqual(['/me', '/me/passkeys', '/me/passkeys/{id}', '/me/passkeys/{id}/rename']);
    expect(restRouteKeys(template)).toEqual(
      [
        ...gatewayRouteKeys(PASSKEYS),
        'OPTIONS /me/passkeys',
        'OPTIONS /me/passkeys/{id}',
        'OPTIONS /me/passkeys/{id}/rename',
      ].sort(),
    );
  });

  it('lets one permission, scoped to this API, invoke the function, however many methods there are', () => {
    const { stack, fn } = bareStack();
    const api = new RestApi(stack, 'Api');

    addRestRoutes(api, { function: fn, corsOrigins: ['*'], routes: PASSKEYS });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: stack.getLogicalId(api.node.defaultChild as never) }, '/*/*/*'])] },
    });
  });
});

describe('REST API tree with pages', () => {
  it('puts the demo page on the root resource and the pages under their paths, GET and HEAD, with no preflight', () => {
    const { stack, fn } = bareStack();
    const api = new RestApi(stack, 'Api');

    addRestRoutes(api, { function: fn, corsOrigins: ['*'], routes: PASSKEYS, pages: ['demo', 'docs'] });

    const template = Template.fromStack(stack);
    const keys = restRouteKeys(template);
    expect(keys).toEqual(
      [
        ...gatewayRouteKeys(PASSKEYS, ['demo', 'docs']),
        'OPTIONS /me/passkeys',
        'OPTIONS /me/passkeys/{id}',
        'OPTIONS /me/passkeys/{id}/rename',
      ].sort(),
    );
    expect(keys).toContain('GET /');
    expect(keys).toContain('HEAD /docs/swagger-ui-bundle.js');
    // The root is the API's own root resource (`GET /` on it), not a resource of its own.
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      ResourceId: { 'Fn::GetAtt': [stack.getLogicalId(api.node.defaultChild as never), 'RootResourceId'] },
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    // Every step of every path is a resource (`/web` for `/web/main.js`), but the root, which the API has already.
    const steps = (path: string) => path.split('/').slice(1).map((_, index, segments) => `/${segments.slice(0, index + 1).join('/')}`);
    const paths = [...PASSKEYS.map((route) => route.path), ...PAGE_IDS.flatMap((id) => PAGES[id].files.map((file) => file.path))];
    expect(restResourcePaths(template)).toEqual([...new Set(paths.flatMap(steps))].filter((path) => path !== '/').sort());
  });
});

/** The HTTP API's settings the route tests do not look at. */
const HTTP_API = {
  corsOrigins: ['*'],
  throttlingRateLimit: 1,
  throttlingBurstLimit: 2,
  logRetention: RetentionDays.ONE_DAY,
  routes: PASSKEYS,
};

describe('HTTP API routes', () => {
  it('makes one route per method and path, path parameters included, and $default for the rest', () => {
    const { stack, fn } = bareStack();

    createHttpApi(stack, { ...HTTP_API, function: fn });

    expect(httpRouteKeys(Template.fromStack(stack))).toEqual(['$default', ...gatewayRouteKeys(PASSKEYS)].sort());
  });

  it('adds GET and HEAD routes for each enabled page file, `GET /` for the demo page', () => {
    const { stack, fn } = bareStack();

    createHttpApi(stack, { ...HTTP_API, function: fn, pages: ['demo'] });

    const keys = httpRouteKeys(Template.fromStack(stack));
    expect(keys).toEqual(['$default', ...gatewayRouteKeys(PASSKEYS, ['demo'])].sort());
    expect(keys).toEqual(expect.arrayContaining(['GET /', 'HEAD /', 'GET /web/main.js']));
    expect(keys.some((key) => key.includes('/docs'))).toBe(false);
  });
});
