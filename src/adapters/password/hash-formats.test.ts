// readHash: which format a stored hash is, with which parameters, and why one is refused (unknown, malformed, too costly).
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { argon2LimitProblem } from './argon2-limits';
import { readHash } from './hash-formats';

const POLICY = { memoryKiB: 19456, timeCost: 2, parallelism: 1 };
const read = (stored: string) => readHash(stored, (params) => argon2LimitProblem(params, POLICY));
const formatOf = (stored: string) => {
  const reading = read(stored);
  return reading.ok ? reading.hash.format : reading.problem;
};
const problemOf = (stored: string) => {
  const reading = read(stored);
  return reading.ok ? `accepted as ${reading.hash.format}` : reading.problem;
};

const RFC7914 = '/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA';

describe('readHash', () => {
  it('names the format of each kind it verifies', async () => {
    // Prepare
    const hashes = {
      bcrypt: bcrypt.hashSync('x', 4),
      argon2id: await argon2Hash('x', { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
      argon2i: await argon2Hash('x', { algorithm: 1, memoryCost: 4096, timeCost: 3, parallelism: 1 }),
      'scrypt-better-auth': `${'ab'.repeat(16)}:${'cd'.repeat(64)}`,
      'scrypt-phc': `$scrypt$ln=10,r=8,p=16$TmFDbA$${RFC7914}`,
      'pbkdf2-sha256-django': 'pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=',
    };

    // Act
    const formats = Object.values(hashes).map(formatOf);

    // Assess
    expect(formats).toEqual(Object.keys(hashes));
  });

  it('reads scrypt parameters in any order, with or without base64 padding', () => {
    // Act
    const reading = read(`$scrypt$p=16,ln=10,r=8$TmFDbA==$${RFC7914}==`);

    // Assess
    expect(reading.ok && reading.hash.format === 'scrypt-phc' && [reading.hash.N, reading.hash.r, reading.hash.p]).toEqual([
      1024, 8, 16,
    ]);
  });

  it("uses better-auth's hex salt text itself as the salt, not the bytes it spells", () => {
    // Act
    const reading = read(`${'0f'.repeat(16)}:${'cd'.repeat(64)}`);

    // Assess
    expect(reading.ok && 'salt' in reading.hash && reading.hash.salt.toString('utf8')).toBe('0f'.repeat(16));
  });

  it.each([
    ['plaintext password', /^unknown password hash format; known formats: bcrypt/],
    ['', /^unknown password hash format;/],
    ['$1$saltsalt$abcdefghijklmnopqrstuv', /^unknown password hash format \("1"\)/],
    ['sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8', /^unknown password hash format \("sha1"\)/],
    ['bcrypt_sha256$$2b$12$abc', /^unknown password hash format \("bcrypt_sha256"\)/],
    ['pbkdf2_sha1$260000$salt$abc=', /^unknown password hash format \("pbkdf2_sha1"\)/],
    ['$2b$10$tooShort', /^a malformed "2b" hash/],
    ['pbkdf2_sha256$390000$seasalt$!!notbase64', /^a malformed "pbkdf2_sha256" hash/],
  ])('refuses %j, saying what it is', (stored, message) => {
    // Act
    const problem = problemOf(stored);

    // Assess
    expect(problem).toMatch(message);
  });

  it('never repeats the hash in its message', () => {
    // Prepare
    const secretish = 'pbkdf2_sha256$390000$seasalt$c2VjcmV0LWhhc2g';

    // Act
    const problem = problemOf(`${secretish}!`);

    // Assess
    expect(problem).not.toContain('c2VjcmV0LWhhc2g');
  });

  it('refuses argon2d, which is no password hash', () => {
    // Act
    const problem = problemOf(`$argon2d$v=19$m=19456,t=2,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`);

    // Assess
    expect(problem).toMatch(/argon2d is not a password hash/);
  });

  it.each([
    ['bcrypt cost 15', `$2b$15$${'a'.repeat(53)}`, /bcrypt cost 15 is above 14/],
    ['argon2 of 4 GiB', `$argon2id$v=19$m=4194304,t=1,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`, /denial of service/],
    ['argon2 of 64 passes', `$argon2id$v=19$m=65536,t=64,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`, /denial of service/],
    ['argon2 of 64 lanes', `$argon2id$v=19$m=65536,t=1,p=64$${'A'.repeat(22)}$${'B'.repeat(43)}`, /denial of service/],
    ['scrypt of 1 GiB', `$scrypt$ln=20,r=8,p=1$TmFDbA$${RFC7914}`, /denial of service/],
    ['scrypt of 2^24 work', `$scrypt$ln=14,r=8,p=128$TmFDbA$${RFC7914}`, /denial of service/],
    ['scrypt with N not a power of 2', `$scrypt$ln=0,r=8,p=1$TmFDbA$${RFC7914}`, /out of range/],
    ['pbkdf2 of 10 million iterations', 'pbkdf2_sha256$10000000$salt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=', /denial of service/],
    ['pbkdf2 of 0 iterations', 'pbkdf2_sha256$0$salt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=', /at least one iteration/],
  ])('refuses %s', (_label, stored, message) => {
    // Act
    const problem = problemOf(stored);

    // Assess
    expect(problem).toMatch(message);
  });

  it('takes an argon2 hash above the limits when the policy itself is that high', () => {
    // Prepare
    const stored = `$argon2id$v=19$m=524288,t=2,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`;
    const highPolicy = { memoryKiB: 524288, timeCost: 2, parallelism: 1 };

    // Act
    const withDefault = read(stored).ok;
    const withHigh = readHash(stored, (params) => argon2LimitProblem(params, highPolicy)).ok;

    // Assess
    expect([withDefault, withHigh]).toEqual([false, true]);
  });
});
