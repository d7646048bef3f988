// The one table from error code to HTTP status, and the one shape of an error body: {code, message}.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, type ErrorCode } from '../../domain/errors';

export const STATUS_BY_CODE: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_json: 400,
  invalid_request: 400,
  weak_password: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  missing_token: 401,
  token_expired: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  email_taken: 409,
  invalid_verification_token: 400,
  invalid_reset_token: 400,
  mfa_required: 403,
  invalid_mfa_code: 401,
  invalid_mfa_token: 401,
  mfa_already_enabled: 409,
  mfa_not_enabled: 400,
  invalid_passkey: 401,
  too_many_attempts: 429,
  payload_too_large: 413,
  headers_too_large: 431,
  internal_error: 500,
  service_unavailable: 503,
};

/** Seconds a client should wait before retrying when the store is down. */
const RETRY_AFTER_SECONDS = 2;

/** Anything that is not an AppError is a fault of ours: the client learns nothing more than that. */
export const toAppError = (error: unknown): AppError =>
  error instanceof AppError ? error : new AppError('internal_error', 'internal error', { cause: error });

export const errorResponse = (c: Context, error: AppError, extra: Record<string, unknown> = {}) => {
  const body: Record<string, unknown> = { code: error.code, message: error.message, ...extra, ...error.body };
  if (error.details?.field !== undefined) body.field = error.details.field;
  if (error.details?.reasons !== undefined) body.reasons = error.details.reasons;
  if (error.code === 'service_unavailable') c.header('Retry-After', String(RETRY_AFTER_SECONDS));
  if (error.details?.retryAfterSeconds !== undefined) c.header('Retry-After', String(error.details.retryAfterSeconds));
  // RFC 6750: a request without credentials gets the bare challenge; a bad token gets error="invalid_token".
  if (error.code === 'missing_token') c.header('WWW-Authenticate', 'Bearer');
  if (error.code === 'invalid_token' || error.code === 'token_expired') {
    c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
  }
  c.header('Cache-Control', 'no-store');
  return c.json(body, error.details?.status ?? STATUS_BY_CODE[error.code]);
};
