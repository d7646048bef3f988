// Runs a built Lambda bundle the way Lambda loads it: a child `node` on a plain .mjs file that imports it.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export type LambdaResult = { statusCode: number; body: string; headers?: Record<string, string> };

export type BundleRun = {
  results: LambdaResult[];
  /** Every JavaScript file the child loaded as an ES module (absolute paths), in load order. */
  loadedModules: string[];
  /** Node's own modules the child loaded (process.moduleLoadList, such as `internal/deps/undici/undici`). */
  builtins: string[];
};

// A module loader hook in the child, off the timed path: it only notes each file URL it is asked to load.
const RECORDER = [
  "import { appendFileSync } from 'node:fs';",
  'export async function load(url, context, nextLoad) {',
  "  if (url.startsWith('file:')) appendFileSync(process.env.LOADED_MODULES_FILE, url + '\\n');",
  '  return nextLoad(url, context);',
  '}',
].join('\n');

const run = async (
  bundleFile: string,
  workDir: string,
  events: unknown[],
  env: Record<string, string>,
  recordModules: boolean,
): Promise<BundleRun> => {
  writeFileSync(join(workDir, 'events.json'), JSON.stringify(events));
  writeFileSync(
    join(workDir, 'invoke.mjs'),
    [
      "import { readFileSync } from 'node:fs';",
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});`,
      "const events = JSON.parse(readFileSync(new URL('./events.json', import.meta.url), 'utf8'));",
      'const results = [];',
      "for (const event of events) results.push(await handler(event, { awsRequestId: 'bundle-test' }));",
      "const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));",
      'console.log(JSON.stringify({ results, builtins }));',
    ].join('\n'),
  );
  const loadedFile = join(workDir, 'loaded-modules.txt');
  writeFileSync(loadedFile, '');
  const recorder: string[] = [];
  if (recordModules) {
    writeFileSync(join(workDir, 'record-loads.mjs'), RECORDER);
    writeFileSync(
      join(workDir, 'register-recorder.mjs'),
      "import { register } from 'node:module';\nregister('./record-loads.mjs', import.meta.url);\n",
    );
    recorder.push('--import', pathToFileURL(join(workDir, 'register-recorder.mjs')).href);
  }
  // Asynchronous: the store may run in this process and must keep answering while the child runs.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...recorder, join(workDir, 'invoke.mjs')],
    {
      cwd: workDir,
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LOADED_MODULES_FILE: loadedFile,
        ...env,
      },
      encoding: 'utf8',
    },
  );
  const loadedModules = readFileSync(loadedFile, 'utf8')
    .split('\n')
    .filter((url) => url !== '' && !url.endsWith('/record-loads.mjs') && !url.endsWith('/invoke.mjs'))
    .map((url) => fileURLToPath(url));
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { results: LambdaResult[]; builtins: string[] };
  return { results: report.results, builtins: report.builtins, loadedModules };
};

/** Invokes `handler` of `bundleFile` with each event in turn, from a script written into `workDir`. */
export const invokeBundle = async (
  bundleFile: string,
  workDir: string,
  events: unknown[],
  env: Record<string, string>,
): Promise<LambdaResult[]> => (await run(bundleFile, workDir, events, env, false)).results;

/** `invokeBundle`, also noting which files the child loaded (through a loader hook, so not for timing). */
export const runBundle = (bundleFile: string, workDir: string, events: unknown[], env: Record<string, string>) =>
  run(bundleFile, workDir, events, env, true);
