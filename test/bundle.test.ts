// The built bundle and the console zip, loaded the way Lambda loads them: a plain .mjs file, no global require.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from './app-harness';
import { httpApiEvent, restEvent } from './events';
import { invokeBundle } from './invoke-bundle';
import { createServiceTables, startDynalite, type TestStore } from './stores';

let store: TestStore;
let workDir: string;

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'pipe' });
  store = await startDynalite();
  workDir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
});

afterAll(async () => {
  await store?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const signUpAndLogIn = async (bundleFile: string, dir: string, username: string) => {
  const credentials = { username, password: 'a long passphrase here' };
  const events = [
    restEvent({ method: 'POST', path: '/register', body: JSON.stringify({ ...credentials, name: 'Bundled' }) }),
    httpApiEvent({ method: 'POST', path: '/login', body: JSON.stringify(credentials) }, 'prod'),
  ];
  return invokeBundle(bundleFile, dir, events, {
    JWT_SECRET: TEST_JWT_SECRET,
    REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
    ...(await createServiceTables(store.endpoint)),
    DYNAMODB_ENDPOINT: store.endpoint,
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'ERROR',
  });
};

describe('Lambda bundle', () => {
  it('imports from a plain .mjs file and serves register and login against a real store', async () => {
    const [registered, loggedIn] = await signUpAndLogIn(resolve('dist/lambda/index.mjs'), workDir, 'bundled');

    expect(registered?.statusCode).toBe(201);
    expect(loggedIn?.statusCode).toBe(200);
    expect(JSON.parse(loggedIn?.body ?? '')).toMatchObject({ user: { username: 'bundled' }, tokenType: 'Bearer' });
  });
});

describe('console zip', () => {
  it('unzips to index.mjs with argon2 for both architectures, and logs in from there alone', async () => {
    const unzipped = join(workDir, 'zip');
    const entries = unzipSync(readFileSync('dist/lambda.zip'));
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(unzipped, name)), { recursive: true });
      writeFileSync(join(unzipped, name), bytes);
    }

    const [registered, loggedIn] = await signUpAndLogIn(join(unzipped, 'index.mjs'), unzipped, 'zipped');

    expect(Object.keys(entries).filter((name) => name.endsWith('.node')).sort()).toEqual([
      'node_modules/@node-rs/argon2-linux-arm64-gnu/argon2.linux-arm64-gnu.node',
      'node_modules/@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node',
    ]);
    expect(Object.keys(entries)).toContain('common-passwords.txt.gz');
    expect(registered?.statusCode).toBe(201);
    expect(loggedIn?.statusCode).toBe(200);
  });
});
