// The mail port and the messages the use cases send through it (types only, nothing runs here).
import type { AuditEvent } from './ports';

/** One mail, ready to go: a single recipient, a subject, and the same content as plain text and as HTML. */
export type MailMessage = { to: string; subject: string; text: string; html: string };

/**
 * Sends one mail. Resolves once the sender (SMTP server, SES, the outbox) has accepted it; rejects with an error
 * whose message names what failed but never the body or a link (they hold one-time tokens).
 */
export type Mailer = { send(message: MailMessage): Promise<void> };

/**
 * What a use case asks to be sent; a template layer turns it into a MailMessage. Links carry a one-time token
 * that lasts `expiresInSeconds`. The verification mail names no username: it may go to any address typed at
 * registration, so it carries no text an attacker chose.
 */
export type MailRequest =
  | { kind: 'verify_email'; to: string; token: string; expiresInSeconds: number }
  | { kind: 'reset_password'; to: string; username: string; token: string; expiresInSeconds: number }
  | { kind: 'password_changed'; to: string; username: string }
  /** Goes to the old address once the new one is verified; it does not name the new one. */
  | { kind: 'email_changed'; to: string; username: string }
  /** A second factor was turned on or off, recovery codes replaced, a passkey added or removed. */
  | { kind: 'factor_changed'; to: string; username: string; change: FactorChangeKind };

/** The audit events of a factor change, each of which the owner is told of. */
export type FactorChangeKind = Extract<AuditEvent, `mfa.${string}` | `passkey.${string}`>;

export type MailKind = MailRequest['kind'];

/** What the use cases send through: a MailRequest, made into a message by the template layer and sent. */
export type Notifier = { send(request: MailRequest): Promise<void> };
