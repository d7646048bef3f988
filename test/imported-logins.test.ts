// Users imported with each hash format log in over real HTTP with their old passwords, and are stored as argon2id after.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hashPassword as betterAuthHash } from 'better-auth/crypto';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../scripts/users-export';
import { runImport } from '../scripts/users-import';
import { startServer, type RunningServer } from '../src/server';

const collector = () => {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
};

/** Each format with a hash its own system made (its library here, or its published test vector) and the password. */
const formats = async () => [
  { username: 'bcrypt-2a', password: 'bcrypt two a', hash: (await bcrypt.hash('bcrypt two a', 8)).replace(/^\$2b\$/, '$2a$') },
  { username: 'bcrypt-2b', password: 'bcrypt two b', hash: await bcrypt.hash('bcrypt two b', 8) },
  { username: 'bcrypt-2y', password: 'bcrypt two y', hash: (await bcrypt.hash('bcrypt two y', 8)).replace(/^\$2b\$/, '$2y$') },
  {
    username: 'argon2i-user',
    password: 'argon two i',
    hash: await argon2Hash('argon two i', { algorithm: 1, memoryCost: 8192, timeCost: 4, parallelism: 2 }),
  },
  {
    username: 'argon2id-user',
    password: 'argon two id, lighter',
    hash: await argon2Hash('argon two id, lighter', { algorithm: 2, memoryCost: 7168, timeCost: 5, parallelism: 1 }),
  },
  { username: 'better-auth-user', password: 'bétter auth ﬁle', hash: await betterAuthHash('bétter auth ﬁle') },
  // passlib's scrypt of "password" (zitadel/passwap internal/testvalues/scrypt.go).
  {
    username: 'passlib-scrypt',
    password: 'password',
    hash: '$scrypt$ln=16,r=8,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ',
  },
  // Django 4.1's own test vector (tests/auth_tests/test_hashers.py, test_pbkdf2).
  {
    username: 'django-user',
    password: 'lètmein',
    hash: 'pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=',
  },
];

describe('imported users log in over HTTP and are upgraded to argon2id', () => {
  let dataDir: string;
  let users: Awaited<ReturnType<typeof formats>>;
  let server: RunningServer | undefined;
  const env = () => ({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'SILENT' });

  beforeAll(async () => {
    // Prepare: the users imported into a local server's DATA_DIR through the import command's code.
    dataDir = mkdtempSync(join(tmpdir(), 'imported-logins-'));
    users = await formats();
    const file = join(dataDir, 'users.jsonl');
    writeFileSync(
      file,
      users.map((user) => JSON.stringify({ username: user.username, name: `Name ${user.username}`, passwordHash: user.hash })).join('\n'),
    );
    const stdout = collector();
    const stderr = collector();
    const code = await runImport([file], env(), { stdout: stdout.stream, stderr: stderr.stream });
    expect({ code, stderr: stderr.text() }).toMatchObject({ code: 0 });
    expect(stdout.text()).toContain(`created ${users.length},`);
    server = await startServer(env());
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const logIn = (username: string, password: string) =>
    fetch(`${server?.url}/login`, { method: 'POST', body: JSON.stringify({ username, password }) });

  it('logs each in with the old password, stores argon2id at the policy cost, and logs it in again on that', async () => {
    // Act
    const first = [];
    for (const user of users) first.push((await logIn(user.username, user.password)).status);
    await server?.close();
    server = undefined;
    const out = join(dataDir, 'after.jsonl');
    const exported = await runExport(['--out', out], env(), { stdout: collector().stream, stderr: collector().stream });
    server = await startServer(env());
    const again = [];
    for (const user of users) {
      again.push((await logIn(user.username, user.password)).status);
      again.push((await logIn(user.username, `${user.password}!`)).status);
    }

    // Assess
    expect(first).toEqual(users.map(() => 200));
    expect(exported).toBe(0);
    const stored = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { username: string; passwordHash: string });
    expect(stored.map((user) => user.username).sort()).toEqual(users.map((user) => user.username).sort());
    for (const user of stored) expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(again).toEqual(users.flatMap(() => [200, 401]));
  });
});
