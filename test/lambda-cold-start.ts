// A fresh import of the Lambda handler, as a cold start loads it, under the test keys, LOG_LEVEL=SILENT and the
// settings given (the tables and store of the test first, then each start's own).
import { vi } from 'vitest';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from './app-harness';

type Handler = typeof import('../src/lambda').handler;

export const coldStartWith =
  (base: () => Record<string, string>) =>
  async (env: Record<string, string>): Promise<Handler> => {
    vi.unstubAllEnvs();
    const settings = {
      JWT_SECRET: TEST_JWT_SECRET,
      REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
      ...base(),
      LOG_LEVEL: 'SILENT',
      ...env,
    };
    for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
    vi.resetModules();
    return (await import('../src/lambda')).handler;
  };
