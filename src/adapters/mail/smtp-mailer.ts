// The SMTP mail sender (SMTP_URL): nodemailer, imported on the first mail so nothing of it loads at start-up.
import type { MailMessage, Mailer } from '../../domain/mail';
import { MailSendError, codeOf } from './mail-send-error';

export type SmtpOptions = {
  /** `smtp://user:pass@host:port` (STARTTLS when the server offers it) or `smtps://...` (TLS from the start). */
  url: string;
  /** The From header and envelope sender (MAIL_FROM). */
  from: string;
  /** Bound on connecting, the greeting and each later wait, so a silent server cannot hold a request. */
  timeoutMs?: number;
  /** Extra TLS settings, such as a private CA (`ca`) for a server with its own certificate. */
  tls?: { ca?: string | Buffer; servername?: string };
};

type SmtpTarget = { host: string; port: number; secure: boolean; auth: { user: string; pass: string } | undefined };

/** Reads SMTP_URL without connecting; a bad one fails here, at start-up, naming the setting (not the password). */
export const parseSmtpUrl = (value: string): SmtpTarget => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('SMTP_URL must be a URL such as smtp://user:pass@host:587 or smtps://user:pass@host:465');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//`);
  }
  if (url.hostname === '') throw new Error('SMTP_URL names no host');
  const secure = url.protocol === 'smtps:';
  // Names in the URL are percent-encoded (a password may hold "@" or ":").
  const user = decodeURIComponent(url.username);
  const auth = user === '' ? undefined : { user, pass: decodeURIComponent(url.password) };
  // [::1] arrives bracketed; the socket wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? (secure ? 465 : 587) : Number(url.port), secure, auth };
};

export const createSmtpMailer = (options: SmtpOptions): Mailer => {
  const target = parseSmtpUrl(options.url);
  const timeout = options.timeoutMs ?? 10_000;
  const where = `${target.host}:${target.port}`;
  let transport: Promise<(message: MailMessage) => Promise<unknown>> | undefined;

  const connect = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) => {
      const mailer = nodemailer.createTransport({
        host: target.host,
        port: target.port,
        secure: target.secure,
        auth: target.auth,
        tls: options.tls,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        // nodemailer logs nothing unless asked; say so, as its debug log would hold the DATA (the tokens).
        logger: false,
        debug: false,
      });
      // nodemailer puts an internationalised domain in its ASCII form itself, in the envelope and the headers.
      // The recipient as an address object: nodemailer then never parses it as a list of addresses.
      return (message) => mailer.sendMail({ from: options.from, ...message, to: { name: '', address: message.to } });
    }));

  return {
    async send(message) {
      try {
        await (await connect())(message);
      } catch (error) {
        throw new MailSendError('smtp', `mail not sent: the SMTP server at ${where} ${describe(error)}`);
      }
    },
  };
};

/**
 * nodemailer's code (EAUTH, EENVELOPE, ETIMEDOUT, ESOCKET...), the socket's own below it (ECONNREFUSED) and the
 * server's reply code: enough to act on, and nothing the mail or the login could leak through.
 */
const describe = (error: unknown): string => {
  const codes = [codeOf(error, 'code'), codeOf(error, 'originalCode')].filter((c) => c !== undefined);
  const code = [...new Set(codes)].join(' ');
  const reply = codeOf(error, 'responseCode');
  if (reply !== undefined) return `answered ${reply}${code ? ` (${code})` : ''}`;
  return `could not be reached or failed${code ? ` (${code})` : ''}`;
};
