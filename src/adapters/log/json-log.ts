// The operations log: one JSON line per entry, {level, message, timestamp, service, ...fields}, the shape Lambda's
// JSON log format and CloudWatch Logs Insights read. Written by hand instead of by a logging library: measured, the
// library cost a cold start ~5 ms to load and set up, and each request line more work, for four levels and a line.
import type { Clock } from '../../domain/ports';
import { LOG_LEVELS, type LogLevel } from '../../settings-types';

export type Fields = Record<string, unknown>;
export type JsonLog = Record<'debug' | 'info' | 'warn' | 'error', (message: string, fields?: Fields) => void>;

export type JsonLogOptions = {
  service: string;
  level: LogLevel;
  clock: Clock;
  /** Where lines go: DEBUG and INFO to `out`, WARN and ERROR to `err` (stdout and stderr by default). */
  out?: (line: string) => void;
  err?: (line: string) => void;
};

// An Error among the fields is logged by name and message (its stack may hold request data); a bigint as text; a
// value met twice on one path (a cycle) is left out rather than failing the line.
const replacer = () => {
  const seen = new WeakSet<object>();
  return (_key: string, value: unknown) => {
    if (value instanceof Error) return { name: value.name, message: value.message };
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return undefined;
      seen.add(value);
    }
    return value;
  };
};

export const createJsonLog = (options: JsonLogOptions): JsonLog => {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const out = options.out ?? ((line) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line) => process.stderr.write(`${line}\n`));
  const writer = (level: Exclude<LogLevel, 'SILENT'>) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return () => undefined;
    const write = level === 'WARN' || level === 'ERROR' ? err : out;
    return (message: string, fields: Fields = {}) =>
      write(
        JSON.stringify(
          { level, message, timestamp: options.clock.now().toISOString(), service: options.service, ...fields },
          replacer(),
        ),
      );
  };
  return { debug: writer('DEBUG'), info: writer('INFO'), warn: writer('WARN'), error: writer('ERROR') };
};
