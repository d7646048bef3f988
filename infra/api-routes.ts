// What API Gateway must route to the function, read from the one route table (src/adapters/http/routes.ts) and,
// for the pages a stack enables, the pages table (src/adapters/http/pages.ts).
import { pageRoutes, type PageId } from '../src/adapters/http/pages';
import { routeList, type Route } from '../src/adapters/http/routes';

export type RouteShape = Pick<Route, 'method' | 'path'>;

/**
 * Each path of the table with the methods API Gateway sends to the function, by the app's rule (`allowedMethods`):
 * the routes' methods, and HEAD wherever GET is, since the app answers HEAD as GET without a body and API Gateway
 * must not refuse what the local server serves. OPTIONS is the CORS preflight: the REST API answers it with a mock
 * on each of these paths, the HTTP API from its CORS settings; neither sends it here.
 *
 * Takes any route list, so the tree builders can be tested with paths the table does not have yet.
 */
export const gatewayPaths = (routes: readonly RouteShape[] = routeList()): ReadonlyMap<string, readonly string[]> => {
  const paths = new Map<string, string[]>();
  for (const { method, path } of routes) {
    checkPath(path);
    const methods = paths.get(path) ?? [];
    if (methods.includes(method)) throw new Error(`${method} ${path} is in the route list twice`);
    paths.set(path, [...methods, method]);
  }
  checkParameters([...paths.keys()]);
  for (const methods of paths.values()) if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
  return paths;
};

/**
 * What each API sends to the function: the API routes' paths, and the enabled pages' paths (`pageRoutes`), each
 * with its methods by the same rule (HEAD beside GET). They differ in one thing: the app answers CORS preflights
 * only on the route table's paths (OPTIONS elsewhere, a page's path included, is its 404), so only `api` paths get
 * the REST API's preflight mock. A page is fetched by its own origin, never by a cross-origin script.
 */
export type FrontDoorPaths = {
  api: ReadonlyMap<string, readonly string[]>;
  pages: ReadonlyMap<string, readonly string[]>;
};

export const frontDoorPaths = (routes?: readonly RouteShape[], pages: readonly PageId[] = []): FrontDoorPaths => {
  const api = gatewayPaths(routes);
  const pagePaths = gatewayPaths(pageRoutes([...new Set(pages)]));
  for (const path of pagePaths.keys()) {
    if (api.has(path)) throw new Error(`the page path ${path} is also a path of the route table`);
  }
  checkParameters([...api.keys(), ...pagePaths.keys()]);
  return { api, pages: pagePaths };
};

/** `METHOD /path` for every method of every path (pages' included): what each API's routes must add up to. */
export const gatewayRouteKeys = (routes?: readonly RouteShape[], pages?: readonly PageId[]): string[] => {
  const { api, pages: pagePaths } = frontDoorPaths(routes, pages);
  return [...api, ...pagePaths].flatMap(([path, methods]) => methods.map((method) => `${method} ${path}`));
};

/** The app's CORS answer, which the REST API's preflight mocks and the HTTP API's CORS configuration copy. */
export { CORS } from '../src/adapters/http/routes';

// API Gateway's syntax, which is the table's: literal segments, or one `{name}` (or greedy `{name+}`) per segment.
const SEGMENT = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$/;

const checkPath = (path: string) => {
  // The root (the demo page): the REST API's root resource, the HTTP API's `GET /`.
  if (path === '/') return;
  const segments = path.split('/').slice(1);
  if (!path.startsWith('/') || segments.some((segment) => !SEGMENT.test(segment))) {
    throw new Error(`route path ${JSON.stringify(path)} is not /segment/{parameter}/...`);
  }
  const greedy = segments.findIndex((segment) => segment.endsWith('+}'));
  if (greedy !== -1 && greedy !== segments.length - 1) throw new Error(`${path}: a greedy parameter must come last`);
};

/** API Gateway refuses two parameters of different names at one place (`/a/{id}` beside `/a/{name}`): say so at synth. */
const checkParameters = (paths: readonly string[]) => {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const segments = path.split('/').slice(1);
    segments.forEach((segment, index) => {
      if (!segment.startsWith('{')) return;
      const parent = `/${segments.slice(0, index).join('/')}`;
      const other = seen.get(parent);
      if (other !== undefined && other !== segment) {
        throw new Error(`${path}: ${parent} already has the parameter ${other}; API Gateway allows one per level`);
      }
      seen.set(parent, segment);
    });
  }
};
