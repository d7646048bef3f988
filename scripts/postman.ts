// `npm run postman`: the Postman collection, converted from the OpenAPI document by openapi-to-postmanv2, with its
// requests in the order of one session (register, log in, /me, verify, refresh, change password, log out, ...)
// and each checking its documented status, code and body schema; tokens from each login go into variables.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertV2 } from 'openapi-to-postmanv2';
import { openApiSource } from '../src/adapters/http/app';
import { buildOpenApiDocument } from '../src/adapters/http/openapi';
import { ROUTES, type RouteId } from '../src/adapters/http/routes';
import type { ErrorCode } from '../src/domain/errors';

export const COLLECTION_PATH = fileURLToPath(new URL('../postman/login-service.postman_collection.json', import.meta.url));

/** One request of the run: which documented operation, what it sends, what it must answer. */
type Step = {
  name: string;
  route: RouteId;
  body?: Record<string, unknown>;
  /** Sends the current access token (the default for the routes that need one). */
  bearer?: boolean;
  status: number;
  code?: ErrorCode;
  /** The answer is a token pair: keep it for the requests after. */
  keepTokens?: boolean;
  /** Script lines run before the request is sent. */
  before?: readonly string[];
};

const CREDENTIALS = { username: '{{username}}', password: '{{password}}' };
const NEW_CREDENTIALS = { username: '{{username}}', password: '{{newPassword}}' };

// A name of its own each run, so the collection also runs against a server that keeps its users (npm start).
const NEW_USERNAME = ['pm.collectionVariables.set("username", "postman-" + Date.now());'];

const STEPS: readonly Step[] = [
  { name: 'Liveness', route: 'health', status: 200 },
  { name: 'The OpenAPI document', route: 'openApi', status: 200 },
  { name: 'The public signing keys', route: 'jwks', status: 200 },
  { name: 'Register', route: 'register', body: { name: 'Postman User', ...CREDENTIALS }, status: 201, before: NEW_USERNAME },
  { name: 'Register the same name again', route: 'register', body: { name: 'Someone Else', ...CREDENTIALS }, status: 409, code: 'username_taken' },
  { name: 'Log in with a wrong password', route: 'logIn', body: { ...CREDENTIALS, password: 'not the password' }, status: 401, code: 'invalid_credentials' },
  { name: 'Log in', route: 'logIn', body: CREDENTIALS, status: 200, keepTokens: true },
  { name: 'Who am I', route: 'getMe', status: 200 },
  { name: 'Verify the access token', route: 'verify', body: { token: '{{accessToken}}' }, status: 200 },
  { name: 'Refresh the token pair', route: 'refresh', body: { refreshToken: '{{refreshToken}}' }, status: 200, keepTokens: true },
  {
    name: 'Change the password',
    route: 'changePassword',
    body: { currentPassword: '{{password}}', newPassword: '{{newPassword}}' },
    status: 200,
    keepTokens: true,
  },
  { name: 'Log in with the old password', route: 'logIn', body: CREDENTIALS, status: 401, code: 'invalid_credentials' },
  { name: 'Log out', route: 'logOut', bearer: true, status: 204 },
  { name: 'Who am I, logged out', route: 'getMe', status: 401, code: 'invalid_token' },
  { name: 'Log in with the new password', route: 'logIn', body: NEW_CREDENTIALS, status: 200, keepTokens: true },
  { name: 'Log out everywhere', route: 'logOutAll', status: 204 },
  { name: 'Log in again', route: 'logIn', body: NEW_CREDENTIALS, status: 200, keepTokens: true },
  { name: 'Delete the account', route: 'deleteAccount', body: { password: '{{newPassword}}' }, status: 204 },
  { name: 'Log in to the deleted account', route: 'logIn', body: NEW_CREDENTIALS, status: 401, code: 'invalid_credentials' },
];

const VARIABLES = {
  baseUrl: 'http://localhost:3000',
  username: 'postman-user',
  password: 'correct horse battery staple',
  newPassword: 'a new and longer passphrase',
  accessToken: '',
  refreshToken: '',
};

type PostmanItem = {
  name: string;
  request: { method: string; url: { path?: string[] }; body?: { mode: string; raw?: string }; auth?: unknown } & Record<string, unknown>;
  item?: PostmanItem[];
} & Record<string, unknown>;

type Documented = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
};

