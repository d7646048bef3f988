// Fixes up API Gateway / Function URL events before hono/aws-lambda turns them into a Request.
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context as LambdaContext } from 'aws-lambda';
import { FORBIDDEN_IN_HEADER_VALUE, HEADER_NAME } from './web-primitives';

export type ApiEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** Where the problem found in a raw event travels to the app, which answers it as a JSON invalid_request. */
const ADAPTER_ERROR = Symbol('adapterError');
type Marked = { [ADAPTER_ERROR]?: string };

export type LambdaBindings = { event?: ApiEvent & Marked; lambdaContext?: LambdaContext };

const isV2 = (event: ApiEvent): event is APIGatewayProxyEventV2 =>
  'rawPath' in event && 'http' in (event.requestContext ?? {});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const isBase64 = (text: string) => BASE64.test(text.replace(/\s+/g, ''));

// Only the execute-api host puts the stage in the path; a custom domain's mapping has already removed it.
const carriesStage = (event: APIGatewayProxyEventV2) =>
  /\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(event.requestContext.domainName ?? '');

/**
 * Returns the event Hono should see: on an HTTP API's named stage the stage leaves the path (rawPath carries it,
 * REST API's `path` does not), and a body that cannot become a Request (bad base64, a GET with a body) is
 * dropped and reported, instead of hono answering in plain text.
 */
export const prepareEvent = (event: ApiEvent): ApiEvent & Marked => {
  let prepared: ApiEvent & Marked = event;
  if (isV2(event)) {
    const stage = event.requestContext.stage;
    if (stage && stage !== '$default' && carriesStage(event)) {
      const prefix = `/${stage}`;
      if (event.rawPath === prefix || event.rawPath.startsWith(`${prefix}/`)) {
        prepared = { ...event, rawPath: event.rawPath.slice(prefix.length) || '/' };
      }
    }
  }
  const method = isV2(event) ? event.requestContext.http.method : event.httpMethod;
  const body = event.body ?? '';
  let problem: string | undefined;
  if (body !== '' && (method === 'GET' || method === 'HEAD')) problem = `a ${method} request must not have a body`;
  else if (body !== '' && event.isBase64Encoded && !isBase64(body)) problem = 'the request body is not valid base64';
  if (problem !== undefined) prepared = { ...prepared, body: undefined, isBase64Encoded: false, [ADAPTER_ERROR]: problem } as ApiEvent & Marked;
  // A header no Request may carry (a bad name, a line break in a value) would make hono answer a plain-text 400:
  // it is left out, and the app answers in JSON instead.
  const headerProblem = malformedHeader(prepared);
  if (headerProblem !== undefined) {
    prepared = {
      ...prepared,
      headers: keepWellFormed(prepared.headers),
      ...('multiValueHeaders' in prepared ? { multiValueHeaders: keepWellFormed(prepared.multiValueHeaders) } : {}),
      [ADAPTER_ERROR]: prepared[ADAPTER_ERROR] ?? headerProblem,
    } as ApiEvent & Marked;
  }
  return prepared;
};

// Fetch's own rules (as the bundle's Headers applies them), held against the raw value: untrimmed, as it arrived.
const wellFormed = (name: string, value: unknown) =>
  HEADER_NAME.test(name) && (Array.isArray(value) ? value : [value]).every((v) => v == null || !FORBIDDEN_IN_HEADER_VALUE.test(String(v)));

const malformedHeader = (event: ApiEvent): string | undefined => {
  const all = [event.headers ?? {}, ('multiValueHeaders' in event ? event.multiValueHeaders : undefined) ?? {}];
  return all.some((headers) => Object.entries(headers).some(([name, value]) => !wellFormed(name, value)))
    ? 'a request header is malformed'
    : undefined;
};

const keepWellFormed = <H extends Record<string, unknown> | null | undefined>(headers: H): H =>
  (headers == null ? headers : Object.fromEntries(Object.entries(headers).filter(([name, value]) => wellFormed(name, value)))) as H;

export const adapterErrorOf = (bindings: LambdaBindings | undefined): string | undefined =>
  bindings?.event?.[ADAPTER_ERROR];

/** The caller's address as API Gateway saw it (REST: identity.sourceIp; HTTP API and URLs: http.sourceIp). */
export const sourceIpOf = (bindings: LambdaBindings | undefined): string | undefined => {
  const event = bindings?.event;
  if (event === undefined) return undefined;
  return isV2(event) ? event.requestContext.http.sourceIp : event.requestContext.identity?.sourceIp;
};
