// Other systems' hashes through the login's hasher: each made by that system's own library, or its published vector.
import { pbkdf2Sync } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hashPassword as betterAuthHash } from 'better-auth/crypto';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from './argon2-hasher';
import { HASH_LIMITS } from './hash-formats';

const hasher = createArgon2Hasher({ memoryKiB: 19456, timeCost: 2, parallelism: 1 });
const UPGRADE = { valid: true, needsRehash: true };
const NO_MATCH = { valid: false, needsRehash: false };

describe('better-auth scrypt (salt:key in hex), made by better-auth/crypto hashPassword', () => {
  it('verifies the password and asks for an upgrade to argon2id', async () => {
    // Prepare
    const stored = await betterAuthHash('better auth password');

    // Act
    const check = await hasher.verify(stored, 'better auth password');

    // Assess
    expect(stored).toMatch(/^[0-9a-f]{32}:[0-9a-f]{128}$/);
    expect(check).toEqual(UPGRADE);
  });

  it('refuses a wrong password', async () => {
    // Prepare
    const stored = await betterAuthHash('better auth password');

    // Act
    const check = await hasher.verify(stored, 'better auth passwort');

    // Assess
    expect(check).toEqual(NO_MATCH);
  });

  it('normalizes the password with NFKC as better-auth does: the ligature ﬁ and fi are one password', async () => {
    // Prepare
    const stored = await betterAuthHash('ﬁne café');

    // Act
    const typedWithLigature = await hasher.verify(stored, 'ﬁne café');
    const typedPlain = await hasher.verify(stored, 'fine cafe\u0301');

    // Assess
    expect(typedWithLigature).toEqual(UPGRADE);
    expect(typedPlain).toEqual(UPGRADE);
  });
});

describe('argon2 of any parameters, made by @node-rs/argon2', () => {
  it('verifies argon2i with m=4096,t=3,p=2 and asks for an upgrade (not argon2id, and weaker)', async () => {
    // Prepare
    const stored = await argon2Hash('argon2i password', { algorithm: 1, memoryCost: 4096, timeCost: 3, parallelism: 2 });

    // Act
    const check = await hasher.verify(stored, 'argon2i password');

    // Assess
    expect(stored.startsWith('$argon2i$v=19$m=4096,t=3,p=2$')).toBe(true);
    expect(check).toEqual(UPGRADE);
  });

  it('verifies argon2id with m=65536,t=1,p=4 (more memory, one pass fewer: upgraded to the policy)', async () => {
    // Prepare
    const stored = await argon2Hash('argon2id password', { algorithm: 2, memoryCost: 65536, timeCost: 1, parallelism: 4 });

    // Act
    const check = await hasher.verify(stored, 'argon2id password');

    // Assess
    expect(check).toEqual(UPGRADE);
  });

  it('never checks an argon2 hash past the limits, and it does not match (a denial of service otherwise)', async () => {
    // Prepare: the parameters of a real hash rewritten to 4 GiB of memory; checking it would take seconds.
    const real = await argon2Hash('costly', { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const costly = real.replace('m=19456,t=2,p=1', 'm=4194304,t=2,p=1');

    // Act
    const check = await hasher.verify(costly, 'costly');

    // Assess
    expect(check).toEqual(NO_MATCH);
  });

  it('always checks hashes of its own policy, even one above the limits', async () => {
    // Prepare
    const big = createArgon2Hasher({ memoryKiB: 263168, timeCost: 1, parallelism: 1 });
    const stored = await argon2Hash('own policy', { algorithm: 2, memoryCost: 263168, timeCost: 1, parallelism: 1 });

    // Act
    const check = await big.verify(stored, 'own policy');

    // Assess
    expect(check).toEqual({ valid: true, needsRehash: false });
  });
});

describe('bcrypt, made by bcryptjs', () => {
  it.each(['$2a$', '$2b$', '$2y$'])('verifies a %s hash at cost 6 and asks for an upgrade', async (prefix) => {
    // Prepare
    const stored = prefix + bcrypt.hashSync('bcrypt password', 6).slice(4);

    // Act
    const check = await hasher.verify(stored, 'bcrypt password');

    // Assess
    expect(check).toEqual(UPGRADE);
  });
});

describe('scrypt PHC strings ($scrypt$ln=..,r=..,p=..$salt$hash)', () => {
  it('verifies the hash passlib made of "password" (zitadel/passwap internal/testvalues/scrypt.go)', async () => {
    // Prepare: passlib.hash.scrypt.hash("password", salt=b"randomsaltishard"): ln=16 (N=65536), r=8, p=1.
    const stored = '$scrypt$ln=16,r=8,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ';

    // Act
    const right = await hasher.verify(stored, 'password');
    const wrong = await hasher.verify(stored, 'passwore');

    // Assess
    expect(right).toEqual(UPGRADE);
    expect(wrong).toEqual(NO_MATCH);
  });

  it('verifies RFC 7914 section 12 vector 2 (password, NaCl, N=1024, r=8, p=16, 64 bytes) in PHC form', async () => {
    // Prepare
    const stored =
      '$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA';

    // Act
    const check = await hasher.verify(stored, 'password');

    // Assess
    expect(check).toEqual(UPGRADE);
  });

  it('does not match a PHC string whose parameters are past the limits', async () => {
    // Prepare: the RFC vector with N raised to 2^20 and p kept at 16: 2^27 of work.
    const stored =
      '$scrypt$ln=20,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA';

    // Act
    const check = await hasher.verify(stored, 'password');

    // Assess
    expect(check).toEqual(NO_MATCH);
  });
});

describe("Django's pbkdf2_sha256$iterations$salt$hash", () => {
  it.each([
    // Django 4.1 tests/auth_tests/test_hashers.py test_pbkdf2
    ['pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c='],
    // Django 5.1's test_pbkdf2 (the iteration count of that release)
    ['pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac='],
  ])('verifies Django\'s own test vector %s for "lètmein" and refuses "lètmeinz"', async (stored) => {
    // Act
    const right = await hasher.verify(stored, 'lètmein');
    const wrong = await hasher.verify(stored, 'lètmeinz');

    // Assess
    expect(right).toEqual(UPGRADE);
    expect(wrong).toEqual(NO_MATCH);
  });

  it('does not match a hash of more iterations than the limit, though it is the right password', async () => {
    // Prepare: a real PBKDF2-SHA256 of the password, one iteration past the limit.
    const iterations = HASH_LIMITS.pbkdf2Iterations + 1;
    const key = pbkdf2Sync('over the limit', 'salt', iterations, 32, 'sha256').toString('base64');

    // Act
    const check = await hasher.verify(`pbkdf2_sha256$${iterations}$salt$${key}`, 'over the limit');

    // Assess
    expect(check).toEqual(NO_MATCH);
  });
});
