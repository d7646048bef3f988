// createRecoveryCodes: sets of 10 distinct grouped codes, forgiving normalization of typed codes, stable digests.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecoveryCodes, RECOVERY_CODE_COUNT } from './recovery-codes';
import { base32Decode } from './totp';

const GROUPED = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/;
const CODE = 'ABCD-EFGH-2345-67QZ';
const base32Char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
const anyCode = fc
  .array(base32Char, { minLength: 16, maxLength: 16 })
  .map((chars) => chars.join('').match(/.{4}/g)!.join('-'));

describe('createRecoveryCodes newCodes', () => {
  it('makes 10 distinct codes of 80 bits, grouped XXXX-XXXX-XXXX-XXXX', () => {
    // Prepare
    const recovery = createRecoveryCodes();

    // Act
    const codes = recovery.newCodes();

    // Assess
    expect(RECOVERY_CODE_COUNT).toBe(10);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(GROUPED);
      expect(base32Decode(code.replaceAll('-', ''))).toHaveLength(10);
      expect(recovery.normalize(code)).toBe(code);
    }
  });

  it('makes a different set every time', () => {
    const recovery = createRecoveryCodes();
    const all = Array.from({ length: 20 }, () => recovery.newCodes()).flat();
    expect(new Set(all).size).toBe(200);
  });
});

describe('createRecoveryCodes normalize', () => {
  it('accepts lower and mixed case, spaces, hyphens and dashes anywhere', () => {
    const recovery = createRecoveryCodes();
    const typed = [
      CODE,
      'abcd-efgh-2345-67qz',
      'AbCd-eFgH-2345-67Qz',
      'ABCDEFGH234567QZ',
      'abcd efgh 2345 67qz',
      '  abcd efgh 2345 67qz  ',
      'abcd--efgh - 2345\t67qz\n',
      'a-b-c-d-e-f-g-h-2-3-4-5-6-7-q-z',
      'ABCD\u2013EFGH\u20142345\u221267QZ',
      'ABCD\u00a0EFGH\u20092345 67QZ',
    ];
    for (const text of typed) {
      expect(recovery.normalize(text)).toBe(CODE);
    }
  });

  it('refuses anything that is not 16 base32 characters once separators are gone, without throwing', () => {
    const recovery = createRecoveryCodes();
    const refused: unknown[] = [
      '',
      '----',
      'ABCD-EFGH-2345-67Q',
      'ABCD-EFGH-2345-67QZA',
      'ABCD-EFGH-2345-67Q0', // 0, 1, 8 and 9 are not base32
      'ABCD-EFGH-2345-67Q1',
      'ABCD-EFGH-2345-67Q8',
      'ABCD-EFGH-2345-67Q=',
      'ABCD_EFGH_2345_67QZ',
      'ABCD.EFGH.2345.67QZ',
      'ABCD-EFGH-2345-67ΟZ', // a Greek capital omicron
      'ABCD-EFGH-2345-67QZ\u200b', // a zero-width space is not a separator
      'ıBCD-EFGH-2345-67QZ', // dotless i, which upper-cases to I
      'ＡBCD-EFGH-2345-67QZ',
      `${CODE}${' '.repeat(60)}`,
      null,
      undefined,
      1234567890123456,
      [CODE],
    ];
    for (const text of refused) {
      expect(recovery.normalize(text as string)).toBeNull();
    }
  });

  it('gives the canonical form or null for any text, and is idempotent', () => {
    const recovery = createRecoveryCodes();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), anyCode), (text) => {
        const canonical = recovery.normalize(text);
        if (canonical !== null) {
          expect(canonical).toMatch(GROUPED);
          expect(recovery.normalize(canonical)).toBe(canonical);
        }
      }),
    );
  });

  it('maps any spelling of a code back to it', () => {
    const recovery = createRecoveryCodes();
    fc.assert(
      fc.property(
        anyCode,
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.array(fc.constantFrom('', ' ', '-', ' - ', '  '), { minLength: 17, maxLength: 17 }),
        (code, lower, separators) => {
          const chars = [...code.replaceAll('-', '')].map((c, i) => (lower[i] ? c.toLowerCase() : c));
          const typed = separators[0] + chars.map((c, i) => c + separators[i + 1]).join('');
          expect(recovery.normalize(typed)).toBe(code);
        },
      ),
    );
  });
});

describe('createRecoveryCodes digest', () => {
  it('is SHA-256 in base64url of the canonical form, the same for every spelling', () => {
    // Prepare
    const recovery = createRecoveryCodes();
    const expected = createHash('sha256').update(CODE).digest('base64url');

    // Act and Assess
    expect(recovery.digest(CODE)).toBe(expected);
    expect(recovery.digest('abcd efgh 2345 67qz')).toBe(expected);
    expect(recovery.digest('ABCDEFGH234567QZ')).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is stable across instances and distinct between codes', () => {
    const codes = createRecoveryCodes().newCodes();
    const first = codes.map((code) => createRecoveryCodes().digest(code));
    const again = codes.map((code) => createRecoveryCodes().digest(code));
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(10);
    for (const [i, digest] of first.entries()) expect(digest).not.toContain(codes[i]!.replaceAll('-', ''));
  });

  it('throws for text that is not a code, without echoing it', () => {
    const recovery = createRecoveryCodes();
    expect(() => recovery.digest('ABCD-EFGH-2345-67Q0')).toThrow(TypeError);
    expect(() => recovery.digest('ABCD-EFGH-2345-67Q0')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('ABCD') }),
    );
    expect(() => recovery.digest('')).toThrow(TypeError);
  });
});
