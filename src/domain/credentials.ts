// Password and display-name rules: lengths in code points, no composition rules, never trimmed or truncated.
import { AppError, invalidField } from './errors';
import type { CommonPasswords } from './ports';
import { codePointLength, normalizeUsername } from './username';

export const PASSWORD_MAX_LENGTH = 256;

/** What a new password is checked against: a minimum length (PASSWORD_MIN_LENGTH) and the blocklist. */
export type PasswordPolicy = { minLength: number; common: CommonPasswords };
export const LOGIN_PASSWORD_MAX_LENGTH = 1024;
export const NAME_MAX_LENGTH = 128;

export type WeakPasswordReason = 'too_short' | 'too_long' | 'common_password' | 'contains_username' | 'contains_name';

/** Parts of the owner's name a password must not contain: the whole name (3+), and each word of 4+ characters. */
const nameParts = (name: string): string[] => {
  const whole = normalizeUsername(name.trim());
  const words = whole.split(/[^\p{L}\p{N}]+/u).filter((word) => codePointLength(word) >= 4);
  return codePointLength(whole) >= 3 ? [whole, ...words] : words;
};

/**
 * A new password: `minLength` to 256 code points, not a common password, not containing the username or the
 * name (case-insensitive); otherwise weak_password with every reason that applies. No composition rules.
 */
export const assertAcceptablePassword = async (
  policy: PasswordPolicy,
  password: string,
  owner: { username: string; name: string },
): Promise<void> => {
  const length = codePointLength(password);
  // Compared in the usernames' form (NFKC, lower case): a full-width 'ｐａｓｓｗｏｒｄ' is as weak as 'password'.
  // Only the checks see this form; the password itself is hashed exactly as given.
  const lower = normalizeUsername(password);
  const reasons: WeakPasswordReason[] = [];
  if (length < policy.minLength) reasons.push('too_short');
  if (length > PASSWORD_MAX_LENGTH) reasons.push('too_long');
  if (await policy.common.isCommon(lower)) reasons.push('common_password');
  if (lower.includes(owner.username.toLowerCase())) reasons.push('contains_username');
  if (nameParts(owner.name).some((part) => lower.includes(part))) reasons.push('contains_name');
  if (reasons.length > 0) {
    throw new AppError('weak_password', weakPasswordMessage(policy, reasons), { details: { reasons } });
  }
};

const weakPasswordMessage = (policy: PasswordPolicy, reasons: readonly WeakPasswordReason[]) =>
  reasons.includes('too_short') || reasons.includes('too_long')
    ? `password must be ${policy.minLength} to ${PASSWORD_MAX_LENGTH} characters`
    : 'password is too easy to guess: avoid common passwords and your own names';

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
// Something must show: a letter, digit, symbol or punctuation that is drawn. The Hangul fillers (U+115F, U+1160,
// U+3164, U+FFA0) are letters to Unicode but default-ignorable, and the braille blank (U+2800) and the musical
// null notehead (U+1D159) are symbols drawn empty: a name of only these and spaces shows as nothing.
const VISIBLE = /(?![\p{Default_Ignorable_Code_Point}\u2800\u{1D159}])[\p{L}\p{N}\p{S}\p{P}]/u;

/** A display name: trimmed, 1 to 128 code points, at least one visible character, no control characters. */
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
