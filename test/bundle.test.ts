// The built bundle, loaded the way Lambda loads it: a plain .mjs file importing it, with no global require.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from './app-harness';
import { httpApiEvent, restEvent } from './events';
import { createUsersTable, startDynalite, type TestStore } from './stores';

const BUNDLE = resolve('dist/lambda/index.mjs');

describe('Lambda bundle', () => {
  let store: TestStore;
  let workDir: string;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'pipe' });
    store = await startDynalite();
    workDir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
  });

  afterAll(async () => {
    await store?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('imports from a plain .mjs file and serves register and login against a real store', async () => {
    const tableName = await createUsersTable(store.endpoint);
    const credentials = { username: 'bundled', password: 'bundled password' };
    const events = [
      restEvent({ method: 'POST', path: '/register', body: JSON.stringify({ ...credentials, name: 'Bundled' }) }),
      httpApiEvent({ method: 'POST', path: '/login', body: JSON.stringify(credentials) }, 'prod'),
    ];
    writeFileSync(join(workDir, 'events.json'), JSON.stringify(events));
    writeFileSync(
      join(workDir, 'invoke.mjs'),
      [
        "import { readFileSync } from 'node:fs';",
        `const { handler } = await import(${JSON.stringify(pathToFileURL(BUNDLE).href)});`,
        "const events = JSON.parse(readFileSync(new URL('./events.json', import.meta.url), 'utf8'));",
        'const results = [];',
        "for (const event of events) results.push(await handler(event, { awsRequestId: 'bundle-test' }));",
        'console.log(JSON.stringify(results));',
      ].join('\n'),
    );

    // Asynchronous: the store runs in this process and must keep answering while the child runs.
    const { stdout: output } = await promisify(execFile)(process.execPath, [join(workDir, 'invoke.mjs')], {
      cwd: workDir,
      env: {
        PATH: process.env.PATH,
        JWT_SECRET: TEST_JWT_SECRET,
        TABLE_NAME: tableName,
        DYNAMODB_ENDPOINT: store.endpoint,
        AWS_REGION: 'us-east-1',
        LOG_LEVEL: 'ERROR',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    const [registered, loggedIn] = JSON.parse(output.trim().split('\n').at(-1) ?? '[]');

    expect(registered.statusCode).toBe(201);
    expect(loggedIn.statusCode).toBe(200);
    expect(JSON.parse(loggedIn.body)).toMatchObject({ user: { username: 'bundled' }, tokenType: 'Bearer' });
  });
});
