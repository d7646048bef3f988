// Builds the web pages' files (src/web bundled by esbuild, swagger-ui-dist's two files): in memory for the local
// server, or into a folder beside the Lambda bundle (npm run build). The names are those of PAGES in
// src/adapters/http/pages.ts (a test checks they match).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from './lambda-bundle.mjs';

const WEB_SOURCE = join(PROJECT_ROOT, 'src/web');
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'styles.css', 'icon.svg', 'docs.html'];
/** Bundled for the browser: output name -> entry. */
const SCRIPTS = { 'main.js': 'main.ts', 'docs.js': 'docs.ts' };
/** From swagger-ui-dist, served as the docs page's own files (no CDN). */
const SWAGGER_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js'];

const swaggerDir = () => dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// The source maps are not shipped: a browser with developer tools open would ask for them and get a 404.
const withoutSourceMapComment = (text) => text.replace(/\n?\/[*/]# sourceMappingURL=\S+(?: \*\/)?\s*$/, '\n');

/** Every file of the pages: name -> bytes. */
export const buildWebAssets = async () => {
  const files = new Map();
  for (const name of STATIC_FILES) files.set(name, readFileSync(join(WEB_SOURCE, name)));
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: Object.fromEntries(
      Object.entries(SCRIPTS).map(([out, entry]) => [out.replace(/\.js$/, ''), join(WEB_SOURCE, entry)]),
    ),
    outdir: 'web',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const output of result.outputFiles) files.set(output.path.slice(output.path.lastIndexOf('/') + 1), output.contents);
  for (const name of SWAGGER_FILES) {
    files.set(name, Buffer.from(withoutSourceMapComment(readFileSync(join(swaggerDir(), name), 'utf8'))));
  }
  return files;
};

/** The files written into `dir` (web/ beside the Lambda bundle, read from there on first request). */
export const writeWebAssets = async (dir) => {
  const files = await buildWebAssets();
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return [...files.keys()];
};
