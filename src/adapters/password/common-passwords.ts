// CommonPasswords: the shipped top-100,000 blocklist, read on first use so that it costs nothing at cold start.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CommonPasswords } from '../../domain/ports';

const FILE_NAME = 'common-passwords.txt.gz';
// zlib is imported with the first read, not with this module: loading it cost a cold start ~4 ms for a list
// that only registrations and password changes read.
const gunzipAsync = async (gzipped: Buffer) => promisify((await import('node:zlib')).gunzip)(gzipped);

/**
 * Where the blocklist sits relative to an entry module (pass its `import.meta.url`): beside a bundle
 * (dist/lambda/index.mjs, or the zip's root), else in data/ one level up, as seen from a module in src/.
 */
export const commonPasswordsCandidates = (entryUrl: string | URL): URL[] => [
  new URL(`./${FILE_NAME}`, entryUrl),
  new URL(`../data/${FILE_NAME}`, entryUrl),
];

/** The blocklist is read from the first candidate that exists; none existing is a deployment fault. */
export const createCommonPasswords = (candidates: readonly (string | URL)[]): CommonPasswords => {
  let loading: Promise<ReadonlySet<string>> | undefined;

  const load = (): Promise<ReadonlySet<string>> => {
    // Concurrent first calls share one read; a failed read is forgotten so that a later call tries again.
    loading ??= readBlocklist(candidates).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };

  return {
    async isCommon(password) {
      const passwords = await load();
      const lowered = password.toLowerCase();
      return passwords.has(lowered) || passwords.has(lowered.trim());
    },
  };
};

const readBlocklist = async (candidates: readonly (string | URL)[]): Promise<ReadonlySet<string>> => {
  for (const candidate of candidates) {
    let gzipped: Buffer;
    try {
      gzipped = await readFile(candidate);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    // Gunzip on the thread pool: the first registration after a cold start need not block other requests.
    const text = (await gunzipAsync(gzipped)).toString('utf8');
    return new Set(text.split('\n').filter((line) => line !== ''));
  }
  throw new Error(`common-password blocklist not found; looked for ${candidates.map(pathOf).join(', ')}`);
};

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');

const pathOf = (candidate: string | URL): string =>
  candidate instanceof URL && candidate.protocol === 'file:' ? fileURLToPath(candidate) : String(candidate);
