// PasswordHasher: argon2id on the libuv thread pool (off the event loop); legacy bcrypt hashes verify via a lazy import.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PasswordCheck, PasswordHasher } from '../../domain/ports';

type Argon2 = typeof import('@node-rs/argon2');

// Loaded with require, not import: Node's ESM import of a CommonJS package costs ~55 ms of CPU at cold start
// (its CommonJS export lexer), require ~4 ms. The glibc binary for this platform is tried first (what Lambda
// and most Linux hosts run), which skips the package's libc detection (a process report where /usr/bin/ldd
// is missing); anywhere else, or if that binary cannot load, the package's own loader picks one.
const loadArgon2 = (): Argon2 => {
  const nodeRequire = createRequire(import.meta.url);
  if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64')) {
    try {
      return nodeRequire(`@node-rs/argon2-linux-${process.arch}-gnu`) as Argon2;
    } catch {
      // not installed here (musl, or another platform's node_modules): the loader below reports what is wrong
    }
  }
  return nodeRequire('@node-rs/argon2') as Argon2;
};

const { hash, parseOptions, verify } = loadArgon2();

export type Argon2Params = { memoryKiB: number; timeCost: number; parallelism: number };

// @node-rs/argon2's Algorithm is a const enum, which isolated modules cannot import; 2 is Argon2id.
const ARGON2ID = 2;
const BCRYPT_PREFIXES = ['$2a$', '$2b$', '$2y$'];

const NO_MATCH: PasswordCheck = { valid: false, needsRehash: false };

export const createArgon2Hasher = (params: Argon2Params): PasswordHasher => {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKiB,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  // A well-formed hash of nothing anyone knows, at the current cost: checking it takes as long as a real check.
  const dummyHash =
    `$argon2id$v=19$m=${params.memoryKiB},t=${params.timeCost},p=${params.parallelism}` +
    `$${b64(randomBytes(16))}$${b64(randomBytes(32))}`;

  const isWeakerThanPolicy = (stored: string): boolean => {
    const parsed = parseOptions(stored);
    return (
      parsed.algorithm !== ARGON2ID ||
      parsed.memoryCost < params.memoryKiB ||
      parsed.timeCost < params.timeCost ||
      parsed.parallelism < params.parallelism
    );
  };

  return {
    hash: (password) => hash(password, options),

    async verify(stored, password) {
      if (stored.startsWith('$argon2')) {
        if (!(await verifyArgon2(stored, password))) return NO_MATCH;
        return { valid: true, needsRehash: isWeakerThanPolicy(stored) };
      }
      if (BCRYPT_PREFIXES.some((prefix) => stored.startsWith(prefix))) return verifyBcrypt(stored, password);
      return NO_MATCH;
    },

    async verifyDummy(password) {
      await verifyArgon2(dummyHash, password);
    },
  };
};

// A corrupt stored hash is a failed check, not a server error.
const verifyArgon2 = (stored: string, password: string): Promise<boolean> =>
  verify(stored, password).catch(() => false);

// bcrypt only ever saw the first 72 bytes: a longer password logs in, but its hash cannot prove the rest,
// so it is not upgraded (an argon2 hash of the full password would vouch for bytes nobody checked).
const verifyBcrypt = async (stored: string, password: string): Promise<PasswordCheck> => {
  const bcrypt = await import('bcryptjs');
  const valid = await bcrypt.compare(password, stored).catch(() => false);
  return { valid, needsRehash: valid && !bcrypt.truncates(password) };
};

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
