// For the mail tests: everything the process prints while a call runs (console and stdout/stderr writes alike).

/** Runs `act`, returning what it printed; the real writers are back in place afterwards, even when it throws. */
export const capturedOutput = async (act: () => Promise<unknown>): Promise<string> => {
  const printed: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originals = consoleMethods.map((method) => console[method]);
  for (const stream of streams) {
    stream.write = ((chunk: unknown) => (printed.push(String(chunk)), true)) as typeof stream.write;
  }
  for (const method of consoleMethods) console[method] = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  try {
    await act().catch(() => undefined);
  } finally {
    streams.forEach((stream, i) => (stream.write = writes[i]!));
    consoleMethods.forEach((method, i) => (console[method] = originals[i]!));
  }
  return printed.join('');
};
