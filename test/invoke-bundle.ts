// Runs a built Lambda bundle the way Lambda loads it: a child `node` on a plain .mjs file that imports it.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export type LambdaResult = { statusCode: number; body: string; headers?: Record<string, string> };

/** Invokes `handler` of `bundleFile` with each event in turn, from a script written into `workDir`. */
export const invokeBundle = async (
  bundleFile: string,
  workDir: string,
  events: unknown[],
  env: Record<string, string>,
): Promise<LambdaResult[]> => {
  writeFileSync(join(workDir, 'events.json'), JSON.stringify(events));
  writeFileSync(
    join(workDir, 'invoke.mjs'),
    [
      "import { readFileSync } from 'node:fs';",
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});`,
      "const events = JSON.parse(readFileSync(new URL('./events.json', import.meta.url), 'utf8'));",
      'const results = [];',
      "for (const event of events) results.push(await handler(event, { awsRequestId: 'bundle-test' }));",
      'console.log(JSON.stringify(results));',
    ].join('\n'),
  );
  // Asynchronous: the store may run in this process and must keep answering while the child runs.
  const { stdout } = await promisify(execFile)(process.execPath, [join(workDir, 'invoke.mjs')], {
    cwd: workDir,
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as LambdaResult[];
};
