// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for the page tests, and a watch on a
// page that collects everything that must not happen: console errors (CSP violations among them), uncaught
// exceptions, failed or refused requests, and any request to another origin (which is also stopped).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startServer, type RunningServer } from '../../src/server';
import { createTestOutbox, type TestOutbox } from '../outbox';

export const CHROMIUM = '/usr/bin/chromium';

// What this machine needs: no sandbox as root in a container, no GPU, and nothing Chromium fetches on its own.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type TestBrowser = { context: BrowserContext; close(): Promise<void> };

/** A browser with a fresh profile (its own --user-data-dir), removed on close. */
export const launchBrowser = async (): Promise<TestBrowser> => {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 900, height: 1000 },
    });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
};

export type PageWatch = {
  /** Every problem seen so far, as one line each: the test expects none. */
  problems: string[];
  /** Every URL the page asked for, in order. */
  requests: string[];
};

/**
 * Watches `page`: requests to any origin but `origin` are aborted and noted, and so are console errors, page
 * errors, failed requests and answers of 400 or more that the test did not announce with `expectStatus`.
 */
export const watchPage = async (page: Page, origin: string) => {
  const watch: PageWatch & { expected: Set<string> } = { problems: [], requests: [], expected: new Set() };
  const own = new URL(origin).origin;
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === own) return route.continue();
    watch.problems.push(`request to another origin: ${url}`);
    return route.abort('blockedbyclient');
  });
  page.on('request', (request) => {
    if (!request.url().startsWith('data:')) watch.requests.push(request.url());
  });
  page.on('console', (message) => {
    // A refused answer the test expects (a 401 for a wrong password) is logged by Chromium as a console error.
    if (message.type() === 'error' && !isExpectedFailure(message.text(), message.location().url, watch.expected)) {
      watch.problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => watch.problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) => {
    if (new URL(request.url()).origin === own) {
      watch.problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
    }
  });
  page.on('response', (response) => {
    const key = `${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`;
    if (response.status() >= 400 && !watch.expected.has(key)) watch.problems.push(`unexpected answer: ${key}`);
  });
  return {
    problems: watch.problems,
    requests: watch.requests,
    /** The next answers of this status to this method and path are expected (an error the page must show). */
    expectStatus: (status: number, method: string, path: string) => watch.expected.add(`${status} ${method} ${path}`),
  };
};

/** Chromium's "Failed to load resource: ... status of 401" line for an answer the test expects. */
const isExpectedFailure = (text: string, url: string | undefined, expected: ReadonlySet<string>) => {
  const status = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(text)?.[1];
  if (status === undefined || url === undefined || url === '') return false;
  const path = new URL(url).pathname;
  return [...expected].some((key) => key.startsWith(`${status} `) && key.endsWith(` ${path}`));
};

/**
 * A real local server and a fresh browser for the test file, started before its tests and stopped after; read
 * `server`, `browser` and `outbox` inside the tests. The server keeps its data in a temporary DATA_DIR, so its
 * outbox writes every mail as an .eml file there (DATA_DIR/outbox), which `outbox` reads back.
 */
export const useServerAndBrowser = () => {
  const running = {} as { server: RunningServer; browser: TestBrowser; outbox: TestOutbox };
  let dataDir: string | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'browser-data-'));
    running.outbox = createTestOutbox(join(dataDir, 'outbox'));
    running.server = await startServer({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'SILENT' });
    running.browser = await launchBrowser();
  });
  afterAll(async () => {
    await running.browser?.close();
    await running.server?.close();
    for (const dir of [dataDir, running.outbox?.folder]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return running;
};

/** The newest link to `page` (verify-email, reset-password) mailed to `address`, whole, as a person clicks it. */
export const newestLink = async (outbox: TestOutbox, address: string, page: 'verify-email' | 'reset-password') => {
  const link = (await outbox.to(address)).flatMap((mail) => mail.links).filter((url) => url.includes(`/${page}#token=`)).at(-1);
  if (link === undefined) throw new Error(`no ${page} link was mailed to ${address}`);
  return link;
};
