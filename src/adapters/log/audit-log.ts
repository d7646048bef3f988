// The audit trail: one JSON line per security event, {event, username, ip, requestId, at}; never a secret.
import { createHash } from 'node:crypto';
import type { AuditLog, Clock } from '../../domain/ports';

/**
 * A name that is no account may be a password typed into the wrong field: it is logged as a short digest,
 * enough to correlate attempts, too short and too general to recover the text from a log line.
 */
export const nameDigest = (username: string) => `sha256:${createHash('sha256').update(username).digest('hex').slice(0, 12)}`;

export const createAuditLog = (clock: Clock, write: (line: string) => void): AuditLog => ({
  record(event, { username, known, context }) {
    write(
      JSON.stringify({
        event,
        username: known ? username : nameDigest(username),
        ip: context.ip,
        requestId: context.requestId,
        at: clock.now().toISOString(),
      }),
    );
  },
});
