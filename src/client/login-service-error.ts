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

/** What may stand for the second step: POST /login/mfa with a code or a recovery code, or a passkey login. */
export type MfaMethod = 'totp' | 'recovery_code' | 'passkey';

/**
 * 403 mfa_required: the password was right and the account has a second factor. No session started; finish the
 * login with `loginMfa({ mfaToken, code })` (or `recoveryCode`), or with a passkey when `methods` has "passkey".
 */
export class MfaRequiredError extends LoginServiceError {
  /**
   * The step-up token (it lasts a few minutes and finishes one login). Not enumerable, so logging the error or
   * JSON.stringify(error) does not write it out; read it by name.
   */
  declare readonly mfaToken: string;
  readonly methods: readonly MfaMethod[];

  constructor(init: LoginServiceErrorInit & { mfaToken: string; methods: readonly MfaMethod[] }) {
    const { mfaToken, methods, ...rest } = init;
    super(rest);
    Object.defineProperty(this, 'mfaToken', { value: mfaToken, enumerable: false });
    this.methods = methods;
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
  if (body.code === 'mfa_required' && typeof body.mfaToken === 'string' && Array.isArray(body.methods)) {
    return new MfaRequiredError({
      status,
      code: 'mfa_required',
      message: body.message,
      mfaToken: body.mfaToken,
      // A method this client does not know yet is passed on as it came: the caller may know it.
      methods: body.methods.filter((method) => typeof method === 'string') as MfaMethod[],
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
