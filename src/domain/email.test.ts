// Email address rules: each rule at its edges, and properties over generated addresses held to an oracle.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from './errors';
import { MAX_DOMAIN_LABEL_LENGTH, MAX_EMAIL_LENGTH, MAX_LOCAL_PART_LENGTH, normalizeEmail } from './email';

const emailError = { code: 'invalid_request', details: { field: 'email' } };

const refusal = (raw: string): unknown => {
  try {
    normalizeEmail(raw);
  } catch (error) {
    return error;
  }
  return undefined;
};

// The oracle, written apart from the module: Unicode's White_Space code points listed by hand, plus U+FEFF,
// which JavaScript's \s (and so String.prototype.trim) also counts.
const WHITESPACE_CODE_POINTS = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);
const chars = (text: string) => Array.from(text);
const isLetter = (char: string) => /^\p{L}$/u.test(char);
const isLabelEdge = (char: string) => isLetter(char) || (char >= '0' && char <= '9');
const ASCII_ATEXT = new Set(Array.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"));
/** A dot-atom's character: ASCII atext, or anything beyond ASCII but control, format and separator characters. */
const isAtomChar = (char: string) =>
  ASCII_ATEXT.has(char) || ((char.codePointAt(0) ?? 0) > 0x7f && !/^[\p{C}\p{Z}]$/u.test(char));

const satisfiesEveryRule = (email: string): boolean => {
  const all = chars(email);
  if (all.length === 0 || all.length > 254) return false;
  if (all.some((char) => WHITESPACE_CODE_POINTS.has(char.codePointAt(0) ?? 0))) return false;
  if (email !== email.toLowerCase()) return false;
  const at = all.filter((char) => char === '@').length;
  if (at !== 1) return false;
  const [local = '', domain = ''] = email.split('@');
  if (chars(local).length < 1 || chars(local).length > 64) return false;
  if (!local.split('.').every((atom) => atom !== '' && chars(atom).every(isAtomChar))) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  return labels.every((label) => {
    const inLabel = chars(label);
    if (inLabel.length < 1 || inLabel.length > 63) return false;
    if (!isLabelEdge(inLabel[0] ?? '') || !isLabelEdge(inLabel.at(-1) ?? '')) return false;
    return inLabel.every((char) => isLabelEdge(char) || char === '-');
  });
};

describe('normalizeEmail', () => {
  it.each([
    ['Ada@Example.COM', 'ada@example.com'],
    ['  ada@example.com\t\n', 'ada@example.com'],
    ['\u00a0ada@example.com\u3000', 'ada@example.com'],
    ['ADA.LOVELACE+notes@Mail.Example.co.uk', 'ada.lovelace+notes@mail.example.co.uk'],
    ["o'brien!#$%&*/=?^_`{|}~-@example.com", "o'brien!#$%&*/=?^_`{|}~-@example.com"],
    ['Jörg@Bücher.DE', 'jörg@bücher.de'],
    ['ДЖОН@ПРИМЕР.РФ', 'джон@пример.рф'],
    ['user@例え.テスト', 'user@例え.テスト'],
    ['a@1.2', 'a@1.2'],
    ['a@b-c.d-e', 'a@b-c.d-e'],
    ['a@b--c.de', 'a@b--c.de'],
    ['😀@example.com', '😀@example.com'],
  ])('accepts %j as %j', (raw, expected) => {
    // Act
    const email = normalizeEmail(raw);

    // Assess
    expect(email).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'only whitespace'],
    ['ada example.com', 'no @'],
    ['ada@@example.com', 'two @ together'],
    ['a@b@example.com', 'two @ apart'],
    ['"a@b"@example.com', 'an @ inside quotes'],
    ['@example.com', 'an empty local part'],
    ['ada@', 'an empty domain'],
    ['ada@localhost', 'a domain of one label'],
    ['ada@.example.com', 'an empty first label'],
    ['ada@example..com', 'an empty middle label'],
    ['ada@example.com.', 'a trailing dot (an empty last label)'],
    ['ada@-example.com', 'a label starting with a hyphen'],
    ['ada@example-.com', 'a label ending with a hyphen'],
    ['ada@example.-', 'a label that is only a hyphen'],
    ['ada@exa_mple.com', 'an underscore in the domain'],
    ['ada@exam+ple.com', 'a plus in the domain'],
    ['ada@[127.0.0.1]', 'an address literal'],
    ['ada@हिन्दी.भारत', 'combining marks in the domain (letters only)'],
    ['ada@١٢.com', 'non-ASCII digits in the domain'],
    ['ada@example.com\u0301', 'a combining mark ending the domain'],
    ['ad a@example.com', 'a space in the local part'],
    ['ada@exa mple.com', 'a space in the domain'],
    ['ada\t@example.com', 'a tab'],
    ['ada\r\nbcc@example.com', 'a line break (header injection)'],
    ['ada\u00a0@example.com', 'a no-break space'],
    ['ada\u2028@example.com', 'a line separator'],
    ['ada\u0085@example.com', 'a next-line character (White_Space, not \\s)'],
    ['\u0085ada@example.com', 'a next-line character in front (trim does not remove it)'],
    ['ada@example.com\u3000x', 'an ideographic space inside'],
    ['"quoted"@example.com', 'a quoted local part'],
    ['someone,attacker@evil.test', 'a comma (a second recipient to a mail library)'],
    ['x<y>@example.com', 'angle brackets (another address to a mail library)'],
    ['a(b@example.com', 'a parenthesis (a comment to a mail library)'],
    ['a;b@example.com', 'a semicolon'],
    ['a\\b@example.com', 'a backslash'],
    ['.ada@example.com', 'a leading dot'],
    ['ada.@example.com', 'a trailing dot before the @'],
    ['ad..a@example.com', 'two dots together'],
    ['ad\u200ba@example.com', 'a zero-width space (a format character)'],
  ])('refuses %j (%s) as invalid_request naming email', (raw) => {
    // Act
    const error = refusal(raw);

    // Assess
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject(emailError);
  });

  describe('lengths, in code points', () => {
    // 63 + 1 + 63 + 1 + 61 = 189: with a local part of 64 and the @, 254
    const domain189 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(61)}`;

    it('accepts a whole address of 254 characters and refuses one of 255', () => {
      // Prepare
      const longest = `${'l'.repeat(64)}@${domain189}`;
      const tooLong = `${'l'.repeat(64)}@${domain189}c`;

      // Act / Assess
      expect(longest).toHaveLength(MAX_EMAIL_LENGTH);
      expect(normalizeEmail(longest)).toBe(longest);
      expect(refusal(tooLong)).toMatchObject(emailError);
    });

    it('counts the whole length after trimming: surrounding spaces do not count', () => {
      // Prepare
      const longest = `${'l'.repeat(64)}@${domain189}`;

      // Act / Assess
      expect(normalizeEmail(`   ${longest}   `)).toBe(longest);
    });

    it('accepts a local part of 64 characters and refuses one of 65', () => {
      expect(normalizeEmail(`${'x'.repeat(MAX_LOCAL_PART_LENGTH)}@example.com`)).toHaveLength(64 + 12);
      expect(refusal(`${'x'.repeat(MAX_LOCAL_PART_LENGTH + 1)}@example.com`)).toMatchObject(emailError);
    });

    it('counts characters, not UTF-16 units: 64 emoji make a local part of 64', () => {
      expect(normalizeEmail(`${'😀'.repeat(64)}@example.com`)).toBe(`${'😀'.repeat(64)}@example.com`);
      expect(refusal(`${'😀'.repeat(65)}@example.com`)).toMatchObject(emailError);
    });

    it('accepts a label of 63 characters and refuses one of 64', () => {
      expect(normalizeEmail(`a@${'b'.repeat(MAX_DOMAIN_LABEL_LENGTH)}.com`)).toBe(`a@${'b'.repeat(63)}.com`);
      expect(refusal(`a@${'b'.repeat(MAX_DOMAIN_LABEL_LENGTH + 1)}.com`)).toMatchObject(emailError);
      expect(normalizeEmail(`a@${'ü'.repeat(63)}.de`)).toBe(`a@${'ü'.repeat(63)}.de`);
      expect(refusal(`a@example.${'c'.repeat(64)}`)).toMatchObject(emailError);
    });

    it('accepts labels of one character', () => {
      expect(normalizeEmail('A@B.C')).toBe('a@b.c');
    });

    it('holds the lengths to the lower-cased address: İ lower-cases to two characters', () => {
      // Prepare: 64 İ lower-case to 64 × (i + U+0307) = 128 characters
      const raw = `${'İ'.repeat(64)}@example.com`;

      // Act / Assess
      expect(chars(raw.split('@')[0] ?? '')).toHaveLength(64);
      expect(refusal(raw)).toMatchObject(emailError);
      expect(normalizeEmail(`${'İ'.repeat(32)}@example.com`)).toBe(`${'i\u0307'.repeat(32)}@example.com`);
    });

    it('refuses a very long input promptly, whatever whitespace it holds', () => {
      expect(refusal(`a${' '.repeat(100_000)}b@example.com`)).toMatchObject(emailError);
      expect(refusal(`${'a'.repeat(100_000)}@example.com`)).toMatchObject(emailError);
    });
  });

  it('lower-cases the whole address, local part included, so Ada@ and ada@ are one address', () => {
    expect(normalizeEmail('Ada@example.com')).toBe(normalizeEmail('ada@EXAMPLE.com'));
  });
});

// ---------- properties ----------

const pick = (...options: string[]) => fc.constantFrom(...options);
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
// Mostly characters the rules allow, now and then one they refuse, so both answers are common.
const mostly = (allowed: fc.Arbitrary<string>, refused: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: allowed, weight: 200 }, { arbitrary: refused, weight: 1 }, { arbitrary: anyChar, weight: 1 });
const localChar = mostly(pick(...'abcXYZ09.!#$%&\'*+/=?^_`{|}~-"', 'ü', 'Ж', 'İ', 'ß', '😀'), pick(' ', '\u00a0', '@'));
// (İ is refused in a domain: it lower-cases to i and a combining mark.)
const labelChar = mostly(
  fc.oneof({ arbitrary: pick('a', 'Z', '0', '9', 'ü', 'Ж', 'ẞ', '中'), weight: 12 }, { arbitrary: pick('-'), weight: 1 }),
  pick('_', '+', ' ', '\u0301', '@', 'İ'),
);
const padding = pick('', '', ' ', '\t', '\n ', '\u00a0', '\u3000', '\u0085', '\ufeff');

/** Address-like strings: mostly near the rules' edges, some far off, some arbitrary. */
const addressLike = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        before: padding,
        local: fc.oneof(
          { arbitrary: fc.string({ unit: localChar, minLength: 1, maxLength: 12 }), weight: 8 },
          { arbitrary: fc.string({ unit: localChar, minLength: 0, maxLength: 70 }), weight: 2 },
        ),
        labels: fc.oneof(
          { arbitrary: fc.array(fc.string({ unit: labelChar, minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 4 }), weight: 8 },
          { arbitrary: fc.array(fc.string({ unit: labelChar, minLength: 0, maxLength: 66 }), { minLength: 1, maxLength: 4 }), weight: 2 },
        ),
        extraAt: fc.integer({ min: 0, max: 20 }).map((n) => n === 0),
        after: padding,
      })
      .map(({ before, local, labels, extraAt, after }) => `${before}${local}@${extraAt ? '@' : ''}${labels.join('.')}${after}`),
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 1 },
);

