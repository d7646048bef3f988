// The SES mail sender (MAIL_FROM on Lambda): SES v2 SendEmail, its client imported on the first mail.
import type { MailMessage, Mailer } from '../../domain/mail';
import { asciiDomain } from './ascii-domain';
import { MailSendError, codeOf } from './mail-send-error';

export type SesOptions = {
  /** The verified identity mails come from (MAIL_FROM); `Name <address>` works too. */
  from: string;
  /** The SES region; the SDK's own default (AWS_REGION on Lambda) when absent. */
  region?: string;
  /** AWS_ENDPOINT_URL_SESV2: a local SES (aws-ses-v2-local in the tests) instead of AWS's. */
  endpoint?: string;
  /** An SES configuration set, for its event destinations and suppression settings. */
  configurationSetName?: string;
};

export const createSesMailer = (options: SesOptions): Mailer => {
  const from = sesAddress(options.from);
  let client: Promise<(message: MailMessage) => Promise<unknown>> | undefined;

  const connect = () =>
    (client ??= import('@aws-sdk/client-sesv2').then(({ SESv2Client, SendEmailCommand }) => {
      const ses = new SESv2Client({
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        // Someone waits on the answer: bounded waits, and the SDK's usual three tries for a throttled SES.
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 },
      });
      return (message) => {
        const utf8 = (data: string) => ({ Data: data, Charset: 'UTF-8' });
        return ses.send(
          new SendEmailCommand({
            FromEmailAddress: from,
            Destination: { ToAddresses: [asciiDomain(message.to)] },
            Content: {
              Simple: {
                Subject: utf8(message.subject),
                Body: { Text: utf8(message.text), Html: utf8(message.html) },
              },
            },
            ...(options.configurationSetName === undefined
              ? {}
              : { ConfigurationSetName: options.configurationSetName }),
          }),
        );
      };
    }));

  return {
    async send(message) {
      try {
        await (await connect())(message);
      } catch (error) {
        throw new MailSendError('ses', `mail not sent: SES SendEmail failed ${describe(error)}`);
      }
    },
  };
};

/**
 * MAIL_FROM as SES takes it: SES speaks no SMTPUTF8, so the address must be 7-bit ASCII (the domain in punycode) and
 * a display name outside ASCII an RFC 2047 encoded word; else SES refuses every mail. nodemailer does this for SMTP.
 */
const sesAddress = (mailbox: string): string => {
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(mailbox);
  if (named === null) return asciiDomain(mailbox);
  const [, name = '', address = ''] = named;
  if (/^[\x20-\x7e]*$/.test(name)) return `${name === '' ? '' : `${name} `}<${asciiDomain(address)}>`;
  // An encoded word stands alone, never inside quotes: the quoted form's quotes and escapes come off first.
  const bare = name.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
  return `=?UTF-8?B?${Buffer.from(bare, 'utf8').toString('base64')}?= <${asciiDomain(address)}>`;
};

/**
 * The SDK's error name (MessageRejected, TooManyRequestsException, AccountSuspendedException...) and HTTP
 * status; a network failure has a Node code instead. Its message is left out: it may quote addresses.
 */
const describe = (error: unknown): string => {
  const name = codeOf(error, 'name');
  // A plain Error's name says nothing; a network failure's code (ECONNREFUSED) does.
  const code = codeOf(error, 'code');
  const metadata = typeof error === 'object' && error !== null ? (error as { $metadata?: unknown }).$metadata : undefined;
  const status = codeOf(metadata, 'httpStatusCode');
  return `(${[name === 'Error' ? undefined : name, code, status && `HTTP ${status}`].filter(Boolean).join(', ') || 'unknown error'})`;
};
