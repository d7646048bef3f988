// The OpenAPI document: valid by a real validator, covering every route of the table, served at GET /openapi.json
// (on Lambda from a chunk of its own, which a password login never loads).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { toJsonSchema as referenceToJsonSchema } from '@valibot/to-json-schema';
import type { OpenAPIV3_1 } from 'openapi-types';
import * as v from 'valibot';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, staticClosure } from '../../../scripts/lambda-bundle.mjs';
import { json, onDynalite, type TestApp } from '../../../test/app-harness';
import { checkLambdaResult } from '../../../test/contract';
import { httpApiEvent } from '../../../test/events';
import { invokeBundle } from '../../../test/invoke-bundle';
import { openApiSource } from './app';
import { STATUS_BY_CODE } from './error-response';
import { buildOpenApiDocument, openApiDocument, routeErrors, toJsonSchema } from './openapi';
import { ROUTES, routeList } from './routes';
import * as schemas from './schemas';

type Operation = OpenAPIV3_1.OperationObject;
type Response = OpenAPIV3_1.ResponseObject;

const document = buildOpenApiDocument(openApiSource());
const operationOf = (path: string, method: string) =>
  (document.paths as Record<string, Record<string, Operation>>)[path]?.[method.toLowerCase()];
const codesOf = (response: Response | undefined): unknown =>
  (response?.content?.['application/json']?.schema as { properties?: { code?: { enum?: unknown } } } | undefined)
    ?.properties?.code?.enum;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // The validator dereferences in place: give it a copy.
    const validated = await SwaggerParser.validate(structuredClone(document) as unknown as OpenAPIV3_1.Document);

    expect((validated as OpenAPIV3_1.Document).openapi).toBe('3.1.0');
  });

  it('is refused by that validator once broken, so the check above can fail', async () => {
    const broken = structuredClone(document) as unknown as { paths: Record<string, Record<string, { responses: unknown }>> };
    (broken.paths['/health'] as Record<string, { responses: unknown }>).get = { responses: { 200: { content: {} } } };

    await expect(SwaggerParser.validate(broken as unknown as OpenAPIV3_1.Document)).rejects.toThrow();
  });

  it('has exactly the routes of the table, each with its body and success response', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(documented.sort()).toEqual(routeList().map((route) => `${route.method} ${route.path}`).sort());
    for (const route of routeList()) {
      const operation = operationOf(route.path, route.method);
      expect(operation?.operationId).toBe(route.id);
      expect(operation?.requestBody === undefined).toBe(route.body === undefined);
      const success = operation?.responses?.[String(route.success.status)] as Response | undefined;
      expect(success?.content === undefined, `${route.id} success body`).toBe(route.success.body === undefined);
    }
  });

  it('lists each error code of each route under its status, and no other', () => {
    for (const route of routeList()) {
      const responses = operationOf(route.path, route.method)?.responses ?? {};
      const expected = new Map<string, string[]>();
      for (const code of routeErrors(route)) {
        const status = String(route.errorStatus?.[code] ?? STATUS_BY_CODE[code]);
        expected.set(status, [...(expected.get(status) ?? []), code]);
      }
      expected.set('417', ['invalid_request']);

      for (const [status, codes] of expected) expect(codesOf(responses[status] as Response), `${route.id} ${status}`).toEqual(codes);
      const errorStatuses = Object.keys(responses).filter((status) => Number(status) >= 400);
      expect(errorStatuses.sort()).toEqual([...expected.keys()].sort());
    }
  });

  it('names the bearer scheme on bearer routes, with WWW-Authenticate on their 401s', () => {
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const route of routeList()) {
      const operation = operationOf(route.path, route.method);
      const unauthorized = operation?.responses?.['401'] as Response | undefined;
      if (route.auth === 'none') {
        expect(operation?.security, route.id).toBeUndefined();
        continue;
      }
      expect(operation?.security?.[0], route.id).toEqual({ bearerAuth: [] });
      expect(unauthorized?.headers?.['WWW-Authenticate'], route.id).toBeDefined();
    }
    // Optional auth: the body may carry the proof instead.
    expect(operationOf('/verify', 'POST')?.security).toEqual([{ bearerAuth: [] }, {}]);
    expect((operationOf('/me', 'GET')?.responses?.['401'] as Response).headers?.['WWW-Authenticate']).toMatchObject({
      required: true,
    });
  });

  it('gives Retry-After on every 429 and 503', () => {
    for (const route of routeList()) {
      for (const status of ['429', '503']) {
        const response = operationOf(route.path, route.method)?.responses?.[status] as Response | undefined;
        if (response !== undefined) expect(response.headers?.['Retry-After'], `${route.id} ${status}`).toMatchObject({ required: true });
      }
    }
    expect(operationOf('/login', 'POST')?.responses?.['429']).toBeDefined();
  });

  it('answers /verify errors in their own shape, with verified: false', () => {
    const unauthorized = operationOf('/verify', 'POST')?.responses?.['401'] as Response;

    expect(unauthorized.content?.['application/json']?.schema).toMatchObject({
      properties: { verified: { const: false } },
      required: expect.arrayContaining(['verified']),
    });
  });

  it('describes the answers no operation gives: a path nobody serves, a wrong method, what comes before routing', () => {
    const responses = document.components.responses as Record<string, Response>;

    expect(codesOf(responses.NotFound)).toEqual(['not_found']);
    expect(responses.MethodNotAllowed?.headers?.Allow).toMatchObject({ required: true });
    expect(Object.keys(responses).filter((name) => name.startsWith('AnyRequest')).sort()).toEqual(
      ['AnyRequest400', 'AnyRequest413', 'AnyRequest417', 'AnyRequest431', 'AnyRequest500'],
    );
  });

  it('is built once and kept', () => {
    expect(openApiDocument(openApiSource())).toBe(openApiDocument(openApiSource()));
  });
});

