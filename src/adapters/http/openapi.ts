// The OpenAPI 3.1 document, generated from the route table and its valibot schemas (served at GET /openapi.json).
// It imports only types: the app hands it the table (openApiSource), so on Lambda this module is a chunk of its
// own, loaded on the first request for the document, and shares no code the login path would have to load apart.
import type { GenericSchema } from 'valibot';
import type { ErrorCode } from '../../domain/errors';
import type { Route } from './routes';

/** What the document is generated from: the route table, the status of each code, the error body. */
export type OpenApiSource = {
  routes: readonly (Route & { id: string })[];
  statusByCode: Readonly<Record<ErrorCode, number>>;
  errorBody: GenericSchema;
};

export type JsonSchema = { [keyword: string]: unknown };

/** What the converter reads of a valibot schema: its kind, its parts, and the actions of its pipe. */
type SchemaNode = {
  type: string;
  entries?: Record<string, SchemaNode>;
  wrapped?: SchemaNode;
  item?: SchemaNode;
  key?: SchemaNode;
  value?: SchemaNode;
  literal?: unknown;
  options?: readonly unknown[];
  pipe?: readonly { kind: string; type: string; description?: string; title?: string }[];
};

/**
 * A valibot schema as JSON Schema (draft 2020-12, OpenAPI 3.1's dialect), for the kinds schemas.ts uses. A new
 * kind throws here, in the tests, instead of being described wrongly. Measured against @valibot/to-json-schema:
 * the same output for our schemas (openapi.test.ts checks it), and this whole module is a third of its 14 KB.
 */
export const toJsonSchema = (schema: GenericSchema | SchemaNode): JsonSchema => {
  const node = schema as SchemaNode;
  const json = convert(node);
  for (const action of node.pipe?.slice(1) ?? []) {
    if (action.type === 'description') json.description = action.description;
    else if (action.type === 'title') json.title = action.title;
    // A check is code (no lone surrogates) that JSON Schema cannot say: the document allows more, never less.
    else if (action.type !== 'check') throw new Error(`openapi: no JSON Schema for the valibot action "${action.type}"`);
  }
  return json;
};

const part = (node: SchemaNode, name: keyof SchemaNode): SchemaNode => {
  const inner = node[name] as SchemaNode | undefined;
  if (inner === undefined) throw new Error(`openapi: a valibot ${node.type} schema without its ${String(name)}`);
  return inner;
};

const convert = (node: SchemaNode): JsonSchema => {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'boolean':
      return { type: node.type };
    case 'unknown':
      return {};
    case 'literal':
      return { const: node.literal };
    case 'picklist': {
      const options = [...(node.options ?? [])];
      return { ...(options.every((option) => typeof option === 'string') ? { type: 'string' } : {}), enum: options };
    }
    case 'nullable':
      return { anyOf: [toJsonSchema(part(node, 'wrapped')), { type: 'null' }] };
    case 'array':
      return { type: 'array', items: toJsonSchema(part(node, 'item')) };
    case 'record':
      return {
        type: 'object',
        propertyNames: toJsonSchema(part(node, 'key')),
        additionalProperties: toJsonSchema(part(node, 'value')),
      };
    case 'object':
    case 'loose_object':
    case 'strict_object': {
      const entries = Object.entries(node.entries ?? {});
      return {
        type: 'object',
        properties: Object.fromEntries(
          entries.map(([key, entry]) => [key, toJsonSchema(entry.type === 'optional' ? part(entry, 'wrapped') : entry)]),
        ),
        required: entries.filter(([, entry]) => entry.type !== 'optional').map(([key]) => key),
        // Said outright, so a reader (and the contract tests, which hold plain objects to their listed fields)
        // can tell an open object from one whose extra fields nobody documented.
        ...(node.type === 'loose_object' ? { additionalProperties: true } : {}),
        ...(node.type === 'strict_object' ? { additionalProperties: false } : {}),
      };
    }
    default:
      throw new Error(`openapi: no JSON Schema for the valibot schema "${node.type}"`);
  }
};

