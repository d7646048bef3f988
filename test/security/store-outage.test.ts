// The store stops mid-run: every request answers 503 within the bound; after a restart the service resumes
// by itself and no accepted registration is lost (dynalite on disk, in its own process, killed and restarted).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server';
import { checkedFetch } from '../contract';
import { freePort } from '../stores';
import { guardLogs } from './log-guard';

const STORE_TIMEOUT_MS = 1000;
const logs = guardLogs();
let dataDir: string;
let port: number;
let store: ChildProcess | undefined;
let server: RunningServer;

const startStore = async () => {
  store = spawn(process.execPath, ['node_modules/dynalite/cli.js', '--host', '127.0.0.1', '--port', String(port), '--path', join(dataDir, 'db'), '--createTableMs', '0'], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    try {
      await fetch(`http://127.0.0.1:${port}`, { method: 'POST' });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error('dynalite did not start');
};

const stopStore = () =>
  new Promise<void>((resolve) => {
    if (store === undefined || store.exitCode !== null) return resolve();
    store.once('exit', () => resolve());
    store.kill('SIGKILL');
  });

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  // Each answer is held to the OpenAPI document (test/contract.ts); the store's own port is not the API.
  checkedFetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'outage-'));
  port = await freePort();
  await startStore();
  server = await startServer({
    DATA_DIR: ':memory:',
    PORT: '0',
    LOG_LEVEL: 'INFO',
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
    STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    JWT_SECRET: 'outage-secret-that-is-long-enough-0123456789',
    REFRESH_TOKEN_SECRET: 'outage-refresh-secret-long-enough-0123456789',
    THROTTLE_IP_REGISTRATIONS: '999999999',
  });
  logs.remember(
    'outage passphrase 1',
    'outage-secret-that-is-long-enough-0123456789',
    'outage-refresh-secret-long-enough-0123456789',
  );
});

afterAll(async () => {
  try {
    await server?.close();
    await stopStore();
    rmSync(dataDir, { recursive: true, force: true });
  } finally {
    logs.stop();
  }
  // The server logged at INFO, the outage's 503s at error level: the guard fails if it saw no request line.
  logs.assertClean();
});

describe('store outage', () => {
  it('answers 503 within the bound while the store is down, resumes after, and loses no accepted registration', async () => {
    const { token, refreshToken } = (await (
      await (async () => {
        await post('/register', { name: 'Before', username: 'before', password: 'outage passphrase 1' });
        return post('/login', { username: 'before', password: 'outage passphrase 1' });
      })()
    ).json()) as { token: string; refreshToken: string };
    logs.remember(token, refreshToken);

    // Registrations stream in while the store dies under them.
    let acceptedOne = () => {};
    const oneAccepted = new Promise<void>((resolve) => (acceptedOne = resolve));
    const attempts = Array.from({ length: 40 }, (_, i) =>
      new Promise((resolve) => setTimeout(resolve, i * 15)).then(async () => {
        const started = Date.now();
        const response = await post('/register', { name: 'Streamed', username: `stream${i}`, password: 'outage passphrase 1' });
        if (response.status === 201) acceptedOne();
        return { i, status: response.status, ms: Date.now() - started, retryAfter: response.headers.get('retry-after') };
      }),
    );
    // The store dies once one registration was accepted (on a busy machine that can take longer than 200 ms):
    // that one must survive the outage, and the rest are still in flight.
    await Promise.all([new Promise((resolve) => setTimeout(resolve, 200)), Promise.race([oneAccepted, Promise.all(attempts)])]);
    await stopStore();
    const streamed = await Promise.all(attempts);

    const during = [
      await post('/login', { username: 'before', password: 'outage passphrase 1' }),
      await post('/verify', { token }),
      await post('/register', { name: 'During', username: 'during', password: 'outage passphrase 1' }),
      await checkedFetch(`${server.url}/me`, { headers: { Authorization: `Bearer ${token}` } }),
    ];

    await startStore();
    const afterLogin = await post('/login', { username: 'before', password: 'outage passphrase 1' });
    const accepted = streamed.filter((s) => s.status === 201);
    const stillThere = await Promise.all(
      accepted.map(async (s) => (await post('/login', { username: `stream${s.i}`, password: 'outage passphrase 1' })).status),
    );

    expect(streamed.every((s) => s.status === 201 || s.status === 503)).toBe(true);
    expect(streamed.some((s) => s.status === 503)).toBe(true);
    for (const s of streamed) expect(s.ms).toBeLessThan(STORE_TIMEOUT_MS + 2000);
    for (const s of streamed.filter((x) => x.status === 503)) expect(s.retryAfter).toMatch(/^\d+$/);
    expect(during.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    expect(afterLogin.status).toBe(200);
    expect(accepted.length).toBeGreaterThan(0);
    expect(stillThere).toEqual(accepted.map(() => 200));
    // Each 503 was logged with what went wrong: the lines most likely to carry a secret were there to be searched.
    const unavailable = [...streamed, ...during].filter((r) => r.status === 503).length;
    expect(logs.requestLines().filter((line) => line.includes('"status":503')).length).toBeGreaterThanOrEqual(unavailable);
  }, 60_000);
});
