// The one error the mail senders throw: what failed and where, never the mail's body, its links or a credential.

/**
 * Built from a few safe facts of the underlying failure (an error code, a status), never by wrapping it: a
 * client's own error may carry the SMTP command that failed (AUTH holds the password) or the server's answer.
 */
export class MailSendError extends Error {
  override readonly name = 'MailSendError';
  /** The sender that failed. */
  readonly sender: 'outbox' | 'smtp' | 'ses' | 'none';

  constructor(sender: MailSendError['sender'], message: string) {
    super(message);
    this.sender = sender;
  }
}

/** A string property of an unknown error, if it has one that looks like a code (no spaces, short). */
export const codeOf = (error: unknown, property: string): string | undefined => {
  const value = typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[property] : undefined;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined;
};
