// Translates SDK failures at the boundary: an unreachable, slow or throttling store is 503, anything else a 500.
import { AppError } from '../../domain/errors';

const UNAVAILABLE_NAMES = new Set([
  'AbortError',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'LimitExceededException',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

type SdkLikeError = { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };

export const isConditionFailure = (error: unknown): boolean =>
  (error as SdkLikeError | null)?.name === 'ConditionalCheckFailedException';

export const translateStoreError = (error: unknown): AppError => {
  const e = (error ?? {}) as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  const unavailable =
    UNAVAILABLE_NAMES.has(e.name ?? '') ||
    NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && status >= 500);
  return unavailable
    ? new AppError('service_unavailable', 'the user store is unavailable, try again shortly', { cause: error })
    : new AppError('internal_error', 'the user store failed', { cause: error });
};

/** Runs a conditional write: true when it happened, false when its condition failed; other failures translated. */
export const conditionalWrite = async (write: () => Promise<unknown>): Promise<boolean> => {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw translateStoreError(error);
  }
};
