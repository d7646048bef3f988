// Captures everything the process writes to stdout and stderr, so a security test can prove no secret was logged.
import { expect, vi } from 'vitest';

export type LogGuard = {
  /** Secrets that must never appear in a captured line: passwords, tokens, hashes, keys. */
  remember(...secrets: string[]): void;
  /** Every non-empty line captured so far (also after stop). */
  lines(): string[];
  /** The captured lines the app wrote for a request it answered (one per request). */
  requestLines(): string[];
  /**
   * Fails if no request line was captured (a silenced logger or a broken capture would otherwise pass), or if
   * any remembered secret, as is or JSON-escaped, appears in any captured line.
   */
  assertClean(): void;
  /** Stops capturing; the captured lines stay available to assertClean. */
  stop(): void;
};

// Shorter strings turn up in ordinary log text by chance: the guard would cry wolf.
const MIN_SECRET_LENGTH = 8;

const textOf = (chunk: unknown): string =>
  typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);

// The app logs one line per request it answers (src/adapters/http/app.ts): a guard that saw none searched nothing.
const REQUEST_LINE = '"message":"request"';

// Logs are JSON lines: a secret with a quote, a backslash or a control character is written escaped.
const formsOf = (secret: string): string[] => {
  const escaped = JSON.stringify(secret).slice(1, -1);
  return escaped === secret ? [secret] : [secret, escaped];
};

/** Starts capturing at once: call it before the app under test writes anything (module scope or beforeAll). */
export const guardLogs = (): LogGuard => {
  const captured: string[] = [];
  const secrets = new Set<string>();
  const spies = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      captured.push(...textOf(chunk).split('\n').filter((line) => line !== ''));
      // The output is swallowed, but a writer waiting for its callback must still hear that the write is done.
      const callback = rest.find((arg): arg is (error: Error | null) => void => typeof arg === 'function');
      if (callback !== undefined) process.nextTick(callback, null);
      return true;
    }),
  );

  const requestLines = () => captured.filter((line) => line.includes(REQUEST_LINE));

  return {
    remember(...values) {
      for (const value of values) {
        if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
          throw new TypeError(`a remembered secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
        }
        secrets.add(value);
      }
    },
    lines: () => [...captured],
    requestLines,
    assertClean() {
      expect(
        requestLines().length,
        `request log lines captured (of ${captured.length} lines): none means the guard searched nothing`,
      ).toBeGreaterThan(0);
      // Describes a leak without repeating the secret: the test report is a log too.
      const leaks: string[] = [];
      [...secrets].forEach((secret, index) => {
        const forms = formsOf(secret);
        captured.forEach((line, lineNumber) => {
          if (forms.some((form) => line.includes(form))) {
            leaks.push(`secret #${index} (${secret.length} characters) in captured line ${lineNumber}`);
          }
        });
      });
      expect(leaks, 'remembered secrets found in the captured logs').toEqual([]);
    },
    stop() {
      for (const spy of spies) spy.mockRestore();
    },
  };
};
