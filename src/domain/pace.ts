// Pacing: a throttled answer waits as long as a failed password check takes, so timing tells nothing.
import type { Clock, Timer } from './ports';

export type Pacer = {
  /** Learns how long a failed login took (a moving average). */
  record(startedAt: number): void;
  /** Waits until a typical failed login started at `startedAt` would have answered. */
  pad(startedAt: number): Promise<void>;
};

export const createPacer = (clock: Clock, timer: Timer, initialMs = 20): Pacer => {
  let typicalMs = initialMs;
  return {
    record(startedAt) {
      typicalMs = typicalMs * 0.9 + (clock.now().getTime() - startedAt) * 0.1;
    },
    async pad(startedAt) {
      const remaining = startedAt + typicalMs - clock.now().getTime();
      if (remaining > 0) await timer.sleep(remaining);
    },
  };
};
