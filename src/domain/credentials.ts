// Password and display-name rules: lengths in code points, no composition rules, never trimmed or truncated.
import { AppError, invalidField } from './errors';
import { codePointLength } from './username';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;
export const LOGIN_PASSWORD_MAX_LENGTH = 1024;
export const NAME_MAX_LENGTH = 128;

export type WeakPasswordReason = 'too_short' | 'too_long';

/** A new password must be 8 to 256 code points; otherwise weak_password with its reasons. */
export const assertAcceptablePassword = (password: string): void => {
  const length = codePointLength(password);
  const reasons: WeakPasswordReason[] = [];
  if (length < PASSWORD_MIN_LENGTH) reasons.push('too_short');
  if (length > PASSWORD_MAX_LENGTH) reasons.push('too_long');
  if (reasons.length > 0) {
    throw new AppError(
      'weak_password',
      `password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      { details: { reasons } },
    );
  }
};

/** Login takes 1 to 1024 code points, so tutorial users with short passwords can still sign in. */
export const assertLoginPassword = (password: string): void => {
  const length = codePointLength(password);
  if (length === 0 || length > LOGIN_PASSWORD_MAX_LENGTH) {
    throw invalidField('password', `password must be 1 to ${LOGIN_PASSWORD_MAX_LENGTH} characters`);
  }
};

// Control and format characters (bidi overrides and marks, zero-width spaces), line and paragraph separators
// would corrupt or spoof how a name displays; the zero-width joiner stays, emoji sequences need it.
const FORBIDDEN_IN_NAME = /[\p{Cc}\p{Zl}\p{Zp}]|(?!\u200D)\p{Cf}/u;
// Something must show: a letter, digit, symbol or punctuation.
const VISIBLE = /[\p{L}\p{N}\p{S}\p{P}]/u;

/** A display name: trimmed, 1 to 128 code points, no control characters. */
export const displayName = (raw: string): string => {
  const name = raw.trim();
  const length = codePointLength(name);
  if (length === 0 || length > NAME_MAX_LENGTH) {
    throw invalidField('name', `name must be 1 to ${NAME_MAX_LENGTH} characters`);
  }
  if (FORBIDDEN_IN_NAME.test(name) || !VISIBLE.test(name)) {
    throw invalidField('name', 'name must be visible text without control characters');
  }
  return name;
};
