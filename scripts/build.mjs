// Bundles the Lambda entry to dist/lambda/index.mjs (ESM, minified, native modules external).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/lambda.ts'],
  outfile: 'dist/lambda/index.mjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  // Native addons cannot be bundled; the package (and its platform binary) ships beside the bundle.
  external: ['@node-rs/argon2'],
  // The AWS SDK still calls require() for Node built-ins; an ESM bundle has no require unless we make one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
}).then(async (result) => {
  const { analyzeMetafile } = await import('esbuild');
  if (process.argv.includes('--analyze')) console.log(await analyzeMetafile(result.metafile));
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/lambda/index.mjs: ${(bytes / 1024).toFixed(1)} KB`);
});
