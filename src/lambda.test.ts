// The exported Lambda handler fed complete, real-format API Gateway v1/v2 and Function URL events, against dynalite.
import type { APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from '../test/app-harness';
import { checkLambdaResult } from '../test/contract';
import { functionUrlEvent, httpApiEvent, lambdaContext, restEvent } from '../test/events';
import { createServiceTables, startDynalite, type TestStore } from '../test/stores';

type Handler = typeof import('./lambda').handler;
type Result = APIGatewayProxyResult & APIGatewayProxyStructuredResultV2;

let store: TestStore;
let handler: Handler;
const written: string[] = [];
let stdout: { mockRestore(): void } | undefined;

beforeAll(async () => {
  store = await startDynalite();
  const env = {
    JWT_SECRET: TEST_JWT_SECRET,
    REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
    ...(await createServiceTables(store.endpoint)),
    DYNAMODB_ENDPOINT: store.endpoint,
    // Audit lines on (they show the client address), request lines off; both go to `written`, not the terminal.
    LOG_LEVEL: 'WARN',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  // Imported only now: the module reads its configuration once, at cold start.
  ({ handler } = await import('./lambda'));
});

afterAll(async () => {
  stdout?.mockRestore();
  vi.unstubAllEnvs();
  await store?.stop();
});

// Every answer is checked against the OpenAPI document (test/contract.ts).
const invoke = async (event: Parameters<Handler>[0]) =>
  checkLambdaResult(event, (await handler(event, lambdaContext())) as Result);
const bodyOf = (result: Result) => JSON.parse(result.body ?? '') as Record<string, unknown>;
const jsonBody = (value: unknown) => JSON.stringify(value);
const headerOf = (result: Result, name: string) =>
  (result.headers?.[name] ?? result.multiValueHeaders?.[name]?.[0]) as string | undefined;

describe('REST API (payload v1)', () => {
  it('registers, logs in and verifies through per-route resources', async () => {
    const credentials = { username: 'RestUser', password: 'amber falcon 41' };

    const registered = await invoke(
      restEvent({ method: 'POST', path: '/register', body: jsonBody({ ...credentials, name: 'Rest' }) }),
    );
    const loggedIn = await invoke(restEvent({ method: 'POST', path: '/login', body: jsonBody(credentials) }));
    const { token } = bodyOf(loggedIn) as { token: string };
    const verified = await invoke(
      restEvent({ method: 'POST', path: '/verify', body: jsonBody({ username: 'restuser', token }) }),
    );

    expect(registered.statusCode).toBe(201);
    expect(bodyOf(registered)).toEqual({ username: 'restuser' });
    expect(loggedIn.statusCode).toBe(200);
    expect(verified.statusCode).toBe(200);
    expect(bodyOf(verified)).toMatchObject({ verified: true, username: 'restuser' });
  });

  it('routes through a /{proxy+} resource and takes a base64 body', async () => {
    const body = Buffer.from(jsonBody({ name: 'Proxy', username: 'proxyuser', password: 'silver comet 7' })).toString(
      'base64',
    );

    const result = await invoke(restEvent({ method: 'POST', path: '/register', body, base64: true }, '/{proxy+}'));

    expect(result.statusCode).toBe(201);
  });

  it('answers GET /health with CORS headers and the Lambda request id', async () => {
    const result = await invoke(restEvent({ method: 'GET', path: '/health', headers: { Origin: 'https://a.example' } }));

    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ status: 'ok' });
    expect(headerOf(result, 'access-control-allow-origin')).toBe('*');
    expect(headerOf(result, 'x-request-id')).toBe(lambdaContext().awsRequestId);
  });

  it('returns a JSON 404 for an unknown path under the proxy resource', async () => {
    const result = await invoke(restEvent({ method: 'GET', path: '/admin' }, '/{proxy+}'));

    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ code: 'not_found' });
  });

  it('returns a JSON 400 for a body that is not valid base64', async () => {
    const result = await invoke(restEvent({ method: 'POST', path: '/login', body: '%%%not base64', base64: true }));

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ code: 'invalid_request' });
  });

  it.each([
    ['a header name with a space', { 'Bad Name': 'x' }],
    ['a line break in a header value', { 'X-Note': 'one\r\ntwo' }],
  ])('returns a JSON 400, not hono\'s plain text, for %s', async (_what, headers) => {
    for (const event of [
      restEvent({ method: 'POST', path: '/login', headers, body: '{}' }),
      httpApiEvent({ method: 'POST', path: '/login', headers, body: '{}' }),
    ]) {
      const result = await invoke(event);

      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toMatchObject({ code: 'invalid_request', message: 'a request header is malformed' });
    }
  });

  it('returns a JSON 400 for a GET with a body', async () => {
    const result = await invoke(restEvent({ method: 'GET', path: '/health', body: '{"a":1}' }));

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ code: 'invalid_request' });
    expect(headerOf(result, 'access-control-allow-origin')).toBe('*');
  });

  it('answers a CORS preflight', async () => {
    const result = await invoke(
      restEvent({
        method: 'OPTIONS',
        path: '/login',
        headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST' },
      }),
    );

    expect(result.statusCode).toBe(204);
    expect(headerOf(result, 'access-control-allow-methods')).toContain('POST');
  });
});

