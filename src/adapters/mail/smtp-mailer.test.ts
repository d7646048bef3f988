// The SMTP sender against a real SMTP server (smtp-server) started here, with authentication, and its failures.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../../../test/smtp-server';
import { capturedOutput } from './captured-output';
import { createMessages } from './messages';
import { createSmtpMailer, parseSmtpUrl } from './smtp-mailer';

const TOKEN = 'c2VjcmV0LXJlc2V0LXRva2VuLTAxMjM0NTY3ODlhYmNkZWY';
const USER = 'mailer';
const PASSWORD = 'p@ss:wörd/1';
const FROM = 'Acme Login <no-reply@example.com>';
const reset = createMessages({ appUrl: 'https://auth.example.com', productName: 'Acme Login' }).build({
  kind: 'reset_password',
  to: 'alice@example.com',
  username: 'alice',
  token: TOKEN,
  expiresInSeconds: 1800,
});

let smtp: TestSmtpServer;
const url = (user = USER, password = PASSWORD) =>
  `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${smtp.port}`;

beforeAll(async () => {
  smtp = await startTestSmtpServer({ auth: { user: USER, pass: PASSWORD }, refuseRecipient: 'nobody@example.com' });
});
afterAll(() => smtp?.close());

/** Everything a failure shows: its message, its properties and any cause, as a log line would print them. */
const shown = (error: unknown) => inspect(error, { depth: 10, showHidden: true });

describe('createSmtpMailer', () => {
  it('logs in and delivers the mail with its text and HTML parts to the recipient', async () => {
    // Prepare
    const mailer = createSmtpMailer({ url: url(), from: FROM });
    const before = smtp.arrivals.length;

    // Act
    await mailer.send(reset);

    // Assess
    const [arrival, ...more] = smtp.arrivals.slice(before);
    expect(more).toEqual([]);
    expect(arrival!.user).toBe(USER);
    expect(arrival!.envelope).toEqual({ from: 'no-reply@example.com', to: ['alice@example.com'] });
    expect(arrival!.mail.subject).toBe('Reset your password for Acme Login');
    expect(arrival!.mail.from?.value).toEqual([{ address: 'no-reply@example.com', name: 'Acme Login' }]);
    expect(arrival!.mail.text).toBe(reset.text);
    expect(arrival!.mail.html).toBe(reset.html);
    expect(arrival!.mail.messageId).toMatch(/@example\.com>$/);
    expect(arrival!.mail.date).toBeInstanceOf(Date);
  });

  it('sends a second mail through the same mailer', async () => {
    const mailer = createSmtpMailer({ url: url(), from: FROM });
    const before = smtp.arrivals.length;

    await mailer.send(reset);
    await mailer.send({ ...reset, to: 'bob@example.com' });

    expect(smtp.arrivals.slice(before).map((a) => a.envelope.to)).toEqual([['alice@example.com'], ['bob@example.com']]);
  });

  it('gives the server an internationalised domain in its ASCII form', async () => {
    const mailer = createSmtpMailer({ url: url(), from: FROM });

    await mailer.send({ ...reset, to: 'zoe@bücher.example' });

    // (smtp-server shows envelope addresses in Unicode whatever came, so the header tells what was sent)
    expect(smtp.arrivals.at(-1)?.raw).toMatch(/^To: zoe@xn--bcher-kva\.example\r$/m);
  });

  it('fails clearly, without the token or the password, when the server refuses the login', async () => {
    // Prepare
    const mailer = createSmtpMailer({ url: url(USER, 'wrong-password'), from: FROM });
    const before = smtp.arrivals.length;

    // Act
    const error = await mailer.send(reset).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      name: 'MailSendError',
      sender: 'smtp',
      message: `mail not sent: the SMTP server at 127.0.0.1:${smtp.port} answered 535 (EAUTH)`,
    });
    expect(shown(error)).not.toContain(TOKEN);
    expect(shown(error)).not.toContain('wrong-password');
    expect(smtp.arrivals.length).toBe(before);
  });

  it('fails clearly when the server refuses the recipient', async () => {
    const mailer = createSmtpMailer({ url: url(), from: FROM });

    const error = await mailer.send({ ...reset, to: 'nobody@example.com' }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ message: `mail not sent: the SMTP server at 127.0.0.1:${smtp.port} answered 550 (EENVELOPE)` });
    expect(shown(error)).not.toContain(TOKEN);
    expect(shown(error)).not.toContain(PASSWORD);
  });

  it('fails clearly when no server listens', async () => {
    // Prepare: a port that just had a server and now has none
    const gone = await startTestSmtpServer();
    await gone.close();
    const mailer = createSmtpMailer({ url: `smtp://${USER}:secret-pw@127.0.0.1:${gone.port}`, from: FROM });

    // Act
    const error = await mailer.send(reset).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      name: 'MailSendError',
      message: `mail not sent: the SMTP server at 127.0.0.1:${gone.port} could not be reached or failed (ESOCKET ECONNREFUSED)`,
    });
    expect(shown(error)).not.toContain(TOKEN);
    expect(shown(error)).not.toContain('secret-pw');
  });

  it('speaks TLS from the first byte with smtps:// and refuses a certificate it cannot verify', async () => {
    // Prepare: smtp-server's built-in certificate, which no CA vouches for (and which has expired by now)
    const server = new SMTPServer({ secure: true, logger: false, authOptional: true });
    // The server reports the client hanging up mid-handshake; that is the refusal this test expects.
    server.on('error', () => {});
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    const { port } = server.server.address() as AddressInfo;
    const mailer = createSmtpMailer({ url: `smtps://127.0.0.1:${port}`, from: FROM });

    // Act
    const error = await mailer.send(reset).catch((caught: unknown) => caught);
    await new Promise<void>((resolve) => server.close(() => resolve()));

    // Assess
    expect(error).toMatchObject({ name: 'MailSendError', message: expect.stringMatching(
        new RegExp(`at 127\\.0\\.0\\.1:${port} could not be reached or failed \\(ESOCKET (CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\\)$`),
      ),
    });
    expect(shown(error)).not.toContain(TOKEN);
  });
});

