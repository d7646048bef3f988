// The HTTP contract through app.request(), with the real adapters against a real embedded store (dynalite).
import { GetCommand, PutCommand } from '../dynamodb/client';
import bcrypt from 'bcryptjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, json, onDynalite, type TestApp } from '../../../test/app-harness';
import { deadEndpoint, type TestStore } from '../../../test/stores';

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});


describe('POST /register', () => {
  it('returns 201 with the normalized username only', async () => {
    const response = await t.post('/register', { name: 'Ada L', username: 'Ada.Lovelace', password: 'analytical engine' });

    expect(response.status).toBe(201);
    expect(await json(response)).toEqual({ username: 'ada.lovelace' });
  });

  it('returns 409 username_taken for an upper-case variant and leaves the first account intact', async () => {
    await t.post('/register', { name: 'Bob', username: 'bob', password: 'blue sky over rivers' });

    const takeover = await t.post('/register', { name: 'Mallory', username: 'BOB', password: 'green fields of wheat' });

    expect(takeover.status).toBe(409);
    expect(await json(takeover)).toEqual({ code: 'username_taken', message: expect.any(String) });
    expect((await t.post('/login', { username: 'bob', password: 'blue sky over rivers' })).status).toBe(200);
    expect((await t.post('/login', { username: 'bob', password: 'green fields of wheat' })).status).toBe(401);
  });

  it('returns 400 weak_password with reasons for a short password', async () => {
    const response = await t.post('/register', { name: 'Short', username: 'shorty', password: 'seven77' });

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'weak_password', reasons: expect.arrayContaining(['too_short']) });
  });

  it.each([
    [{ username: 'x1y2z3', password: 'long enough pw' }, 'name'],
    [{ name: 'N', password: 'long enough pw' }, 'username'],
    [{ name: 'N', username: 'x1y2z3' }, 'password'],
    [{ name: 'N', username: 42, password: 'long enough pw' }, 'username'],
    [{ name: null, username: 'x1y2z3', password: 'long enough pw' }, 'name'],
    [{ name: 'N', username: 'x1y2z3', password: ['long enough pw'] }, 'password'],
    [{ name: 'N', username: 'has space', password: 'long enough pw' }, 'username'],
    [{ name: 'N', username: 'x1y2z3', password: 'lone \ud800 surrogate' }, 'password'],
  ])('returns 400 invalid_request naming the field for %j', async (body, field) => {
    const response = await t.post('/register', body);

    expect(response.status).toBe(400);
    const payload = await json(response);
    expect(payload).toMatchObject({ code: 'invalid_request', field });
    expect(payload.message).toContain(field);
  });

  it.each(['{bad json', '', 'undefined'])('returns 400 invalid_json for %j', async (raw) => {
    const response = await t.post('/register', raw);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_json' });
  });

  it('returns 400 invalid_json for a body that is not valid UTF-8, so distinct bytes never merge', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"name":"B","username":"binuser","password":"'),
      Buffer.from([0xff]),
      Buffer.from('abcdefgh"}'),
    ]);

    const response = await t.app.request('/register', { method: 'POST', body: bytes });

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_json' });
  });

  it.each(['[]', '"text"', 'null', '42'])('returns 400 invalid_request for the non-object body %s', async (raw) => {
    const response = await t.post('/register', raw);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request' });
  });

  it('returns 413 payload_too_large for a body over 16 KB', async () => {
    const response = await t.post('/register', { name: 'N', username: 'big', password: 'p'.repeat(17 * 1024) });

    expect(response.status).toBe(413);
    expect(await json(response)).toMatchObject({ code: 'payload_too_large' });
  });
});

