// npm run users:import -- FILE [--dry-run] [--overwrite] [--concurrency N] [--aws]: users from another system, as JSON lines.
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { randomIds } from '../src/adapters/crypto/refresh-secrets';
import { createDynamoSessionStore } from '../src/adapters/dynamodb/session-store';
import { createDynamoUserTransfer } from '../src/adapters/dynamodb/user-transfer';
import { argon2LimitProblem } from '../src/adapters/password/argon2-limits';
import { readHash } from '../src/adapters/password/hash-formats';
import type { Argon2Params } from '../src/settings-types';
import { importUsers, type HashCheck, type ImportSummary } from '../src/domain/import-users';
import { CommandError, openUserTables, perSecond, progressLine } from './user-tables';

const USAGE =
  'usage: npm run users:import -- FILE [--dry-run] [--overwrite] [--concurrency N] [--aws]\n' +
  '  FILE           JSON lines, one user each: {"username", "name", "passwordHash", "createdAt"?} (- reads stdin)\n' +
  '  --dry-run      check every line and read the store, write nothing\n' +
  '  --overwrite    an existing user takes the line\'s name and hash (keeps its uid; its sessions end)\n' +
  '  --concurrency  users written at once (default 32)\n' +
  '  --aws          DynamoDB on AWS (AWS_REGION, the usual credentials) instead of DATA_DIR or DYNAMODB_ENDPOINT';

export type CommandIo = {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin?: NodeJS.ReadableStream;
};

const DEFAULT_CONCURRENCY = 32;

/** The hash check of the import: a format this service verifies, at a cost it will pay (see hash-formats.ts). */
export const importHashCheck =
  (policy: Argon2Params) =>
  (passwordHash: string): HashCheck => {
    const reading = readHash(passwordHash, (params) => argon2LimitProblem(params, policy));
    return reading.ok ? { format: reading.hash.format } : { problem: reading.problem };
  };

/** Runs the command; resolves to its exit code (0: every line imported or skipped, 1: some were not, 2: nothing ran). */
export const runImport = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo,
): Promise<number> => {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { file, dryRun, overwrite, concurrency, aws } = args;

  let input: NodeJS.ReadableStream;
  try {
    input = file === '-' ? (io.stdin ?? process.stdin) : await openFile(file);
  } catch (error) {
    io.stderr.write(`cannot import: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})\n`);
    return 2;
  }

  let tables: Awaited<ReturnType<typeof openUserTables>>;
  try {
    tables = await openUserTables(env, { aws, verb: 'import' });
  } catch (error) {
    if (error instanceof CommandError) {
      io.stderr.write(`cannot import: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const { config, client } = tables;
    io.stderr.write(`${dryRun ? 'dry run against' : 'importing into'} ${tables.where}\n`);
    const store = { client, timeoutMs: config.storeTimeoutMs };
    const startedAt = performance.now();
    let current: Readonly<ImportSummary> | undefined;
    const errors = (s: Readonly<ImportSummary>) => s.invalid + s.duplicates + s.failed;
    const progress = progressLine(io.stderr, () => {
      const settled = current === undefined ? 0 : current.lines;
      return `${settled} lines, ${perSecond(settled, startedAt)}/s, ${current === undefined ? 0 : errors(current)} errors`;
    });
    const summary = await importUsers(
      {
        users: createDynamoUserTransfer({ ...store, tableName: config.tableName }),
        sessions: createDynamoSessionStore({ ...store, tableName: config.sessionsTableName }),
        ids: randomIds,
        timer: { sleep: (ms) => new Promise((done) => setTimeout(done, ms)) },
        checkHash: importHashCheck(config.argon2),
      },
      createInterface({ input, crlfDelay: Infinity }),
      { dryRun, overwrite, concurrency },
      {
        problem: (line, message) => progress.note(`line ${line}: ${message}`),
        progress: (summary) => {
          current = summary;
          progress.update();
        },
      },
    ).catch((error: unknown) => {
      // The file failed part way (a folder, a disk error): what was written stays, and the import says so.
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (typeof code !== 'string' || !code.startsWith('E')) throw error;
      throw new CommandError(`cannot read ${file} (${code}) after line ${current?.lines ?? 0}`);
    });
    current = summary;
    progress.done();
    io.stdout.write(describeSummary(summary, dryRun, performance.now() - startedAt));
    return errors(summary) === 0 ? 0 : 1;
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    io.stderr.write(`\ncannot import: ${error.message}\n`);
    return 2;
  } finally {
    await tables.close();
  }
};

const parse = (argv: readonly string[]) => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
      aws: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new Error('give one file to import');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw new Error('--concurrency must be a whole number from 1 to 1000');
  }
  return {
    file: positionals[0] as string,
    dryRun: values['dry-run'],
    overwrite: values.overwrite,
    concurrency,
    aws: values.aws,
  };
};

// Opened before the store, so a missing file costs nothing and says so.
const openFile = (path: string) =>
  new Promise<NodeJS.ReadableStream>((resolveOpen, reject) => {
    const stream = createReadStream(resolve(path));
    stream.once('open', () => resolveOpen(stream));
    stream.once('error', reject);
  });

export const describeSummary = (s: ImportSummary, dryRun: boolean, ms: number): string => {
  const users = s.created + s.skipped + s.replaced;
  const head = dryRun
    ? `dry run, nothing was written: would create ${s.created}, skip ${s.skipped} existing, replace ${s.replaced}`
    : `created ${s.created}, skipped ${s.skipped} existing, replaced ${s.replaced}`;
  const formats = Object.entries(s.formats)
    .map(([format, count]) => `${format} ${count}`)
    .join(', ');
  return (
    `${head}; ${s.invalid} invalid, ${s.duplicates} duplicates, ${s.failed} failed ` +
    `(${s.lines} lines in ${(ms / 1000).toFixed(1)} s, ${Math.round(users / Math.max(ms / 1000, 0.001))} users/s)\n` +
    (formats === '' ? '' : `hash formats: ${formats}\n`)
  );
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runImport(process.argv.slice(2), process.env, process);
}
