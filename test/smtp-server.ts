// A real SMTP server (smtp-server) on loopback for the mail tests: it keeps every message it accepts, raw and parsed.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type SmtpArrival = {
  envelope: { from: string; to: string[] };
  /** The name the client logged in with, when the server asks for a login. */
  user: string | undefined;
  /** The message as it came over the wire, read as latin1 so every byte stays one character. */
  raw: string;
  mail: ParsedMail;
};

export type TestSmtpServer = {
  port: number;
  /** smtp://[user:pass@]127.0.0.1:port, the login percent-encoded. */
  url: string;
  /** Every accepted message, oldest first. */
  arrivals: SmtpArrival[];
  /** Stops the server; calling it again waits for the same stop. */
  close(): Promise<void>;
};

export type TestSmtpServerOptions = {
  /** Require this login (PLAIN or LOGIN, over plain SMTP); without it the server offers no AUTH at all. */
  auth?: { user: string; pass: string };
  /** Answer RCPT TO for this address with 550, as a server that has no such mailbox. */
  refuseRecipient?: string;
};

export const startTestSmtpServer = async (options: TestSmtpServerOptions = {}): Promise<TestSmtpServer> => {
  const { auth, refuseRecipient } = options;
  const arrivals: SmtpArrival[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: a real exchange without certificates (nodemailer tries STARTTLS when offered).
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(given, _session, callback) {
      if (auth && given.username === auth.user && given.password === auth.pass) callback(null, { user: given.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (refuseRecipient !== undefined && address.address === refuseRecipient) {
        callback(Object.assign(new Error('No such mailbox here'), { responseCode: 550 }));
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The arrival is kept before the server answers 250, so a test sees it as soon as the send resolves.
      once(stream, 'end')
        .then(async () => {
          const raw = Buffer.concat(chunks);
          arrivals.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((recipient) => recipient.address),
            },
            user: session.user as string | undefined,
            raw: raw.toString('latin1'),
            mail: await simpleParser(raw),
          });
        })
        .then(() => callback(), callback);
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  const login = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';
  let closed: Promise<void> | undefined;
  return {
    port,
    url: `smtp://${login}127.0.0.1:${port}`,
    arrivals,
    close: () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
};