/** The statuses the document uses, with their reason phrases (RFC 9110). */
const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  417: 'Expectation Failed',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

// What errorResponse (error-response.ts) adds to an error's headers, by code; the contract tests check each
// header documented as required is there.
const RETRY_AFTER_CODES: ErrorCode[] = ['too_many_attempts', 'service_unavailable'];
const CHALLENGE_CODES: ErrorCode[] = ['missing_token', 'invalid_token', 'token_expired'];
// The optional fields of an error body, and the codes that carry them (invalidField, weak_password's reasons).
const DETAILS_OF: Record<string, readonly ErrorCode[]> = { field: ['invalid_request'], reasons: ['weak_password'] };

/** Answers the local server gives before the app sees a request (server.ts), off STATUS_BY_CODE's table. */
const LOCAL_SERVER_ANSWERS: readonly { status: number; code: ErrorCode; why: string }[] = [
  { status: 417, code: 'invalid_request', why: 'local server only: an `Expect` header other than `100-continue`' },
];

const BEARER = 'bearerAuth';

/**
 * What app.ts (and the local server before it) answers any request with, before it reaches a route or when it
 * reaches none: one the platform cannot hand over (a GET with a body, bad base64, malformed HTTP), a body over the
 * limit (a GET has none: refused before), headers too large, a fault of ours.
 */
const ANY_REQUEST: readonly ErrorCode[] = ['invalid_request', 'payload_too_large', 'headers_too_large', 'internal_error'];

/**
 * The codes a route can answer with: its own (the table), and those app.ts gives any route of its shape: any
 * request's (ANY_REQUEST), invalid JSON where there is a body to parse, and on session routes the bearer check's,
 * which reads the session from the store.
 */
export const routeErrors = (route: Route): ErrorCode[] => [
  ...new Set<ErrorCode>([
    ...ANY_REQUEST.filter((code) => code !== 'payload_too_large' || route.method !== 'GET'),
    ...(route.body === undefined ? [] : (['invalid_json'] as const)),
    ...(route.auth === 'session' ? CHALLENGE_CODES.concat('service_unavailable') : []),
    // Unserved (404) where passkeys are not configured.
    ...(route.needsPasskeys === true ? (['not_found'] as const) : []),
    ...route.errors,
  ]),
];

/** Statuses and their codes, in the order the codes come. */
const byStatus = (
  source: OpenApiSource,
  codes: readonly ErrorCode[],
  overrides: Partial<Record<ErrorCode, number>> = {},
): Map<number, ErrorCode[]> => {
  const statuses = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = overrides[code] ?? source.statusByCode[code];
    statuses.set(status, [...(statuses.get(status) ?? []), code]);
  }
  return statuses;
};

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

const header = (description: string, required: boolean) => ({ description, required, schema: { type: 'string' } });

const RETRY_AFTER = header('Seconds to wait before trying again', true);

const codeList = (codes: readonly ErrorCode[]) => codes.map((code) => `\`${code}\``).join(', ');

/** An error response for `codes`, all of one status: the error body (or each of them) with `code` narrowed. */
const errorResponse = (
  status: number,
  bodySchemas: readonly GenericSchema[],
  codes: readonly ErrorCode[],
  { why = [] as readonly string[], headers = {} as Record<string, unknown> } = {},
) => {
  const bodies = bodySchemas.map((schema) => {
    const body = toJsonSchema(schema) as { properties: Record<string, JsonSchema> };
    body.properties.code = { type: 'string', enum: [...codes] };
    for (const [detail, carriers] of Object.entries(DETAILS_OF)) {
      if (!codes.some((code) => carriers.includes(code))) delete body.properties[detail];
    }
    return body;
  });
  const all = { ...headers };
  if (codes.some((code) => RETRY_AFTER_CODES.includes(code))) all['Retry-After'] = RETRY_AFTER;
  const challenges = codes.filter((code) => CHALLENGE_CODES.includes(code));
  if (challenges.length > 0) {
    all['WWW-Authenticate'] = header(
      'RFC 6750: `Bearer` without credentials, `Bearer error="invalid_token"` for a bad or expired token',
      challenges.length === codes.length,
    );
  }
  return {
    description: [`${REASONS[status]}: ${codeList(codes)}`, ...why].join('; '),
    ...(Object.keys(all).length > 0 ? { headers: all } : {}),
    content: json(bodies.length === 1 ? (bodies[0] as JsonSchema) : { anyOf: bodies }),
  };
};

