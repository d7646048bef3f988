// The built library as another project gets it: dist/client and dist/verify through package.json's exports, in a
// fresh Node process and a nodenext type check of a consumer; the client bundle needs nothing but fetch; npm packs
// the built files (what an install from git receives, though dist/ is not committed).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/server';

const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

let consumer: string;
let server: RunningServer;

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build-lib.mjs'], { cwd: ROOT, stdio: 'pipe' });
  // A project that has installed this package: node_modules/login-service is this checkout.
  consumer = mkdtempSync(join(tmpdir(), 'library-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(ROOT, join(consumer, 'node_modules/login-service'), 'dir');
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  server = await startServer({ DATA_DIR: ':memory:', PORT: '0', LOG_LEVEL: 'SILENT' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (consumer !== undefined) rmSync(consumer, { recursive: true, force: true });
});

/**
 * Runs an ES module in a new Node process from the consumer's folder; its last line of output is JSON. Not
 * execFileSync: the server it may call runs in this process and must go on answering meanwhile.
 */
const runInConsumer = async (source: string, env: Record<string, string> = {}) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', source], {
    cwd: consumer,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
};

describe('the built library', () => {
  it('exports createLoginClient and LoginServiceError from login-service/client, and the client works from there', async () => {
    const result = await runInConsumer(
      `import * as lib from 'login-service/client';
       const client = lib.createLoginClient({ baseUrl: process.env.BASE_URL });
       const health = await client.health();
       const error = await client.me().catch((e) => e);
       console.log(JSON.stringify({
         exports: Object.keys(lib).sort(),
         health,
         isServiceError: error instanceof lib.LoginServiceError,
         code: error.code,
       }));`,
      { BASE_URL: server.url },
    );

    expect(result).toEqual({
      exports: ['LoginServiceError', 'MfaRequiredError', 'createLoginClient'],
      health: { status: 'ok' },
      isServiceError: true,
      code: 'missing_token',
    });
  });

  it('exports createTokenVerifier, honoMiddleware and expressMiddleware from login-service/verify', async () => {
    const result = await runInConsumer(
      `import * as lib from 'login-service/verify';
       console.log(JSON.stringify(Object.fromEntries(Object.entries(lib).map(([name, value]) => [name, typeof value]))));`,
    );

    expect(result).toMatchObject({
      createTokenVerifier: 'function',
      honoMiddleware: 'function',
      expressMiddleware: 'function',
    });
  });

  it('ships declarations a nodenext TypeScript project type-checks against (types, not any)', () => {
    expect(existsSync(join(ROOT, 'dist/client/index.d.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'dist/verify/index.d.ts'))).toBe(true);
    writeFileSync(
      join(consumer, 'consumer.ts'),
      `import { createLoginClient, LoginServiceError, type TokenPair } from 'login-service/client';
       import { createTokenVerifier } from 'login-service/verify';
       const client = createLoginClient({ baseUrl: 'http://localhost:3000' });
       const pair: TokenPair | null = client.session;
       const expiresIn: number | undefined = pair?.expiresIn;
       // @ts-expect-error: a login needs a password (this line fails the check if the types were any)
       void client.login({ username: 'ada' });
       const name: string = (await client.me()).user.name;
       const error = new LoginServiceError({ status: 429, code: 'too_many_attempts', message: 'wait' });
       const wait: number | undefined = error.retryAfterSeconds;
       // @ts-expect-error: codes are the service's catalogue
       void new LoginServiceError({ status: 400, code: 'no_such_code', message: 'x' });
       export { expiresIn, name, wait, createTokenVerifier };
      `,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2023', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );

    /** tsc's complaints, empty when there are none. */
    const complaints = () => {
      try {
        execFileSync(process.execPath, [TSC, '-p', consumer], { cwd: consumer, encoding: 'utf8', stdio: 'pipe' });
        return '';
      } catch (error) {
        return String((error as { stdout?: string }).stdout ?? error);
      }
    };

    expect(complaints()).toBe('');
  });

  it('bundles the client with no import at all: no node: module, no package, nothing but fetch', () => {
    const code = readFileSync(join(ROOT, 'dist/client/index.js'), 'utf8');

    expect(code).toContain('createLoginClient');
    expect(code).not.toMatch(/^\s*import\s|\bimport\s*\(|\brequire\s*\(|["']node:/m);
  });

  it('packs the built library (what an install from git receives) and none of the sources', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = pack.files.map((file) => file.path);

    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/types/client/index.d.ts',
        'dist/verify/index.js',
        'dist/verify/index.d.ts',
      ]),
    );
    expect(files.filter((file) => file.startsWith('src/') || file.startsWith('dist/lambda'))).toEqual([]);
  });
});
