// The APIs the CDK builds route what the local app serves: its registered routes, HEAD, 405s and CORS answers, with
// no page and with every page enabled (as `-c pages=docs,demo` deploys them).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWebAssets } from '../scripts/web-assets.mjs';
import { PAGE_IDS, pageFilesIn, pageRoutes, type PageId } from '../src/adapters/http/pages';
import { commonPasswordsCandidates } from '../src/adapters/password/common-passwords';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { resolveKeys } from '../src/key-material';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from '../test/app-harness';
import { checkEveryResponse } from '../test/contract';
import { CORS, frontDoorPaths } from './api-routes';
import { createHttpApi } from './http-api';
import { pageEnvironment } from './pages';
import { createRestApi } from './rest-api';
import { httpRouteKeys, restRouteKeys } from './template-routes';

// The checks below stop before any store call (bad JSON, a missing token, a page): nothing listens here.
const NO_STORE = 'http://127.0.0.1:9';

const bareFunction = (stack: Stack) =>
  new LambdaFunction(stack, 'Fn', {
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 })'),
    handler: 'index.handler',
    runtime: Runtime.NODEJS_22_X,
  });

/** Both front doors as the stack builds them (the same functions), on bare stacks: no bundling needed. */
const templates = (pages: readonly PageId[]) => {
  const app = new App();
  const restStack = new Stack(app, 'Test');
  const httpStack = new Stack(app, 'TestHttp');
  const props = { corsOrigins: ['*'], throttlingRateLimit: 1, throttlingBurstLimit: 1, logRetention: RetentionDays.ONE_DAY, pages };
  createRestApi(restStack, { ...props, function: bareFunction(restStack), cloudWatchRole: false });
  createHttpApi(httpStack, { ...props, function: bareFunction(httpStack) });
  return { rest: Template.fromStack(restStack), http: Template.fromStack(httpStack) };
};

/** `METHOD /path` as the gateway names it (`{id}`), from Hono's form (`:id`). */
const gatewayForm = (path: string) => path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

// The pages' files as the Lambda build writes them beside the bundle (scripts/build.mjs), read as on Lambda.
let webDir: string;
beforeAll(async () => {
  webDir = mkdtempSync(join(tmpdir(), 'app-routes-web-'));
  await writeWebAssets(webDir);
});
afterAll(() => rmSync(webDir, { recursive: true, force: true }));

/** The real app (compose), with the pages on as the stack's environment turns them on. */
const localApp = async (pages: readonly PageId[]) => {
  const config = loadConfig(
    {
      DYNAMODB_ENDPOINT: NO_STORE,
      JWT_SECRET: TEST_JWT_SECRET,
      REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
      LOG_LEVEL: 'SILENT',
      ...pageEnvironment(pages),
    },
    'local',
  );
  const keys = await resolveKeys(config, { kind: 'local', dataDir: undefined, warn: () => undefined });
  const { app, client } = compose(config, {
    keys,
    commonPasswords: commonPasswordsCandidates(new URL('../src/server.ts', import.meta.url)),
    pageFiles: pageFilesIn(pathToFileURL(`${webDir}/`)),
  });
  // Every response a test receives is checked against the OpenAPI document (test/contract.ts), as in the harness.
  return { app: checkEveryResponse(app), client };
};

const CHOICES: [string, readonly PageId[]][] = [
  ['no page', []],
  [`the pages ${PAGE_IDS.join(', ')}`, PAGE_IDS],
];