describe('POST /login', () => {
  beforeAll(async () => {
    await t.post('/register', { name: 'Carol C', username: 'carol', password: 'quiet morning tea' });
  });

  it('returns 200 with the user, a bearer token and its lifetime', async () => {
    const response = await t.post('/login', { username: 'Carol', password: 'quiet morning tea' });

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await json(response)).toEqual({
      user: { username: 'carol', name: 'Carol C' },
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      tokenType: 'Bearer',
      expiresIn: 3600,
      refreshToken: expect.any(String),
      refreshExpiresIn: 30 * 86_400,
    });
  });

  it('answers an unknown user and a wrong password identically', async () => {
    const unknown = await t.post('/login', { username: 'nobody-here', password: 'quiet morning tea' });
    const wrong = await t.post('/login', { username: 'carol', password: 'not the secret' });

    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await json(unknown)).toEqual(await json(wrong));
  });

  it('lets a tutorial user with a short password log in', async () => {
    await t.client.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { username: 'shortpw', name: 'Short', password: bcrypt.hashSync('abc', 4) },
      }),
    );

    const response = await t.post('/login', { username: 'shortpw', password: 'abc' });

    expect(response.status).toBe(200);
  });

  it('treats a name DynamoDB could never store as an unknown user, not a server error', async () => {
    const response = await t.post('/login', { username: '\ufdfa'.repeat(200), password: 'whatever' });

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_credentials' });
  });

  it('returns 400 invalid_request for an empty password', async () => {
    const response = await t.post('/login', { username: 'carol', password: '' });

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'password' });
  });
});

describe('legacy bcrypt users', () => {
  const putLegacy = (username: string, password: string) =>
    t.client.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { username, name: 'Tutorial User', password: bcrypt.hashSync(password, 10) },
      }),
    );
  const storedHash = async (username: string) =>
    (await t.client.send(new GetCommand({ TableName: t.tableName, Key: { username }, ConsistentRead: true }))).Item
      ?.password as string;

  it('logs in with a bcrypt hash and upgrades it to argon2id', async () => {
    await putLegacy('tutorial', 'tutorial password');

    const first = await t.post('/login', { username: 'tutorial', password: 'tutorial password' });
    const upgraded = await storedHash('tutorial');
    const second = await t.post('/login', { username: 'tutorial', password: 'tutorial password' });

    expect(first.status).toBe(200);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(second.status).toBe(200);
  });

  it('logs in with a password longer than 72 bytes but keeps the bcrypt hash', async () => {
    const long = 'x'.repeat(100);
    await putLegacy('longpw', long);

    const response = await t.post('/login', { username: 'longpw', password: long });

    expect(response.status).toBe(200);
    expect(await storedHash('longpw')).toMatch(/^\$2[aby]\$/);
  });
});

describe('POST /verify', () => {
  let token: string;

  beforeAll(async () => {
    ({ token } = await t.registerAndLogIn('dave'));
  });

  it('verifies a token in the body with the username, without echoing the token', async () => {
    const response = await t.post('/verify', { username: 'Dave', token });

    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      verified: true,
      message: 'success',
      username: 'dave',
      user: { username: 'dave', name: 'Test User' },
    });
  });

  it('verifies a token in the Authorization header with an empty body', async () => {
    const response = await t.app.request('/verify', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });

    expect(response.status).toBe(200);
  });

  it('accepts the tutorial shape with user.username', async () => {
    const response = await t.post('/verify', { user: { username: 'dave', name: 'Test User' }, token });

    expect(response.status).toBe(200);
  });

  it('prefers the body token over the header token', async () => {
    const bodyWins = await t.post('/verify', { token }, { Authorization: 'Bearer not-a-token' });
    const bodyLoses = await t.post('/verify', { token: 'not-a-token' }, { Authorization: `Bearer ${token}` });

    expect(bodyWins.status).toBe(200);
    expect(bodyLoses.status).toBe(401);
  });

  it('returns 401 invalid_token with verified false for another user', async () => {
    const response = await t.post('/verify', { username: 'carol', token });

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_token', verified: false });
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('returns 401 invalid_token when no token is given', async () => {
    const response = await t.post('/verify', { username: 'dave' });

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_token', verified: false });
  });

  it('returns 401 token_expired after the token lifetime', async () => {
    const { token: shortLived } = await t.registerAndLogIn('erin');
    t.clock.advance(3601);

    const response = await t.post('/verify', { token: shortLived });
    t.clock.advance(-3601);

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'token_expired', verified: false });
  });

  it('returns 400 invalid_request for a token that is not a string', async () => {
    const response = await t.post('/verify', { token: 12345 });

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'token', verified: false });
  });
});