const letterOrDigit = pick('a', 'q', 'Z', '0', '7', 'ü', 'Ж', 'é', '中', 'λ');
const label = fc
  .tuple(letterOrDigit, fc.string({ unit: fc.oneof(letterOrDigit, pick('-')), maxLength: 20 }), letterOrDigit, fc.boolean())
  .map(([first, middle, last, single]) => (single ? first : `${first}${middle}${last}`));
/** Addresses that satisfy every rule once lower-cased (ASCII and Unicode, any case). */
const validAddress = fc
  .record({
    local: fc.string({ unit: fc.oneof(pick(...'abcXYZ09.!#$%&\'*+/=?^_`{|}~-'), pick('ü', 'Ж', '😀')), minLength: 1, maxLength: 64 }),
    labels: fc.array(label, { minLength: 2, maxLength: 5 }),
  })
  .map(({ local, labels }) => `${local}@${labels.join('.')}`)
  .filter((address) => chars(address).length <= 254);

describe('normalizeEmail properties', () => {
  it('accepts exactly the addresses that satisfy every rule once trimmed and lower-cased, and returns that spelling', () => {
    fc.assert(
      fc.property(addressLike, (raw) => {
        // Act
        const error = refusal(raw);

        // Assess
        const expected = raw.trim().toLowerCase();
        if (error === undefined) {
          expect(normalizeEmail(raw)).toBe(expected);
          expect(satisfiesEveryRule(expected)).toBe(true);
        } else {
          expect(error).toMatchObject(emailError);
          expect(satisfiesEveryRule(expected)).toBe(false);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('is idempotent: an accepted address normalizes to itself', () => {
    fc.assert(
      fc.property(fc.oneof(addressLike, validAddress), (raw) => {
        fc.pre(refusal(raw) === undefined);
        const once = normalizeEmail(raw);

        expect(normalizeEmail(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed address, in any case, as its lower-cased spelling', () => {
    fc.assert(
      fc.property(validAddress, fc.boolean(), (address, upper) => {
        // Prepare
        const typed = upper ? address.toUpperCase() : address;
        fc.pre(chars(typed.toLowerCase()).length <= 254 && satisfiesEveryRule(typed.toLowerCase()));

        // Act
        const email = normalizeEmail(typed);

        // Assess
        expect(email).toBe(typed.toLowerCase());
        expect(satisfiesEveryRule(email)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives an ASCII address and its upper-case spelling one stored form', () => {
    const asciiLabel = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?$/);
    const asciiAddress = fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,30})?$/),
        fc.array(asciiLabel, { minLength: 2, maxLength: 4 }),
      )
      .map(([local, labels]) => `${local}@${labels.join('.')}`);
    fc.assert(
      fc.property(asciiAddress, (address) => {
        expect(normalizeEmail(address.toUpperCase())).toBe(normalizeEmail(address));
      }),
      { numRuns: 500 },
    );
  });
});
