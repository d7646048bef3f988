// Bundles the Lambda entry to dist/lambda/index.mjs (ESM, minified, native modules external), the blocklist beside it.
import { copyFileSync } from 'node:fs';
import { analyzeMetafile, build } from 'esbuild';
import { LAMBDA_BUNDLE, NATIVE_MODULES } from './lambda-bundle.mjs';

const result = await build({
  entryPoints: [LAMBDA_BUNDLE.entry],
  outfile: 'dist/lambda/index.mjs',
  bundle: true,
  platform: 'node',
  target: LAMBDA_BUNDLE.target,
  format: 'esm',
  mainFields: LAMBDA_BUNDLE.mainFields,
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  external: NATIVE_MODULES,
  banner: { js: LAMBDA_BUNDLE.banner },
  metafile: true,
  logLevel: 'warning',
});

// Read at run time from beside the bundle (see commonPasswordsCandidates), never bundled into it.
copyFileSync('data/common-passwords.txt.gz', 'dist/lambda/common-passwords.txt.gz');

if (process.argv.includes('--analyze')) console.log(await analyzeMetafile(result.metafile));
const bytes = result.metafile.outputs['dist/lambda/index.mjs']?.bytes ?? 0;
console.log(`dist/lambda/index.mjs: ${(bytes / 1024).toFixed(1)} KB`);
