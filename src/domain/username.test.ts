// Username rules: one normalization for reads and writes, registrable shape, and login limits.
import { describe, expect, it } from 'vitest';
import { codePointLength, loginUsername, normalizeUsername, registrableUsername } from './username';

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