describe('routing and CORS', () => {
  it('answers GET /health', async () => {
    const response = await t.app.request('/health');

    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: 'ok' });
  });

  it('returns 404 not_found as JSON for an unknown path', async () => {
    const response = await t.app.request('/admin');

    expect(response.status).toBe(404);
    expect(await json(response)).toMatchObject({ code: 'not_found' });
  });

  it('answers a preflight for an unknown path with 404, not with CORS headers', async () => {
    const response = await t.app.request('/nope', {
      method: 'OPTIONS',
      headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'POST' },
    });

    expect(response.status).toBe(404);
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('returns 405 method_not_allowed with Allow for a known path', async () => {
    const response = await t.app.request('/login', { method: 'GET' });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await json(response)).toMatchObject({ code: 'method_not_allowed' });
  });

  describe('with a list of allowed origins', () => {
    let restricted: TestApp;

    beforeAll(async () => {
      restricted = await createTestApp(store.endpoint, {
        CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
      });
    });

    it('answers a preflight with the origin, methods and headers', async () => {
      const response = await restricted.app.request('/login', {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://app.example.com',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type, authorization',
        },
      });

      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toMatch(/Content-Type.*Authorization/);
    });

    it('puts the origin header on error responses too', async () => {
      const response = await restricted.post('/login', '{bad', { Origin: 'https://admin.example.com' });

      expect(response.status).toBe(400);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    });

    it('gives no origin header to an origin that is not allowed', async () => {
      const response = await restricted.app.request('/health', { headers: { Origin: 'https://evil.example.com' } });

      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});

describe('when the store is down', () => {
  it('answers 503 service_unavailable with Retry-After within a few seconds, never a 401', async () => {
    const down = await createTestApp(await deadEndpoint(), {}, { createTable: false });
    const started = Date.now();

    const response = await down.post('/login', { username: 'carol', password: 'quiet morning tea' });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await json(response)).toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);
    down.client.destroy();
  });
});

describe('request log', () => {
  // Powertools writes info lines to stdout and errors to stderr.
  const captureStdout = () => {
    const lines: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        return true;
      }),
    );
    return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
  };

  it('writes one JSON line per request with id, method, route, status and time, and never a secret', async () => {
    const logged = await createTestApp(store.endpoint, { LOG_LEVEL: 'INFO' });
    const password = 'Tr0ub4dor&3-unique-to-this-test';
    const capture = captureStdout();

    await logged.post('/register', { name: 'Logged', username: 'logged', password });
    const login = (await (await logged.post('/login', { username: 'logged', password })).json()) as { token: string };
    await logged.post('/verify', { token: login.token });
    await logged.post('/login', { username: 'logged', password: 'wrong password' });
    capture.restore();
    const stored = await logged.client.send(
      new GetCommand({ TableName: logged.tableName, Key: { username: 'logged' }, ConsistentRead: true }),
    );

    const all = capture.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const entries = all.filter((e) => e.message === 'request');
    expect(all.filter((e) => e.event !== undefined).map((e) => e.event)).toEqual([
      'user.registered',
      'login.succeeded',
      'login.failed',
    ]);
    expect(entries.map((e) => [e.message, e.method, e.route, e.status])).toEqual([
      ['request', 'POST', '/register', 201],
      ['request', 'POST', '/login', 200],
      ['request', 'POST', '/verify', 200],
      ['request', 'POST', '/login', 401],
    ]);
    for (const entry of entries) {
      expect(entry.requestId).toEqual(expect.any(String));
      expect(entry.ms).toEqual(expect.any(Number));
    }
    const everything = capture.lines.join('\n');
    for (const secret of [password, login.token, stored.Item?.password as string, 'wrong password']) {
      expect(everything).not.toContain(secret);
    }
    logged.client.destroy();
  });

  it('logs a store outage as one error line for the request, with what failed', async () => {
    const down = await createTestApp(await deadEndpoint(), { LOG_LEVEL: 'INFO' }, { createTable: false });
    const capture = captureStdout();

    await down.post('/login', { username: 'carol', password: 'quiet morning tea' });
    capture.restore();

    const entries = capture.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((e) => e.event === undefined);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 'ERROR',
      message: 'request',
      status: 503,
      failure: { code: 'service_unavailable' },
    });
    down.client.destroy();
  });
});
