// The APIs the CDK builds route what the local app serves: its registered routes, HEAD, 405s and CORS answers.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../test/app-harness';
import { CORS, gatewayPaths } from './api-routes';
import { createHttpApi } from './http-api';
import { createRestApi } from './rest-api';
import { httpRouteKeys, restRouteKeys } from './template-routes';

// The checks below stop before any store call (bad JSON, a missing token): nothing listens here.
const NO_STORE = 'http://127.0.0.1:9';

/** Both front doors as the stack builds them (the same functions), on a bare stack: no bundling needed. */
const templates = () => {
  const stack = new Stack(new App(), 'Test');
  const fn = new LambdaFunction(stack, 'Fn', {
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 })'),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_22_X,
  });
  const props = { function: fn, corsOrigins: ['*'], throttlingRateLimit: 1, throttlingBurstLimit: 1, logRetention: RetentionDays.ONE_DAY };
  createRestApi(stack, { ...props, cloudWatchRole: false });
  const httpStack = new Stack(stack.node.root as App, 'TestHttp');
  const httpFn = new LambdaFunction(httpStack, 'Fn', {
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 })'),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_22_X,
  });
  createHttpApi(httpStack, { ...props, function: httpFn });
  return { rest: Template.fromStack(stack), http: Template.fromStack(httpStack) };
};

/** `METHOD /path` as the gateway names it (`{id}`), from Hono's form (`:id`). */
const gatewayForm = (path: string) => path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

let test: TestApp;
beforeAll(async () => {
  test = await createTestApp(NO_STORE, {}, { createTable: false });
});
afterAll(() => test?.client.destroy());

const send = (method: string, path: string, headers: Record<string, string> = {}) =>
  test.app.request(path.replace(/\{[^}]+\}/g, 'x'), {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: 'not json' }),
  });

describe('the CDK APIs against the local app', () => {
  it('route exactly the methods and paths the app registers, with HEAD beside GET', () => {
    const registered = test.app.routes.filter((route) => route.method !== 'ALL');
    const appKeys = [...new Set(registered.map((route) => `${route.method} ${gatewayForm(route.path)}`))];
    // Hono answers HEAD with the GET route: the app serves HEAD wherever it registered GET.
    const served = [...appKeys, ...appKeys.filter((key) => key.startsWith('GET ')).map((key) => key.replace(/^GET/, 'HEAD'))];
    const { rest, http } = templates();
    const paths = [...new Set(served.map((key) => key.slice(key.indexOf(' ') + 1)))];

    expect(appKeys.length).toBeGreaterThan(0);
    expect(httpRouteKeys(http)).toEqual(['$default', ...served].sort());
    expect(restRouteKeys(rest)).toEqual([...served, ...paths.map((path) => `OPTIONS ${path}`)].sort());
  });

  it('sends the app only requests it routes: each gateway method reaches a handler, not the 404/405 answer', async () => {
    for (const [path, methods] of gatewayPaths()) {
      for (const method of methods) {
        const response = await send(method, path);

        expect([404, 405], `${method} ${path} gave ${response.status}`).not.toContain(response.status);
        expect(response.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
  });

  it('answers the methods no gateway routes with 405 and the Allow list the REST API serves, and unknown paths with 404', async () => {
    for (const [path, methods] of gatewayPaths()) {
      const response = await send('PUT', path);

      expect(response.status).toBe(405);
      expect(response.headers.get('Allow')?.split(', ').sort()).toEqual([...methods, 'OPTIONS'].sort());
    }
    expect((await send('GET', '/no/such/path')).status).toBe(404);
    expect((await send('OPTIONS', '/token', { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' })).status).toBe(404);
  });

  it('gives the CORS answer the gateway settings copy (the HTTP API replaces the function headers with them)', async () => {
    const origin = { Origin: 'https://app.example.com' };
    for (const path of gatewayPaths().keys()) {
      const preflight = await send('OPTIONS', path, { ...origin, 'Access-Control-Request-Method': 'POST' });

      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('Access-Control-Allow-Methods')?.split(',').sort()).toEqual([...CORS.allowMethods].sort());
      expect(preflight.headers.get('Access-Control-Allow-Headers')?.split(',')).toEqual([...CORS.allowHeaders]);
      expect(preflight.headers.get('Access-Control-Max-Age')).toBe(String(CORS.maxAgeSeconds));
    }
    const answer = await send('GET', '/health', origin);
    expect(answer.headers.get('Access-Control-Expose-Headers')?.split(',')).toEqual([...CORS.exposeHeaders]);
    expect(answer.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });
});
