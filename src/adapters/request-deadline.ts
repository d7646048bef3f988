// One deadline per request (REQUEST_TIMEOUT_MS): the HTTP adapter sets it, every store call reads what is left.
// AsyncLocalStorage carries it through the use cases without their knowing (they know only RequestContext).
import { AsyncLocalStorage } from 'node:async_hooks';

const deadlines = new AsyncLocalStorage<number>();

/** Runs `work` with a deadline `ms` from now (performance.now() time, immune to clock changes). */
export const withDeadline = <T>(ms: number, work: () => Promise<T>): Promise<T> =>
  deadlines.run(performance.now() + ms, work);

/** Milliseconds left of the current request's deadline; Infinity outside a request (start-up, scripts). */
export const remainingMs = (): number => {
  const deadline = deadlines.getStore();
  return deadline === undefined ? Infinity : deadline - performance.now();
};
