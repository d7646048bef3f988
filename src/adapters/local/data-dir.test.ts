// DATA_DIR: the pid lock (whole from its first byte, refused while held, stale ones taken over) and kept values.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keptInDataDir, lockDataDir } from './data-dir';

const folders: string[] = [];
const releases: (() => void)[] = [];

afterEach(() => {
  for (const release of releases.splice(0)) release();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'data-dir-test-'));
  folders.push(dir);
  return dir;
};

const lock = (dir: string) => {
  const release = lockDataDir(dir);
  releases.push(release);
  return release;
};

// The pid of a process that has come and gone.
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid;

describe('lockDataDir', () => {
  it('writes this process pid first in the lock, and leaves no temporary file', () => {
    // Prepare
    const dir = freshDir();

    // Act
    lock(dir);

    // Assess
    expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} [0-9a-f]+\\n$`));
    expect(statSync(join(dir, 'server.lock')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['server.lock']);
  });

  it('refuses a second lock while the first is held, naming the holder pid', () => {
    // Prepare
    const dir = freshDir();
    lock(dir);

    // Act
    const second = () => lockDataDir(dir);

    // Assess
    expect(second).toThrow(
      expect.objectContaining({
        name: 'DataDirError',
        message: expect.stringContaining(`is in use by another running server (pid ${process.pid})`),
      }),
    );
  });

  it('removes the lock on release, so the folder can be locked again', () => {
    // Prepare
    const dir = freshDir();
    const release = lockDataDir(dir);

    // Act
    release();
    const again = lock(dir);

    // Assess
    expect(again).toBeTypeOf('function');
  });

  it('refuses a lock held by another live process', () => {
    // Prepare: the parent of this test process is alive and is not this process.
    const dir = freshDir();
    writeFileSync(join(dir, 'server.lock'), `${process.ppid} 0123456789abcdef\n`);

    // Act
    const act = () => lockDataDir(dir);

    // Assess
    expect(act).toThrow(expect.objectContaining({ message: expect.stringContaining(`(pid ${process.ppid})`) }));
  });

  it.each([
    ['a dead process pid (the format before this change)', () => String(deadPid())],
    ['a dead process pid and a nonce', () => `${deadPid()} 0123456789abcdef\n`],
    ['this pid from an earlier run (pid 1 in a container on every start)', () => `${process.pid} ffffffffffffffff\n`],
    ['nothing (a crash between creating and writing it, before this change)', () => ''],
  ])('takes over a stale lock holding %s, and leaves no takeover file', (_label, text) => {
    // Prepare
    const dir = freshDir();
    writeFileSync(join(dir, 'server.lock'), text());

    // Act
    lock(dir);

    // Assess
    expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    expect(readdirSync(dir)).toEqual(['server.lock']);
  });

  it('takes over a takeover lock left by a process that died while taking over', () => {
    // Prepare: a stale lock, and the takeover file of its dead taker; the hash is of the stale lock's text.
    const dir = freshDir();
    const stale = `${deadPid()} 1111111111111111\n`;
    writeFileSync(join(dir, 'server.lock'), stale);
    const takeover = `server.lock.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
    writeFileSync(join(dir, takeover), `${deadPid()} 2222222222222222\n`);

    // Act
    lock(dir);

    // Assess
    expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    expect(readdirSync(dir)).toEqual(['server.lock']);
  });

  it('does not remove a lock on release that is no longer its own', () => {
    // Prepare
    const dir = freshDir();
    const release = lockDataDir(dir);
    writeFileSync(join(dir, 'server.lock'), `${process.ppid} another\n`);

    // Act
    release();

    // Assess
    expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toBe(`${process.ppid} another\n`);
  });

  it('names the folder when DATA_DIR cannot be a folder', () => {
    // Prepare
    const dir = freshDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');

    // Act
    const act = () => lockDataDir(join(file, 'data'));

    // Assess
    expect(act).toThrow(expect.objectContaining({ message: expect.stringContaining('cannot be used as a folder') }));
  });
});

describe('keptInDataDir', () => {
  it('makes a value once and reads it back on the next start, mode 600', async () => {
    // Prepare
    const dir = freshDir();
    let made = 0;
    const generate = () => `value ${(made += 1)}`;

    // Act
    const first = await keptInDataDir(dir, 'secret', generate);
    const second = await keptInDataDir(dir, 'secret', generate);

    // Assess
    expect(first.value).toBe('value 1');
    expect(second.value).toBe('value 1');
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
  });
});