const operation = (source: OpenApiSource, route: Route & { id: string }) => {
  const bodies = [route.errorBody ?? source.errorBody];
  const errors = Object.fromEntries([
    ...[...byStatus(source, routeErrors(route), route.errorStatus)].map(([status, codes]) => [String(status), errorResponse(status, bodies, codes)]),
    ...LOCAL_SERVER_ANSWERS.map(({ status, code, why }) => [String(status), errorResponse(status, bodies, [code], { why: [why] })]),
  ]);
  const { status, body } = route.success;
  return {
    operationId: route.id,
    summary: route.summary,
    // Optional auth: a bearer token, or proof in the body instead (the empty requirement).
    ...(route.auth === 'session' ? { security: [{ [BEARER]: [] }] } : {}),
    ...(route.auth === 'optional' ? { security: [{ [BEARER]: [] }, {}] } : {}),
    ...(route.body === undefined
      ? {}
      : { requestBody: { required: route.bodyOptional !== true, content: json(toJsonSchema(route.body)) } }),
    responses: {
      [String(status)]: {
        description: REASONS[status],
        ...(body === undefined ? {} : { content: json(toJsonSchema(body)) }),
      },
      ...errors,
    },
  };
};

export const buildOpenApiDocument = (source: OpenApiSource) => {
  const paths: Record<string, Record<string, ReturnType<typeof operation>>> = {};
  for (const route of source.routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(source, route);
  // A wrong method on a path is answered in the error shape of that path's routes (/verify's has `verified`).
  const errorBodies = [...new Set(source.routes.map((route) => route.errorBody ?? source.errorBody))];
  return {
    openapi: '3.1.0',
    info: {
      title: 'login-service',
      version: '1',
      description:
        'Register, log in, refresh and verify JSON Web Tokens. Every error body carries a stable `code` (switch ' +
        'on it, not on `message`); each response lists the codes it can carry. Every path also answers OPTIONS ' +
        '(CORS preflight), and HEAD where it answers GET.',
    },
    // Relative to where the document is served, so it holds behind an API Gateway stage too.
    servers: [{ url: '.' }],
    paths,
    components: {
      securitySchemes: {
        [BEARER]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token from /login' },
      },
      schemas: { ErrorResponse: toJsonSchema(source.errorBody) },
      // Answers to requests no operation describes: a path nobody serves, a method its path does not answer, and
      // what any request can be answered before routing (AnyRequest400, ...).
      responses: {
        NotFound: errorResponse(404, [source.errorBody], ['not_found']),
        MethodNotAllowed: errorResponse(405, errorBodies, ['method_not_allowed'], {
          headers: { Allow: header('The methods this path answers', true) },
        }),
        ...Object.fromEntries([
          ...[...byStatus(source, ANY_REQUEST)].map(([status, codes]) => [`AnyRequest${status}`, errorResponse(status, errorBodies, codes)]),
          ...LOCAL_SERVER_ANSWERS.map(({ status, code, why }) => [
            `AnyRequest${status}`,
            errorResponse(status, errorBodies, [code], { why: [why] }),
          ]),
        ]),
      },
    },
  };
};

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

let cached: OpenApiDocument | undefined;

/** Built on first use and kept: the route table does not change while the process runs. */
export const openApiDocument = (source: OpenApiSource): OpenApiDocument => (cached ??= buildOpenApiDocument(source));
