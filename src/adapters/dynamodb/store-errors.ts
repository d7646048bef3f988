// Translates SDK failures at the boundary: an unreachable, slow or throttling store is 503, anything else a 500;
// and the two ways every store adapter calls DynamoDB.
import { AppError } from '../../domain/errors';
import { TRANSIENT_NETWORK_CODES } from '../aws/json-protocol';
import { remainingMs } from '../request-deadline';

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


type SdkLikeError = { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };

export const isConditionFailure = (error: unknown): boolean =>
  (error as SdkLikeError | null)?.name === 'ConditionalCheckFailedException';

export const translateStoreError = (error: unknown): AppError => {
  if (error instanceof AppError) return error;
  const e = (error ?? {}) as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  const unavailable =
    UNAVAILABLE_NAMES.has(e.name ?? '') ||
    TRANSIENT_NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && status >= 500);
  return unavailable
    ? new AppError('service_unavailable', 'the store is unavailable, try again shortly', { cause: error })
    : new AppError('internal_error', 'the store failed', { cause: error });
};

type ErrorChain = { name?: unknown; code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };

// How deep describeCause looks into causes and aggregated errors (real chains are two or three deep).
const MAX_CAUSE_DEPTH = 4;

/** One error's own words: its message, with its code in front unless the message already says it. */
const ownWords = ({ name, code, message }: ErrorChain): string => {
  const said = typeof message === 'string' ? message.replace(/\s+/g, ' ').trim() : '';
  const tag = typeof code === 'string' ? code : '';
  if (said === '') return tag || (typeof name === 'string' ? name : 'unknown error');
  return tag === '' || said.includes(tag) ? said : `${tag}: ${said}`;
};

/**
 * The real cause of a failure, in words, for a start-up message. The SDK hands over Node's own error (an
 * `ECONNREFUSED`) whose name is a bare `Error`, sometimes as an AggregateError (one error per address tried, its
 * own message empty) or behind `cause`: the codes and messages of that chain, each said once.
 */
export const describeCause = (error: unknown, depth = 0): string => {
  if (error === null || typeof error !== 'object') return String(error);
  const chain = error as ErrorChain;
  const deeper = depth < MAX_CAUSE_DEPTH;
  const inner = deeper && Array.isArray(chain.errors) ? chain.errors.map((e: unknown) => describeCause(e, depth + 1)) : [];
  const text = inner.length > 0 ? [...new Set(inner)].join('; ') : ownWords(chain);
  const cause = deeper && chain.cause !== undefined ? describeCause(chain.cause, depth + 1) : '';
  return cause === '' || text.includes(cause) ? text : `${text}: ${cause}`;
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

/**
 * A conditional update that returns its item (`ReturnValues`): the attributes it answered (`{}` when none), or
 * null when the condition failed; any other error translated.
 */
export const conditionalUpdate = async (
  update: () => Promise<{ Attributes?: Record<string, unknown> | undefined }>,
): Promise<Record<string, unknown> | null> => {
  try {
    return (await update()).Attributes ?? {};
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw translateStoreError(error);
  }
};

/**
 * One bound per call, SDK retries included: the smaller of STORE_TIMEOUT_MS and what is left of the request's
 * deadline, so a hung store becomes a prompt 503, not a Lambda timeout, however many calls a request makes.
 * A call with no time left is not sent at all.
 */
export const callOptions = (timeoutMs: number) => {
  const ms = Math.min(timeoutMs, Math.floor(remainingMs()));
  if (ms <= 0) {
    throw new AppError('service_unavailable', 'the request ran out of time', { cause: new Error('request deadline passed') });
  }
  return { abortSignal: AbortSignal.timeout(ms) };
};

/** Runs store work, translating whatever it throws. */
export const translated = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw translateStoreError(error);
  }
};
