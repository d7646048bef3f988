// The user import's rate: N generated users through the users:import command's own code, into fresh tables of a store.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { createDynamoClient } from '../src/adapters/dynamodb/client';
import { ensureSessionsTable, ensureUsersTable } from '../src/adapters/dynamodb/ensure-table';
import { startEmbeddedStore } from '../src/adapters/local/embedded-store';
import { runImport } from './users-import';

export type ImportBench = { users: number; ms: number; usersPerSecond: number; concurrency: number; tableName: string };

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * Imports `users` generated users (bcrypt and argon2id hashes, made once: the import only reads them) into fresh
 * users and sessions tables on the store at `endpoint`, and answers the rate. The tables are left behind: point it
 * at a throwaway store.
 */
export const benchImport = async (options: { endpoint: string; users?: number; concurrency?: number }): Promise<ImportBench> => {
  const users = options.users ?? 10_000;
  const concurrency = options.concurrency ?? 32;
  const suffix = randomUUID().slice(0, 8);
  const tables = { TABLE_NAME: `bench-import-users-${suffix}`, SESSIONS_TABLE_NAME: `bench-import-sessions-${suffix}` };
  const client = createDynamoClient({
    region: 'us-east-1',
    endpoint: options.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    timeoutMs: 10_000,
  });
  await Promise.all([ensureUsersTable(client, tables.TABLE_NAME), ensureSessionsTable(client, tables.SESSIONS_TABLE_NAME)]);
  client.destroy();

  const hashes = [
    bcrypt.hashSync('bench password', 10),
    await argon2Hash('bench password', { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'bench-import-'));
  const file = join(dir, 'users.jsonl');
  const lines = Array.from({ length: users }, (_, i) =>
    JSON.stringify({ username: `bench-user-${i}`, name: `Bench User ${i}`, passwordHash: hashes[i % hashes.length] }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  try {
    const env = { DYNAMODB_ENDPOINT: options.endpoint, ...tables, LOG_LEVEL: 'SILENT' };
    const startedAt = performance.now();
    const code = await runImport([file, '--concurrency', String(concurrency)], env, { stdout: discard(), stderr: discard() });
    const ms = performance.now() - startedAt;
    if (code !== 0) throw new Error(`the import exited with ${code}`);
    return { users, ms, usersPerSecond: Math.round(users / (ms / 1000)), concurrency, tableName: tables.TABLE_NAME };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

// node --import tsx scripts/bench-import.ts [users]: against DYNAMODB_ENDPOINT, or an embedded store of its own.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const own = process.env.DYNAMODB_ENDPOINT === undefined ? await startEmbeddedStore(undefined) : undefined;
  try {
    const result = await benchImport({
      endpoint: process.env.DYNAMODB_ENDPOINT ?? (own?.endpoint as string),
      users: Number(process.argv[2] ?? 10_000),
    });
    console.log(
      `imported ${result.users} users in ${(result.ms / 1000).toFixed(1)} s: ${result.usersPerSecond} users/s ` +
        `(concurrency ${result.concurrency})`,
    );
  } finally {
    await own?.close();
  }
}
