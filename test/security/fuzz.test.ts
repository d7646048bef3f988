// Fuzzing over real HTTP: 10,000 generated requests across every endpoint; no 5xx, no crash, no dropped connection.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server';
import { checkResponse } from '../contract';
import { guardLogs } from './log-guard';

const PASSWORD = 'orbit lantern 42 sky';
const logs = guardLogs();
let server: RunningServer;
let token: string;
let refreshToken: string;

beforeAll(async () => {
  server = await startServer({
    DATA_DIR: ':memory:',
    PORT: '0',
    LOG_LEVEL: 'INFO',
    JWT_SECRET: 'fuzz-secret-that-is-long-enough-0123456789',
    REFRESH_TOKEN_SECRET: 'fuzz-refresh-secret-long-enough-0123456789',
    // One client sends everything: keep the per-client ceilings out of the way of coverage.
    THROTTLE_IP_FAILURES: '999999999',
    THROTTLE_IP_REGISTRATIONS: '999999999',
  });
  await fetch(`${server.url}/register`, {
    method: 'POST',
    body: JSON.stringify({ name: 'Fuzz Target', username: 'fuzzed', password: PASSWORD }),
  });
  const login = (await (
    await fetch(`${server.url}/login`, { method: 'POST', body: JSON.stringify({ username: 'fuzzed', password: PASSWORD }) })
  ).json()) as { token: string; refreshToken: string };
  ({ token, refreshToken } = login);
  logs.remember(
    PASSWORD,
    token,
    refreshToken,
    'fuzz-secret-that-is-long-enough-0123456789',
    'fuzz-refresh-secret-long-enough-0123456789',
  );
});

afterAll(async () => {
  try {
    await server?.close();
  } finally {
    logs.stop();
  }
  // The server logged at INFO: the guard fails if it saw no request line, so a clean result is never vacuous.
  logs.assertClean();
});

const PATHS = [
  '/register', '/login', '/token/refresh', '/verify', '/logout', '/logout/all', '/me', '/me/password',
  '/.well-known/jwks.json', '/health', '/', '/nope', '/me/../login', '/login/', '/%2e%2e/etc/passwd', '/constructor',
];
const METHODS = ['GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', 'fuzzed', 'FUZZED', '\ud800', '\u0000', '\ufdfa'.repeat(300), 'a'.repeat(2000), PASSWORD),
);
const anyValue = fc.oneof(nasty, fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));
const tokenLike = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('token', 'refresh'),
  nasty,
  fc.constant('eyJhbGciOiJub25lIn0.eyJzdWIiOiJmdXp6ZWQifQ.'),
);

const body = fc.oneof(
  fc
    .record(
      {
        name: fc.oneof(fc.constant('Fuzz'), anyValue),
        username: fc.oneof(fc.stringMatching(/^[a-z0-9._@+-]{3,12}$/), fc.constant('fuzzed'), anyValue),
        password: fc.oneof(fc.constant(PASSWORD), fc.constant('another long passphrase'), anyValue),
        currentPassword: fc.oneof(fc.constant(PASSWORD), anyValue),
        newPassword: fc.oneof(fc.constant('a brand new passphrase'), anyValue),
        token: tokenLike,
        refreshToken: tokenLike,
        user: fc.oneof(fc.record({ username: anyValue }, { requiredKeys: [] }), anyValue),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom('', '{', '{"a":', 'null', '[]', '{"__proto__":{"x":1}}', 'x'.repeat(20_000)),
);

const request = fc.record({
  path: fc.constantFrom(...PATHS),
  method: fc.constantFrom(...METHODS),
  body,
  authorization: fc.oneof(fc.constant(undefined), fc.constantFrom('valid', 'Bearer ', 'Basic abc', 'Bearer a.b.c'), fc.string({ maxLength: 60 })),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'),
  origin: fc.constantFrom(undefined, 'https://app.example.com', 'null'),
});

describe('fuzzing over HTTP', () => {
  it('answers 10,000 generated requests without a 5xx or a dropped connection', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { 'Content-Type': r.contentType };
        if (r.authorization !== undefined) {
          headers.Authorization = r.authorization === 'valid' ? `Bearer ${token}` : r.authorization.replace(/[\r\n\0]/g, '');
        }
        if (r.origin !== undefined) headers.Origin = r.origin;
        const rawBody = typeof r.body === 'string' ? r.body.replace('"token"', JSON.stringify(token)).replace('"refresh"', JSON.stringify(refreshToken)) : r.body;
        const hasBody = r.method !== 'GET' && r.method !== 'HEAD';

        let response: Response;
        try {
          response = await fetch(`${server.url}${r.path}`, { method: r.method, headers, ...(hasBody ? { body: rawBody } : {}) });
        } catch (error) {
          // A header value fetch itself refuses to send is the generator's problem, not the server's.
          if (error instanceof TypeError && !(error.cause instanceof Error)) return;
          throw new Error(`dropped connection on ${r.method} ${r.path}`, { cause: error });
        }
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        // Each answer is also held to the OpenAPI document (test/contract.ts).
        const path = new URL(`${server.url}${r.path}`).pathname;
        checkResponse({ method: r.method, path, status: response.status, headers: response.headers, body: text });

        expect(response.status, `${r.method} ${r.path}: ${text}`).toBeLessThan(500);
        if (response.status >= 400 && r.method !== 'HEAD') {
          expect(JSON.parse(text)).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        }
      }),
      { numRuns: 10_000 },
    );

    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBeGreaterThan(9_000);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    // Every answered request was logged, so the guard below searched the lines of all of them.
    expect(logs.requestLines().length).toBeGreaterThanOrEqual(answered);
  }, 300_000);
});