describe('toJsonSchema', () => {
  // The reference converter, valibot's own; it says loose objects' openness by leaving additionalProperties out.
  const reference = (schema: v.GenericSchema) => referenceToJsonSchema(schema, { errorMode: 'ignore', target: 'draft-2020-12' });
  const withoutOpenness = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value), (key, inner) => (key === 'additionalProperties' && inner === true ? undefined : inner));

  it.each(Object.entries(schemas).filter(([, value]) => typeof value === 'object'))(
    'says what @valibot/to-json-schema says of %s',
    (_name, schema) => {
      const { $schema: _dialect, ...expected } = reference(schema as v.GenericSchema);

      expect(withoutOpenness(toJsonSchema(schema as v.GenericSchema))).toEqual(expected);
    },
  );

  it('says a loose object is open and a strict one closed', () => {
    expect(toJsonSchema(v.looseObject({}))).toMatchObject({ additionalProperties: true });
    expect(toJsonSchema(v.strictObject({}))).toMatchObject({ additionalProperties: false });
  });

  it('refuses a schema or an action it cannot describe instead of describing it wrongly', () => {
    expect(() => toJsonSchema(v.date())).toThrow(/"date"/);
    expect(() => toJsonSchema(v.pipe(v.string(), v.email()))).toThrow(/"email"/);
  });
});

describe('GET /openapi.json', () => {
  let t: TestApp;
  onDynalite((_store, app) => {
    t = app;
  });

  it('serves the document, as JSON', async () => {
    const response = await t.app.request(ROUTES.openApi.path);

    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await json(response)).toEqual(JSON.parse(JSON.stringify(document)));
  });
});

describe('GET /openapi.json on Lambda', () => {
  let dir: string;
  let metafile: Metafile;

  beforeAll(() => {
    // Inside the project, so that the bundle finds @node-rs/argon2 (kept external) in node_modules.
    mkdirSync(join(PROJECT_ROOT, 'dist'), { recursive: true });
    dir = mkdtempSync(join(PROJECT_ROOT, 'dist', 'test-openapi-'));
    const script = join(PROJECT_ROOT, 'scripts/build.mjs');
    execFileSync(process.execPath, [script, '--outdir', join(dir, 'bundle'), '--metafile', join(dir, 'meta.json')], { stdio: 'pipe' });
    metafile = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Metafile;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the generator in a chunk of its own that a cold start does not load, and that loads nothing else', () => {
    const loaded = staticClosure(metafile, relative(PROJECT_ROOT, join(dir, 'bundle/index.mjs')));
    const holding = Object.entries(metafile.outputs).filter(([, output]) => 'src/adapters/http/openapi.ts' in output.inputs);

    expect(holding).toHaveLength(1);
    const [chunk, output] = holding[0] as [string, Metafile['outputs'][string]];
    expect(loaded).not.toContain(chunk);
    // It imports no module at run time (types only): otherwise esbuild moves the modules it shares with the entry
    // into a chunk of their own, which the entry then loads too, at a cost of about a kilobyte of imports.
    expect(metafile.inputs['src/adapters/http/openapi.ts']?.imports.filter((entry) => !entry.external)).toEqual([]);
    expect(output.imports.filter((entry) => !entry.external).every((entry) => loaded.includes(entry.path))).toBe(true);
  });

  it('serves the document from the built bundle', async () => {
    mkdirSync(join(dir, 'run'));
    const event = httpApiEvent({ method: 'GET', path: '/openapi.json' });

    const [result] = await invokeBundle(join(dir, 'bundle/index.mjs'), join(dir, 'run'), [event], {
      JWT_SECRET: 'openapi-test-signing-secret-of-32-bytes-or-more',
      REFRESH_TOKEN_SECRET: 'openapi-test-refresh-secret-of-32-bytes-or-more',
      // The document touches no store: nothing listens here.
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      AWS_REGION: 'us-east-1',
      LOG_LEVEL: 'ERROR',
    });

    expect(result?.statusCode).toBe(200);
    checkLambdaResult(event, result ?? {});
    expect(JSON.parse(result?.body ?? '')).toEqual(JSON.parse(JSON.stringify(document)));
  });
});
