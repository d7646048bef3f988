// Defects an attack on the service found (issue 8, item 9), each reproduced through real HTTP on a socket, with a
// slow or failing store played by a proxy in front of a real one (dynalite).
import { connect } from 'node:net';
import { PutCommand } from '../src/adapters/dynamodb/client';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveTestApp, type LoginAnswer, type ServedTestApp } from './app-harness';
import { startStoreProxy, type StoreProxy } from './store-proxy';
import { startDynalite, type TestStore } from './stores';

type Served = ServedTestApp;


const post = (s: Served, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Test-Peer': '198.51.100.7', ...headers },
    body: JSON.stringify(body),
  });

const PASSWORD = 'correct horse battery';

let store: TestStore;
let proxy: StoreProxy;
const served: Served[] = [];

const start = async (env: Record<string, string> = {}) => {
  const s = await serveTestApp(proxy.endpoint, env);
  served.push(s);
  return s;
};

beforeAll(async () => {
  store = await startDynalite();
  proxy = await startStoreProxy(store.endpoint);
});
afterEach(() => proxy.reset());
afterAll(async () => {
  for (const s of served) await s.close();
  await proxy.close();
  await store.stop();
});

describe('concurrent correct logins of one account', () => {
  it('gives 16 concurrent correct logins 16 x 200, while 30 parallel wrong guesses still get at most 5 plain 401s', async () => {
    const s = await start();
    await post(s, '/register', { name: 'Busy', username: 'busy', password: PASSWORD });
    await post(s, '/register', { name: 'Target', username: 'target16', password: PASSWORD });

    const correct = await Promise.all(Array.from({ length: 16 }, () => post(s, '/login', { username: 'busy', password: PASSWORD })));
    const wrong = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post(s, '/login', { username: 'target16', password: `wrong guess ${i}` })),
    );

    expect(correct.map((r) => r.status)).toEqual(Array(16).fill(200));
    const wrongStatuses = wrong.map((r) => r.status);
    expect(wrongStatuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(wrongStatuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(25);
  });
});

describe('a refresh whose answer was lost in a store outage', () => {
  it('lets the client retry with its only token after more than 10 s, inside the 60 s grace, without ending the session', async () => {
    const s = await start({ STORE_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '2000' });
    await post(s, '/register', { name: 'Lost Answer', username: 'lostanswer', password: PASSWORD });
    const login = (await (await post(s, '/login', { username: 'lostanswer', password: PASSWORD })).json()) as LoginAnswer;
    // The rotation's UpdateItem is done by the store, but its answer comes too late: the client sees a 503.
    proxy.setFault((call) => (call.operation === 'UpdateItem' && call.table === s.sessionsTableName ? { delayResponseMs: 1500 } : undefined));

    const lost = await post(s, '/token/refresh', { refreshToken: login.refreshToken });
    proxy.reset();
    const retryAfter = Number(lost.headers.get('retry-after'));
    s.clock.advance(20);
    const retried = await post(s, '/token/refresh', { refreshToken: login.refreshToken });
    s.clock.advance(-20);

    expect(lost.status).toBe(503);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThan(60);
    expect(retried.status).toBe(200);
    const pair = (await retried.json()) as LoginAnswer;
    expect((await post(s, '/verify', { token: pair.token })).status).toBe(200);
  });
});

describe('failed store calls and the per-client ceiling', () => {
  it('does not count correct logins answered 503 against the client', async () => {
    const s = await start({ THROTTLE_IP_FAILURES: '5', STORE_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '1000' });
    await post(s, '/register', { name: 'Slow Store', username: 'slowstore', password: PASSWORD });
    // The client's window exists already (a failed login elsewhere), so its counts are updates.
    await post(s, '/login', { username: 'slowstore', password: 'a first typo' });
    proxy.setFault((call) => (call.operation === 'UpdateItem' ? { delayResponseMs: 600 } : undefined));

    const during = await Promise.all(
      Array.from({ length: 20 }, () => post(s, '/login', { username: 'slowstore', password: PASSWORD })),
    );
    proxy.reset();
    // Their attempts' leases were written, but the answers lost: each holds its place until its deadline.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await post(s, '/login', { username: 'slowstore', password: PASSWORD });

    expect(during.every((r) => r.status === 503)).toBe(true);
    expect(after.status).toBe(200);
  });

  it('does not count wrong passwords answered 503 against the client', async () => {
    const s = await start({ THROTTLE_IP_FAILURES: '3', STORE_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '1000' });
    await post(s, '/register', { name: 'Guessed', username: 'guessed', password: PASSWORD });
    // The name's failure cannot be written: the attempt answers 503, and the client's count is taken back.
    proxy.setFault((call) => (call.body.includes('loginFailures') && call.body.includes('REMOVE') && !call.body.includes('#uid = :uid') ? { failWith: 500 } : undefined));
    const during = [];
    for (let i = 0; i < 6; i += 1) during.push(await post(s, '/login', { username: 'guessed', password: `wrong ${i}` }));
    proxy.reset();

    const after = [];
    for (let i = 0; i < 4; i += 1) after.push(await post(s, '/login', { username: `nobody-${i}`, password: `wrong ${i}` }));

    expect(during.map((r) => r.status)).toEqual(Array(6).fill(503));
    expect(after.map((r) => r.status)).toEqual([401, 401, 401, 429]);
  });

  it('counts registrations by outcome: 503s do not use up the ceiling, 201 and 409 do', async () => {
    const s = await start({ THROTTLE_IP_REGISTRATIONS: '2', STORE_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '1000' });
    proxy.setFault((call) => (call.operation === 'PutItem' && call.table === s.tableName ? { failWith: 500 } : undefined));
    const during = [];
    for (let i = 0; i < 4; i += 1) during.push(await post(s, '/register', { name: 'N', username: `outage${i}`, password: PASSWORD }));
    proxy.reset();

    const created = await post(s, '/register', { name: 'N', username: 'outage-ok', password: PASSWORD });
    const taken = await post(s, '/register', { name: 'N', username: 'outage-ok', password: PASSWORD });
    const over = await post(s, '/register', { name: 'N', username: 'outage-more', password: PASSWORD });

    expect(during.map((r) => r.status)).toEqual(Array(4).fill(503));
    expect([created.status, taken.status, over.status]).toEqual([201, 409, 429]);
  });
});

