// The one retry helper: every loop that tries a compare-and-swap (or a clean-up) again goes through it, with a
// named bound.
//
// How it composes with the SDK: each store call inside `work` is one call to the store adapter, which makes up to
// 3 SDK attempts but is cut off by one abort signal at the smaller of STORE_TIMEOUT_MS and what is left of the
// request's deadline (REQUEST_TIMEOUT_MS). These loops add attempts of our own, never time: however many turns
// they take, no store call outlives the request's deadline, so a request's total time stays within
// REQUEST_TIMEOUT_MS (plus the CPU work of the last turn).

/** How many times each kind of loop may try. */
export const ATTEMPTS = {
  /** A compare-and-swap that lost to a concurrent writer: read again and retry (rotation, a name's count). */
  compareAndSwap: 5,
  /** A clean-up that must happen (ending the sessions of a changed account; unprocessed batch items). */
  cleanUp: 3,
} as const;

/** What `work` returns to ask for another turn. */
export const AGAIN: unique symbol = Symbol('again');

export type RetryOptions = {
  attempts: number;
  /** Waits between turns (none when absent); `turn` counts from 1. */
  pause?: (turn: number) => Promise<void>;
  /** Also retry when `work` throws this (the last turn's error is thrown). */
  retryOnError?: (error: unknown) => boolean;
};

/** Runs `work` until it returns a value; undefined when every turn asked for another. */
export const retry = async <T>(
  options: RetryOptions,
  work: (turn: number) => Promise<T | typeof AGAIN>,
): Promise<T | undefined> => {
  for (let turn = 1; turn <= options.attempts; turn += 1) {
    try {
      const result = await work(turn);
      if (result !== AGAIN) return result;
    } catch (error) {
      if (turn === options.attempts || options.retryOnError?.(error) !== true) throw error;
    }
    if (turn < options.attempts) await options.pause?.(turn);
  }
  return undefined;
};
