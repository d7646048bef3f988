// Password and display-name rules: lengths counted in code points, passwords kept as typed, names made safe to show.
import { describe, expect, it } from 'vitest';
import { createCommonPasswords } from '../../test/fakes';
import { assertAcceptablePassword, assertLoginPassword, displayName, type PasswordPolicy } from './credentials';

const fieldError = (field: string) => ({ code: 'invalid_request', details: { field } });

const policy = (overrides: Partial<PasswordPolicy> = {}): PasswordPolicy => ({
  minLength: 8,
  common: createCommonPasswords(),
  ...overrides,
});
const ALICE = { username: 'alice', name: 'Alice Smith' };

describe('assertAcceptablePassword lengths', () => {
  it.each([
    ['7 code points', 'x'.repeat(7), ['too_short']],
    ['257 code points', 'x'.repeat(257), ['too_long']],
    ['7 emoji (14 UTF-16 units)', '😀'.repeat(7), ['too_short']],
    ['empty', '', ['too_short']],
  ])('refuses a password of %s as weak_password with its reason', async (_label, password, reasons) => {
    // Act
    const attempt = assertAcceptablePassword(policy(), password, ALICE);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons } });
  });

  it.each([
    ['8 code points', 'x'.repeat(8)],
    ['256 code points', 'x'.repeat(256)],
    ['8 emoji (16 UTF-16 units)', '😀'.repeat(8)],
    ['only spaces', ' '.repeat(8)],
  ])('accepts a password of %s', async (_label, password) => {
    // Act
    const attempt = assertAcceptablePassword(policy(), password, ALICE);

    // Assess
    await expect(attempt).resolves.toBeUndefined();
  });

  it('counts 129 emoji (258 UTF-16 units) as 129, not too long', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), '😀'.repeat(129), ALICE);

    // Assess
    await expect(attempt).resolves.toBeUndefined();
  });

  it('refuses a 14-character password as too_short when the minimum is 15, and accepts 15', async () => {
    // Prepare
    const strict = policy({ minLength: 15 });

    // Act
    const fourteen = assertAcceptablePassword(strict, 'x'.repeat(14), ALICE);
    const fifteen = assertAcceptablePassword(strict, 'x'.repeat(15), ALICE);

    // Assess
    await expect(fourteen).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['too_short'] } });
    await expect(fifteen).resolves.toBeUndefined();
  });
});

describe('assertAcceptablePassword blocklist', () => {
  it('refuses a password on the list as common_password', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'qwertyuiop', ALICE);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['common_password'] } });
  });

  it('refuses a listed password in another case as common_password', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'PassWord1', ALICE);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['common_password'] } });
  });

  it('accepts a password of the right length that is not on the list, asking the list once', async () => {
    // Prepare
    const common = createCommonPasswords();

    // Act
    const attempt = assertAcceptablePassword(policy({ common }), 'qwertyuiop!', ALICE);

    // Assess
    await expect(attempt).resolves.toBeUndefined();
    expect(common.checked).toEqual(['qwertyuiop!']);
  });
});

describe('assertAcceptablePassword names', () => {
  it('refuses a password containing the username in another case as contains_username', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'MyAlice2024!!', { username: 'alice', name: 'Zoe' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['contains_username'] } });
  });

  it('refuses a password containing a whole name of 3 characters as contains_name', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'xxbobxxyy99', { username: 'robert99', name: 'Bob' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['contains_name'] } });
  });

  it('accepts a password containing a whole name of only 2 characters', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'jojojojo99', { username: 'joseph', name: 'Jo' });

    // Assess
    await expect(attempt).resolves.toBeUndefined();
  });

  it('refuses a password containing a 4+ character word of a longer name as contains_name', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), 'margaret1990zz', { username: 'adal', name: 'Ada Margaret Lee' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['contains_name'] } });
  });

  it('refuses a password containing the whole multi-word name, case-insensitively, as contains_name', async () => {
    // Act
    const attempt = assertAcceptablePassword(policy(), '1ADA MARGARET LEE!', { username: 'adal', name: 'Ada Margaret Lee' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['contains_name'] } });
  });

  it.each([
    ['Lee', 'leeway-forever!'],
    ['Ada', 'adamant-forever!'],
  ])('accepts a password containing only the 3-letter word %s of a multi-word name', async (_word, password) => {
    // Act
    const attempt = assertAcceptablePassword(policy(), password, { username: 'adal', name: 'Ada Margaret Lee' });

    // Assess
    await expect(attempt).resolves.toBeUndefined();
  });
});

