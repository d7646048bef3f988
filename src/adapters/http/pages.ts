// The web pages served beside the API (the demo page at /, the API reference at /docs): one table of their paths,
// files and security headers, which the app registers and the Lambda build's copy (scripts/web-assets.mjs) matches.
import { readFile } from 'node:fs/promises';
import type { Context } from 'hono';

export type PageId = 'demo' | 'docs';

/** One served file: the URL path, the file's name in the built web folder, its media type. */
export type PageFile = Readonly<{ path: string; file: string; type: string }>;

export type Page = Readonly<{
  /** The Content-Security-Policy of every response of the page: only this origin, no inline script. */
  csp: string;
  files: readonly PageFile[];
}>;

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

// Shared by both pages: nothing from another host, no plugins, no <base> rewriting, no framing (clickjacking),
// and no form may navigate anywhere (the forms are handled by script; without it a form must not send a password
// in a URL).
const BASE_POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGES = {
  demo: {
    csp: `${BASE_POLICY}; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'`,
    files: [
      { path: '/', file: 'index.html', type: HTML },
      // The mailed links (APP_URL/verify-email#token=..., APP_URL/reset-password#token=...) open the same page,
      // which reads the token from the fragment; the server never sees it.
      { path: '/verify-email', file: 'index.html', type: HTML },
      { path: '/reset-password', file: 'index.html', type: HTML },
      { path: '/web/main.js', file: 'main.js', type: JS },
      { path: '/web/styles.css', file: 'styles.css', type: CSS },
      { path: '/web/icon.svg', file: 'icon.svg', type: 'image/svg+xml' },
    ],
  },
  docs: {
    // swagger-ui's stylesheet draws its icons as data: SVGs, and React sets element styles (CSSOM, allowed by
    // style-src 'self'); it fetches only /openapi.json (connect-src 'self').
    csp: `${BASE_POLICY}; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'`,
    files: [
      { path: '/docs', file: 'docs.html', type: HTML },
      { path: '/docs/docs.js', file: 'docs.js', type: JS },
      { path: '/docs/swagger-ui.css', file: 'swagger-ui.css', type: CSS },
      { path: '/docs/swagger-ui-bundle.js', file: 'swagger-ui-bundle.js', type: JS },
    ],
  },
} as const satisfies Record<PageId, Page>;

export const PAGE_IDS = Object.keys(PAGES) as PageId[];

/** Where the built files come from: read on first use (beside the Lambda bundle, or built in memory locally). */
export type PageFiles = { read(file: string): Promise<Uint8Array | undefined> };

/** Files read from a folder on first request and kept (the Lambda case: web/ beside the bundle). */
export const pageFilesIn = (folder: URL): PageFiles => {
  const read = new Map<string, Promise<Uint8Array | undefined>>();
  return {
    read: (file) => {
      let bytes = read.get(file);
      if (bytes === undefined) {
        bytes = readFile(new URL(file, folder)).then(
          (buffer) => new Uint8Array(buffer),
          () => undefined,
        );
        read.set(file, bytes);
      }
      return bytes;
    },
  };
};

export type PagesOption = Readonly<{ enabled: readonly PageId[]; files: PageFiles }>;

/** The GET routes of the enabled pages, for whatever must route them (API Gateway, when a stack enables pages). */
export const pageRoutes = (enabled: readonly PageId[]) =>
  enabled.flatMap((id) => PAGES[id].files.map((file) => ({ method: 'GET' as const, path: file.path })));

// Every page file is served fresh from this version of the service: revalidated, never a stale script.
const pageHeaders = (page: Page, file: PageFile) => ({
  'Content-Type': file.type,
  'Content-Security-Policy': page.csp,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
});

/** What of a Hono app registering needs (any app's Env will do: the pages read nothing from the context's variables). */
type PageRouter = { get(path: string, handler: (c: Context) => Promise<Response>): unknown };

/** Registers a GET route (HEAD follows) for each file of each enabled page; nothing when none is. */
export const registerPages = (app: PageRouter, pages: PagesOption | undefined) => {
  for (const id of pages?.enabled ?? []) {
    const page: Page = PAGES[id];
    for (const file of page.files) {
      app.get(file.path, async (c: Context) => {
        const body = await pages?.files.read(file.file);
        // A file missing from the build is a deployment fault, not the client's: a 500 through onError.
        if (body === undefined) throw new Error(`page file ${file.file} is missing from the built web folder`);
        return c.body(body as Uint8Array<ArrayBuffer>, 200, pageHeaders(page, file));
      });
    }
  }
};
