// The mail sender the settings choose (config.mailer), and the notifier the use cases send through: a request
// made into a message (the templates) and handed to that sender.
import type { Config } from '../../config';
import type { MailRequest, Mailer, Notifier } from '../../domain/mail';
import type { Clock } from '../../domain/ports';
import { MailSendError } from './mail-send-error';
import { createMessages } from './messages';
import { createOutboxMailer } from './outbox-mailer';
import { createSesMailer } from './ses-mailer';
import { createSmtpMailer } from './smtp-mailer';

export type MailerOptions = {
  /** The outbox's folder (DATA_DIR/outbox), or null to print the console line alone (DATA_DIR=:memory:). */
  outboxFolder: string | null;
  /** Where the outbox prints its one line per mail. */
  line(text: string): void;
  clock: Clock;
};

/** On Lambda without MAIL_FROM or SMTP_URL: nothing can go, and a mail the user waits for answers 503. */
const noMailer: Mailer = {
  send: () =>
    Promise.reject(new MailSendError('none', 'mail not sent: no sender is configured (MAIL_FROM for SES, or SMTP_URL)')),
};

export const createMailer = (mailer: Config['mailer'], options: MailerOptions): Mailer => {
  switch (mailer.kind) {
    case 'smtp':
      return createSmtpMailer({ url: mailer.url, from: mailer.from });
    case 'ses':
      return createSesMailer({
        from: mailer.from,
        region: mailer.region,
        ...(mailer.endpoint === undefined ? {} : { endpoint: mailer.endpoint }),
        ...(mailer.configurationSet === undefined ? {} : { configurationSetName: mailer.configurationSet }),
      });
    case 'outbox':
      return createOutboxMailer({ folder: options.outboxFolder, from: mailer.from, line: options.line, clock: options.clock });
    case 'none':
      return noMailer;
  }
};

/**
 * Requests made into messages whose links start at `appUrl()` (read at each send: locally it is known once
 * listening). A send that takes longer than `timeoutMs` counts as failed: the senders' own limits (10 s per SMTP
 * wait, SES's retries) would outlast the request's deadline, and a forgot-password answer its padding.
 */
export const createNotifier = (mailer: Mailer, appUrl: () => string, productName: string, timeoutMs: number): Notifier => ({
  send: (request: MailRequest) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new MailSendError('none', `mail not sent: no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    const sending = mailer.send(createMessages({ appUrl: appUrl(), productName }).build(request));
    return Promise.race([sending, late]).finally(() => clearTimeout(timer));
  },
});
