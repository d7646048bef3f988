// The one error the client throws: the service's {code, message} answer with its status, or why there was none.
import type { WeakPasswordReason } from '../domain/credentials';
import type { ErrorCode } from '../domain/errors';

/**
 * Failures of the client's own, beside the service's codes:
 * - `network_error` (status 0): the request or its answer never arrived (no connection, DNS, CORS, aborted);
 * - `invalid_response`: an answer that is not the service's JSON (a proxy's HTML error page, a cut-off body);
 * - `no_session` (status 0): `refresh()` without a session to refresh.
 */
export type ClientErrorCode = 'network_error' | 'invalid_response' | 'no_session';

export type LoginServiceErrorCode = ErrorCode | ClientErrorCode;

export type LoginServiceErrorInit = {
  status: number;
  code: LoginServiceErrorCode;
  message: string;
  /** The request field an invalid_request names. */
  field?: string;
  /** Every rule a weak_password broke. */
  reasons?: readonly WeakPasswordReason[];
  /** From `Retry-After`: 429 too_many_attempts and 503 service_unavailable. */
  retryAfterSeconds?: number;
  cause?: unknown;
};

export class LoginServiceError extends Error {
  override readonly name = 'LoginServiceError';
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly code: LoginServiceErrorCode;
  readonly field?: string;
  readonly reasons?: readonly WeakPasswordReason[];
  readonly retryAfterSeconds?: number;

  constructor({ status, code, message, field, reasons, retryAfterSeconds, cause }: LoginServiceErrorInit) {
    super(message, cause === undefined ? undefined : { cause });
    this.status = status;
    this.code = code;
    if (field !== undefined) this.field = field;
    if (reasons !== undefined) this.reasons = reasons;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Retry-After is delta-seconds from this service; an HTTP date (a proxy's) is turned into seconds too. */
const retryAfterSeconds = (header: string | null, now: number): number | undefined => {
  if (header === null) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The error an unsuccessful answer stands for: the service's own body, or invalid_response when it is not one. */
export const errorFromAnswer = (status: number, headers: Headers, text: string, now: number): LoginServiceError => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isRecord(body) || typeof body.code !== 'string' || typeof body.message !== 'string') {
    return new LoginServiceError({
      status,
      code: 'invalid_response',
      message: `the login service answered ${status} without its JSON error body`,
    });
  }
  return new LoginServiceError({
    status,
    code: body.code as LoginServiceErrorCode,
    message: body.message,
    field: typeof body.field === 'string' ? body.field : undefined,
    reasons: Array.isArray(body.reasons) ? (body.reasons as WeakPasswordReason[]) : undefined,
    retryAfterSeconds: retryAfterSeconds(headers.get('Retry-After'), now),
  });
};