describe('assertAcceptablePassword with several reasons', () => {
  it('lists too_short, common_password, contains_username and contains_name in that order', async () => {
    // Prepare
    const common = createCommonPasswords(['alice']);

    // Act
    const attempt = assertAcceptablePassword(policy({ common }), 'Alice', { username: 'alice', name: 'Alice' });

    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'weak_password',
      details: { reasons: ['too_short', 'common_password', 'contains_username', 'contains_name'] },
    });
  });

  it('lists too_long, common_password, contains_username and contains_name in that order', async () => {
    // Prepare
    const password = 'alice-smith-'.repeat(22);
    const common = createCommonPasswords([password]);

    // Act
    const attempt = assertAcceptablePassword(policy({ common }), password, ALICE);

    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'weak_password',
      details: { reasons: ['too_long', 'common_password', 'contains_username', 'contains_name'] },
    });
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

  it.each([
    ['a Hangul filler (U+3164)', '\u3164'],
    ['a halfwidth Hangul filler (U+FFA0)', '\uFFA0'],
    ['a Hangul choseong filler (U+115F)', '\u115F'],
    ['a Hangul jungseong filler (U+1160)', '\u1160'],
    ['a braille blank (U+2800)', '\u2800'],
    ['a braille blank and a Hangul choseong filler', '\u2800\u115F'],
    ['Hangul fillers between ordinary spaces', ' \u3164 \u3164 '],
    ['a braille blank, an ideographic space and a halfwidth filler', '\u2800\u3000\uFFA0'],
    ['a musical null notehead (U+1D159)', '\u{1D159}'],
    ['a filler with a variation selector', '\u3164\uFE0F'],
  ])('refuses a name that renders as nothing: %s', (_label, raw) => {
    // Act
    const act = () => displayName(raw);

    // Assess
    expect(act).toThrow(expect.objectContaining(fieldError('name')));
  });

  it.each([
    ['a Hangul syllable', '김'],
    ['a braille pattern with dots', '\u2801'],
    ['a letter next to a filler', '\u3164a'],
    ['a single emoji', '😀'],
  ])('accepts a name with something visible: %s', (_label, raw) => {
    // Act
    const name = displayName(raw);

    // Assess
    expect(name).toBe(raw);
  });

  it('keeps an emoji sequence joined by zero-width joiners', () => {
    // Act
    const name = displayName('The 👨‍👩‍👧 family');

    // Assess
    expect(name).toBe('The 👨‍👩‍👧 family');
  });
});

describe('assertAcceptablePassword with look-alike characters', () => {
  it('refuses a full-width variant of a common password or of the username', async () => {
    // Prepare
    const policy = { minLength: 8, common: { isCommon: async (p: string) => p === 'password1' } };

    // Act
    const common = assertAcceptablePassword(policy, 'ｐａｓｓｗｏｒｄ１', { username: 'zed', name: 'Zed' });
    const withName = assertAcceptablePassword(policy, 'my ＡＬＩＣＥ pass', { username: 'alice', name: 'Zed' });

    // Assess
    await expect(common).rejects.toMatchObject({ details: { reasons: ['common_password'] } });
    await expect(withName).rejects.toMatchObject({ details: { reasons: ['contains_username'] } });
  });
});
