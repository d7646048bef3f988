// Translates SDK failures at the boundary: an unreachable, slow or throttling store is 503, anything else a 500;
// and the two ways every store adapter calls DynamoDB.
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
    ? new AppError('service_unavailable', 'the store is unavailable, try again shortly', { cause: error })
    : new AppError('internal_error', 'the store failed', { cause: error });
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

/** One deadline per call, SDK retries included: a hung store becomes a prompt 503, not a Lambda timeout. */
export const callOptions = (timeoutMs: number) => ({ abortSignal: AbortSignal.timeout(timeoutMs) });

/** Runs store work, translating whatever it throws. */
export const translated = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw translateStoreError(error);
  }
};
