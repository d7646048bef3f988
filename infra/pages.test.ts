// The pages option: its parsing, and the settings it sets, read back by the service's own config.
import { describe, expect, it } from 'vitest';
import { PAGE_IDS, type PageId } from '../src/adapters/http/pages';
import { loadConfig } from '../src/config';
import { pageEnvironment, parsePages } from './pages';

const SECRETS = {
  JWT_SECRET: 'pages-option-test-signing-secret-32-bytes',
  REFRESH_TOKEN_SECRET: 'pages-option-test-refresh-secret-32-bytes',
  AWS_REGION: 'us-east-1',
};

const CHOICES: (readonly PageId[])[] = [[], ['docs'], ['demo'], ['docs', 'demo']];

describe('parsePages', () => {
  it('reads a comma-separated list, spaces and repeats allowed, and nothing as none', () => {
    expect(parsePages(undefined)).toEqual([]);
    expect(parsePages('')).toEqual([]);
    expect(parsePages('docs')).toEqual(['docs']);
    expect(parsePages(' docs , demo,docs ')).toEqual(['docs', 'demo']);
  });

  it('refuses a page the pages table does not have, naming the ones it has', () => {
    expect(() => parsePages('docs,admin')).toThrow(`pages must be a comma-separated list of ${PAGE_IDS.join(', ')}`);
  });
});

describe('pageEnvironment', () => {
  it.each(CHOICES.map((pages) => [pages]))('turns on in the Lambda config exactly the pages it is given: %j', (pages) => {
    const config = loadConfig({ ...SECRETS, ...pageEnvironment(pages) }, 'lambda');

    expect(config.docsEnabled).toBe(pages.includes('docs'));
    expect(config.demoEnabled).toBe(pages.includes('demo'));
  });

  it('sets nothing for no page (the settings default to off)', () => {
    expect(pageEnvironment([])).toEqual({});
  });
});
