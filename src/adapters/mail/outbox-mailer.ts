// The local mail sender: each mail as an RFC 5322 .eml file in a folder (DATA_DIR/outbox/) and one console line.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailMessage, Mailer } from '../../domain/mail';
import type { Clock } from '../../domain/ports';
import { MailSendError, codeOf } from './mail-send-error';

export type OutboxOptions = {
  /** Where the .eml files go; null (DATA_DIR=:memory:) writes none, the console line alone is the outbox. */
  folder: string | null;
  /** The From header (MAIL_FROM, or the outbox's default). */
  from: string;
  /** Prints one line; the server passes its console writer. */
  line(text: string): void;
  clock?: Clock;
};


/** The links a mail holds, for the console line (its plain text part has each on a line of its own). */
export const linksIn = (text: string): string[] => text.match(/https?:\/\/[^\s<>"]+/g) ?? [];

/**
 * Composes with nodemailer's stream transport (the same MIME writer the SMTP sender uses: encoded headers,
 * Date, Message-ID, multipart/alternative with UTF-8 parts), imported on the first mail. The line shows the links
 * and so the tokens: in outbox mode that is the point (a developer opens them), and no other sender prints one.
 */
export const createOutboxMailer = (options: OutboxOptions): Mailer => {
  const clock = options.clock ?? { now: () => new Date() };
  let composer: Promise<(message: MailMessage, date: Date) => Promise<Buffer>> | undefined;
  let sequence = 0;

  const compose = () =>
    (composer ??= import('nodemailer').then(({ default: nodemailer }) => {
      // CRLF line ends, as RFC 5322 has them and mail programs expect in an .eml file.
      const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
      return async (message, date) => {
        // The recipient as an address object, as the SMTP sender gives it: never parsed as a list.
        const info = await transport.sendMail({ from: options.from, ...message, to: { name: '', address: message.to }, date });
        return info.message as Buffer;
      };
    }));

  return {
    async send(message) {
      const date = clock.now();
      const links = linksIn(message.text);
      if (options.folder === null) {
        options.line(consoleLine(message, links, undefined));
        return;
      }
      // An ISO time sorts as text; the sequence orders mails of the same millisecond, the random part keeps two
      // processes sharing a folder from ever taking the same name.
      sequence += 1;
      const name =
        `${date.toISOString().replace(/:/g, '-')}-${String(sequence).padStart(6, '0')}-` +
        `${randomBytes(3).toString('hex')}.eml`;
      const path = join(options.folder, name);
      try {
        const eml = await (await compose())(message, date);
        await mkdir(options.folder, { recursive: true });
        // Only the owner may read it: it holds a one-time token.
        await writeFile(path, eml, { flag: 'wx', mode: 0o600 });
      } catch (error) {
        const code = codeOf(error, 'code');
        throw new MailSendError('outbox', `mail not written to the outbox ${options.folder}${code ? ` (${code})` : ''}`);
      }
      options.line(consoleLine(message, links, path));
    },
  };
};

const consoleLine = (message: MailMessage, links: string[], path: string | undefined): string =>
  `mail to ${message.to}: ${JSON.stringify(message.subject)}` +
  (links.length > 0 ? ` ${links.join(' ')}` : '') +
  (path === undefined ? '' : ` (${path})`);
