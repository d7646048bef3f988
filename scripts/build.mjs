// Bundles the Lambda entry into dist/lambda/ (or --outdir DIR, as the CDK stack does): index.mjs and the chunks/ it
// loads on first use, with the blocklist and the web pages' files (web/) beside them. `--analyze` prints what is
// inside; esbuild's metafile goes to dist/lambda.meta.json (or --metafile FILE).
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { analyzeMetafile, build } from 'esbuild';
import { lambdaBuildOptions, PROJECT_ROOT, staticClosure } from './lambda-bundle.mjs';
import { writeWebAssets } from './web-assets.mjs';

const flag = (name) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const outdir = resolve(flag('--outdir') ?? join(PROJECT_ROOT, 'dist/lambda'));
// Beside the output folder, not in it (it describes the bundle and is no part of what ships); only for dist/.
const metafilePath = flag('--metafile') ?? (flag('--outdir') === undefined ? `${outdir}.meta.json` : undefined);

// Chunk names carry content hashes: without this, every build would leave the previous ones behind.
rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
const result = await build(lambdaBuildOptions(outdir));

// Read at run time from beside the bundle (see commonPasswordsCandidates), never bundled into it.
mkdirSync(outdir, { recursive: true });
copyFileSync(join(PROJECT_ROOT, 'data/common-passwords.txt.gz'), join(outdir, 'common-passwords.txt.gz'));
if (metafilePath !== undefined) writeFileSync(metafilePath, JSON.stringify(result.metafile));
// The demo and docs pages' files (DEMO_ENABLED, DOCS_ENABLED), read from web/ on first request: none of them is in
// the bundle, and a function that serves no page never reads them.
rmSync(join(outdir, 'web'), { recursive: true, force: true });
await writeWebAssets(join(outdir, 'web'));

if (process.argv.includes('--analyze')) console.log(await analyzeMetafile(result.metafile));
const { outputs } = result.metafile;
const kb = (files) => `${(files.reduce((sum, file) => sum + outputs[file].bytes, 0) / 1024).toFixed(1)} KB`;
const code = Object.keys(outputs).filter((file) => file.endsWith('.mjs'));
const entry = relative(PROJECT_ROOT, join(outdir, 'index.mjs'));
const loaded = staticClosure(result.metafile, entry);
console.log(
  `${relative(process.cwd(), outdir) || '.'}: ${kb(loaded)} loaded by its import (${loaded.length} files), ` +
    `${kb(code)} in all (${code.length} files)`,
);
