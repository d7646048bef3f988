// The three mail senders end to end through the service: SES (the real Lambda handler against aws-ses-v2-local),
// SMTP (the local server against a real smtp-server) and the outbox (the local server writing .eml files).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import startSesLocal from 'aws-ses-v2-local';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from '../src/server';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from './app-harness';
import { checkLambdaResult } from './contract';
import { httpApiEvent, lambdaContext } from './events';
import { startTestSmtpServer } from './smtp-server';
import { createServiceTables, startDynalite, type TestStore } from './stores';

const FORGOT_ANSWER = { message: 'if that account has a verified email address, a reset link is on its way' };

/** Everything written to stdout, stderr and the console from `start()` until `stop()`. */
const captureOutput = () => {
  const printed: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = methods.map((method) => console[method]);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  // vitest's console does not write through process.stdout: catch it as well.
  for (const method of methods) console[method] = (...args: unknown[]) => void printed.push(`${args.map(String).join(' ')}\n`);
  let stopped = false;
  return {
    text: () => printed.join(''),
    stop: () => {
      if (stopped) return;
      stopped = true;
      streams.forEach((stream, i) => (stream.write = writes[i]!));
      methods.forEach((method, i) => (console[method] = originals[i]!));
    },
  };
};

/** The token of the one link to `page` in a mail's text. */
const tokenIn = (text: string, base: string, page: 'verify-email' | 'reset-password'): string => {
  const prefix = `${base}/${page}#token=`;
  const links = (text.match(/https?:\/\/[^\s<>"]+/g) ?? []).filter((link) => link.startsWith(prefix));
  expect(links).toHaveLength(1);
  const token = decodeURIComponent(links[0]!.slice(prefix.length));
  expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  return token;
};

describe('SES: the Lambda handler sends through SES v2 (aws-ses-v2-local)', () => {
  type Result = APIGatewayProxyStructuredResultV2;
  type StoredEmail = { messageId: string; from: string; destination: { to: string[] }; subject: string; body: { text?: string; html?: string } };
  const APP_URL = 'https://app.example.com';
  // Outside ASCII in name and domain: SES takes only 7-bit ASCII, so the sender must arrive encoded.
  const FROM = 'Acme Lögin <no-reply@bücher.example>';
  const FROM_AS_SENT = `=?UTF-8?B?${Buffer.from('Acme Lögin').toString('base64')}?= <no-reply@xn--bcher-kva.example>`;

  let store: TestStore;
  let ses: Server;
  let sesEndpoint: string;
  let handler: typeof import('../src/lambda').handler;

  beforeAll(async () => {
    store = await startDynalite();
    ses = await startSesLocal({ host: '127.0.0.1', port: 0 });
    sesEndpoint = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
    const env = {
      JWT_SECRET: TEST_JWT_SECRET,
      REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
      ...(await createServiceTables(store.endpoint)),
      DYNAMODB_ENDPOINT: store.endpoint,
      MAIL_FROM: FROM,
      APP_URL,
      AWS_ENDPOINT_URL_SESV2: sesEndpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // Request and audit lines on: they are what must never carry a token.
      LOG_LEVEL: 'DEBUG',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    // Imported only now: the module reads its configuration once, at cold start.
    const output = captureOutput();
    try {
      ({ handler } = await import('../src/lambda'));
    } finally {
      output.stop();
    }
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => (ses ? ses.close(() => resolve()) : resolve()));
    await store?.stop();
  });

  const invoke = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const event = httpApiEvent({
      method,
      path,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const result = checkLambdaResult(event, (await handler(event, lambdaContext())) as Result);
    return { status: result.statusCode, body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : undefined };
  };

  const arrived = async (): Promise<StoredEmail[]> => {
    const response = await fetch(`${sesEndpoint}/store`);
    return ((await response.json()) as { emails: StoredEmail[] }).emails;
  };

  it('mails the verification and reset links from MAIL_FROM to APP_URL, and logs no token', async () => {
    // Prepare
    const output = captureOutput();
    let verification: StoredEmail[];
    let reset: StoredEmail[];
    const answers: Record<string, { status: number | undefined; body: unknown }> = {};
    try {
      // Act
      answers.register = await invoke('POST', '/register', {
        name: 'Sue',
        username: 'sesuser',
        password: 'amber falcon 41',
        email: 'Sue@Example.com',
      });
      verification = await arrived();
      const verifyToken = tokenIn(verification[0]?.body.text ?? '', APP_URL, 'verify-email');
      answers.verify = await invoke('POST', '/email/verify', { token: verifyToken });
      answers.forgot = await invoke('POST', '/password/forgot', { email: 'sue@example.com' });
      reset = (await arrived()).slice(verification.length);
      const resetToken = tokenIn(reset[0]?.body.text ?? '', APP_URL, 'reset-password');
      answers.reset = await invoke('POST', '/password/reset', { token: resetToken, newPassword: 'cobalt heron 58' });
      answers.login = await invoke('POST', '/login', { email: 'sue@example.com', password: 'cobalt heron 58' });
    } finally {
      output.stop();
    }

    // Assess: each mail as SES received it
    expect(verification).toHaveLength(1);
    expect(verification[0]).toMatchObject({
      from: FROM_AS_SENT,
      destination: { to: ['sue@example.com'] },
      subject: expect.stringMatching(/^Verify your email address/),
    });
    // ... which a mail program reads back as the name and address MAIL_FROM gave (mailparser shows the domain in Unicode)
    const eml = await fetch(`${sesEndpoint}/get-emlContent?messageId=${encodeURIComponent(verification[0]!.messageId)}`);
    const { body: emlBytes } = (await eml.json()) as { body: { data: number[] } };
    expect((await simpleParser(Buffer.from(emlBytes.data))).from?.value).toEqual([
      { address: 'no-reply@bücher.example', name: 'Acme Lögin' },
    ]);
    expect(reset).toHaveLength(1);
    expect(reset[0]).toMatchObject({
      from: FROM_AS_SENT,
      destination: { to: ['sue@example.com'] },
      subject: expect.stringMatching(/^Reset your password/),
    });
    // ... and the links worked through the handler
    expect(answers.register).toEqual({ status: 201, body: { username: 'sesuser' } });
    expect(answers.verify).toMatchObject({ status: 200, body: { username: 'sesuser', email: 'sue@example.com', emailVerified: true } });
    expect(answers.forgot).toEqual({ status: 202, body: FORGOT_ANSWER });
    expect(answers.reset?.status).toBe(204);
    expect(answers.login?.status).toBe(200);
    // ... and the log, which has a line for each request, holds neither token nor link
    const logged = output.text();
    expect(logged).toContain('/email/verify');
    const tokens = [...verification, ...reset].flatMap((mail) => mail.body.text?.match(/#token=[^\s<>"]+/g) ?? []);
    expect(tokens).toHaveLength(2);
    for (const token of tokens) expect(logged).not.toContain(token.slice('#token='.length));
    expect(logged).not.toContain('#token=');
  });
});

/** A real SMTP server on loopback that takes mail from `user`/`pass` and keeps each one parsed. */
const startSmtp = () => startTestSmtpServer({ auth: { user: 'user', pass: 'pass' } });

/** A JSON request to the running server over real HTTP. */
const call = async (server: RunningServer, path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
};

const registerAndLogIn = async (server: RunningServer, username: string, email: string) => {
  const password = 'amber falcon 41';
  const registered = await call(server, '/register', { name: username, username, password, email });
  const login = await call(server, '/login', { username, password });
  return { registered, token: login.body?.token as string };
};

const localEnv = (more: Record<string, string>) => ({
  DATA_DIR: ':memory:',
  PORT: '0',
  // Given, so the server does not warn about generating them.
  JWT_SECRET: TEST_JWT_SECRET,
  REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
  LOG_LEVEL: 'DEBUG',
  ...more,
});

describe('SMTP: the local server sends through SMTP_URL', () => {
  const FROM = 'Acme Login <login@acme.example>';

  it('mails a link to its own URL without APP_URL, logs no token, and the link verifies', async () => {
    // Prepare
    const smtp = await startSmtp();
    const server = await startServer(localEnv({ SMTP_URL: smtp.url, MAIL_FROM: FROM }));
    const output = captureOutput();
    try {
      // Act
      const { registered } = await registerAndLogIn(server, 'smtpuser', 'sam@example.com');
      const [arrival] = smtp.arrivals;
      const token = tokenIn(arrival?.mail.text ?? '', server.url, 'verify-email');
      const verified = await call(server, '/email/verify', { token });
      output.stop();

      // Assess
      expect(server.url).toMatch(/^http:\/\/localhost:\d+$/);
      expect(registered.status).toBe(201);
      expect(smtp.arrivals).toHaveLength(1);
      expect(arrival!.user).toBe('user');
      expect(arrival!.envelope.to).toEqual(['sam@example.com']);
      expect(arrival!.mail.from?.value).toEqual([{ address: 'login@acme.example', name: 'Acme Login' }]);
      expect(arrival!.mail.subject).toMatch(/^Verify your email address/);
      expect(verified).toMatchObject({ status: 200, body: { emailVerified: true } });
      const printed = output.text();
      expect(printed).toContain('/register');
      expect(printed).not.toContain(token);
      expect(printed).not.toContain('#token=');
    } finally {
      output.stop();
      await server.close();
      await smtp.close();
    }
  });

  it('points the links at APP_URL when it is set (its trailing slash dropped)', async () => {
    const smtp = await startSmtp();
    const server = await startServer(localEnv({ SMTP_URL: smtp.url, MAIL_FROM: FROM, APP_URL: 'https://login.example.com/app/' }));
    const output = captureOutput();
    try {
      await registerAndLogIn(server, 'appurluser', 'amy@example.com');
      output.stop();

      const token = tokenIn(smtp.arrivals[0]?.mail.text ?? '', 'https://login.example.com/app', 'verify-email');
      expect(smtp.arrivals[0]?.mail.text).not.toContain(server.url);
      expect(output.text()).not.toContain(token);
    } finally {
      output.stop();
      await server.close();
      await smtp.close();
    }
  });

  it('with the SMTP server down: resend answers 503, forgot the usual 202, registration 201', async () => {
    // Prepare: an account with a verified address, and one waiting for its link; then the SMTP server stops
    const smtp = await startSmtp();
    const server = await startServer(localEnv({ SMTP_URL: smtp.url, MAIL_FROM: FROM }));
    const output = captureOutput();
    try {
      await registerAndLogIn(server, 'verifieduser', 'vera@example.com');
      const token = tokenIn(smtp.arrivals[0]?.mail.text ?? '', server.url, 'verify-email');
      expect((await call(server, '/email/verify', { token })).status).toBe(200);
      const waiting = await registerAndLogIn(server, 'waitinguser', 'walt@example.com');
      const before = smtp.arrivals.length;
      await smtp.close();

      // Act
      const resend = await call(server, '/email/verify/resend', {}, { authorization: `Bearer ${waiting.token}` });
      const forgotKnown = await call(server, '/password/forgot', { email: 'vera@example.com' });
      const forgotUnknown = await call(server, '/password/forgot', { email: 'nobody@example.com' });
      const registered = await call(server, '/register', {
        name: 'Late',
        username: 'lateuser',
        password: 'amber falcon 41',
        email: 'late@example.com',
      });
      output.stop();

      // Assess
      expect(resend).toMatchObject({ status: 503, body: { code: 'service_unavailable' } });
      expect(forgotKnown).toEqual({ status: 202, body: FORGOT_ANSWER });
      expect(forgotUnknown).toEqual(forgotKnown);
      expect(registered).toEqual({ status: 201, body: { username: 'lateuser' } });
      expect(smtp.arrivals.length).toBe(before);
      // The failures are logged, without the SMTP password
      expect(output.text()).toContain('mail not sent');
      expect(output.text()).not.toContain('pass@');
    } finally {
      output.stop();
      await server.close();
      await smtp.close();
    }
  });
});

describe('Outbox: the local server without SMTP_URL', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('writes each mail as an .eml file under DATA_DIR/outbox, names in time order, and prints its line', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'mail-delivery-'));
    dirs.push(dataDir);
    const server = await startServer(localEnv({ DATA_DIR: dataDir }));
    const output = captureOutput();
    let files: string[];
    let mails: ParsedMail[];
    let raw: string;
    let verifiedFirst: { status: number };
    let verifiedLast: { status: number };
    try {
      // Act: the registration's link, then a resend that supersedes it
      const { token } = await registerAndLogIn(server, 'outboxuser', 'olga@example.com');
      await call(server, '/email/verify/resend', {}, { authorization: `Bearer ${token}` });
      const folder = join(dataDir, 'outbox');
      files = readdirSync(folder);
      const sorted = [...files].sort();
      raw = readFileSync(join(folder, sorted[0]!), 'latin1');
      mails = await Promise.all(sorted.map((name) => simpleParser(readFileSync(join(folder, name)))));
      // Sorted by name, the older link is first: it no longer works, the newer one does
      verifiedFirst = await call(server, '/email/verify', { token: tokenIn(mails[0]!.text ?? '', server.url, 'verify-email') });
      verifiedLast = await call(server, '/email/verify', { token: tokenIn(mails[1]!.text ?? '', server.url, 'verify-email') });
      output.stop();
    } finally {
      output.stop();
      await server.close();
    }

    // Assess: two RFC 5322 messages
    expect(files).toHaveLength(2);
    expect(files.every((name) => name.endsWith('.eml'))).toBe(true);
    expect(raw).toMatch(/^Date: .+\r$/m);
    expect(raw).toMatch(/^Message-ID: <.+>\r$/im);
    expect(raw).toMatch(/^Subject: Verify your email address.*\r$/m);
    expect(raw).toContain('\r\n\r\n');
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/\n/);
    for (const mail of mails) {
      expect(mail.from?.value).toEqual([{ address: 'no-reply@localhost', name: 'login-service' }]);
      expect(mail.to).toMatchObject({ value: [{ address: 'olga@example.com' }] });
      expect(mail.subject).toMatch(/^Verify your email address/);
    }
    expect(mails[0]!.date!.getTime()).toBeLessThanOrEqual(mails[1]!.date!.getTime());
    expect(verifiedFirst.status).toBe(400);
    expect(verifiedLast.status).toBe(200);
    // ... and one console line per mail: recipient, subject, link, file
    const lines = output.text().split('\n').filter((line) => line.startsWith('mail to '));
    expect(lines).toHaveLength(2);
    const link = `${server.url}/verify-email#token=`;
    expect(lines[0]).toMatch(/^mail to olga@example\.com: "Verify your email address[^"]*" /);
    expect(lines[0]).toContain(link);
    expect(lines[0]).toContain(join(dataDir, 'outbox'));
  });

  it('with DATA_DIR=:memory: writes no folder, only the console line', async () => {
    // Prepare
    const cwdBefore = readdirSync(process.cwd());
    const server = await startServer(localEnv({}));
    const output = captureOutput();
    try {
      // Act
      const { registered } = await registerAndLogIn(server, 'memoryuser', 'mia@example.com');
      output.stop();

      // Assess
      expect(registered.status).toBe(201);
      const lines = output.text().split('\n').filter((line) => line.startsWith('mail to '));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^mail to mia@example\\.com: "Verify your email address[^"]*" ${server.url}/verify-email#token=[A-Za-z0-9_%-]+$`),
      );
      expect(lines[0]).not.toContain('.eml');
      expect(readdirSync(process.cwd())).toEqual(cwdBefore);
      expect(existsSync(join(process.cwd(), ':memory:'))).toBe(false);
    } finally {
      output.stop();
      await server.close();
    }
  });
});
