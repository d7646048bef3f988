// The audit trail: one JSON line per security event, {event, username, ip, requestId, method?, at}; never a secret.
import type { AuditLog, Clock } from '../../domain/ports';

/**
 * A name that is no account may be a password typed into the wrong field: it is logged as a short keyed
 * digest (`nameDigest`, an HMAC), enough to correlate attempts; without the server's key, a dictionary of
 * guesses cannot be matched against it.
 */
export const createAuditLog = (
  clock: Clock,
  nameDigest: (name: string) => string,
  write: (line: string) => void,
): AuditLog => ({
  record(event, { username, known, context, method }) {
    write(
      JSON.stringify({
        event,
        username: known ? username : `hmac:${nameDigest(username).slice(0, 12)}`,
        ip: context.ip,
        requestId: context.requestId,
        ...(method === undefined ? {} : { method }),
        at: clock.now().toISOString(),
      }),
    );
  },
});
