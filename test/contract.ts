// The contract check: each response a test receives must be what the OpenAPI document says for its route and status.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import { openApiSource } from '../src/adapters/http/app';
import { buildOpenApiDocument, type JsonSchema } from '../src/adapters/http/openapi';
import { matchPath } from '../src/adapters/http/routes';
import { prepareEvent, type ApiEvent } from '../src/adapters/lambda/prepare-event';

export type Observed = {
  method: string;
  /** The request path as sent (`/me`, `/nope`), without the query. */
  path: string;
  status: number;
  headers: Headers;
  body: string;
};

type ResponseObject = {
  description: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema: JsonSchema }>;
};

export class ContractError extends Error {
  override readonly name = 'ContractError';
}

/**
 * The document as the tests hold the server to it: an object that lists its properties and says nothing of others
 * gets no others (the document itself leaves clients free to ignore new fields; the server may not add them
 * unannounced).
 */
const strict = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(strict);
  if (value === null || typeof value !== 'object') return value;
  const copy = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, strict(inner)]));
  if ('properties' in copy && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy;
};

// Built from the code, as /openapi.json is: a schema broken in schemas.ts breaks the tests that see its responses.
const DOCUMENT = strict(buildOpenApiDocument(openApiSource())) as ReturnType<typeof buildOpenApiDocument> & {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { responses: Record<string, ResponseObject> };
};

// OpenAPI's own keywords beside the schemas are not JSON Schema: not strict about unknown keywords.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(DOCUMENT, 'openapi.json');

const validators = new Map<string, ValidateFunction>();
const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

const validatorAt = (path: string): ValidateFunction => {
  let validate = validators.get(path);
  if (validate === undefined) {
    validate = ajv.getSchema(`openapi.json#/${path}`);
    if (validate === undefined) throw new ContractError(`no schema at ${path}`);
    validators.set(path, validate);
  }
  return validate;
};

/** Which documented response an observed one must be, and where it sits in the document. */
const documented = (observed: Observed): { at: string; response: ResponseObject } | 'not the API' => {
  const path = matchPath(observed.path);
  const method = observed.method.toUpperCase();
  // Pages beside the API (the docs, the demo) are not in the document.
  if (path === undefined && observed.status !== 404 && !isJson(observed.headers)) return 'not the API';
  if (path !== undefined && method === 'OPTIONS') return 'not the API';
  const operation = path === undefined ? undefined : DOCUMENT.paths[path]?.[method === 'HEAD' ? 'get' : method.toLowerCase()];
  if (operation === undefined) {
    // No operation: a 404 off the paths, a 405 on one, or what any request can be answered before routing.
    const name =
      path === undefined && observed.status === 404
        ? 'NotFound'
        : path !== undefined && observed.status === 405
          ? 'MethodNotAllowed'
          : `AnyRequest${observed.status}`;
    const response = DOCUMENT.components.responses[name];
    if (response === undefined) {
      throw new ContractError(`${describe(observed)}: no operation, and no documented answer to any request with that status`);
    }
    return { at: pointer('components', 'responses', name), response };
  }
  const response = operation.responses[String(observed.status)];
  if (response === undefined) {
    const statuses = Object.keys(operation.responses).join(', ');
    throw new ContractError(`${describe(observed)}: status ${observed.status} is not documented (documented: ${statuses})`);
  }
  return { at: pointer('paths', path as string, method === 'HEAD' ? 'get' : method.toLowerCase(), 'responses', String(observed.status)), response };
};

const isJson = (headers: Headers) => /^application\/json\b/.test(headers.get('Content-Type') ?? '');

const describe = (observed: Observed) => `${observed.method} ${observed.path} answered ${observed.status}`;

/** Throws a ContractError saying how `observed` differs from the document; returns when it matches. */
export const checkResponse = (observed: Observed): void => {
  const expected = documented(observed);
  if (expected === 'not the API') {
    // A CORS preflight: no body.
    if (observed.method.toUpperCase() === 'OPTIONS' && observed.body !== '') {
      throw new ContractError(`${describe(observed)} with a body`);
    }
    return;
  }
  const { at, response } = expected;
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    if (header.required === true && !observed.headers.has(name)) {
      throw new ContractError(`${describe(observed)} without its documented ${name} header`);
    }
  }
  const bodiless = observed.method.toUpperCase() === 'HEAD' || response.content === undefined;
  if (bodiless) {
    if (observed.body !== '') throw new ContractError(`${describe(observed)} with a body the document does not have`);
    return;
  }
  if (!isJson(observed.headers)) {
    throw new ContractError(`${describe(observed)} as ${observed.headers.get('Content-Type')}, not application/json`);
  }
  let body: unknown;
  try {
    body = JSON.parse(observed.body);
  } catch {
    throw new ContractError(`${describe(observed)} with a body that is not JSON: ${observed.body.slice(0, 200)}`);
  }
  const validate = validatorAt(`${at}/${pointer('content', 'application/json', 'schema')}`);
  if (!validate(body)) {
    throw new ContractError(
      `${describe(observed)} with a body the document does not allow (${ajv.errorsText(validate.errors)}): ` +
        JSON.stringify(body).slice(0, 500),
    );
  }
};

/** Checks a fetch-style response (its body read from a clone) and hands it back unread. */
export const checkFetchResponse = async (method: string, url: string, response: Response): Promise<Response> => {
  checkResponse({
    method,
    path: new URL(url, 'http://localhost').pathname,
    status: response.status,
    headers: response.headers,
    body: await response.clone().text(),
  });
  return response;
};

/** fetch() whose every answer is checked against the document. */
export const checkedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const url = input instanceof Request ? input.url : String(input);
  return checkFetchResponse(method, url, await fetch(input, init));
};

type Fetching = { fetch(request: Request, ...rest: never[]): Response | Promise<Response> };

/** Makes a Hono app's fetch (and so app.request(), which calls it) check every response it gives. */
export const checkEveryResponse = <App extends Fetching>(app: App): App => {
  const original = app.fetch.bind(app);
  app.fetch = async (request: Request, ...rest: never[]) =>
    checkFetchResponse(request.method, request.url, await original(request, ...rest));
  return app;
};

type LambdaResult = {
  statusCode?: number;
  headers?: Record<string, unknown>;
  multiValueHeaders?: Record<string, unknown[]>;
  body?: string;
  isBase64Encoded?: boolean;
};
type HttpEvent = { httpMethod?: string; path?: string; rawPath?: string; requestContext?: { http?: { method: string } } };

/** Checks what the Lambda handler answered an API Gateway or Function URL event (not other events: no route). */
export const checkLambdaResult = <Result extends LambdaResult>(event: unknown, result: Result): Result => {
  if (event === null || typeof event !== 'object' || !('requestContext' in event)) return result;
  // The path as the app saw it: prepareEvent takes a named stage off an HTTP API's rawPath.
  const http = prepareEvent(event as ApiEvent) as HttpEvent;
  const method = http.httpMethod ?? http.requestContext?.http?.method;
  const path = http.rawPath ?? http.path;
  if (method === undefined || path === undefined) return result;
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, String(value));
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers.set(name, values.map(String).join(', '));
  const body = result.isBase64Encoded === true ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
  checkResponse({ method, path, status: result.statusCode ?? 200, headers, body });
  return result;
};