describe('createSmtpMailer output', () => {
  it('prints nothing, sending or failing: no body, link or token reaches a log', async () => {
    // Prepare
    const good = createSmtpMailer({ url: url(), from: FROM });
    const refused = createSmtpMailer({ url: url(USER, 'wrong-password'), from: FROM });
    const before = smtp.arrivals.length;

    // Act
    const printed = await capturedOutput(async () => {
      await good.send(reset);
      await refused.send(reset).catch((error: unknown) => console.error(error));
    });

    // Assess: the mail went (so the capture saw a real send), and the only output is the logged MailSendError
    expect(smtp.arrivals.length).toBe(before + 1);
    expect(printed).toContain('MailSendError: mail not sent');
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain('wrong-password');
  });
});

describe('parseSmtpUrl', () => {
  it('reads host, port, TLS and the percent-decoded login', () => {
    expect(parseSmtpUrl('smtp://u%40x:p%3Aw%40@mail.example.com:2525')).toEqual({
      host: 'mail.example.com',
      port: 2525,
      secure: false,
      auth: { user: 'u@x', pass: 'p:w@' },
    });
    expect(parseSmtpUrl('smtps://[::1]')).toEqual({ host: '::1', port: 465, secure: true, auth: undefined });
    expect(parseSmtpUrl('smtp://relay')).toMatchObject({ port: 587, secure: false });
  });

  it.each(['http://mail.example.com', 'mail.example.com:25', 'smtp://'])('refuses %s without echoing it', (value) => {
    expect(() => parseSmtpUrl(value)).toThrow(/^SMTP_URL /);
  });

  it('does not echo a password from a bad URL', () => {
    expect(() => parseSmtpUrl('imap://user:hunter2@host')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });
});
