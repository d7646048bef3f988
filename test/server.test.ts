// The local server over real HTTP: concurrency, early 413s on kept-alive sockets, requests Node or the app refuse
// before any route, HOST and the canonical URL, DATA_DIR persistence and locking.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/server';
// Every answer, by fetch or by send, is checked against the OpenAPI document (test/contract.ts).
import { checkedFetch as fetch, checkResponse } from './contract';

type RawResponse = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One request through node:http, which (unlike fetch) sends what it is told: a GET with a body, any Expect. */
const send = (url: string, options: { method: string; headers?: OutgoingHttpHeaders; body?: string; agent?: Agent }) =>
  new Promise<RawResponse>((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent: options.agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, body: text };
        const headers = new Headers(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
        try {
          checkResponse({ method: options.method, path: new URL(url).pathname, status: answer.status, headers, body: text });
          resolve(answer);
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });

describe('local server in memory', () => {
  let server: RunningServer;

  beforeAll(async () => {
    // All requests come from 127.0.0.1: the per-client registration ceiling would cut the race short.
    server = await startServer({ DATA_DIR: ':memory:', PORT: '0', LOG_LEVEL: 'SILENT', THROTTLE_IP_REGISTRATIONS: '1000' });
  });

  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('gives exactly one 201 for 50 concurrent registrations of one username', async () => {
    const attempts = Array.from({ length: 50 }, (_, i) =>
      post('/register', { name: `Racer ${i}`, username: i % 2 ? 'Racer' : 'racer', password: `password number ${i}` }),
    );

    const statuses = (await Promise.all(attempts)).map((r) => r.status);

    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
  });

  it('answers headers too large for Node with a JSON 431', async () => {
    const response = await fetch(`${server.url}/health`, { headers: { 'X-Big': 'a'.repeat(20_000) } });

    expect(response.status).toBe(431);
    expect(await response.json()).toMatchObject({ code: 'headers_too_large' });
  });

  it('keeps the next request on a kept-alive connection working after an early 413', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (path: string, body: string) =>
      send(`${server.url}${path}`, {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        body,
      });

    // Large enough that the client is still sending when the 413 arrives.
    const huge = JSON.stringify({ username: 'x', password: 'p'.repeat(5_000_000) });

    const tooLarge = await post('/login', huge);
    const next = await post('/register', JSON.stringify({ name: 'After', username: 'after413', password: 'quiet lake 413' }));
    const tooLargeByFetch = await fetch(`${server.url}/login`, { method: 'POST', body: huge });
    const nextByFetch = await fetch(`${server.url}/health`);
    agent.destroy();

    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ code: 'payload_too_large' });
    expect(next.status).toBe(201);
    expect(tooLargeByFetch.status).toBe(413);
    expect(nextByFetch.status).toBe(200);
  });

  it('is at http://localhost:PORT, the one canonical local URL', async () => {
    // Act
    const health = await fetch(`${server.url}/health`);

    // Assess
    expect(server.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(server.notes).toEqual([]);
    expect(health.status).toBe(200);
  });

  it('answers an Expect other than 100-continue with a JSON 417, not an empty one', async () => {
    // Act
    const response = await send(`${server.url}/health`, { method: 'GET', headers: { Expect: 'bogus' } });

    // Assess
    expect(response.status).toBe(417);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toEqual({ code: 'invalid_request', message: expect.stringContaining('100-continue') });
  });

  it('still serves Expect: 100-continue', async () => {
    // Act
    const response = await send(`${server.url}/login`, {
      method: 'POST',
      headers: { Expect: '100-continue', 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'nobody here', password: 'not a password' }),
    });

    // Assess
    expect(response.status).toBe(401);
  });

  it('refuses a GET with a body with a JSON 400, as on Lambda, and serves the next request on that connection', async () => {
    // Prepare
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });

    // Act
    const withBody = await send(`${server.url}/health`, { method: 'GET', agent, headers: { 'Content-Length': 2 }, body: '{}' });
    const chunked = await send(`${server.url}/health`, { method: 'GET', agent, headers: { 'Transfer-Encoding': 'chunked' }, body: '{}' });
    const emptyBody = await send(`${server.url}/health`, { method: 'GET', agent, headers: { 'Content-Length': 0 } });
    const next = await send(`${server.url}/health`, { method: 'GET', agent });
    agent.destroy();

    // Assess
    expect(withBody.status).toBe(400);
    expect(JSON.parse(withBody.body)).toEqual({ code: 'invalid_request', message: 'a GET request must not have a body' });
    expect(chunked.status).toBe(400);
    expect(emptyBody.status).toBe(200);
    expect(next.status).toBe(200);
  });
});

