// The SES sender against aws-ses-v2-local (a local SES v2 server started here), read back through its HTTP API.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import startSesLocal from 'aws-ses-v2-local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { capturedOutput } from './captured-output';
import { createMessages } from './messages';
import { createSesMailer } from './ses-mailer';

const TOKEN = 'dmVyaWZ5LXRva2VuLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm';
const FROM = 'Acme Login <no-reply@example.com>';
const REGION = 'eu-west-1';
const verify = createMessages({ appUrl: 'https://auth.example.com', productName: 'Acme Lögin' }).build({
  kind: 'verify_email',
  to: 'zoe@example.com',
  token: TOKEN,
  expiresInSeconds: 86_400,
});

/** A mail as aws-ses-v2-local's GET /store lists it. */
type StoredEmail = {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
};

/** One SendEmail call as it went over the wire, and a way to answer the next ones with an SES error instead. */
type Recorded = { method: string; path: string; authorization: string | undefined; body: Record<string, unknown> };

let ses: Server;
let sesEndpoint: string;
let proxy: Server;
let proxyEndpoint: string;
const recorded: Recorded[] = [];
let refuseWith: { status: number; type: string; message: string } | undefined;

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

/** What arrived at the local SES, newest last. */
const arrived = async (): Promise<StoredEmail[]> => {
  const response = await fetch(`${sesEndpoint}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
};

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  ses = await startSesLocal({ host: '127.0.0.1', port: 0 });
  sesEndpoint = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
  // In front of the local SES: records each call as sent (the store keeps no configuration set) and can answer
  // with an SES error, as SES itself does for a rejected mail.
  proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    recorded.push({
      method: request.method!,
      path: request.url!,
      authorization: request.headers.authorization,
      body: JSON.parse(body.toString() || '{}') as Record<string, unknown>,
    });
    if (refuseWith !== undefined) {
      response.writeHead(refuseWith.status, { 'content-type': 'application/json', 'x-amzn-errortype': refuseWith.type });
      response.end(JSON.stringify({ message: refuseWith.message }));
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    const upstream = await fetch(`${sesEndpoint}${request.url}`, { method: request.method!, headers, body });
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  });
  proxyEndpoint = await listen(proxy);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await close(proxy);
  await close(ses);
});

/** Everything a failure shows: its message, its properties and any cause, as a log line would print them. */
const shown = (error: unknown) => inspect(error, { depth: 10, showHidden: true });

describe('createSesMailer', () => {
  it('sends the mail with SendEmail: sender, recipient, UTF-8 subject, text and HTML arrive', async () => {
    // Prepare
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: sesEndpoint });
    const before = (await arrived()).length;

    // Act
    await mailer.send(verify);

    // Assess
    const emails = (await arrived()).slice(before);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({
      from: FROM,
      destination: { to: ['zoe@example.com'] },
      subject: 'Verify your email address for Acme Lögin',
      body: { text: verify.text, html: verify.html },
    });
  });

  it('signs the call and names the configuration set when one is given', async () => {
    // Prepare
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: proxyEndpoint, configurationSetName: 'login-mail' });
    recorded.length = 0;

    // Act
    await mailer.send(verify);
    await mailer.send({ ...verify, to: 'bob@example.com' });

    // Assess
    expect(recorded.map((call) => [call.method, call.path])).toEqual([
      ['POST', '/v2/email/outbound-emails'],
      ['POST', '/v2/email/outbound-emails'],
    ]);
    expect(recorded[0]!.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=test/\\d{8}/${REGION}/ses/aws4_request`));
    expect(recorded[0]!.body).toEqual({
      FromEmailAddress: FROM,
      Destination: { ToAddresses: ['zoe@example.com'] },
      ConfigurationSetName: 'login-mail',
      Content: {
        Simple: {
          Subject: { Data: verify.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: verify.text, Charset: 'UTF-8' }, Html: { Data: verify.html, Charset: 'UTF-8' } },
        },
      },
    });
    expect((recorded[1]!.body.Destination as { ToAddresses: string[] }).ToAddresses).toEqual(['bob@example.com']);
  });

  it('gives SES an internationalised domain in its ASCII form', async () => {
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: sesEndpoint });

    await mailer.send({ ...verify, to: 'zoe@bücher.example' });

    expect((await arrived()).at(-1)?.destination.to).toEqual(['zoe@xn--bcher-kva.example']);
  });

  it('sends no configuration set when none is given', async () => {
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: proxyEndpoint });
    recorded.length = 0;

    await mailer.send(verify);

    expect(Object.keys(recorded[0]!.body).sort()).toEqual(['Content', 'Destination', 'FromEmailAddress']);
  });

  it('fails clearly, without the token or what SES said, when SES rejects the mail', async () => {
    // Prepare: SES's messages quote addresses; this one quotes the token too, to show none of it is passed on
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: proxyEndpoint });
    refuseWith = { status: 400, type: 'MessageRejected', message: `Email address is not verified: ${TOKEN}` };

    // Act
    const error = await mailer.send(verify).catch((caught: unknown) => caught);
    refuseWith = undefined;

    // Assess
    expect(error).toMatchObject({
      name: 'MailSendError',
      sender: 'ses',
      message: 'mail not sent: SES SendEmail failed (MessageRejected, HTTP 400)',
    });
    expect(shown(error)).not.toContain(TOKEN);
    expect(shown(error)).not.toContain('not verified');
  });

  it('fails clearly when SES cannot be reached', async () => {
    // Prepare: a port that just had a server and now has none
    const gone = createServer();
    const endpoint = await listen(gone);
    await close(gone);
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint });

    // Act
    const error = await mailer.send(verify).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'MailSendError', message: 'mail not sent: SES SendEmail failed (ECONNREFUSED)' });
    expect(shown(error)).not.toContain(TOKEN);
  });

  it('prints nothing, sending or failing: no body, link or token reaches a log', async () => {
    // Prepare
    const mailer = createSesMailer({ from: FROM, region: REGION, endpoint: proxyEndpoint });
    recorded.length = 0;

    // Act
    const printed = await capturedOutput(async () => {
      await mailer.send(verify);
      refuseWith = { status: 500, type: 'InternalFailure', message: `failed on ${TOKEN}` };
      await mailer.send(verify).catch((error: unknown) => console.error(error));
      refuseWith = undefined;
    });

    // Assess: one send went through and the failing one was tried (three times, as the SDK retries a 500)
    expect(recorded.length).toBe(4);
    expect(printed).toContain('MailSendError: mail not sent: SES SendEmail failed (InternalFailure, HTTP 500)');
    expect(printed).not.toContain(TOKEN);
  });
});
