// Username rules: one normalization for reads and writes, registrable shape, and login limits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codePointLength,
  isHighlyRestrictive,
  knownScriptNames,
  legacyUsernameKeys,
  loginUsername,
  normalizeUsername,
  registrableUsername,
} from './username';

const fieldError = (field: string) => ({ code: 'invalid_request', details: { field } });

describe('normalizeUsername', () => {
  it.each(['Alice', 'ALICE', 'alice', 'Ａｌｉｃｅ'])('normalizes %s to alice', (raw) => {
    // Act
    const normalized = normalizeUsername(raw);

    // Assess
    expect(normalized).toBe('alice');
  });

  it('composes a decomposed accent so both spellings are one account', () => {
    // Prepare
    const decomposed = 'Jose\u0301';

    // Act
    const normalized = normalizeUsername(decomposed);

    // Assess
    expect(normalized).toBe('jos\u00e9');
  });

  it.each([
    ['\u01F0ohnX', 'J\u030CohnX'],
    ['\u0390', '\u03AA\u0301'],
  ])('makes %s and %s, which render alike, one name, and normalizing it again changes nothing', (one, other) => {
    // Act
    const first = normalizeUsername(one);
    const second = normalizeUsername(other);

    // Assess
    expect(second).toBe(first);
    expect(normalizeUsername(first)).toBe(first);
  });

  it('lower-cases without full case folding: ß stays ß, so strasse and straße stay two accounts', () => {
    // Act
    const normalized = normalizeUsername('Straße');

    // Assess
    expect(normalized).toBe('straße');
  });
});

// Every code point in the given general categories, for generated names.
const codePointsOf = (category: RegExp): string[] => {
  const found: string[] = [];
  for (let code = 0; code <= 0x10ffff; code += 1) {
    const char = String.fromCodePoint(code);
    if (category.test(char)) found.push(char);
  }
  return found;
};
const CAPITALS = codePointsOf(/^[\p{Lu}\p{Lt}]$/u);
const MARKS = codePointsOf(/^\p{M}$/u);
const COMBINING_DIACRITICS = MARKS.filter((mark) => mark >= '\u0300' && mark <= '\u036F');

describe('normalizeUsername is a fixed point', () => {
  const isFixedPoint = (text: string) => normalizeUsername(normalizeUsername(text)) === normalizeUsername(text);

  it('over generated Unicode text', () => {
    // Prepare
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));

    // Act / Assess
    fc.assert(fc.property(text, isFixedPoint), { numRuns: 1000 });
  });

  it('over names built from capitals followed by combining marks', () => {
    // Prepare: marks of U+0300-036F half the time, where most compositions are.
    const mark = fc.oneof(fc.constantFrom(...COMBINING_DIACRITICS), fc.constantFrom(...MARKS));
    const letterWithMarks = fc
      .tuple(fc.constantFrom(...CAPITALS), fc.array(mark, { minLength: 1, maxLength: 3 }))
      .map(([capital, marks]) => capital + marks.join(''));
    const name = fc
      .tuple(fc.array(fc.oneof(letterWithMarks, fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 6 }))
      .map(([parts]) => parts.join(''));

    // Act / Assess
    fc.assert(fc.property(name, isFixedPoint), { numRuns: 3000 });
  });

  it('for every capital followed by every mark of U+0300-036F, which the previous normalization missed', () => {
    // Prepare
    const previous = (text: string) => text.normalize('NFKC').toLowerCase();
    const pairs = CAPITALS.flatMap((capital) => COMBINING_DIACRITICS.map((mark) => capital + mark));

    // Act
    const missedBefore = pairs.filter((pair) => previous(previous(pair)) !== previous(pair));
    const missedNow = pairs.filter((pair) => !isFixedPoint(pair));

    // Assess
    expect(missedBefore.length).toBeGreaterThan(200);
    expect(missedNow).toEqual([]);
  });
});