describe('local server with HOST=0.0.0.0', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:', PORT: '0', LOG_LEVEL: 'SILENT', HOST: '0.0.0.0' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('is reachable at 127.0.0.1 and at localhost, names localhost as its URL, and says other machines can reach it', async () => {
    // Prepare
    const port = new URL(server.url).port;

    // Act
    const byAddress = await fetch(`http://127.0.0.1:${port}/health`);
    const byName = await fetch(`${server.url}/health`);

    // Assess
    expect(server.url).toBe(`http://localhost:${port}`);
    expect(byAddress.status).toBe(200);
    expect(byName.status).toBe(200);
    expect(server.notes.join('\n')).toContain('HOST=0.0.0.0: also reachable from other machines on this network');
  });
});

describe('npm start as a process', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'login-service-'));
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Starts src/server.ts the way `npm start` does; resolves with its URL, or with its exit code and stderr.
  const start = (env: Record<string, string>) =>
    new Promise<{ child: ChildProcess; url?: string; code?: number | null; stdout: () => string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        env: { ...process.env, PORT: '0', LOG_LEVEL: 'WARN', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
        if (url !== undefined) resolve({ child, url, stdout: () => stdout, stderr });
      });
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ child, code, stdout: () => stdout, stderr }));
    });

  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });

  it('keeps users and the generated secret across restarts, and refuses a second server on the same DATA_DIR', async () => {
    const first = await start({ DATA_DIR: dataDir });
    expect(first.url).toMatch(/^http:\/\/localhost:\d+$/);
    const registered = await fetch(`${first.url}/register`, {
      method: 'POST',
      body: JSON.stringify({ name: 'Persisted', username: 'persisted', password: 'kept on disk' }),
    });
    const firstLogin = await fetch(`${first.url}/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'persisted', password: 'kept on disk' }),
    });
    const { token } = (await firstLogin.json()) as { token: string };

    const second = await start({ DATA_DIR: dataDir });
    await stop(first.child);
    const restarted = await start({ DATA_DIR: dataDir });
    const login = await fetch(`${restarted.url}/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'persisted', password: 'kept on disk' }),
    });
    const verified = await fetch(`${restarted.url}/verify`, { method: 'POST', body: JSON.stringify({ token }) });
    await stop(restarted.child);

    expect(registered.status).toBe(201);
    expect(verified.status).toBe(200);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/DATA_DIR .* is in use by another running server/);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect(login.status).toBe(200);
  }, 60_000);

  it('stops with a one-line message when PORT is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = String((blocker.address() as { port: number }).port);

    const result = await start({ DATA_DIR: ':memory:', PORT: port });
    blocker.close();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`PORT ${port} is already in use`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('prints localhost as its URL with HOST=0.0.0.0, and that other machines can reach it', async () => {
    // Act
    const running = await start({ DATA_DIR: ':memory:', HOST: '0.0.0.0' });
    const port = new URL(running.url ?? 'http://invalid').port;
    const byAddress = await fetch(`http://127.0.0.1:${port}/health`);
    await stop(running.child);

    // Assess
    expect(running.url).toBe(`http://localhost:${port}`);
    expect(byAddress.status).toBe(200);
    expect(running.stdout()).toContain('HOST=0.0.0.0: also reachable from other machines on this network');
  }, 30_000);

  it('stops with a message naming a bad HOST', async () => {
    const result = await start({ DATA_DIR: ':memory:', HOST: 'example.com' });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('HOST must be an IPv4 or IPv6 address or localhost');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('stops with a message naming the real cause when DYNAMODB_ENDPOINT does not answer, not a bare (Error)', async () => {
    // Prepare: a port nothing listens on.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = String((blocker.address() as { port: number }).port);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));

    // Act
    const result = await start({ DATA_DIR: ':memory:', DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `cannot start: the DynamoDB endpoint http://127.0.0.1:${port} did not answer (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('stops with a message naming a bad setting', async () => {
    const result = await start({ DATA_DIR: ':memory:', ARGON2_MEMORY_KIB: '1024' });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ARGON2_MEMORY_KIB');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
