// The pages option (`-c pages=docs,demo`): which web pages of src/adapters/http/pages.ts the function serves on Lambda.
import { PAGE_IDS, type PageId } from '../src/adapters/http/pages';

/** The setting of src/config.ts that turns each page on (both are off on Lambda unless set to true). */
const PAGE_SETTINGS = { demo: 'DEMO_ENABLED', docs: 'DOCS_ENABLED' } as const satisfies Record<PageId, string>;

/** The function's environment for these pages: their settings set to true, nothing for the others. */
export const pageEnvironment = (pages: readonly PageId[]): Record<string, string> =>
  Object.fromEntries(pages.map((id) => [PAGE_SETTINGS[id], 'true']));

/** `docs,demo` (any order, spaces allowed) as page ids; absent or empty: none. Refuses a name the table lacks. */
export const parsePages = (text: string | undefined): PageId[] => {
  const names = (text ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!(PAGE_IDS as string[]).includes(name)) throw new Error(`pages must be a comma-separated list of ${PAGE_IDS.join(', ')}`);
  }
  return [...new Set(names as PageId[])];
};
