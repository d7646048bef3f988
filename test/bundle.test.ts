// The built bundle and the console zip, loaded the way Lambda loads them: a plain .mjs file, no global require.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { PutCommand } from '../src/adapters/dynamodb/client';
import bcrypt from 'bcryptjs';
import type { Metafile } from 'esbuild';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticClosure } from '../scripts/lambda-bundle.mjs';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from './app-harness';
import { httpApiEvent, restEvent } from './events';
import { invokeBundle, runBundle } from './invoke-bundle';
import { secretArn, startSecretsManager, type SecretsManagerEndpoint } from './secrets-manager';
import { createServiceTables, startDynalite, testClient, type TestStore } from './stores';

const BUNDLE = resolve('dist/lambda/index.mjs');
const BUNDLE_DIR = resolve('dist/lambda');
/** What a password login may load at most (issue 8): later features go into chunks loaded on first use. */
const PASSWORD_LOGIN_BUDGET_BYTES = 500 * 1024;
const PASSWORD = 'a long passphrase here';

let store: TestStore;
let secretsManager: SecretsManagerEndpoint;
let workDir: string;

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'package'], { stdio: 'pipe' });
  store = await startDynalite();
  secretsManager = await startSecretsManager({
    [secretArn('jwt')]: TEST_JWT_SECRET,
    [secretArn('refresh')]: TEST_REFRESH_SECRET,
  });
  workDir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
});

afterAll(async () => {
  await store?.stop();
  await secretsManager?.close();
  rmSync(workDir, { recursive: true, force: true });
});

const baseEnv = async (): Promise<Record<string, string>> => ({
  JWT_SECRET: TEST_JWT_SECRET,
  REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
  ...(await createServiceTables(store.endpoint)),
  DYNAMODB_ENDPOINT: store.endpoint,
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'ERROR',
});

const signUpAndLogIn = (username: string) => [
  restEvent({ method: 'POST', path: '/register', body: JSON.stringify({ username, password: PASSWORD, name: 'B' }) }),
  httpApiEvent({ method: 'POST', path: '/login', body: JSON.stringify({ username, password: PASSWORD }) }, 'prod'),
];

const logIn = (username: string) =>
  httpApiEvent({ method: 'POST', path: '/login', body: JSON.stringify({ username, password: PASSWORD }) }, 'prod');

