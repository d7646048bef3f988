// `npm run bench`: measures login, verify, cold start, bundle size and DynamoDB requests per operation, each
// beside a reference measured in the same run, prints a table and writes BENCHMARKS.md. Loopback only.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { jwtVerify } from 'jose';
import { createDynamoClient } from '../src/adapters/dynamodb/client';
import { ensureSessionsTable, ensureThrottleTable, ensureUsersTable } from '../src/adapters/dynamodb/ensure-table';
import { startServer } from '../src/server';

const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';
const REFRESH_TOKEN_SECRET = 'bench-refresh-secret-long-enough-0123456789';
const ISSUER = 'login-service';
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const PASSWORD = 'correct horse battery staple';
const ROUNDS = 3;

// ---------- small measuring helpers ----------

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const median = (samples: number[]) => percentile(samples, 50);

const timeEach = async (count: number, run: () => Promise<unknown>) => {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
};

/** Operations per second with `concurrency` loops running `run` for `seconds`. */
const throughput = async (concurrency: number, seconds: number, run: () => Promise<unknown>) => {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await run();
        done += 1;
      }
    }),
  );
  return done / seconds;
};

/** Runs `measure` for the subject and its reference alternately, ROUNDS times; medians of each. */
const sideBySide = async (subject: () => Promise<number>, reference: () => Promise<number>) => {
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    a.push(await subject());
    b.push(await reference());
  }
  return { subject: median(a), reference: median(b) };
};

const postJson = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }).then(
    async (r) => {
      await r.arrayBuffer();
      // A figure made of throttled or failed answers would flatter us: only successes and expected 401s count.
      if (r.status >= 500 || r.status === 429) throw new Error(`${url}: ${r.status}`);
      return r.status;
    },
  );

const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

// ---------- a counting proxy: DynamoDB requests per operation, counted on the wire ----------

const startCountingProxy = async (target: string) => {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop() ?? 'unknown';
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const upstream = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (reply: IncomingMessage) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => {
      const snapshot = Object.fromEntries(counts);
      counts.clear();
      return snapshot;
    },
    close: () => new Promise((done) => server.close(done)),
  };
};

// ---------- cold start: fresh node processes ----------

const runNode = (script: string, env: Record<string, string>) =>
  new Promise<number>((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => (code === 0 ? done(performance.now() - started) : fail(new Error(`${script}: exit ${code}: ${stderr}`))));
  });

