// createArgon2Hasher: argon2id at the policy minimums, upgrades of weaker and bcrypt hashes, and no throw on junk.
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from './argon2-hasher';

const hasher = createArgon2Hasher({ memoryKiB: 19456, timeCost: 2, parallelism: 1 });
const PASSWORD = 'correct horse battery';

describe('createArgon2Hasher', () => {
  it('hashes to an argon2id PHC string with the configured parameters', async () => {
    // Act
    const stored = await hasher.hash(PASSWORD);

    // Assess
    expect(stored.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
  });

  it('verifies the right password as valid with no rehash needed', async () => {
    // Prepare
    const stored = await hasher.hash(PASSWORD);

    // Act
    const check = await hasher.verify(stored, PASSWORD);

    // Assess
    expect(check).toEqual({ valid: true, needsRehash: false });
  });

  it('refuses a wrong password', async () => {
    // Prepare
    const stored = await hasher.hash(PASSWORD);

    // Act
    const check = await hasher.verify(stored, PASSWORD + '!');

    // Assess
    expect(check.valid).toBe(false);
  });

  it('salts: two hashes of one password differ', async () => {
    // Act
    const first = await hasher.hash(PASSWORD);
    const second = await hasher.hash(PASSWORD);

    // Assess
    expect(first).not.toBe(second);
  });

  it('asks to rehash a valid argon2id hash made with weaker parameters', async () => {
    // Prepare
    const weaker = await argon2Hash(PASSWORD, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 });

    // Act
    const check = await hasher.verify(weaker, PASSWORD);

    // Assess
    expect(check).toEqual({ valid: true, needsRehash: true });
  });

  it('asks to rehash a valid argon2i hash at full cost (not the policy algorithm)', async () => {
    // Prepare
    const argon2i = await argon2Hash(PASSWORD, { algorithm: 1, memoryCost: 19456, timeCost: 2, parallelism: 1 });

    // Act
    const check = await hasher.verify(argon2i, PASSWORD);

    // Assess
    expect(check).toEqual({ valid: true, needsRehash: true });
  });

  it.each(['$2a$', '$2b$', '$2y$'])('verifies a legacy %s bcrypt hash and asks to rehash it', async (prefix) => {
    // Prepare
    const stored = prefix + bcrypt.hashSync(PASSWORD, 4).slice(4);

    // Act
    const check = await hasher.verify(stored, PASSWORD);

    // Assess
    expect(stored.startsWith(prefix)).toBe(true);
    expect(check).toEqual({ valid: true, needsRehash: true });
  });

  it('refuses a wrong password against a bcrypt hash', async () => {
    // Prepare
    const stored = bcrypt.hashSync(PASSWORD, 4);

    // Act
    const check = await hasher.verify(stored, 'wrong password');

    // Assess
    expect(check).toEqual({ valid: false, needsRehash: false });
  });

  it('logs in a 100-byte password on its bcrypt hash but does not rehash what bcrypt never saw', async () => {
    // Prepare
    const long = 'p'.repeat(100);
    const stored = bcrypt.hashSync(long, 4);

    // Act
    const check = await hasher.verify(stored, long);

    // Assess
    expect(check).toEqual({ valid: true, needsRehash: false });
  });

  it.each(['plaintext', '', '$argon2id$garbage', '$argon2id$v=19$m=19456,t=2,p=1$!!$!!', '$2b$04$short', '$1$md5'])(
    'returns invalid without throwing for the unusable stored string %j',
    async (stored) => {
      // Act
      const check = await hasher.verify(stored, 'plaintext');

      // Assess
      expect(check).toEqual({ valid: false, needsRehash: false });
    },
  );

  it('resolves verifyDummy for any password', async () => {
    // Act
    const attempt = hasher.verifyDummy('😀'.repeat(1024));

    // Assess
    await expect(attempt).resolves.toBeUndefined();
  });

  it('spends about the time of a real check in verifyDummy, so unknown users do not answer faster', async () => {
    // Prepare
    const stored = await hasher.hash(PASSWORD);
    const timed = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    // The fastest of a few real checks, so a slow first run cannot raise the bar.
    const realMs = Math.min(
      await timed(() => hasher.verify(stored, 'wrong password')),
      await timed(() => hasher.verify(stored, 'wrong password')),
      await timed(() => hasher.verify(stored, 'wrong password')),
    );

    // Act
    const dummyMs = await timed(() => hasher.verifyDummy('wrong password'));

    // Assess
    expect(dummyMs).toBeGreaterThan(realMs / 4);
  });
});