const convert = (document: unknown) =>
  new Promise<{ item: PostmanItem[]; info: Record<string, unknown> }>((resolve, reject) => {
    convertV2({ type: 'json', data: document as object }, { folderStrategy: 'Paths', parametersResolution: 'Schema' }, (error, result) => {
      const collection = result?.output?.[0]?.data as { item: PostmanItem[]; info: Record<string, unknown> } | undefined;
      if (error !== null && error !== undefined) reject(error);
      else if (result?.result !== true || collection === undefined) reject(new Error(`conversion failed: ${result?.reason}`));
      else resolve(collection);
    });
  });

const leaves = (items: readonly PostmanItem[]): PostmanItem[] =>
  items.flatMap((item) => (item.item === undefined ? [item] : leaves(item.item)));

const keyOf = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** The checks of one step, as a Postman test script: its status, its code, and the documented body schema. */
const testScript = (step: Step, schema: unknown): string[] => [
  `pm.test("answers ${step.status}", function () { pm.response.to.have.status(${step.status}); });`,
  ...(step.code === undefined
    ? []
    : [`pm.test("with code ${step.code}", function () { pm.expect(pm.response.json().code).to.eql("${step.code}"); });`]),
  ...(schema === undefined
    ? []
    : [`pm.test("in the documented shape", function () { pm.response.to.have.jsonSchema(${JSON.stringify(schema)}); });`]),
  ...(step.keepTokens === true
    ? [
        'const pair = pm.response.json();',
        'pm.collectionVariables.set("accessToken", pair.token);',
        'pm.collectionVariables.set("refreshToken", pair.refreshToken);',
      ]
    : []),
];

export const buildCollection = async () => {
  const document = buildOpenApiDocument(openApiSource()) as unknown as Documented;
  // The converter resolves and rewrites what it is given: a copy.
  const converted = await convert(structuredClone(document));
  const requests = new Map(leaves(converted.item).map((item) => [keyOf(item.request.method, `/${(item.request.url.path ?? []).join('/')}`), item]));

  const item = STEPS.map((step) => {
    const route = ROUTES[step.route];
    const generated = requests.get(keyOf(route.method, route.path));
    if (generated === undefined) throw new Error(`the converted collection has no request for ${route.method} ${route.path}`);
    const responses = document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {};
    const response = responses[String(step.status)];
    const schema = response?.content?.['application/json']?.schema as { properties?: { code?: { enum?: string[] } } } | undefined;
    // The run checks only what the document promises: a status or code it does not list is a mistake here.
    if (response === undefined) throw new Error(`${step.name}: ${step.status} is not documented for ${route.method} ${route.path}`);
    if (step.code !== undefined && !(schema?.properties?.code?.enum ?? []).includes(step.code)) {
      throw new Error(`${step.name}: ${step.code} is not documented for ${step.status}`);
    }
    const bearer = step.bearer ?? route.auth === 'session';
    // Generated ids and the converter's example answers (random numbers) would make every run a new file.
    const { response: _examples, id: _id, ...request } = generated;
    // A request with no body sends none: a GET with one is refused, and an optional body is left out.
    const { body: generatedBody, ...rest } = generated.request;
    return {
      ...request,
      name: step.name,
      request: {
        ...rest,
        name: step.name,
        auth: bearer ? { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] } : { type: 'noauth' },
        ...(step.body === undefined
          ? {}
          : { body: { mode: 'raw', options: { raw: { language: 'json' } }, ...generatedBody, raw: JSON.stringify(step.body, null, 2) } }),
      },
      event: [
        ...(step.before === undefined ? [] : [{ listen: 'prerequest', script: { type: 'text/javascript', exec: step.before } }]),
        { listen: 'test', script: { type: 'text/javascript', exec: testScript(step, schema) } },
      ],
    };
  });

  const { _postman_id: _id, ...info } = converted.info;
  return {
    info,
    item,
    variable: Object.entries(VARIABLES).map(([key, value]) => ({ key, value, type: 'string' })),
  };
};

/** The file's text, as `npm run postman` writes it. */
export const collectionText = async () => `${JSON.stringify(await buildCollection(), null, 2)}\n`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(COLLECTION_PATH), { recursive: true });
  writeFileSync(COLLECTION_PATH, await collectionText());
  console.log(`wrote ${COLLECTION_PATH}`);
}
