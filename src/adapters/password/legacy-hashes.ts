// Checks passwords against hashes brought from other systems (bcrypt, scrypt, Django's PBKDF2); loaded on first use.
import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordCheck } from '../../domain/ports';
import { readHash, type ParsedHash } from './hash-formats';

const NO_MATCH: PasswordCheck = { valid: false, needsRehash: false };

/**
 * Verifies `password` against a stored hash that is not argon2 (the argon2 hasher checks those itself). A valid
 * password asks for a rehash: the next login stores argon2id instead. An unknown, malformed or too costly hash
 * never matches (a failed check, not a server error).
 */
export const verifyLegacy = async (stored: string, password: string): Promise<PasswordCheck> => {
  // argon2 is the argon2 hasher's own: this module never checks one, so it needs no bound for it.
  const reading = readHash(stored, () => 'argon2 is checked by the argon2 hasher');
  if (!reading.ok) return NO_MATCH;
  try {
    return await check(reading.hash, stored, password);
  } catch {
    return NO_MATCH;
  }
};

const check = async (hash: ParsedHash, stored: string, password: string): Promise<PasswordCheck> => {
  switch (hash.format) {
    case 'bcrypt':
      return verifyBcrypt(stored, password);
    case 'scrypt-better-auth':
    case 'scrypt-phc': {
      const input = hash.nfkc ? password.normalize('NFKC') : password;
      // Node refuses more than 32 MiB unless told: allow what these parameters need (readHash bounds them).
      const maxmem = 128 * hash.N * hash.r + 128 * hash.r * hash.p + 1024 * 1024;
      const derived = await new Promise<Buffer>((resolve, reject) =>
        scrypt(input, hash.salt, hash.key.length, { N: hash.N, r: hash.r, p: hash.p, maxmem }, (error, key) =>
          error === null ? resolve(key) : reject(error),
        ),
      );
      return matched(timingSafeEqual(derived, hash.key));
    }
    case 'pbkdf2-sha256-django': {
      const derived = await new Promise<Buffer>((resolve, reject) =>
        pbkdf2(password, hash.salt, hash.iterations, hash.key.length, 'sha256', (error, key) =>
          error === null ? resolve(key) : reject(error),
        ),
      );
      return matched(timingSafeEqual(derived, hash.key));
    }
    default:
      return NO_MATCH;
  }
};

const matched = (valid: boolean): PasswordCheck => ({ valid, needsRehash: valid });

// bcrypt only ever saw the first 72 bytes: a longer password logs in, but its hash cannot prove the rest,
// so it is not upgraded (an argon2 hash of the full password would vouch for bytes nobody checked).
const verifyBcrypt = async (stored: string, password: string): Promise<PasswordCheck> => {
  const bcrypt = await import('bcryptjs');
  const valid = await bcrypt.compare(password, stored).catch(() => false);
  return { valid, needsRehash: valid && !bcrypt.truncates(password) };
};
