// RecoveryCodes on node:crypto: 10 codes of 80 random bits in grouped base32, and their SHA-256 digests.
import { createHash, randomBytes } from 'node:crypto';
import type { RecoveryCodes } from '../../domain/mfa-ports';
import { base32Encode } from './totp';

export const RECOVERY_CODE_COUNT = 10;
// 80 bits is exactly 16 base32 characters, and unguessable enough that an unkeyed digest gives nothing away.
const CODE_BYTES = 10;
// Spaces and dash-like characters a person or a word processor puts between groups (hyphen, U+2010..U+2015, minus).
const SEPARATORS = /[\s\-\u2010-\u2015\u2212]/g;
// Far longer than any code with separators: refuse big inputs before doing any work on them.
const MAX_TYPED_LENGTH = 64;

const group = (chars: string): string => chars.match(/.{4}/g)!.join('-');

const normalize = (typed: string): string | null => {
  if (typeof typed !== 'string' || typed.length > MAX_TYPED_LENGTH) return null;
  const chars = typed.replace(SEPARATORS, '');
  // Checked while still ASCII: upper-casing first would let `ı` (dotless i) pass as `I`.
  if (!/^[A-Za-z2-7]{16}$/.test(chars)) return null;
  return group(chars.toUpperCase());
};

export const createRecoveryCodes = (): RecoveryCodes => ({
  newCodes: () => {
    const codes = new Set<string>();
    // A repeat among 10 draws of 80 bits is next to impossible; the loop only makes "distinct" a promise.
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(group(base32Encode(randomBytes(CODE_BYTES))));
    return [...codes];
  },

  digest: (code) => {
    const canonical = normalize(code);
    if (canonical === null) throw new TypeError('not a recovery code');
    return createHash('sha256').update(canonical).digest('base64url');
  },

  normalize,
});
