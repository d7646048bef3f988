// npm run users:export -- [--out FILE] [--aws]: every user as a JSON line, the shape users:import reads.
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createDynamoUserTransfer } from '../src/adapters/dynamodb/user-transfer';
import { AppError } from '../src/domain/errors';
import { exportLine } from '../src/domain/import-users';
import type { CommandIo } from './users-import';
import { CommandError, openUserTables, perSecond, progressLine } from './user-tables';

const USAGE =
  'usage: npm run users:export -- [--out FILE] [--aws]\n' +
  '  --out FILE  write there (mode 600: the file holds password hashes); without it, to stdout\n' +
  '  --aws       DynamoDB on AWS (AWS_REGION, the usual credentials) instead of DATA_DIR or DYNAMODB_ENDPOINT';

/** Runs the command; resolves to its exit code (0 done, 1 the store failed part way, 2 nothing ran). */
export const runExport = async (
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo,
): Promise<number> => {
  let values: { out?: string | undefined; aws: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, aws: { type: 'boolean', default: false } },
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }

  let tables: Awaited<ReturnType<typeof openUserTables>>;
  try {
    tables = await openUserTables(env, { aws: values.aws, verb: 'export' });
  } catch (error) {
    if (error instanceof CommandError) {
      io.stderr.write(`cannot export: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let file: WriteStream | undefined;
  try {
    io.stderr.write(`exporting from ${tables.where}\n`);
    if (values.out !== undefined) {
      try {
        file = await openOut(values.out);
      } catch (error) {
        io.stderr.write(`cannot export: cannot write ${values.out} (${(error as NodeJS.ErrnoException).code ?? 'error'})\n`);
        return 2;
      }
    }
    const out: NodeJS.WritableStream = file ?? io.stdout;
    const users = createDynamoUserTransfer({
      client: tables.client,
      tableName: tables.config.tableName,
      timeoutMs: tables.config.storeTimeoutMs,
    });
    const startedAt = performance.now();
    let count = 0;
    const progress = progressLine(io.stderr, () => `${count} users, ${perSecond(count, startedAt)}/s, 0 errors`);
    for await (const page of users.scan()) {
      const text = page.map((user) => `${exportLine(user)}\n`).join('');
      // Waits for the file to drain, so a large table is never held in memory.
      if (!out.write(text)) await new Promise((drained) => out.once('drain', drained));
      count += page.length;
      progress.update();
    }
    progress.done();
    if (file !== undefined) {
      file.end();
      await finished(file);
    }
    io.stderr.write(
      `exported ${count} users${values.out === undefined ? '' : ` to ${values.out}`} ` +
        `in ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    io.stderr.write(`\nexport stopped: ${error.code}: ${error.message}\n`);
    return 1;
  } finally {
    file?.destroy();
    await tables.close();
  }
};

// Mode 600 from the start: the file holds password hashes.
const openOut = (path: string) =>
  new Promise<WriteStream>((ready, failed) => {
    const stream = createWriteStream(resolve(path), { mode: 0o600 });
    stream.once('open', () => ready(stream)).once('error', failed);
  });

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runExport(process.argv.slice(2), process.env, process);
}