/** A fresh folder per run: each child writes its script and events there. */
const runDir = (name: string) => {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** The bundle's own files among those a run loaded, and their total size. */
const bundleFilesLoaded = (loaded: string[]) => {
  const files = loaded.filter((file) => file.startsWith(BUNDLE_DIR + sep));
  return { files, bytes: files.reduce((sum, file) => sum + statSync(file).size, 0) };
};

describe('Lambda bundle', () => {
  it('imports from a plain .mjs file and serves register and login against a real store', async () => {
    // Act
    const [registered, loggedIn] = await invokeBundle(BUNDLE, runDir('plain'), signUpAndLogIn('bundled'), await baseEnv());

    // Assess
    expect(registered?.statusCode).toBe(201);
    expect(loggedIn?.statusCode).toBe(200);
    expect(JSON.parse(loggedIn?.body ?? '')).toMatchObject({ user: { username: 'bundled' }, tokenType: 'Bearer' });
  });

  it('loads under 500 KB of itself for a cold start and a password login, no bcrypt, no mail client, no AWS SDK client', async () => {
    // Act
    const run = await runBundle(BUNDLE, runDir('budget'), signUpAndLogIn('budget'), await baseEnv());

    // Assess
    const loaded = bundleFilesLoaded(run.loadedModules);
    expect(run.results.map((result) => result.statusCode)).toEqual([201, 200]);
    expect(loaded.files).toContain(BUNDLE);
    expect(loaded.bytes).toBeLessThan(PASSWORD_LOGIN_BUDGET_BYTES);
    const metafile = JSON.parse(readFileSync(`${BUNDLE_DIR}.meta.json`, 'utf8')) as Metafile;
    const chunkOf = (input: RegExp) =>
      Object.entries(metafile.outputs).find(([, output]) => Object.keys(output.inputs).some((file) => input.test(file)))?.[0];
    const bcryptChunk = chunkOf(/node_modules\/bcryptjs\//);
    expect(bcryptChunk).toMatch(/chunks\//);
    expect(loaded.files).not.toContain(resolve(bcryptChunk ?? ''));
    // DynamoDB and Secrets Manager are reached by the bundle's own JSON-protocol caller. The one SDK client is SES's,
    // and nodemailer the other sender: each in chunks of their own, loaded by the first mail, never by a login.
    const sdkClients = Object.values(metafile.outputs).flatMap((output) =>
      Object.keys(output.inputs).filter((file) => /node_modules\/@aws-sdk\/client-/.test(file)),
    );
    expect([...new Set(sdkClients.map((file) => /@aws-sdk\/(client-[a-z0-9-]+)/.exec(file)?.[1]))]).toEqual(['client-sesv2']);
    for (const input of [/node_modules\/@aws-sdk\/client-sesv2\//, /node_modules\/nodemailer\//]) {
      const chunk = chunkOf(input);
      expect(chunk).toMatch(/chunks\//);
      expect(loaded.files).not.toContain(resolve(chunk ?? ''));
    }
  });

  it('answers through its own Fetch classes, never building Node\'s undici (30-40 ms of a cold start)', async () => {
    // Prepare
    const env = await baseEnv();
    const [, loggedIn] = await invokeBundle(BUNDLE, runDir('fetch-classes-login'), signUpAndLogIn('fetchless'), env);
    const { token, refreshToken } = JSON.parse(loggedIn?.body ?? '{}') as { token: string; refreshToken: string };
    const bearer = { Authorization: `Bearer ${token}` };
    const json = { 'Content-Type': 'application/json' };
    const events = [
      httpApiEvent({ method: 'GET', path: '/me', headers: bearer }),
      restEvent({ method: 'POST', path: '/verify', headers: { ...bearer, ...json }, body: '' }),
      httpApiEvent({ method: 'POST', path: '/token/refresh', headers: json, body: JSON.stringify({ refreshToken }) }),
      httpApiEvent({ method: 'OPTIONS', path: '/login', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } }),
      httpApiEvent({ method: 'PUT', path: '/login', headers: json, body: '{}' }),
      httpApiEvent({ method: 'GET', path: '/nowhere' }),
      httpApiEvent({ method: 'POST', path: '/login', headers: json, body: '{"username":' }),
      httpApiEvent({ method: 'POST', path: '/login', headers: json, body: Buffer.from('{"username":"x"}').toString('base64'), base64: true }),
      httpApiEvent({ method: 'GET', path: '/me', headers: { Authorization: 'Bearer not-a-token' } }),
      httpApiEvent({ method: 'GET', path: '/health' }),
    ];

    // Act
    const run = await runBundle(BUNDLE, runDir('fetch-classes'), events, env);

    // Assess
    expect(run.results.map((result) => result.statusCode)).toEqual([200, 200, 200, 204, 405, 404, 400, 400, 401, 200]);
    const [me, verified, refreshed, preflight, wrongMethod, , badJson, missingField, badToken, health] = run.results;
    expect(JSON.parse(me?.body ?? '')).toMatchObject({ user: { username: 'fetchless' } });
    expect(JSON.parse(verified?.body ?? '')).toMatchObject({ verified: true });
    expect(JSON.parse(refreshed?.body ?? '')).toHaveProperty('token');
    expect(preflight?.headers).toMatchObject({ 'access-control-allow-origin': '*' });
    expect(preflight?.headers?.['access-control-allow-methods']).toContain('POST');
    expect(wrongMethod?.headers?.allow).toBe('POST, OPTIONS');
    expect(JSON.parse(badJson?.body ?? '')).toMatchObject({ code: 'invalid_json' });
    expect(JSON.parse(missingField?.body ?? '')).toMatchObject({ code: 'invalid_request' });
    expect(badToken?.headers?.['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(health?.headers?.['content-type']).toMatch(/^application\/json/);
    expect(run.builtins).toContain('crypto');
    expect(run.builtins.filter((name) => name.includes('undici'))).toEqual([]);
  });

  it('loads no second-factor code at a cold start: TOTP and passkeys come with the first request that needs them', () => {
    // Prepare
    const metafile = JSON.parse(readFileSync(`${BUNDLE_DIR}.meta.json`, 'utf8')) as Metafile;
    const loadedAtStart = staticClosure(metafile, 'dist/lambda/index.mjs') as string[];
    const inputs = loadedAtStart.flatMap((file) => Object.keys(metafile.outputs[file]?.inputs ?? {}));
    const everything = Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));

    // Assess: they are in the bundle, in chunks a password login does not load
    const factorCode = /src\/(second-factors|domain\/(mfa|passkeys)|adapters\/crypto\/(totp|secret-box|recovery-codes|webauthn)|adapters\/dynamodb\/passkey-store)\.ts$|@simplewebauthn\/|@peculiar\/asn1|cbor/;
    expect(everything.filter((file) => factorCode.test(file)).length).toBeGreaterThan(8);
    expect(inputs.filter((file) => factorCode.test(file))).toEqual([]);
  });

  it('leaves the SDK credential chain out of what it loads: credentials come from the environment, as on Lambda', () => {
    // Prepare: the files loaded before the first request (the SES client's chunk has the SDK's chain, for its own use)
    const metafile = JSON.parse(readFileSync(`${BUNDLE_DIR}.meta.json`, 'utf8')) as Metafile;
    const loadedAtStart = staticClosure(metafile, 'dist/lambda/index.mjs') as string[];
    const inputs = loadedAtStart.flatMap((file) => Object.keys(metafile.outputs[file]?.inputs ?? {}));
    const code = loadedAtStart
      .filter((file) => file.endsWith('.mjs'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');

    // Assess
    expect(inputs).toContain('src/adapters/lambda/env-credentials.ts');
    const chain = inputs.filter((file) =>
      /@aws-sdk\/(credential-provider-(node|ini|sso|process|web-identity|http|login)|nested-clients|token-providers)\/|@smithy\/credential-provider-imds\//.test(
        file,
      ),
    );
    expect(chain).toEqual([]);
    for (const name of ['fromSSO', 'fromIni', 'fromProcess', 'fromTokenFile', 'fromInstanceMetadata', 'STSClient']) {
      expect(code).not.toContain(name);
    }
  });

  it('reads its keys from Secrets Manager with signed GetSecretValue calls, within the same budget', async () => {
    // Prepare
    const env = {
      ...(await baseEnv()),
      JWT_SECRET: '',
      REFRESH_TOKEN_SECRET: '',
      JWT_SECRET_ARN: secretArn('jwt'),
      REFRESH_TOKEN_SECRET_ARN: secretArn('refresh'),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
      AWS_ACCESS_KEY_ID: 'bundle-test',
      AWS_SECRET_ACCESS_KEY: 'bundle-test',
    };
    const readsBefore = secretsManager.requests.length;

    // Act
    const run = await runBundle(BUNDLE, runDir('secrets'), signUpAndLogIn('secretive'), env);

    // Assess
    expect(run.results.map((result) => result.statusCode)).toEqual([201, 200]);
    expect(secretsManager.requests.slice(readsBefore).map((request) => request.body)).toEqual(
      expect.arrayContaining([{ SecretId: secretArn('jwt') }, { SecretId: secretArn('refresh') }]),
    );
    expect(secretsManager.requests.slice(readsBefore).every((request) => request.signed)).toBe(true);
    expect(bundleFilesLoaded(run.loadedModules).bytes).toBeLessThan(PASSWORD_LOGIN_BUDGET_BYTES);
  });

  it('logs in a tutorial-era bcrypt user through the chunk that holds bcrypt', async () => {
    // Prepare
    const env = await baseEnv();
    const client = testClient(store.endpoint);
    const Item = { username: 'tutorial', name: 'Tutorial', password: bcrypt.hashSync(PASSWORD, 4) };
    await client.send(new PutCommand({ TableName: env.TABLE_NAME, Item }));
    client.destroy();

    // Act
    const run = await runBundle(BUNDLE, runDir('legacy'), [logIn('tutorial')], env);

    // Assess
    expect(run.results[0]?.statusCode).toBe(200);
    expect(run.loadedModules.some((file) => /chunks\/bcryptjs-/.test(file))).toBe(true);
  });
});

describe('console zip', () => {
  it('unzips to index.mjs, its chunks and argon2 for both architectures, and logs in from there alone', async () => {
    // Prepare
    const unzipped = join(workDir, 'zip');
    const entries = unzipSync(readFileSync('dist/lambda.zip'));
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(unzipped, name)), { recursive: true });
      writeFileSync(join(unzipped, name), bytes);
    }

    // Act
    const [registered, loggedIn] = await invokeBundle(
      join(unzipped, 'index.mjs'),
      unzipped,
      signUpAndLogIn('zipped'),
      await baseEnv(),
    );

    // Assess
    expect(Object.keys(entries).filter((name) => name.endsWith('.node')).sort()).toEqual([
      'node_modules/@node-rs/argon2-linux-arm64-gnu/argon2.linux-arm64-gnu.node',
      'node_modules/@node-rs/argon2-linux-x64-gnu/argon2.linux-x64-gnu.node',
    ]);
    expect(Object.keys(entries)).toContain('common-passwords.txt.gz');
    expect(Object.keys(entries).filter((name) => name.startsWith('chunks/')).length).toBeGreaterThan(0);
    expect(registered?.statusCode).toBe(201);
    expect(loggedIn?.statusCode).toBe(200);
  });
});
