// PasswordHasher: argon2id on the libuv thread pool (off the event loop); other systems' hashes verify via a lazy import.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PasswordCheck, PasswordHasher } from '../../domain/ports';
import { argon2WithinLimits } from './argon2-limits';

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

  // A hash of any parameters is checked, short of ones so costly that the check is a denial of service.
  const isAffordable = (stored: string): boolean => {
    try {
      const { memoryCost, timeCost, parallelism } = parseOptions(stored);
      return argon2WithinLimits({ memoryKiB: memoryCost, timeCost, parallelism }, params);
    } catch {
      return false;
    }
  };

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
        if (!isAffordable(stored) || !(await verifyArgon2(stored, password))) return NO_MATCH;
        return { valid: true, needsRehash: isWeakerThanPolicy(stored) };
      }
      // bcrypt, scrypt, PBKDF2: users brought from other systems, upgraded at their next login. Loaded on first
      // use, so the login of everyone else does not carry them.
      const { verifyLegacy } = await import('./legacy-hashes');
      return verifyLegacy(stored, password);
    },

    async verifyDummy(password) {
      await verifyArgon2(dummyHash, password);
    },
  };
};

// A corrupt stored hash is a failed check, not a server error.
const verifyArgon2 = (stored: string, password: string): Promise<boolean> =>
  verify(stored, password).catch(() => false);

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
