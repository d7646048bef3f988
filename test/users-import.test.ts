// The users:import and users:export commands as child processes, against a real store (dynalite via
// DYNAMODB_ENDPOINT, and DATA_DIR's own), with a real local server for the sessions an overwrite must end.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '../src/adapters/dynamodb/client';
import { startServer, type RunningServer } from '../src/server';
import { createServiceTables, startDynalite, testClient, type TestStore } from './stores';

const ROOT = new URL('..', import.meta.url).pathname;

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs scripts/<script>.ts as npm would, with `env` added to this process's environment. */
const runScript = (script: string, args: string[], env: Record<string, string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', `${script}.ts`), ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

const HASH = bcrypt.hashSync('imported password', 4);
const userLine = (username: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ username, name: `Name of ${username}`, passwordHash: HASH, ...extra });

let workDir: string;
const file = (name: string, lines: string[]) => {
  const path = join(workDir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'users-import-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('users:import and users:export on a running store (DYNAMODB_ENDPOINT)', () => {
  let store: TestStore;
  let client: ReturnType<typeof testClient>;

  beforeAll(async () => {
    store = await startDynalite();
    client = testClient(store.endpoint, 5000);
  });

  afterAll(async () => {
    client?.destroy();
    await store?.stop();
  });

  const freshTables = async () => ({ DYNAMODB_ENDPOINT: store.endpoint, ...(await createServiceTables(store.endpoint)) });
  const stored = async (tables: { TABLE_NAME: string }, username: string) =>
    (await client.send(new GetCommand({ TableName: tables.TABLE_NAME, Key: { username }, ConsistentRead: true }))).Item;
  const exported = async (tables: Record<string, string>) => {
    const out = join(workDir, `export-${tables.TABLE_NAME}.jsonl`);
    const run = await runScript('users-export', ['--out', out], tables);
    expect(run.code).toBe(0);
    return { run, out, lines: readFileSync(out, 'utf8').split('\n').filter(Boolean).sort() };
  };

  it('in a dry run checks every line, reads the store, writes nothing, and says so', async () => {
    // Prepare
    const tables = await freshTables();
    await runScript('users-import', [file('existing.jsonl', [userLine('already')])], tables);
    const input = file('dry.jsonl', [userLine('already'), userLine('newcomer'), 'not json']);

    // Act
    const run = await runScript('users-import', ['--dry-run', input], tables);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`dry run against the store at ${store.endpoint}`);
    expect(run.stderr).toContain('line 3: not JSON');
    expect(run.stdout).toMatch(/^dry run, nothing was written: would create 1, skip 1 existing, replace 0; 1 invalid/);
    expect(await stored(tables, 'newcomer')).toBeUndefined();
  });

  it('reports each bad line by its number, imports the rest, prints a progress line and a summary', async () => {
    // Prepare
    const tables = await freshTables();
    const input = file('mixed.jsonl', [
      userLine('good-one'),
      '{"username": "broken"',
      userLine('md5-user', { passwordHash: 'md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3' }),
      '',
      userLine('x'),
      userLine('good-two', { createdAt: '2019-05-01T12:00:00Z' }),
      userLine('costly', { passwordHash: `$2b$15$${HASH.slice(7)}` }),
    ]);

    // Act
    const run = await runScript('users-import', [input], tables);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('line 2: not JSON');
    expect(run.stderr).toContain('line 3: passwordHash: unknown password hash format ("md5")');
    expect(run.stderr).toContain('line 5: username must be 3 to 64 letters');
    expect(run.stderr).toContain('line 7: passwordHash: bcrypt cost 15 is above 14');
    expect(run.stderr).toMatch(/^7 lines, \d+\/s, 4 errors$/m);
    expect(run.stdout).toMatch(/^created 2, skipped 0 existing, replaced 0; 4 invalid, 0 duplicates, 0 failed \(7 lines in/);
    expect(run.stdout).toContain('hash formats: bcrypt 2');
    expect(await stored(tables, 'good-two')).toMatchObject({ password: HASH, createdAt: '2019-05-01T12:00:00.000Z' });
    expect(await stored(tables, 'md5-user')).toBeUndefined();
  });

  it('keeps the first of two lines with one normalized name and reports the second', async () => {
    // Prepare
    const tables = await freshTables();
    const input = file('dupes.jsonl', [userLine('Twin', { name: 'First' }), userLine('other'), userLine('TWIN', { name: 'Second' })]);

    // Act
    const run = await runScript('users-import', [input], tables);

    // Assess
    expect(run.stderr).toContain('line 3: duplicate of line 1 (both are "twin"): the first one is kept');
    expect(await stored(tables, 'twin')).toMatchObject({ name: 'First' });
    expect(run.code).toBe(1);
  });

  describe('with a real server on the same tables', () => {
    let server: RunningServer;
    let tables: Record<string, string>;

    beforeAll(async () => {
      tables = await freshTables();
      server = await startServer({ ...tables, DATA_DIR: ':memory:', PORT: '0', LOG_LEVEL: 'SILENT' });
    });

    afterAll(async () => {
      await server?.close();
    });

    const post = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
    };

    it('skips a registered user: its name and password stay its own', async () => {
      // Prepare
      const registered = await post('/register', { name: 'Registered', username: 'resident', password: 'quiet harbour lamp' });

      // Act
      const run = await runScript('users-import', [file('resident.jsonl', [userLine('resident')])], tables);

      // Assess
      expect(registered.status).toBe(201);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^created 0, skipped 1 existing/);
      expect((await post('/login', { username: 'resident', password: 'quiet harbour lamp' })).status).toBe(200);
      expect((await post('/login', { username: 'resident', password: 'imported password' })).status).toBe(401);
    });

    it('with --overwrite replaces name and hash, keeps the uid, and ends every session of that user', async () => {
      // Prepare
      const registered = await post('/register', { name: 'Before', username: 'replaced', password: 'amber window seven' });
      const session = await post('/login', { username: 'replaced', password: 'amber window seven' });
      const before = await stored(tables as { TABLE_NAME: string }, 'replaced');

      // Act
      const run = await runScript('users-import', ['--overwrite', file('overwrite.jsonl', [userLine('replaced', { name: 'After' })])], tables);

      // Assess
      const after = await stored(tables as { TABLE_NAME: string }, 'replaced');
      expect([registered.status, session.status]).toEqual([201, 200]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^created 0, skipped 0 existing, replaced 1/);
      expect(after).toMatchObject({ name: 'After', password: HASH, uid: before?.uid, credentialVersion: 1 });
      expect((await post('/verify', { token: session.body.token })).status).toBe(401);
      expect((await post('/token/refresh', { refreshToken: session.body.refreshToken })).status).toBe(401);
      expect((await post('/login', { username: 'replaced', password: 'amber window seven' })).status).toBe(401);
      expect((await post('/login', { username: 'replaced', password: 'imported password' })).body.user).toEqual({
        username: 'replaced',
        name: 'After',
      });
    });
  });

  it('round-trips: what one table exports, another imports, and exports again line for line', async () => {
    // Prepare
    const first = await freshTables();
    const source = [
      userLine('roundtrip-a', { createdAt: '2020-01-01T00:00:00.000Z' }),
      userLine('roundtrip-b', { name: 'Émilie ✨', passwordHash: 'pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=' }),
      userLine('roundtrip-c'),
    ];
    await runScript('users-import', [file('source.jsonl', source)], first);
    const second = await freshTables();

    // Act
    const once = await exported(first);
    const imported = await runScript('users-import', [once.out], second);
    const twice = await exported(second);

    // Assess
    expect(imported.code).toBe(0);
    expect(once.lines).toEqual([...source].sort());
    expect(twice.lines).toEqual(once.lines);
    expect(statSync(once.out).mode & 0o777).toBe(0o600);
    expect(once.run.stderr).toMatch(/exported 3 users to .* in \d+\.\d s/);
  });
});

describe('users:import on DATA_DIR', () => {
  it('says a running server holds DATA_DIR, naming it, and imports once the server has stopped', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'users-import-data-'));
    const env = { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'SILENT' };
    const input = file('local.jsonl', [userLine('local-user')]);
    let server = await startServer(env);

    try {
      // Act
      const refused = await runScript('users-import', [input], { DATA_DIR: dataDir });
      await server.close();
      const imported = await runScript('users-import', [input], { DATA_DIR: dataDir });
      server = await startServer(env);
      const login = await fetch(`${server.url}/login`, {
        method: 'POST',
        body: JSON.stringify({ username: 'local-user', password: 'imported password' }),
      });

      // Assess
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`cannot import: DATA_DIR ${dataDir} is in use by another running server (pid ${process.pid})`);
      expect(refused.stderr).toContain('stop the server and run it again');
      expect(imported.code).toBe(0);
      expect(imported.stderr).toContain(`importing into the local store in DATA_DIR ${dataDir} (no server holds it)`);
      expect(login.status).toBe(200);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
