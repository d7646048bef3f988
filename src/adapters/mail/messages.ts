// The template layer: turns a use case's MailRequest into the subject, plain text and HTML of one mail.
//
// The mail modules, and how they fit together (see issue 10, "Sending mail"):
// - src/domain/mail.ts: the `Mailer` port (`send({to, subject, text, html})`) and the `MailRequest` kinds.
// - messages.ts (this file): `createMessages({appUrl, productName})`, pure. Links are built from the configured
//   APP_URL, never from a request's Host header, and carry the token in the fragment (`#token=`), so it never
//   reaches a server log or a Referer header. Every value that ends up in the HTML is escaped.
// - outbox-mailer.ts: the local default; each mail as an RFC 5322 .eml file under DATA_DIR/outbox/ and one console
//   line (recipient, subject, links), the only place a link is ever printed.
// - smtp-mailer.ts (nodemailer, SMTP_URL) and ses-mailer.ts (@aws-sdk/client-sesv2, MAIL_FROM on Lambda): each
//   imports its client on the first send, so nothing of them loads at start-up.
// - mail-send-error.ts: the one error the senders throw; its message names the failure, never a body or link.
import type { MailMessage, MailRequest } from '../../domain/mail';

export type MessageOptions = {
  /** Where the links point (APP_URL): an absolute http(s) URL, with or without a path; no query or fragment. */
  appUrl: string;
  /** The name the mails give the service (MAIL_PRODUCT_NAME). */
  productName?: string;
};

export const DEFAULT_PRODUCT_NAME = 'login-service';

/** The subjects' fixed beginnings (the product name follows), which other code and tests may look for. */
export const SUBJECTS = {
  verify_email: 'Verify your email address',
  reset_password: 'Reset your password',
  password_changed: 'Your password was changed',
  email_changed: 'Your email address was changed',
  factor_changed: 'Your sign-in methods changed',
} as const;

// What each change says, in words: "<this> for the account ...".
const FACTOR_CHANGES = {
  'mfa.enabled': 'Two-step verification with an authenticator app was turned on',
  'mfa.disabled': 'Two-step verification with an authenticator app was turned off',
  'mfa.recovery_codes_replaced': 'A new set of recovery codes was made (the old codes no longer work)',
  'mfa.failed': 'A wrong authentication code was entered',
  'passkey.added': 'A passkey was added',
  'passkey.removed': 'A passkey was removed',
} as const;

/** One paragraph of a mail; `link` paragraphs become a clickable link in the HTML. */
type Paragraph = { text: string } | { link: string };

export const createMessages = (options: MessageOptions): { build(request: MailRequest): MailMessage } => {
  const base = checkedAppUrl(options.appUrl);
  const product = options.productName ?? DEFAULT_PRODUCT_NAME;
  const link = (page: string, token: string) => `${base}/${page}#token=${encodeURIComponent(token)}`;

  const compose = (request: MailRequest): { subject: string; paragraphs: Paragraph[] } => {
    switch (request.kind) {
      case 'verify_email':
        return {
          subject: `${SUBJECTS.verify_email} for ${product}`,
          paragraphs: [
            { text: `Someone asked to use this email address for an account at ${product}. To confirm that it is yours, open this link:` },
            { link: link('verify-email', request.token) },
            { text: `The link works once and expires in ${duration(request.expiresInSeconds)}.` },
            { text: 'If you did not expect this mail, ignore it: the address stays unconfirmed and no account can use it to log in or to reset a password.' },
          ],
        };
      case 'reset_password':
        return {
          subject: `${SUBJECTS.reset_password} for ${product}`,
          paragraphs: [
            { text: `Someone asked to reset the password of the account "${request.username}" at ${product}. To choose a new password, open this link:` },
            { link: link('reset-password', request.token) },
            { text: `The link works once and expires in ${duration(request.expiresInSeconds)}. Resetting the password ends every session of the account.` },
            { text: 'If you did not ask for this, ignore this mail: your password stays as it is.' },
          ],
        };
      case 'password_changed':
        return {
          subject: `${SUBJECTS.password_changed} at ${product}`,
          paragraphs: [
            { text: `The password of the account "${request.username}" at ${product} was just changed.` },
            { text: 'If you did this, there is nothing more to do.' },
            { text: `If you did not, someone else may know your password or have access to your mail: use "Forgot password" at ${product} to choose a new password, which ends every session, and secure your mailbox:` },
            { link: base },
          ],
        };
      case 'email_changed':
        return {
          subject: `${SUBJECTS.email_changed} at ${product}`,
          paragraphs: [
            { text: `The email address of the account "${request.username}" at ${product} was changed; this address is no longer used for it.` },
            { text: 'If you did this, there is nothing more to do.' },
            { text: `If you did not, someone else has access to the account: contact the people who run ${product}.` },
          ],
        };
      case 'factor_changed':
        return {
          subject: `${SUBJECTS.factor_changed} at ${product}`,
          paragraphs: [
            { text: `${FACTOR_CHANGES[request.change]} for the account "${request.username}" at ${product}. Every other session of the account has ended.` },
            { text: 'If you did this, there is nothing more to do.' },
            { text: `If you did not, someone else knows your password: use "Forgot password" at ${product} to choose a new one, which ends every session, and check the account's sign-in methods:` },
            { link: base },
          ],
        };
    }
  };

  return {
    build(request) {
      const { subject, paragraphs } = compose(request);
      const closing = `— ${product}`;
      const text = [...paragraphs.map((p) => ('text' in p ? p.text : p.link)), closing].join('\n\n') + '\n';
      const body = paragraphs
        .map((p) =>
          'text' in p ? `<p>${escapeHtml(p.text)}</p>` : `<p><a href="${escapeHtml(p.link)}">${escapeHtml(p.link)}</a></p>`,
        )
        .join('\n');
      const html =
        `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n` +
        `<body>\n${body}\n<p>${escapeHtml(closing)}</p>\n</body></html>\n`;
      return { to: request.to, subject, text, html };
    },
  };
};

/** HTML text and attribute values: the five characters that could end either. */
export const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);

/** A lifetime as people say it: "24 hours", "30 minutes", "1 hour", "90 seconds". */
export const duration = (seconds: number): string => {
  const [amount, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
};

const checkedAppUrl = (appUrl: string): string => {
  let url: URL;
  try {
    url = new URL(appUrl);
  } catch {
    throw new Error(`APP_URL must be an absolute URL, got "${appUrl}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('APP_URL must be an http or https URL');
  if (url.search !== '' || url.hash !== '' || appUrl.includes('#') || appUrl.includes('?')) {
    throw new Error('APP_URL must have no query or fragment: the links add their own');
  }
  if (url.username !== '' || url.password !== '') throw new Error('APP_URL must not carry a user or password');
  // Without its trailing slashes, so `${base}/verify-email` never has two.
  return url.href.replace(/\/+$/, '');
};