describe('legacyUsernameKeys', () => {
  it('gives the previous normalization for a name it did not make a fixed point', () => {
    // Act
    const keys = legacyUsernameKeys('J\u030CohnX');

    // Assess
    expect(keys).toEqual(['j\u030Cohnx']);
  });

  it('gives the tutorial key of a decomposed name, which the tutorial stored without normalizing', () => {
    // Act
    const keys = legacyUsernameKeys('Jose\u0301');

    // Assess
    expect(keys).toEqual(['jose\u0301']);
  });

  it('gives the trimmed tutorial key of a name typed with spaces around it', () => {
    // Act
    const keys = legacyUsernameKeys(' Alice ');

    // Assess
    expect(keys).toEqual(['alice']);
  });

  it('gives the previous normalization before the tutorial key when all three differ', () => {
    // Prepare: full-width (NFKC changes it) and a capital that lower-cases into a composable pair.
    const typed = '\uFF2A\u030C ';

    // Act
    const keys = legacyUsernameKeys(typed);

    // Assess
    expect(normalizeUsername(typed)).toBe('\u01F0 ');
    expect(keys).toEqual(['j\u030C ', '\uFF4A\u030C']);
  });

  it.each([
    ['a name already normalized', 'alice'],
    ['a capitalized ASCII name', 'Alice'],
    ['a precomposed accent', 'José'],
  ])('gives nothing for %s, whose keys are all the current one', (_label, typed) => {
    // Act
    const keys = legacyUsernameKeys(typed);

    // Assess
    expect(keys).toEqual([]);
  });

  it('leaves out keys a store cannot hold: empty, or over 2048 bytes of UTF-8', () => {
    // Prepare: spaces trim to an empty tutorial key; 683 decomposed letters are 2049 bytes as the tutorial kept them.
    const spaces = '   ';
    const long = 'E\u0301'.repeat(683);

    // Act
    const spaceKeys = legacyUsernameKeys(spaces);
    const longKeys = legacyUsernameKeys(long);

    // Assess
    expect(spaceKeys).toEqual([]);
    expect(longKeys).toEqual([]);
  });

  it('keeps a tutorial key of exactly 2048 bytes', () => {
    // Prepare: 'e' + U+0301 is 3 bytes; 682 of them plus 2 ASCII letters are 2048.
    const typed = 'E\u0301'.repeat(682) + 'ab';

    // Act
    const keys = legacyUsernameKeys(typed);

    // Assess
    expect(keys).toEqual(['e\u0301'.repeat(682) + 'ab']);
  });
});

describe('codePointLength', () => {
  it('counts an astral character once, not as two UTF-16 units', () => {
    // Prepare
    const text = '😀😀😀';

    // Act
    const length = codePointLength(text);

    // Assess
    expect(text.length).toBe(6);
    expect(length).toBe(3);
  });
});

describe('registrableUsername', () => {
  it('returns the normalized username', () => {
    // Act
    const username = registrableUsername('Ａｌｉｃｅ.Smith+1@x_y-z');

    // Assess
    expect(username).toBe('alice.smith+1@x_y-z');
  });

  it.each([
    ['2 code points', 'ab'],
    ['65 code points', 'a'.repeat(65)],
    ['65 astral letters', '𠀀'.repeat(65)],
    ['an empty string', ''],
  ])('rejects a username of %s naming the username field', (_label, raw) => {
    // Act
    const act = () => registrableUsername(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('username')));
  });

  it.each([
    ['3 ASCII letters', 'abc', 'abc'],
    ['64 ASCII letters', 'A'.repeat(64), 'a'.repeat(64)],
    ['64 astral letters (128 UTF-16 units)', '𠀀'.repeat(64), '𠀀'.repeat(64)],
    ['64 accented letters', 'É'.repeat(64), 'é'.repeat(64)],
    ['64 decomposed accented letters (128 code points before NFKC)', 'e\u0301'.repeat(64), 'é'.repeat(64)],
  ])('accepts %s', (_label, raw, expected) => {
    // Act
    const username = registrableUsername(raw);

    // Assess
    expect(username).toBe(expected);
  });

  it.each([
    ['a space', 'alice smith'],
    ['a slash', 'alice/smith'],
    ['an emoji', 'alice😀'],
    ['a colon', 'alice:smith'],
    ['a control character', 'alice\u0000'],
  ])('rejects a username containing %s naming the username field', (_label, raw) => {
    // Act
    const act = () => registrableUsername(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('username')));
  });
});

