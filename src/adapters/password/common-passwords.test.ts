// createCommonPasswords: the real shipped blocklist, read lazily, once, and matched case-insensitively.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { commonPasswordsCandidates, createCommonPasswords } from './common-passwords';

// Spy on reads without changing them, to see when and how often the adapter touches the disk.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, readFile: vi.fn(actual.readFile) };
});

// As compose.ts would call it: src/common-passwords.txt.gz is absent, src/../data/common-passwords.txt.gz is there.
const CANDIDATES = commonPasswordsCandidates(new URL('../../compose.ts', import.meta.url));
const DATA_FILE = new URL('../../../data/common-passwords.txt.gz', import.meta.url);
const shippedEntries = () => gunzipSync(readFileSync(DATA_FILE)).toString('utf8').split('\n').filter(Boolean);
const readsOf = (file: URL) => vi.mocked(readFile).mock.calls.filter(([path]) => String(path) === String(file)).length;

beforeEach(() => {
  vi.mocked(readFile).mockClear();
});

describe('createCommonPasswords', () => {
  it.each(['123456', 'password', 'Password', 'PASSWORD', 'qwerty', 'QwErTy', ' password '])('finds %j common', async (password) => {
    // Prepare
    const passwords = createCommonPasswords(CANDIDATES);

    // Act
    const common = await passwords.isCommon(password);

    // Assess
    expect(common).toBe(true);
  });

  it('does not find a long random string', async () => {
    // Prepare
    const passwords = createCommonPasswords(CANDIDATES);

    // Act
    const common = await passwords.isCommon('vT7#qLz2!mW9xKp4&Rb8nYs1');

    // Assess
    expect(common).toBe(false);
  });

  it('ships at least 100,000 distinct lower-case entries and knows the last one as well as the first', async () => {
    // Prepare
    const entries = shippedEntries();
    const passwords = createCommonPasswords(CANDIDATES);

    // Act
    const [first, last] = await Promise.all([passwords.isCommon(entries[0] ?? ''), passwords.isCommon(entries.at(-1) ?? '')]);

    // Assess
    expect(new Set(entries).size).toBeGreaterThanOrEqual(100_000);
    expect(new Set(entries).size).toBe(entries.length);
    expect(entries.every((entry) => entry === entry.trim().toLowerCase())).toBe(true);
    expect([first, last]).toEqual([true, true]);
  });

  it('reads nothing at construction, and names the missing paths on the first check', async () => {
    // Prepare
    const missing = '/nonexistent/common-passwords.txt.gz';
    const missingUrl = new URL('file:///also/missing/common-passwords.txt.gz');

    // Act
    const passwords = createCommonPasswords([missing, missingUrl]);

    // Assess
    expect(readFile).not.toHaveBeenCalled();
    const check = passwords.isCommon('password');
    await expect(check).rejects.toThrow(Error);
    await expect(check).rejects.toThrow(missing);
    await expect(check).rejects.toThrow(fileURLToPath(missingUrl));
  });

  it('reads from the first candidate that exists', async () => {
    // Prepare
    const passwords = createCommonPasswords(['/nonexistent/common-passwords.txt.gz', DATA_FILE]);

    // Act
    const common = await passwords.isCommon('letmein');

    // Assess
    expect(common).toBe(true);
  });

  it('reads the file once for concurrent first checks and for every later check', async () => {
    // Prepare
    const passwords = createCommonPasswords(CANDIDATES);

    // Act
    const first = await Promise.all(['123456', 'dragon', 'not-in-any-list-7Qx!', 'monkey'].map((p) => passwords.isCommon(p)));
    const later = await passwords.isCommon('football');

    // Assess
    expect(first).toEqual([true, true, false, true]);
    expect(later).toBe(true);
    expect(readsOf(DATA_FILE)).toBe(1);
  });
});

describe('commonPasswordsCandidates', () => {
  it('looks beside the bundle first, then in data/ next to the source folder', () => {
    // Act
    const candidates = commonPasswordsCandidates('file:///var/task/index.mjs');

    // Assess
    expect(candidates.map(String)).toEqual([
      'file:///var/task/common-passwords.txt.gz',
      'file:///var/data/common-passwords.txt.gz',
    ]);
  });
});
