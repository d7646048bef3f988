// Email address rules: one accepted shape and one spelling (the whole address lower-cased) for every address the
// service stores, compares or sends to.
import { AppError, invalidField } from './errors';
import { codePointLength } from './username';

export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_PART_LENGTH = 64;
export const MAX_DOMAIN_LABEL_LENGTH = 63;

// JavaScript's \s plus Unicode's White_Space (which adds U+0085, NEL): nothing a reader could take for a gap, and
// no line break that could split a mail header.
const WHITESPACE = /[\s\p{White_Space}]/u;

// The local part: dot-atoms only (RFC 5322 3.2.3), with any non-ASCII character that is no control, format or
// separator character (RFC 6531). No quoted strings, commas, brackets or parentheses: a mail library or relay would
// read `a,attacker@evil.test` or `x<y>@d` as other recipients than the one stored, and send the link there.
const ATOM_CHAR = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\\x00-\\x7f\\p{C}\\p{Z}]";
const LOCAL_PART = new RegExp(`^(?:${ATOM_CHAR})+(?:\\.(?:${ATOM_CHAR})+)*$`, 'u');

// A domain label: letters (any script), ASCII digits and hyphens, neither starting nor ending with a hyphen.
const LABEL = /^[\p{L}0-9](?:[\p{L}0-9-]*[\p{L}0-9])?$/u;

const invalidEmail = (message: string) => invalidField('email', message);

/**
 * The address to store and compare: trimmed and lower-cased, then held to every rule (so whatever it returns is
 * accepted again unchanged); otherwise an invalid_request naming `email`. Lengths count code points. The rules
 * are checked on the lower-cased address, since lower-casing can lengthen it (`İ` becomes `i` + U+0307).
 */
export const normalizeEmail = (raw: string): string => {
  // String.prototype.trim, not a regular expression: /\s+$/ backtracks quadratically on long runs of spaces.
  const email = raw.trim().toLowerCase();
  if (email === '') throw invalidEmail('email must not be empty');
  if (codePointLength(email) > MAX_EMAIL_LENGTH) {
    throw invalidEmail(`email must be at most ${MAX_EMAIL_LENGTH} characters`);
  }
  if (WHITESPACE.test(email)) throw invalidEmail('email must not contain spaces');
  const parts = email.split('@');
  if (parts.length !== 2) throw invalidEmail('email must contain exactly one @');
  const [local = '', domain = ''] = parts;
  const localLength = codePointLength(local);
  if (localLength < 1 || localLength > MAX_LOCAL_PART_LENGTH) {
    throw invalidEmail(`the part of email before the @ must be 1 to ${MAX_LOCAL_PART_LENGTH} characters`);
  }
  if (!LOCAL_PART.test(local)) {
    throw invalidEmail(
      "the part of email before the @ must be letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~, with single dots between them",
    );
  }
  const labels = domain.split('.');
  if (labels.length < 2) throw invalidEmail('the domain of email must have at least two parts, like example.com');
  for (const label of labels) {
    const length = codePointLength(label);
    if (length < 1 || length > MAX_DOMAIN_LABEL_LENGTH || !LABEL.test(label)) {
      throw invalidEmail(
        `each part of the domain of email must be 1 to ${MAX_DOMAIN_LABEL_LENGTH} letters, digits or hyphens, not starting or ending with a hyphen`,
      );
    }
  }
  return email;
};

/** A body names an account by username or by email, never both: that is an invalid_request. */
export const notBoth = (input: { username?: string | undefined; email?: string | undefined }): void => {
  if (input.username !== undefined && input.email !== undefined) {
    throw new AppError('invalid_request', 'send either username or email, not both');
  }
};
