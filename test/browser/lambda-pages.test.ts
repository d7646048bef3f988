// The pages on Lambda: off unless DEMO_ENABLED / DOCS_ENABLED, then served from web/ beside a freshly built bundle,
// which holds none of their code (swagger-ui above all).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_IDS, PAGES, type PageFile } from '../../src/adapters/http/pages';
import { httpApiEvent } from '../events';
import { invokeBundle } from '../invoke-bundle';

let dir: string;

beforeAll(() => {
  // Inside the project, so that the bundle finds @node-rs/argon2 (kept external) in node_modules.
  mkdirSync('dist', { recursive: true });
  dir = mkdtempSync(join(resolve('dist'), 'test-lambda-pages-'));
  execFileSync(process.execPath, ['scripts/build.mjs', '--outdir', join(dir, 'bundle'), '--metafile', join(dir, 'meta.json')], {
    stdio: 'pipe',
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = (settings: Record<string, string>) => ({
  JWT_SECRET: 'pages-test-signing-secret-of-32-bytes-or-more',
  REFRESH_TOKEN_SECRET: 'pages-test-refresh-secret-of-32-bytes-or-more',
  // The pages touch no store: nothing listens here.
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'ERROR',
  ...settings,
});

const ALL_FILES: readonly PageFile[] = PAGE_IDS.flatMap((id): readonly PageFile[] => PAGES[id].files);

// The child hands its answers back on stdout, which holds 1 MB: swagger-ui's script (1.7 MB) is asked for by HEAD.
const methodFor = (file: string) => (statSync(join(dir, 'bundle/web', file)).size > 500_000 ? 'HEAD' : 'GET');

const getEach = (run: string, settings: Record<string, string>) => {
  const runDir = join(dir, run);
  mkdirSync(runDir);
  return invokeBundle(
    join(dir, 'bundle/index.mjs'),
    runDir,
    ALL_FILES.map((file) => httpApiEvent({ method: methodFor(file.file), path: file.path })),
    env(settings),
  );
};

describe('pages on Lambda', () => {
  it('builds exactly the files of the pages table into web/ beside the bundle', () => {
    // Several paths may serve one file (the demo page is also /verify-email and /reset-password): each is built once.
    expect(readdirSync(join(dir, 'bundle/web')).sort()).toEqual([...new Set(ALL_FILES.map((file) => file.file))].sort());
  });

  it('keeps the pages out of the bundle: no swagger-ui, no page script among its inputs', () => {
    const inputs = Object.keys((JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { inputs: object }).inputs);

    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((input) => /swagger-ui|src\/web\//.test(input))).toEqual([]);
  });

  it('answers 404 for every page path by default', async () => {
    const answers = await getEach('off', {});

    expect(answers.map((answer) => answer.statusCode)).toEqual(ALL_FILES.map(() => 404));
  });

  it('serves each file from web/ with its type and CSP when DEMO_ENABLED and DOCS_ENABLED are true', async () => {
    const answers = await getEach('on', { DEMO_ENABLED: 'true', DOCS_ENABLED: 'true' });

    ALL_FILES.forEach((file, index) => {
      const answer = answers[index];
      const page = PAGE_IDS.find((id) => PAGES[id].files.some((f) => f.path === file.path)) ?? 'demo';
      expect(answer?.statusCode, file.path).toBe(200);
      expect(answer?.headers?.['content-type'], file.path).toBe(file.type);
      expect(answer?.headers?.['content-security-policy'], file.path).toBe(PAGES[page].csp);
      const bytes = readFileSync(join(dir, 'bundle/web', file.file), 'utf8');
      expect(answer?.body, file.path).toBe(methodFor(file.file) === 'HEAD' ? '' : bytes);
    });
  });

  it('serves one page without the other', async () => {
    const answers = await getEach('docs-only', { DOCS_ENABLED: 'true' });

    expect(answers.map((answer) => answer.statusCode)).toEqual(
      ALL_FILES.map((file) => (PAGES.docs.files.some((f) => f.path === file.path) ? 200 : 404)),
    );
  });
});
