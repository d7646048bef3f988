// Writes dist/lambda.zip for a console upload (handler index.handler): the bundle, its chunks, its blocklist and the
// web pages' files, plus argon2 for both linux arm64 and x64, so the zip runs on either architecture. Run via
// `npm run package` (stages and builds first).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { ARCHITECTURES, nativeFiles, stagedDir } from './stage-argon2.mjs';

const files = {
  'index.mjs': readFileSync('dist/lambda/index.mjs'),
  // Already gzipped: stored as is, since deflating it again only costs time.
  'common-passwords.txt.gz': [readFileSync('dist/lambda/common-passwords.txt.gz'), { level: 0 }],
};
// What index.mjs loads on first use (bcrypt for tutorial-era hashes, the Secrets Manager client, ...).
for (const chunk of readdirSync('dist/lambda/chunks').filter((file) => file.endsWith('.mjs'))) {
  files[`chunks/${chunk}`] = readFileSync(join('dist/lambda/chunks', chunk));
}

// The demo and docs pages, served only with DEMO_ENABLED / DOCS_ENABLED (see scripts/web-assets.mjs).
for (const file of readdirSync('dist/lambda/web')) files[`web/${file}`] = readFileSync(join('dist/lambda/web', file));

for (const arch of ARCHITECTURES) {
  const modules = join(stagedDir(arch), 'node_modules');
  if (nativeFiles(modules).length !== 1) throw new Error(`argon2 for linux-${arch} is not staged`);
  for (const file of readdirSync(modules, { recursive: true }).map(String)) {
    const path = join(modules, file);
    if (!file.startsWith('@node-rs') || !statSync(path).isFile()) continue;
    // The loader package is the same in both folders; each folder adds its own binary package.
    files[`node_modules/${relative(modules, path)}`] = readFileSync(path);
  }
}

const zip = zipSync(files, { level: 9, mtime: new Date('2026-01-01T00:00:00Z') });
writeFileSync('dist/lambda.zip', zip);
console.log(`dist/lambda.zip: ${(zip.length / 1024).toFixed(1)} KB, ${Object.keys(files).length} files`);
