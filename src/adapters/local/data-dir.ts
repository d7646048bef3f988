// DATA_DIR for local runs: one process at a time (a pid lock), and the locally generated JWT secret.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

const LOCK_FILE = 'server.lock';
const SECRET_FILE = 'jwt-secret';

/** Takes DATA_DIR for this process; a live second process is refused, a stale lock (dead pid) is taken over. */
export const lockDataDir = (dir: string): (() => void) => {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new DataDirError(`DATA_DIR ${dir} cannot be used as a folder (${(error as NodeJS.ErrnoException).code})`);
  }
  const lockPath = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new DataDirError(
          `DATA_DIR ${dir} is in use by another running server (pid ${owner}); stop it, or set DATA_DIR to another folder`,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirError(`could not lock DATA_DIR ${dir}`);
};

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// 64 random bytes: twice the minimum a configured HS256 secret must have.
const GENERATED_SECRET_BYTES = 64;

/** The local signing secret: read from DATA_DIR, or generated once and kept there (mode 600). */
export const localJwtSecret = (dir: string | undefined): Uint8Array => {
  if (dir === undefined) return randomBytes(GENERATED_SECRET_BYTES);
  const path = join(dir, SECRET_FILE);
  try {
    const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
    if (secret.length >= GENERATED_SECRET_BYTES) return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(GENERATED_SECRET_BYTES);
  writeFileSync(path, secret.toString('base64url'), { mode: 0o600 });
  return secret;
};
