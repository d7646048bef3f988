// The one set of esbuild choices for the Lambda bundle, shared by `npm run build`, `npm run package` and the CDK stack.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: every path below is relative to it, whatever the caller's working directory. */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Native addons cannot be bundled: the package and its platform binary ship beside the bundle. */
export const NATIVE_MODULES = ['@node-rs/argon2'];

export const LAMBDA_BUNDLE = {
  entry: 'src/lambda.ts',
  target: 'node22',
  // ESM builds of the AWS SDK tree-shake far better: measured 467 KB and ~110 ms to import, against
  // 686 KB and ~170 ms with the CommonJS builds esbuild picks for platform=node by default.
  mainFields: ['module', 'main'],
  // The AWS SDK still calls require() for Node built-ins; an ESM bundle has no require unless we make one.
  banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  // Headers, Request and Response in the bundle are small stand-ins instead of Node's undici-built globals, whose
  // first use costs a cold start ~30-40 ms. See web-primitives.ts.
  inject: ['./src/adapters/lambda/web-primitives.ts'],
};

/**
 * esbuild options writing the bundle into `outdir`: index.mjs, and chunks/ for what is loaded on first use
 * (dynamic imports: bcrypt for tutorial-era hashes, the Secrets Manager client for keys given as ARNs).
 */
export const lambdaBuildOptions = (outdir) => ({
  absWorkingDir: PROJECT_ROOT,
  entryPoints: { index: LAMBDA_BUNDLE.entry },
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  target: LAMBDA_BUNDLE.target,
  format: 'esm',
  mainFields: LAMBDA_BUNDLE.mainFields,
  inject: LAMBDA_BUNDLE.inject,
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  external: NATIVE_MODULES,
  banner: { js: LAMBDA_BUNDLE.banner },
  metafile: true,
  logLevel: 'warning',
});

/** The output files `entry` loads before it runs: itself and its static imports, transitively (metafile paths). */
export const staticClosure = (metafile, entry) => {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  visit(entry);
  return [...seen];
};
