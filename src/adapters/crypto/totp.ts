// Totp on node:crypto: RFC 4226 HOTP and RFC 6238 TOTP by hand (HMAC-SHA-1, 6 digits, 30 s), base32, otpauth URIs.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Totp } from '../../domain/mfa-ports';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DIGITS = 6;
const PERIOD_SECONDS = 30;
/** Steps accepted either side of the current one: enough for a phone clock a little off, and no more. */
const DRIFT_STEPS = 1;
const SECRET_BYTES = 20;
const SIX_DIGITS = /^[0-9]{6}$/;

/** Unpadded RFC 4648 base32 (what authenticator apps read). */
export const base32Encode = (bytes: Uint8Array): string => {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
};

/**
 * The bytes of unpadded upper-case RFC 4648 base32. Strict: a length no encoding has, a character outside the
 * alphabet or non-zero spare bits throw, so one byte string has exactly one text.
 */
export const base32Decode = (text: string): Uint8Array => {
  if (!/^[A-Z2-7]*$/.test(text) || [1, 3, 6].includes(text.length % 8)) {
    throw new TypeError('not unpadded upper-case base32');
  }
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (const char of text) {
    buffer = (buffer << 5) | ALPHABET.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (buffer >>> bits) & 255;
    }
    buffer &= (1 << bits) - 1;
  }
  if (buffer !== 0) throw new TypeError('not canonical base32 (spare bits set)');
  return out;
};

/** RFC 4226 HOTP: HMAC-SHA-1 of the 8-byte big-endian counter, dynamic truncation, the low 6 decimal digits. */
export const hotp = (key: Uint8Array, counter: number): string => {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('counter must be a whole number >= 0');
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[19]! & 0x0f;
  const binary =
    ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** DIGITS).padStart(DIGITS, '0');
};

/** RFC 6238's T: whole 30 s periods since the Unix epoch (T0 = 0). */
export const timeStep = (at: Date): number => {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new TypeError('invalid date');
  return Math.floor(ms / 1000 / PERIOD_SECONDS);
};

const label = (value: string, field: string): string => {
  if (value.length === 0) throw new TypeError(`${field} must not be empty`);
  try {
    return encodeURIComponent(value);
  } catch {
    throw new TypeError(`${field} is not well-formed Unicode`); // a lone surrogate
  }
};

export const createTotp = (): Totp => ({
  newSecret: () => base32Encode(randomBytes(SECRET_BYTES)),

  otpauthUri: ({ issuer, account, secret }) => {
    // Parsers split the label at the first colon, literal or %3A: an account's colon comes after the literal
    // separator and is safe once encoded; an issuer's would come first and move the split.
    if (issuer.includes(':')) throw new TypeError('issuer must not contain a colon');
    base32Decode(secret);
    const encodedIssuer = label(issuer, 'issuer');
    return (
      `otpauth://totp/${encodedIssuer}:${label(account, 'account')}` +
      `?secret=${secret}&issuer=${encodedIssuer}&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD_SECONDS}`
    );
  },

  check: (secret, code, at) => {
    if (typeof code !== 'string' || !SIX_DIGITS.test(code)) return null;
    const key = base32Decode(secret);
    const now = timeStep(at);
    const typed = Buffer.from(code);
    let matched: number | null = null;
    // Every candidate is computed and compared in constant time, so timing tells nothing of which step (if any)
    // matched. The latest match wins: recording an earlier one would let the code be replayed at the later step.
    for (let step = now - DRIFT_STEPS; step <= now + DRIFT_STEPS; step++) {
      if (step < 0) continue;
      if (timingSafeEqual(Buffer.from(hotp(key, step)), typed)) matched = step;
    }
    return matched;
  },
});
