// DATA_DIR for local runs: one process at a time (a pid lock), and the keys generated once and kept there.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

const LOCK_FILE = 'server.lock';

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

// 64 random bytes (86 characters of base64url): twice the minimum a configured secret must have.
const GENERATED_SECRET_BYTES = 64;

/**
 * A value kept in DATA_DIR/`file` (mode 600): read when there, else made by `generate` and kept.
 * With no DATA_DIR (`:memory:`) it is made anew and lasts one run.
 */
export const keptInDataDir = async (
  dir: string | undefined,
  file: string,
  generate: () => Promise<string> | string,
): Promise<{ value: string; path: string | undefined }> => {
  if (dir === undefined) return { value: await generate(), path: undefined };
  const path = join(dir, file);
  try {
    const kept = readFileSync(path, 'utf8').trim();
    if (kept !== '') return { value: kept, path };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = await generate();
  writeFileSync(path, value, { mode: 0o600 });
  return { value, path };
};

/** A random secret as text: 64 bytes, base64url. */
export const randomSecretText = () => randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
