// Stages @node-rs/argon2 (the lockfile's version) for Lambda's linux arm64 and x64 (glibc), one folder each.
// Installing both into one folder fails with a misleading libc error, and packaging the build machine's
// node_modules would ship its own binary, so each architecture gets its own `npm install --os --cpu --libc`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STAGE_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)), '.build/argon2');
export const ARCHITECTURES = ['arm64', 'x64'];

/** The folder whose node_modules holds argon2 for one architecture. */
export const stagedDir = (arch) => join(STAGE_ROOT, `linux-${arch}`);

const lockedVersion = () => {
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
  const version = lock.packages?.['node_modules/@node-rs/argon2']?.version;
  if (!version) throw new Error('@node-rs/argon2 is not in package-lock.json');
  return version;
};

/** Every .node file under a folder. */
export const nativeFiles = (dir) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.node') && statSync(join(dir, file)).isFile())
    .map((file) => join(dir, file));

const stage = (arch, version) => {
  const dir = stagedDir(arch);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `argon2-linux-${arch}`, private: true }));
  execFileSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--os=linux', `--cpu=${arch}`,
      '--libc=glibc', `@node-rs/argon2@${version}`],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const binaries = nativeFiles(join(dir, 'node_modules'));
  // A cold offline cache can "succeed" without the optional binary: refuse that instead of shipping it.
  if (binaries.length !== 1) throw new Error(`staging argon2 for linux-${arch}: expected one .node file, found ${binaries.length}`);
  writeFileSync(join(dir, 'version'), version);
};

/** Stages each architecture whose folder is missing or holds another version. */
export const stageArgon2 = () => {
  const version = lockedVersion();
  for (const arch of ARCHITECTURES) {
    const marker = join(stagedDir(arch), 'version');
    if (existsSync(marker) && readFileSync(marker, 'utf8') === version) continue;
    console.log(`staging @node-rs/argon2@${version} for linux-${arch}`);
    stage(arch, version);
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) stageArgon2();