describe('loginUsername', () => {
  it('normalizes like registration, so ALICE finds alice', () => {
    // Act
    const username = loginUsername('ALICE');

    // Assess
    expect(username).toBe('alice');
  });

  it('accepts a legacy name registration would refuse (a space, 256 code points)', () => {
    // Prepare
    const legacy = 'Old Name ' + 'x'.repeat(247);

    // Act
    const username = loginUsername(legacy);

    // Assess
    expect(codePointLength(username)).toBe(256);
  });

  it.each([
    ['empty', ''],
    ['257 code points', 'a'.repeat(257)],
    ['257 astral code points', '𠀀'.repeat(257)],
  ])('rejects a username that is %s naming the username field', (_label, raw) => {
    // Act
    const act = () => loginUsername(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('username')));
  });
});

describe('registrableUsername with combining marks', () => {
  it.each([
    ['İstanbul', 'i\u0307stanbul'],
    ['नमस्ते', 'नमस्ते'],
    ['Zoë', 'zoë'],
  ])('accepts %s, whose normalized form carries combining marks', (raw, expected) => {
    // Act
    const username = registrableUsername(raw);

    // Assess
    expect(username).toBe(expected);
  });

  it.each([
    ['a mark at the start', '\u0301abc'],
    ['four stacked marks', 'ab\u0301\u0302\u0303\u0304c'],
  ])('refuses %s', (_label, raw) => {
    // Act
    const act = () => registrableUsername(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});

describe('registrableUsername and mixed scripts (UTS #39 highly restrictive)', () => {
  it.each([
    ['Latin with one Cyrillic а', 'p\u0430ypal'],
    ['Latin with Greek', 'alph\u03B1beta'],
    ['Cyrillic with one Latin letter', 'наташa'],
    ['Hangul with Hiragana', 'ひらがな김'],
    ['Latin with Arabic-Indic digits', 'user\u0661\u0662'],
  ])('refuses %s naming the username field', (_label, raw) => {
    // Act
    const act = () => registrableUsername(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('username')));
  });

  it.each([
    ['all Cyrillic', 'наташа'],
    ['Latin with an accent', 'josé'],
    ['Devanagari with its marks', 'नमस्ते'],
    ['Latin with a combining dot (İ)', 'İstanbul'],
    ['Han with Latin', '山田taro'],
    ['Hiragana, Katakana and Han', 'ひらがなカタカナ漢字'],
    ['Hangul with Latin', '김철수abc'],
    ['Han, Bopomofo and Latin', '王小明ㄅㄆ'],
    ['Latin with digits and . _ - @ +', 'user_1@example'],
    ['Greek alone', 'αλέξης'],
  ])('accepts %s', (_label, raw) => {
    // Act
    const username = registrableUsername(raw);

    // Assess
    expect(username).toBe(normalizeUsername(raw));
  });

  it('lets a mixed-script name log in: only registration is restricted', () => {
    // Act
    const username = loginUsername('p\u0430ypal');

    // Assess
    expect(username).toBe('p\u0430ypal');
  });

  it('knows a script for every letter, mark and digit this engine knows', () => {
    // Prepare
    const anyScript = new RegExp(
      `[${knownScriptNames()
        .map((name) => `\\p{Script_Extensions=${name}}`)
        .join('')}\\p{Script_Extensions=Common}\\p{Script_Extensions=Inherited}]`,
      'u',
    );

    // Act
    const unknown = codePointsOf(/^[\p{L}\p{M}\p{Nd}]$/u).filter((char) => !anyScript.test(char));

    // Assess
    expect(unknown).toEqual([]);
  });

  it('counts digits and punctuation with any script', () => {
    // Act
    const allowed = isHighlyRestrictive('123._-@+');

    // Assess
    expect(allowed).toBe(true);
  });
});
