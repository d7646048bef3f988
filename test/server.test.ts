// The local server over real HTTP: concurrency, early 413s on kept-alive sockets, DATA_DIR persistence and locking.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/server';

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
    const send = (path: string, body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${server.url}${path}`,
          { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // Large enough that the client is still sending when the 413 arrives.
    const huge = JSON.stringify({ username: 'x', password: 'p'.repeat(5_000_000) });

    const tooLarge = await send('/login', huge);
    const next = await send('/register', JSON.stringify({ name: 'After', username: 'after413', password: 'quiet lake 413' }));
    const tooLargeByFetch = await fetch(`${server.url}/login`, { method: 'POST', body: huge });
    const nextByFetch = await fetch(`${server.url}/health`);
    agent.destroy();

    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ code: 'payload_too_large' });
    expect(next.status).toBe(201);
    expect(tooLargeByFetch.status).toBe(413);
    expect(nextByFetch.status).toBe(200);
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
    new Promise<{ child: ChildProcess; url?: string; code?: number | null; stderr: string }>((resolve) => {
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
        if (url !== undefined) resolve({ child, url, stderr });
      });
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ child, code, stderr }));
    });

  const stop = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });

  it('keeps users and the generated secret across restarts, and refuses a second server on the same DATA_DIR', async () => {
    const first = await start({ DATA_DIR: dataDir });
    expect(first.url).toBeDefined();
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

  it('stops with a message naming a bad setting', async () => {
    const result = await start({ DATA_DIR: ':memory:', ARGON2_MEMORY_KIB: '1024' });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ARGON2_MEMORY_KIB');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
