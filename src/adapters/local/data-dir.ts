// DATA_DIR for local runs: one process at a time (a pid lock), and the keys generated once and kept there.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

const LOCK_FILE = 'server.lock';

/**
 * Takes DATA_DIR for this process; a live second process is refused, a stale lock (dead pid) is taken over.
 *
 * A lock file is made whole before it has its name (written to a temporary file, then hard-linked to
 * `server.lock`, which fails if the name exists), so a process that finds one always reads the holder's pid.
 * Each lock's text is unique (pid and a nonce); a stale one is removed only by the process that first creates
 * `server.lock.takeover-<hash of that text>`, and only while `server.lock` still holds that text: two processes
 * that see the same stale lock cannot both remove it, nor remove the lock a third process made meanwhile.
 */
export const lockDataDir = (dir: string): (() => void) => {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new DataDirError(`DATA_DIR ${dir} cannot be used as a folder (${(error as NodeJS.ErrnoException).code})`);
  }
  const lockPath = join(dir, LOCK_FILE);
  const text = lockText();
  const holder = acquire(lockPath, text, 0);
  if (holder !== undefined) {
    throw new DataDirError(
      `DATA_DIR ${dir} is in use by another running server (pid ${holder}); stop it, or set DATA_DIR to another folder`,
    );
  }
  heldHere.add(text);
  return () => {
    heldHere.delete(text);
    removeIfStill(lockPath, text);
  };
};

// The texts of the locks this process holds: its own pid in a lock is a live holder only if it is one of these
// (in a container the server is often pid 1 on every start, so a lock left by the last run names our pid too).
const heldHere = new Set<string>();

// A takeover's own lock is held for a few system calls: attempts wait for it this long, this many times.
const TAKEOVER_WAIT_MS = 5;
const MAX_ATTEMPTS = 400;
// A takeover lock left by a process that died while taking over is itself taken over, up to this depth.
const MAX_TAKEOVER_DEPTH = 3;

const lockText = () => `${process.pid} ${randomBytes(8).toString('hex')}\n`;

/** Creates `path` holding `text`, or answers the live holder's pid. Stale holders are taken over. */
const acquire = (path: string, text: string, depth: number): number | undefined => {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    if (createWhole(path, text)) return undefined;
    const found = readIfThere(path);
    if (found === undefined) continue;
    const holder = liveHolder(found);
    if (holder !== undefined) return holder;
    if (depth >= MAX_TAKEOVER_DEPTH) break;
    const takeover = `${path}.takeover-${createHash('sha256').update(found).digest('hex').slice(0, 16)}`;
    const takeoverText = lockText();
    if (acquire(takeover, takeoverText, depth + 1) !== undefined) {
      // Another process is removing this stale lock right now: look again once it is done.
      sleep(TAKEOVER_WAIT_MS);
      continue;
    }
    try {
      // Nobody else may remove this text while we hold its takeover lock, and its dead holder will not.
      if (readIfThere(path) === found) rmSync(path, { force: true });
    } finally {
      removeIfStill(takeover, takeoverText);
    }
  }
  throw new DataDirError(`could not lock ${path}; if no server runs on this DATA_DIR, remove ${path}*`);
};

/** Links a complete temporary file to `path`: true if it now holds `text`, false if `path` already existed. */
const createWhole = (path: string, text: string): boolean => {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    linkSync(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new DataDirError(`cannot create ${path} (${code})`, { cause: error });
  } finally {
    rmSync(temporary, { force: true });
  }
};

const readIfThere = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** The pid of a running process that holds a lock with this text, or undefined if the lock is stale. */
const liveHolder = (text: string): number | undefined => {
  // Older versions wrote the pid alone; an empty or unreadable lock is stale.
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return heldHere.has(text) ? pid : undefined;
  return isAlive(pid) ? pid : undefined;
};

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// Only the holder removes its lock: it checks that the file is still the one it made.
const removeIfStill = (path: string, text: string) => {
  if (readIfThere(path) === text) rmSync(path, { force: true });
};

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

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
