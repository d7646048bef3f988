// The operations log: what a line holds, which levels show, where each level goes.
import { describe, expect, it } from 'vitest';
import { createJsonLog } from './json-log';

const clock = { now: () => new Date('2026-12-01T10:00:00.123Z') };

const capture = (level: Parameters<typeof createJsonLog>[0]['level']) => {
  const out: string[] = [];
  const err: string[] = [];
  const log = createJsonLog({ service: 'login-service', level, clock, out: (line) => out.push(line), err: (line) => err.push(line) });
  return { log, out, err };
};

describe('JSON log', () => {
  it('writes one JSON line with level, message, timestamp, service and the fields', () => {
    const { log, out } = capture('INFO');

    log.info('request', { method: 'POST', status: 200 });

    expect(out.map((line) => JSON.parse(line))).toEqual([
      { level: 'INFO', message: 'request', timestamp: '2026-12-01T10:00:00.123Z', service: 'login-service', method: 'POST', status: 200 },
    ]);
  });

  it('shows a level and those above it, sends WARN and ERROR to the error stream, and SILENT shows nothing', () => {
    const warn = capture('WARN');
    const silent = capture('SILENT');

    for (const { log } of [warn, silent]) {
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
    }

    expect(warn.out).toEqual([]);
    expect(warn.err.map((line) => JSON.parse(line).level)).toEqual(['WARN', 'ERROR']);
    expect([...silent.out, ...silent.err]).toEqual([]);
  });

  it('logs an error by name and message only, a bigint as text, and leaves a cycle out instead of failing', () => {
    const { log, err } = capture('DEBUG');
    const cyclic: Record<string, unknown> = { id: 1 };
    cyclic.self = cyclic;

    log.error('failed', { error: new TypeError('bad input'), count: 10n, cyclic });

    expect(JSON.parse(err[0] ?? '')).toMatchObject({
      error: { name: 'TypeError', message: 'bad input' },
      count: '10',
      cyclic: { id: 1 },
    });
    expect(err[0]).not.toContain('stack');
  });
});
