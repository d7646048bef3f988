// Username rules: one normalization for every read and write, so `Alice` and `alice` are one account.
import { invalidField } from './errors';

/** NFKC then lower case, as the tutorial lower-cased; applied before every lookup and write. */
export const normalizeUsername = (raw: string): string => raw.normalize('NFKC').toLowerCase();

export const codePointLength = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

// Unicode letters (with the combining marks many scripts need, at most three in a row: no "zalgo" stacks),
// decimal digits and ._-@+ ; a mark never starts a name.
const REGISTRABLE_USERNAME = /^[\p{L}\p{Nd}._\-@+](?:[\p{L}\p{Nd}._\-@+]|\p{M}(?!\p{M}{3}))*$/u;

/** The normalized username a new account may take (3-64 code points), or an invalid_request naming `username`. */
export const registrableUsername = (raw: string): string => {
  const username = normalizeUsername(raw);
  const length = codePointLength(username);
  if (length < 3 || length > 64 || !REGISTRABLE_USERNAME.test(username)) {
    throw invalidField('username', 'username must be 3 to 64 letters, digits or . _ - @ +');
  }
  return username;
};

export const MAX_LOGIN_USERNAME_LENGTH = 256;

/**
 * Login accepts any legacy name as typed: non-empty, at most 256 code points, then normalized the same way.
 * (NFKC can expand it past what a store key holds; the store then reports an unknown user.)
 */
export const loginUsername = (raw: string): string => {
  const length = codePointLength(raw);
  if (length === 0 || length > MAX_LOGIN_USERNAME_LENGTH) {
    throw invalidField('username', `username must be 1 to ${MAX_LOGIN_USERNAME_LENGTH} characters`);
  }
  return normalizeUsername(raw);
};