/** dynalite in its own process, as DynamoDB is remote in production: its work must not share our event loop. */
const startStoreProcess = async () => {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((done) => probe.close(done));
  const child = spawn(process.execPath, ['node_modules/dynalite/cli.js', '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0'], {
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await fetch(endpoint, { method: 'POST' });
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  return { endpoint, close: async () => void child.kill() };
};

const main = async () => {
  const rows: [string, string, string, string][] = [];
  const add = (what: string, value: string, reference: string, note: string) => rows.push([what, value, reference, note]);

  const store = await startStoreProcess();
  const proxy = await startCountingProxy(store.endpoint);
  const tableName = 'bench-users';
  const sessionsTableName = 'bench-sessions';
  const throttleTableName = 'bench-throttle';
  const client = createDynamoClient({
    region: 'us-east-1',
    endpoint: store.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    timeoutMs: 5000,
  });
  await ensureUsersTable(client, tableName);
  await ensureSessionsTable(client, sessionsTableName);
  await ensureThrottleTable(client, throttleTableName);
  const serverEnv = (endpoint: string) => ({
    DATA_DIR: ':memory:',
    PORT: '0',
    LOG_LEVEL: 'SILENT',
    DYNAMODB_ENDPOINT: endpoint,
    TABLE_NAME: tableName,
    SESSIONS_TABLE_NAME: sessionsTableName,
    THROTTLE_TABLE_NAME: throttleTableName,
    // The bench is one client hammering: per-client ceilings would turn the figures into 429s.
    THROTTLE_IP_FAILURES: '999999999',
    THROTTLE_IP_REGISTRATIONS: '999999999',
    JWT_SECRET,
    REFRESH_TOKEN_SECRET,
  });
  // Requests are counted through a proxy; speed is measured against the store directly.
  const counted = await startServer(serverEnv(proxy.endpoint));
  const server = await startServer(serverEnv(store.endpoint));

  // ---------- DynamoDB requests per operation ----------
  proxy.take(); // start-up's table check is not an operation
  await postJson(`${counted.url}/register`, { name: 'Bench', username: 'bench', password: PASSWORD });
  const registerCalls = proxy.take();
  const loginResponse = await fetch(`${counted.url}/login`, { method: 'POST', body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
  const { token, refreshToken } = (await loginResponse.json()) as { token: string; refreshToken: string };
  const loginCalls = proxy.take();
  await postJson(`${counted.url}/verify`, { token });
  const verifyCalls = proxy.take();
  const refreshed = await fetch(`${counted.url}/token/refresh`, { method: 'POST', body: JSON.stringify({ refreshToken }) });
  const rotated = (await refreshed.json()) as { token: string };
  const refreshCalls = proxy.take();
  await fetch(`${counted.url}/logout`, { method: 'POST', headers: { Authorization: `Bearer ${rotated.token}` } });
  const logoutCalls = proxy.take();
  const verifyToken = ((await (await fetch(`${counted.url}/login`, { method: 'POST', body: JSON.stringify({ username: 'bench', password: PASSWORD }) })).json()) as { token: string }).token;
  proxy.take();
  await client.send(new PutCommand({ TableName: tableName, Item: { username: 'legacy', name: 'Legacy', password: bcrypt.hashSync(PASSWORD, 10) } }));
  proxy.take();
  await postJson(`${counted.url}/login`, { username: 'legacy', password: PASSWORD });
  const legacyCalls = proxy.take();
  await postJson(`${counted.url}/login`, { username: 'nobody', password: PASSWORD });
  const unknownCalls = proxy.take();
  const calls = (counted: Record<string, number>) =>
    Object.entries(counted).map(([op, n]) => `${n} ${op}`).join(' + ') || '0';
  add('DynamoDB requests: register', calls(registerCalls), '', 'per-client count (opens its window), conditional put');
  add('DynamoDB requests: login', calls(loginCalls), '', 'name and client counts, read user, session, re-read user, give the counts back');
  add('DynamoDB requests: login, legacy bcrypt user (first time)', calls(legacyCalls), '', 'read, then hash upgrade');
  add('DynamoDB requests: login, unknown user', calls(unknownCalls), '', '');
  await counted.close();
  add('DynamoDB requests: verify', calls(verifyCalls), '', 'the session, one consistent read');
  add('DynamoDB requests: refresh', calls(refreshCalls), '', 'session, user, compare-and-swap');
  add('DynamoDB requests: logout', calls(logoutCalls), '', '');

  // ---------- login latency: the service over HTTP against its floor (one argon2id check + one consistent read) ----------
  const storedHash = await argon2Hash(PASSWORD, ARGON2);
  const loginOnce = () => postJson(`${server.url}/login`, { username: 'bench', password: PASSWORD });
  const floorOnce = async () => {
    await client.send(new GetCommand({ TableName: tableName, Key: { username: 'bench' }, ConsistentRead: true }));
    await argon2Verify(storedHash, PASSWORD);
  };
  await timeEach(20, loginOnce);
  await timeEach(20, floorOnce);
  const serviceSamples: number[] = [];
  const floorSamples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    serviceSamples.push(...(await timeEach(100, loginOnce)));
    floorSamples.push(...(await timeEach(100, floorOnce)));
  }
  add('login p50 (sequential, HTTP)', ms(median(serviceSamples)), ms(median(floorSamples)) + ' one argon2id check + one consistent read', `${ratio(median(serviceSamples), median(floorSamples))} of the floor (target <= 1.25x; login also writes its session)`);
  // The same storage work login does with sessions, done bare: read user, hash, write session, re-read user.
  const sessionFloorOnce = async () => {
    await floorOnce();
    await client.send(new PutCommand({ TableName: sessionsTableName, Item: { uid: 'bench', sid: crypto.randomUUID(), expiresAt: 0 } }));
    await client.send(new GetCommand({ TableName: tableName, Key: { username: 'bench' }, ConsistentRead: true }));
  };
  const sessionFloor = await sideBySide(
    async () => median(await timeEach(60, loginOnce)),
    async () => median(await timeEach(60, sessionFloorOnce)),
  );
  add('login p50 against the same storage work done bare', ms(sessionFloor.subject), ms(sessionFloor.reference) + ' argon2id + read + session put + re-read', ratio(sessionFloor.subject, sessionFloor.reference));
  add('login p99 (sequential, HTTP)', ms(percentile(serviceSamples, 99)), ms(percentile(floorSamples, 99)), ratio(percentile(serviceSamples, 99), percentile(floorSamples, 99)));

  // ---------- login throughput under concurrency, against bare concurrent hashing ----------
  const concurrency = 8;
  // One user per client: parallel attempts on one name count as pending failures (the throttle's design).
  for (let c = 0; c < concurrency; c += 1) {
    await postJson(`${server.url}/register`, { name: 'Bench', username: `bench${c}`, password: PASSWORD });
  }
  let nextClient = 0;
  const concurrentLogins = () => {
    const user = `bench${nextClient++ % concurrency}`;
    return () => postJson(`${server.url}/login`, { username: user, password: PASSWORD });
  };
  const clients = () => Array.from({ length: concurrency }, concurrentLogins);
  const loginRate = await sideBySide(
    async () => {
      const loops = clients();
      let i = 0;
      return throughput(concurrency, 3, () => (loops[i++ % concurrency] as () => Promise<number>)());
    },
    () => throughput(concurrency, 3, () => argon2Verify(storedHash, PASSWORD)),
  );
  add(
    `logins/s, ${concurrency} concurrent clients`,
    loginRate.subject.toFixed(0),
    `${loginRate.reference.toFixed(0)} bare argon2id checks/s`,
    `${(loginRate.subject / loginRate.reference).toFixed(2)} of bare hashing (target >= 0.6)`,
  );

  // ---------- what the tutorial pays per login ----------
  const bcryptHash = bcrypt.hashSync(PASSWORD, 10);
  const bcryptSamples = await timeEach(20, () => bcrypt.compare(PASSWORD, bcryptHash));
  const argonSamples = await timeEach(20, () => argon2Verify(storedHash, PASSWORD));
  add('one password check: bcryptjs cost 10 (the tutorial)', ms(median(bcryptSamples)), ms(median(argonSamples)) + ' argon2id', ratio(median(bcryptSamples), median(argonSamples)));

  // ---------- verify: the service over HTTP against a bare node:http server doing the same HMAC check ----------
  const key = new TextEncoder().encode(JWT_SECRET);
  const bare = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      const { payload } = await jwtVerify(JSON.parse(body).token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: ISSUER, typ: 'at+jwt' });
      // The same read the service makes: the session, strongly consistent.
      await client.send(new GetCommand({ TableName: sessionsTableName, Key: { uid: payload.uid, sid: payload.sid }, ConsistentRead: true }));
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ verified: true, username: payload.sub }));
    } catch {
      res.statusCode = 401;
      res.end('{}');
    }
  });
  await new Promise<void>((done) => bare.listen(0, '127.0.0.1', done));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  const verifyOnce = () => postJson(`${server.url}/verify`, { token: verifyToken });
  const bareOnce = () => postJson(`${bareUrl}/verify`, { token: verifyToken });
  await timeEach(200, verifyOnce);
  await timeEach(200, bareOnce);
  const verifyLatency = await sideBySide(
    async () => median(await timeEach(300, verifyOnce)),
    async () => median(await timeEach(300, bareOnce)),
  );
  add('verify p50 (sequential, HTTP)', ms(verifyLatency.subject), ms(verifyLatency.reference) + ' bare node:http, same HMAC check and read', ratio(verifyLatency.subject, verifyLatency.reference));
  const verifyRate = await sideBySide(() => throughput(16, 2, verifyOnce), () => throughput(16, 2, bareOnce));
  add('verify requests/s, 16 concurrent clients', verifyRate.subject.toFixed(0), verifyRate.reference.toFixed(0) + ' bare node:http', `${(verifyRate.subject / verifyRate.reference).toFixed(2)} of bare`);
  await new Promise((done) => bare.close(done));
  await server.close();

  // ---------- cold start: a fresh node importing the built bundle and serving one login event ----------
  const bundle = resolve('dist/lambda/index.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'bench-cold-'));
  const loginEvent = {
    version: '2.0', routeKey: '$default', rawPath: '/login', rawQueryString: '', headers: { host: 'bench.local', 'content-type': 'application/json' },
    requestContext: { accountId: '123456789012', apiId: 'bench', domainName: 'bench.local', domainPrefix: 'bench', http: { method: 'POST', path: '/login', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId: 'cold', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
    body: JSON.stringify({ username: 'bench', password: PASSWORD }), isBase64Encoded: false,
  };
  writeFileSync(join(dir, 'empty.mjs'), '');
  writeFileSync(join(dir, 'import.mjs'), `await import(${JSON.stringify(pathToFileURL(bundle).href)});\n`);
  writeFileSync(
    join(dir, 'login.mjs'),
    [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
      `const result = await handler(${JSON.stringify(loginEvent)}, { awsRequestId: 'cold' });`,
      "if (result.statusCode !== 200) { console.error(result.statusCode, result.body); process.exit(1); }",
      'process.exit(0);',
    ].join('\n'),
  );
  const env = {
    JWT_SECRET, REFRESH_TOKEN_SECRET, TABLE_NAME: tableName, SESSIONS_TABLE_NAME: sessionsTableName,
    THROTTLE_TABLE_NAME: throttleTableName,
    DYNAMODB_ENDPOINT: store.endpoint, AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'WARN', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // The keys from Secrets Manager, as on AWS: a local endpoint speaking its protocol, so this measures the SDK
  // client and two parallel reads over loopback (add one in-region round trip, typically a few ms, on AWS).
  const secretValues: Record<string, string> = {
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf': JWT_SECRET,
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:refresh-AbCdEf': REFRESH_TOKEN_SECRET,
  };
  const secretsEndpoint = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const arn = (JSON.parse(text) as { SecretId: string }).SecretId;
    res.setHeader('Content-Type', 'application/x-amz-json-1.1');
    res.end(JSON.stringify({ ARN: arn, Name: 'bench', SecretString: secretValues[arn] }));
  });
  await new Promise<void>((done) => secretsEndpoint.listen(0, '127.0.0.1', done));
  const arnEnv = {
    ...env,
    JWT_SECRET: '',
    REFRESH_TOKEN_SECRET: '',
    JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf',
    REFRESH_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:refresh-AbCdEf',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secretsEndpoint.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const runs = 10;
  const cold = { empty: [] as number[], imported: [] as number[], login: [] as number[], fromSecrets: [] as number[] };
  await runNode(join(dir, 'login.mjs'), env);
  await runNode(join(dir, 'login.mjs'), arnEnv);
  for (let i = 0; i < runs; i += 1) {
    cold.empty.push(await runNode(join(dir, 'empty.mjs'), env));
    cold.imported.push(await runNode(join(dir, 'import.mjs'), env));
    cold.login.push(await runNode(join(dir, 'login.mjs'), env));
    cold.fromSecrets.push(await runNode(join(dir, 'login.mjs'), arnEnv));
  }
  secretsEndpoint.close();
  rmSync(dir, { recursive: true, force: true });
  const empty = median(cold.empty);
  add('cold start to first login (fresh node, bundle, one login event)', ms(median(cold.login)), ms(empty) + ' empty .mjs', `${ratio(median(cold.login), empty)} of the empty start (target <= 2.5x)`);
  add('cold start: import of the bundle only', ms(median(cold.imported)), ms(empty) + ' empty .mjs', `+${ms(median(cold.imported) - empty)}`);
  add(
    'cold start to first login, keys read from Secrets Manager (local endpoint)',
    ms(median(cold.fromSecrets)),
    ms(median(cold.login)) + ' keys from the environment',
    `the read costs +${ms(median(cold.fromSecrets) - median(cold.login))} here, plus one in-region round trip on AWS`,
  );

  // ---------- enumeration resistance: unknown name, wrong password and throttled answers take the same time ----------
  const timing = await startServer({ ...serverEnv(store.endpoint), THROTTLE_IP_FAILURES: '999999999', THROTTLE_IP_REGISTRATIONS: '999999999' });
  const timedLogin = async (username: string, password: string) => {
    const started = performance.now();
    const response = await fetch(`${timing.url}/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  };
  for (let k = 0; k < 20; k += 1) {
    await postJson(`${timing.url}/register`, { name: 'Timed', username: `timed${k}`, password: PASSWORD });
  }
  for (let i = 0; i < 30; i += 1) await timedLogin(`warmup${i}`, 'wrong passphrase'); // the pacer learns
  const unknown: number[] = [];
  const wrong: number[] = [];
  const throttled: number[] = [];
  for (let k = 0; k < 20; k += 1) {
    for (let i = 0; i < 5; i += 1) {
      // The same pattern for both: five failures on one name, so both take the same throttle paths.
      unknown.push((await timedLogin(`nobody${k}`, 'wrong passphrase')).ms);
      wrong.push((await timedLogin(`timed${k}`, 'wrong passphrase')).ms);
    }
    // timed<k> (and nobody<k>) have now failed 5 times: for the next second every attempt is throttled.
    for (let i = 0; i < 5; i += 1) {
      const attempt = await timedLogin(`timed${k}`, 'wrong passphrase');
      if (attempt.status !== 429) throw new Error(`expected 429, got ${attempt.status}`);
      throttled.push(attempt.ms);
    }
  }
  await timing.close();
  const medians = [median(unknown), median(wrong), median(throttled)];
  const spread = (Math.max(...medians) - Math.min(...medians)) / Math.min(...medians);
  add(
    'failed login p50: unknown name / wrong password / throttled (100 each)',
    medians.map(ms).join(' / '),
    '',
    `spread ${(spread * 100).toFixed(0)}% (target within 10%)`,
  );

  const bundleBytes = readFileSync(bundle);
  add('bundle size (minified, AWS SDK included)', `${(bundleBytes.length / 1024).toFixed(1)} KB`, `${(gzipSync(bundleBytes).length / 1024).toFixed(1)} KB gzipped`, 'target < 700 KB');

  client.destroy();
  await proxy.close();
  await store.close();

  const table = [
    '| measure | this service | reference | ratio / note |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const header = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}.`,
    'Each figure is measured in the same run as its reference (alternating rounds, medians), all on loopback with the',
    'embedded store (dynalite); request logging is off (LOG_LEVEL=SILENT) so the terminal stays readable.',
    'argon2id at m=19456 KiB, t=2, p=1 (the minimum the service accepts).',
    '',
  ].join('\n');
  writeFileSync('BENCHMARKS.md', `${header}\n${table}\n`);
  console.log(table);
};

await main();
process.exit(0);
