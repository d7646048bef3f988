// Password and display-name rules: lengths counted in code points, passwords kept as typed, names made safe to show.
import { describe, expect, it } from 'vitest';
import { assertAcceptablePassword, assertLoginPassword, displayName } from './credentials';

const fieldError = (field: string) => ({ code: 'invalid_request', details: { field } });

describe('assertAcceptablePassword', () => {
  it.each([
    ['7 code points', 'a'.repeat(7), ['too_short']],
    ['257 code points', 'a'.repeat(257), ['too_long']],
    ['7 emoji (14 UTF-16 units)', '😀'.repeat(7), ['too_short']],
    ['empty', '', ['too_short']],
  ])('refuses a password of %s as weak_password with its reason', (_label, password, reasons) => {
    // Act
    const act = () => assertAcceptablePassword(password);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'weak_password', details: { reasons } }));
  });

  it.each([
    ['8 code points', 'a'.repeat(8)],
    ['256 code points', 'a'.repeat(256)],
    ['8 emoji (16 UTF-16 units)', '😀'.repeat(8)],
    ['only spaces', ' '.repeat(8)],
  ])('accepts a password of %s', (_label, password) => {
    // Act
    const act = () => assertAcceptablePassword(password);

    // Assess
    expect(act).not.toThrow();
  });

  it('counts 129 emoji (258 UTF-16 units) as 129, not too long', () => {
    // Act
    const act = () => assertAcceptablePassword('😀'.repeat(129));

    // Assess
    expect(act).not.toThrow();
  });
});

describe('assertLoginPassword', () => {
  it.each([
    ['0 code points', ''],
    ['1025 code points', 'a'.repeat(1025)],
  ])('refuses a login password of %s naming the password field', (_label, password) => {
    // Act
    const act = () => assertLoginPassword(password);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('password')));
  });

  it.each([
    ['1 code point', 'a'],
    ['1024 code points', 'a'.repeat(1024)],
    ['600 emoji (1200 UTF-16 units)', '😀'.repeat(600)],
  ])('accepts a login password of %s, shorter than the rule for new ones', (_label, password) => {
    // Act
    const act = () => assertLoginPassword(password);

    // Assess
    expect(act).not.toThrow();
  });
});

describe('displayName', () => {
  it('trims surrounding white space', () => {
    // Act
    const name = displayName('  Alice Smith \t');

    // Assess
    expect(name).toBe('Alice Smith');
  });

  it('accepts 128 astral code points', () => {
    // Prepare
    const raw = '𠀀'.repeat(128);

    // Act
    const name = displayName(raw);

    // Assess
    expect(name).toBe(raw);
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['129 code points', 'a'.repeat(129)],
    ['129 astral code points', '𠀀'.repeat(129)],
    ['a NUL', 'Ali\u0000ce'],
    ['a newline', 'Ali\nce'],
    ['a DEL', 'Ali\u007fce'],
    ['a line separator', 'Ali\u2028ce'],
    ['a right-to-left override', 'Ali\u202Ece'],
    ['a right-to-left isolate', 'Ali\u2067ce'],
  ])('refuses a name that is %s naming the name field', (_label, raw) => {
    // Act
    const act = () => displayName(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('name')));
  });
});

describe('displayName visibility', () => {
  it.each([
    ['a zero-width space alone', '\u200B'],
    ['a right-to-left mark', 'Bob\u200F'],
    ['an Arabic letter mark', '\u061CBob'],
    ['a word joiner', 'Bo\u2060b'],
  ])('refuses %s', (_label, raw) => {
    // Act
    const act = () => displayName(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'invalid_request', details: { field: 'name' } }));
  });

  it('keeps an emoji sequence joined by zero-width joiners', () => {
    // Act
    const name = displayName('The 👨‍👩‍👧 family');

    // Assess
    expect(name).toBe('The 👨‍👩‍👧 family');
  });
});