describe('HTTP API (payload v2)', () => {
  it('registers and logs in on the $default stage', async () => {
    const registered = await invoke(
      httpApiEvent({ method: 'POST', path: '/register', body: jsonBody({ name: 'V2', username: 'v2user', password: 'v2 password!' }) }),
    );
    const loggedIn = await invoke(
      httpApiEvent({ method: 'POST', path: '/login', body: jsonBody({ username: 'v2user', password: 'v2 password!' }) }),
    );

    expect(registered.statusCode).toBe(201);
    expect(loggedIn.statusCode).toBe(200);
    expect(bodyOf(loggedIn)).toMatchObject({ user: { username: 'v2user', name: 'V2' }, tokenType: 'Bearer' });
  });

  it('strips a named stage from rawPath and verifies a bearer header', async () => {
    const loggedIn = await invoke(
      httpApiEvent({ method: 'POST', path: '/login', body: jsonBody({ username: 'v2user', password: 'v2 password!' }) }, 'prod'),
    );
    const { token } = bodyOf(loggedIn) as { token: string };

    const verified = await invoke(
      httpApiEvent({ method: 'POST', path: '/verify', headers: { Authorization: `Bearer ${token}` } }, 'prod'),
    );

    expect(loggedIn.statusCode).toBe(200);
    expect(verified.statusCode).toBe(200);
    expect(bodyOf(verified)).toMatchObject({ verified: true, username: 'v2user' });
  });

  it('returns invalid_credentials as JSON for a wrong password on a base64 body', async () => {
    const body = Buffer.from(jsonBody({ username: 'v2user', password: 'wrong password' })).toString('base64');

    const result = await invoke(httpApiEvent({ method: 'POST', path: '/login', body, base64: true }, 'prod'));

    expect(result.statusCode).toBe(401);
    expect(bodyOf(result)).toEqual({ code: 'invalid_credentials', message: expect.any(String) });
  });
});

describe('HTTP API edge cases', () => {
  it('answers GET /health on a named stage', async () => {
    const result = await invoke(httpApiEvent({ method: 'GET', path: '/health' }, 'prod'));

    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ status: 'ok' });
  });

  it('keeps a path that only looks like the stage on a custom domain, where the mapping removed the stage', async () => {
    const event = httpApiEvent({ method: 'GET', path: '/health' }, 'health');
    const onCustomDomain = {
      ...event,
      rawPath: '/health',
      requestContext: { ...event.requestContext, domainName: 'auth.example.com', http: { ...event.requestContext.http, path: '/health' } },
    };

    const result = await invoke(onCustomDomain);

    expect(result.statusCode).toBe(200);
  });

  it('decodes a line-wrapped base64 body', async () => {
    const encoded = Buffer.from(jsonBody({ username: 'v2user', password: 'wrong password' })).toString('base64');
    const wrapped = `${encoded.replace(/.{20}/g, '$&\n')}\n`;

    const result = await invoke(httpApiEvent({ method: 'POST', path: '/login', body: wrapped, base64: true }));

    expect(result.statusCode).toBe(401);
    expect(bodyOf(result)).toMatchObject({ code: 'invalid_credentials' });
  });

  it('answers an event that is not an HTTP event with a JSON 400', async () => {
    const result = await invoke({ key1: 'value1' } as unknown as Parameters<Handler>[0]);

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ code: 'invalid_request' });
  });
});

describe('client address', () => {
  // The audit trail shows which address the throttle counted: API Gateway's, never a header the client sets.
  const auditIpOf = async (event: Parameters<Handler>[0]) => {
    const before = written.length;
    await invoke(event);
    const audit = written
      .slice(before)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((e) => e.event === 'login.failed');
    return audit?.ip;
  };

  it('takes REST API events from identity.sourceIp and HTTP API events from http.sourceIp, ignoring X-Forwarded-For', async () => {
    const body = jsonBody({ username: 'nobody-here', password: 'wrong password' });
    const rest = restEvent({ method: 'POST', path: '/login', body, headers: { 'X-Forwarded-For': '1.2.3.4' } });
    rest.requestContext.identity.sourceIp = '203.0.113.11';
    const http = httpApiEvent({ method: 'POST', path: '/login', body, headers: { 'X-Forwarded-For': '1.2.3.4' } });
    http.requestContext.http.sourceIp = '2001:db8:aa:bb::5';

    const [restIp, httpIp] = [await auditIpOf(rest), await auditIpOf(http)];

    expect(restIp).toBe('203.0.113.11');
    expect(httpIp).toBe('2001:db8:aa:bb::5');
  });
});

describe('Function URL', () => {
  it('registers from a base64 body', async () => {
    const body = Buffer.from(jsonBody({ name: 'Url', username: 'urluser', password: 'lunar garden 9' })).toString('base64');

    const result = await invoke(functionUrlEvent({ method: 'POST', path: '/register', body, base64: true }));

    expect(result.statusCode).toBe(201);
    expect(bodyOf(result)).toEqual({ username: 'urluser' });
  });

  it('verifies a token and rejects a forged one', async () => {
    const loggedIn = await invoke(
      functionUrlEvent({ method: 'POST', path: '/login', body: jsonBody({ username: 'v2user', password: 'v2 password!' }) }),
    );
    const { token } = bodyOf(loggedIn) as { token: string };
    const forged = `${token.slice(0, -4)}AAAA`;

    const good = await invoke(functionUrlEvent({ method: 'POST', path: '/verify', body: jsonBody({ token }) }));
    const bad = await invoke(functionUrlEvent({ method: 'POST', path: '/verify', body: jsonBody({ token: forged }) }));

    expect(good.statusCode).toBe(200);
    expect(bad.statusCode).toBe(401);
    expect(bodyOf(bad)).toMatchObject({ code: 'invalid_token', verified: false });
  });
});
