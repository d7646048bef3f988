// The error catalogue: every failure the service reports has one of these stable codes (public API: never rename).
export const ERROR_CODES = [
  'invalid_json',
  'invalid_request',
  'weak_password',
  'invalid_credentials',
  'invalid_token',
  'missing_token',
  'token_expired',
  'invalid_refresh_token',
  'refresh_token_reused',
  'not_found',
  'method_not_allowed',
  'username_taken',
  'email_taken',
  'invalid_verification_token',
  'invalid_reset_token',
  'mfa_required',
  'invalid_mfa_code',
  'invalid_mfa_token',
  'mfa_already_enabled',
  'mfa_not_enabled',
  'invalid_passkey',
  'too_many_attempts',
  'payload_too_large',
  'headers_too_large',
  'internal_error',
  'service_unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Details that are safe to show a client (a field name, reasons); never a secret. */
export type ErrorDetails = {
  field?: string;
  reasons?: readonly string[];
  retryAfterSeconds?: number;
  /**
   * A code answered with another status than its usual one on some route (invalid_mfa_code is a 400 where a code
   * confirms an enrolment, not a login): the route table lists it under that status.
   */
  status?: 400;
};

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  /** Fields the answer carries beside code and message (a step-up's token): for the client only, never logged. */
  readonly body: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetails; cause?: unknown; body?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.body = options.body;
  }
}

/** An invalid_request that names the offending field, as every validation failure must. */
export const invalidField = (field: string, message: string): AppError =>
  new AppError('invalid_request', message, { details: { field } });

/** Unknown user and wrong password: one error, one message, so neither can be told from the other. */
export const invalidCredentials = (): AppError => new AppError('invalid_credentials', 'invalid username or password');

/**
 * A wrong password behind a verified access token (password change, account deletion): the same code, but no
 * username was sent, so the message speaks of the password alone (`what`: the field's name in words).
 */
export const incorrectPassword = (what: 'password' | 'current password', cause?: unknown): AppError =>
  new AppError('invalid_credentials', `the ${what} is incorrect`, { cause });

export const invalidRefreshToken = (): AppError =>
  new AppError('invalid_refresh_token', 'the refresh token is invalid or expired');