describe('tutorial-era accounts', () => {
  it('lets three parallel first logins of a tutorial account (bcrypt, no uid) all in, in every trial', async () => {
    const s = await start();
    for (let trial = 0; trial < 4; trial += 1) {
      const username = `tutorial${trial}`;
      await s.client.send(
        new PutCommand({ TableName: s.tableName, Item: { username, name: 'Tutorial', password: bcrypt.hashSync(PASSWORD, 4) } }),
      );

      const answers = await Promise.all(Array.from({ length: 3 }, () => post(s, '/login', { username, password: PASSWORD })));
      const uids = await Promise.all(
        answers.map(async (r) => JSON.parse(Buffer.from(((await r.json()) as LoginAnswer).token.split('.')[1] ?? '', 'base64url').toString()).uid as string),
      );

      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(new Set(uids).size).toBe(1);
    }
  });

  it('finds a tutorial user stored under a name that is not in NFC (jose + U+0301)', async () => {
    const s = await start();
    const stored = 'jose\u0301';
    await s.client.send(
      new PutCommand({ TableName: s.tableName, Item: { username: stored, name: 'José', password: bcrypt.hashSync(PASSWORD, 4) } }),
    );

    const answer = await post(s, '/login', { username: stored, password: PASSWORD });
    const { token } = (await answer.json()) as LoginAnswer;
    const verified = await post(s, '/verify', { username: stored, token });

    expect(answer.status).toBe(200);
    expect(verified.status).toBe(200);
  });
});

describe('one deadline per request', () => {
  it('answers a password change within REQUEST_TIMEOUT_MS when every store call is slow, not after the sum of the calls', async () => {
    const s = await start({ STORE_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '2000' });
    await post(s, '/register', { name: 'Slow Change', username: 'slowchange', password: PASSWORD });
    const login = (await (await post(s, '/login', { username: 'slowchange', password: PASSWORD })).json()) as LoginAnswer;
    proxy.setFault(() => ({ delayRequestMs: 600 }));

    const started = performance.now();
    const answer = await post(
      s,
      '/me/password',
      { currentPassword: PASSWORD, newPassword: 'another long passphrase' },
      s.bearer(login.token),
    );
    const elapsed = performance.now() - started;

    expect(answer.status).toBe(503);
    // 2 s of budget, plus the CPU of the last step: far from the 7 s the calls would take one after another.
    expect(elapsed).toBeLessThan(3500);
  });
});

describe('smaller findings', () => {
  it('answers "Bearer <token> extra" with invalid_token, not missing_token', async () => {
    const s = await start();
    const login = (await (await post(s, '/register', { name: 'B', username: 'bearerx', password: PASSWORD }), await post(s, '/login', { username: 'bearerx', password: PASSWORD })).json()) as LoginAnswer;

    const answer = await fetch(`${s.url}/me`, { headers: { Authorization: `Bearer ${login.token} extra` } });

    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ code: 'invalid_token' });
    expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('answers a logout by refresh token with a wrong secret 204, like an ended session, and ends nothing', async () => {
    const s = await start();
    await post(s, '/register', { name: 'L', username: 'liveness', password: PASSWORD });
    const login = (await (await post(s, '/login', { username: 'liveness', password: PASSWORD })).json()) as LoginAnswer;
    const [uid, sid] = login.refreshToken.split('.');
    const forged = `${uid}.${sid}.${'A'.repeat(43)}`;
    const gone = `${uid}.not-a-session.${'A'.repeat(43)}`;

    const live = await post(s, '/logout', { refreshToken: forged });
    const ended = await post(s, '/logout', { refreshToken: gone });

    expect([live.status, ended.status]).toEqual([204, 204]);
    expect((await post(s, '/verify', { token: login.token })).status).toBe(200);
  });

  it('logs a client that hangs up mid-body as a 400, not as a server fault', async () => {
    const s = await start({ LOG_LEVEL: 'INFO' });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const { port } = new URL(s.url);
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write('POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"username":"a"');
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 100);
        });
      });
      await vi.waitFor(() => expect(lines.some((line) => line.includes('"route":"/login"'))).toBe(true), { timeout: 3000 });
    } finally {
      spy.mockRestore();
    }

    const line = lines.find((l) => l.includes('"route":"/login"')) ?? '';
    expect(line).toContain('"status":400');
    expect(line).not.toContain('"level":"ERROR"');
    expect(line).not.toContain('internal_error');
  });
});
