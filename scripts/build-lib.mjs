// Builds the library half of the package: dist/client/ and dist/verify/ (ESM .js beside an index.d.ts), the
// declarations they need under dist/types/. Run by `npm run build` and by `prepare` (so a git install has them);
// `--outdir DIR` writes elsewhere.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const flag = (name) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const outdir = resolve(flag('--outdir') ?? join(ROOT, 'dist'));

// `prepare` also runs on an install without dev dependencies (npm ci --omit=dev, NODE_ENV=production), which
// needs no library and has no esbuild: there (only) a missing esbuild skips the build instead of failing it.
let build;
try {
  ({ build } = await import('esbuild'));
} catch (error) {
  if (!process.argv.includes('--prepare') || error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  console.log('build-lib: skipped (esbuild is not installed: dev dependencies were left out, and so is the library)');
  process.exit(0);
}

/**
 * - client: for browsers and Node alike, so platform neutral: a node: import or any package fails the build
 *   (it must need nothing but fetch; its server types come in through `import type`, which esbuild drops).
 * - verify: for other services' Node servers; its packages (jose) stay imports, installed as our dependencies.
 */
const LIBRARIES = [
  { name: 'client', platform: 'neutral', target: 'es2022', packages: 'bundle', onlyOwnFiles: true },
  { name: 'verify', platform: 'node', target: 'node20', packages: 'external', onlyOwnFiles: false },
];

const present = LIBRARIES.filter(({ name }) => {
  if (existsSync(join(ROOT, 'src', name, 'index.ts'))) return true;
  console.log(`build-lib: skipped ${name} (src/${name}/index.ts does not exist yet)`);
  return false;
});

for (const dir of ['client', 'verify', 'types']) rmSync(join(outdir, dir), { recursive: true, force: true });

for (const library of present) {
  const result = await build({
    entryPoints: [join(ROOT, 'src', library.name, 'index.ts')],
    outfile: join(outdir, library.name, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: library.platform,
    target: library.target,
    packages: library.packages,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const foreign = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith(`src/${library.name}/`));
  if (library.onlyOwnFiles && foreign.length > 0) {
    throw new Error(`dist/${library.name} must bundle only src/${library.name}/ (it imports ${foreign.join(', ')})`);
  }
}

// Declarations: tsc (the native one has no JS API) over the entries, with the project's own settings.
if (present.length > 0) {
  const typesDir = join(outdir, 'types');
  const configDir = join(ROOT, '.build');
  mkdirSync(configDir, { recursive: true });
  const configPath = join(configDir, 'tsconfig.lib.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      extends: relative(configDir, join(ROOT, 'tsconfig.json')),
      compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, rootDir: join(ROOT, 'src'), outDir: typesDir },
      include: [],
      files: present.map(({ name }) => join(ROOT, 'src', name, 'index.ts')),
    }),
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`build-lib: tsc failed\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
  addJsExtensions(typesDir);
  for (const { name } of present) {
    // The path the brief and package.json name; the declarations it re-exports sit in one tree under types/.
    writeFileSync(join(outdir, name, 'index.d.ts'), `export * from '../types/${name}/index.js';\n`);
  }
}

console.log(`build-lib: ${present.map(({ name }) => `${relative(process.cwd(), join(outdir, name)) || '.'}/`).join(', ')}`);

/**
 * The sources import without extensions (moduleResolution bundler); a consumer on node16/nodenext resolution
 * needs `.js` in relative specifiers of an ESM package's declarations, or it finds none of the types.
 */
function addJsExtensions(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const text = readFileSync(file, 'utf8').replace(
      /(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g,
      (whole, lead, quote, specifier) => {
        if (/\.(m|c)?js$/.test(specifier)) return whole;
        const target = resolve(dirname(file), specifier);
        const withExtension = existsSync(`${target}.d.ts`)
          ? `${specifier}.js`
          : existsSync(join(target, 'index.d.ts'))
            ? `${specifier}/index.js`
            : undefined;
        if (withExtension === undefined) throw new Error(`build-lib: ${file} imports ${specifier}, which was not emitted`);
        return `${lead}${quote}${withExtension}${quote}`;
      },
    );
    writeFileSync(file, text);
  }
}
