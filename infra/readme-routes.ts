// The README's console route list, from the route table: `node --import tsx infra/readme-routes.ts --write`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { routeList, type Route } from '../src/adapters/http/routes';
import { CORS, gatewayPaths } from './api-routes';

export const BEGIN =
  '<!-- generated from src/adapters/http/routes.ts by `node --import tsx infra/readme-routes.ts --write`; a test fails when it differs -->';
export const END = '<!-- end of generated routes -->';

const code = (text: string) => `\`${text}\``;

/** One row per path (what a REST API makes a resource), with its methods and what each is for. */
export const consoleRoutes = (routes: readonly Pick<Route, 'method' | 'path' | 'summary'>[] = routeList()): string => {
  const rows = [...gatewayPaths(routes)].map(([path, methods]) => {
    const onPath = routes.filter((route) => route.path === path);
    const purpose =
      onPath.length === 1
        ? (onPath[0] as Route).summary
        : onPath.map((route) => `${route.method}: ${route.summary.charAt(0).toLowerCase()}${route.summary.slice(1)}`).join('; ');
    return `| ${code(path)} | ${methods.join(', ')} | ${purpose} |`;
  });
  return [
    '| path | methods | for |',
    '| --- | --- | --- |',
    ...rows,
    '',
    `CORS: methods ${CORS.allowMethods.map(code).join(', ')}; headers ${CORS.allowHeaders.map(code).join(', ')}; ` +
      `exposed headers ${CORS.exposeHeaders.map(code).join(', ')}; max age ${CORS.maxAgeSeconds} seconds.`,
  ].join('\n');
};

/** The README with the text between the markers replaced by `routes`. */
export const withConsoleRoutes = (readme: string, routes: string = consoleRoutes()): string => {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin === -1 || end < begin) throw new Error('README.md has no generated route list (its markers are missing)');
  return `${readme.slice(0, begin + BEGIN.length)}\n${routes}\n${readme.slice(end)}`;
};

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readme = readFileSync(README, 'utf8');
  const updated = withConsoleRoutes(readme);
  if (process.argv.includes('--write')) {
    writeFileSync(README, updated);
    console.log(updated === readme ? 'README.md route list already up to date' : 'README.md route list rewritten');
  } else if (updated !== readme) {
    console.error('README.md route list differs from the route table: run with --write');
    process.exitCode = 1;
  }
}
