// The API reference page in headless Chromium against a real local server: swagger-ui renders /openapi.json from
// the service's own files, under its CSP, and nothing is asked of any other host.
import { describe, expect, it } from 'vitest';
import { PAGES } from '../../src/adapters/http/pages';
import { ROUTES } from '../../src/adapters/http/routes';
import { useServerAndBrowser, watchPage } from './browser';

const running = useServerAndBrowser();

describe('docs page in Chromium', () => {
  it('renders every route of the API from /openapi.json, loading only from the service itself', async () => {
    const page = await running.browser.context.newPage();
    const watch = await watchPage(page, running.server.url);

    const answer = await page.goto(`${running.server.url}/docs`);
    // Each route's summary from the route table, as swagger-ui shows it in the route's row.
    for (const route of Object.values(ROUTES)) {
      await page.getByText(route.summary, { exact: true }).first().waitFor({ timeout: 15_000 });
    }

    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toBe(PAGES.docs.csp);
    expect(PAGES.docs.csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const paths = watch.requests.map((url) => new URL(url).pathname);
    expect(paths).toEqual(expect.arrayContaining(['/docs', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/openapi.json']));
    expect(watch.requests.map((url) => new URL(url).origin)).toEqual(watch.requests.map(() => new URL(running.server.url).origin));
    expect(watch.problems).toEqual([]);
    await page.close();
  });
});