describe.each(CHOICES)('the CDK APIs against the local app, with %s', (_, pages) => {
  let local: Awaited<ReturnType<typeof localApp>>;
  beforeAll(async () => {
    local = await localApp(pages);
  });
  afterAll(() => local?.client.destroy());

  const send = (method: string, path: string, headers: Record<string, string> = {}) =>
    local.app.request(path.replace(/\{[^}]+\}/g, 'x'), {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      ...(method === 'GET' || method === 'HEAD' ? {} : { body: 'not json' }),
    });
  const origin = { Origin: 'https://app.example.com' };
  const preflight = (path: string) => send('OPTIONS', path, { ...origin, 'Access-Control-Request-Method': 'POST' });
  const paths = () => frontDoorPaths(undefined, pages);

  it('route exactly the methods and paths the app registers, with HEAD beside GET, and a REST preflight where the app answers one', async () => {
    const registered = local.app.routes.filter((route) => route.method !== 'ALL');
    const appKeys = [...new Set(registered.map((route) => `${route.method} ${gatewayForm(route.path)}`))];
    // Hono answers HEAD with the GET route: the app serves HEAD wherever it registered GET.
    const served = [...appKeys, ...appKeys.filter((key) => key.startsWith('GET ')).map((key) => key.replace(/^GET/, 'HEAD'))];
    const servedPaths = [...new Set(served.map((key) => key.slice(key.indexOf(' ') + 1)))];
    const preflighted: string[] = [];
    for (const path of servedPaths) if ((await preflight(path)).status === 204) preflighted.push(path);
    const { rest, http } = templates(pages);

    expect(appKeys.length).toBeGreaterThan(0);
    expect(appKeys.includes('GET /')).toBe(pages.includes('demo'));
    expect(appKeys.includes('GET /docs')).toBe(pages.includes('docs'));
    expect(httpRouteKeys(http)).toEqual(['$default', ...served].sort());
    expect(restRouteKeys(rest)).toEqual([...served, ...preflighted.map((path) => `OPTIONS ${path}`)].sort());
  });

  it('sends the app only requests it routes: each gateway method reaches a handler, not the 404/405 answer', async () => {
    const { api, pages: pagePaths } = paths();
    for (const [path, methods] of api) {
      for (const method of methods) {
        const response = await send(method, path);

        expect([404, 405], `${method} ${path} gave ${response.status}`).not.toContain(response.status);
        expect(response.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
    // A page's file is there, as the build writes it beside the bundle.
    for (const [path, methods] of pagePaths) {
      for (const method of methods) expect((await send(method, path)).status, `${method} ${path}`).toBe(200);
    }
  });

  it('answers the methods no gateway routes with 405 and the Allow list the REST API serves, and unknown paths with 404', async () => {
    for (const [path, methods] of paths().api) {
      const response = await send('PUT', path);

      expect(response.status).toBe(405);
      expect(response.headers.get('Allow')?.split(', ').sort()).toEqual([...methods, 'OPTIONS'].sort());
    }
    expect((await send('GET', '/no/such/path')).status).toBe(404);
    expect((await send('OPTIONS', '/token', { ...origin, 'Access-Control-Request-Method': 'POST' })).status).toBe(404);
  });

  it("answers a page path's other methods and preflights with 404, as the REST API does where it has no method, and every path of a page that is off with 404", async () => {
    const on = paths().pages;
    for (const { path } of pageRoutes(PAGE_IDS)) {
      if (!on.has(path)) {
        expect((await send('GET', path)).status, `GET ${path}`).toBe(404);
        continue;
      }
      const put = await send('PUT', path);

      expect(put.status, `PUT ${path}`).toBe(404);
      expect(put.headers.get('Allow')).toBeNull();
      expect((await preflight(path)).status, `OPTIONS ${path}`).toBe(404);
    }
  });

  it('gives the CORS answer the gateway settings copy (the HTTP API replaces the function headers with them)', async () => {
    for (const path of paths().api.keys()) {
      const answer = await preflight(path);

      expect(answer.status).toBe(204);
      expect(answer.headers.get('Access-Control-Allow-Methods')?.split(',').sort()).toEqual([...CORS.allowMethods].sort());
      expect(answer.headers.get('Access-Control-Allow-Headers')?.split(',')).toEqual([...CORS.allowHeaders]);
      expect(answer.headers.get('Access-Control-Max-Age')).toBe(String(CORS.maxAgeSeconds));
    }
    for (const path of ['/health', ...paths().pages.keys()]) {
      const answer = await send('GET', path, origin);
      expect(answer.headers.get('Access-Control-Expose-Headers')?.split(','), path).toEqual([...CORS.exposeHeaders]);
      expect(answer.headers.get('Access-Control-Allow-Origin'), path).toBe('*');
    }
  });
});
