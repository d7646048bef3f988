// Keeps the JSON lines (log and audit lines) the process writes, instead of printing them; anything else still
// goes through. For tests that check what the service logs.
import { vi } from 'vitest';

/** Appends each JSON line written to `streams` to `lines`, from now until the returned function is called. */
export const captureJsonLines = (
  lines: string[],
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): (() => void) => {
  const spies = streams.map((stream) => {
    const write = stream.write.bind(stream);
    return vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (text.startsWith('{')) {
        lines.push(...text.split('\n').filter(Boolean));
        return true;
      }
      return (write as (chunk: string, ...rest: unknown[]) => boolean)(text, ...rest);
    });
  });
  return () => {
    for (const spy of spies) spy.mockRestore();
  };
};
