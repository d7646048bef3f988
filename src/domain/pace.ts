// Pacing: a throttled answer waits as long as a failed password check takes, so timing tells nothing.
import type { Clock, Timer } from './ports';

export type Pacer = {
  /** Learns how long the recorded kind of work took (from `startedAt` to `endedAt`, by default now). */
  record(startedAt: number, endedAt?: number): void;
  /** Waits until a typical failed login started at `startedAt` would have answered. */
  pad(startedAt: number): Promise<void>;
};

// The median of the recent failures: robust to the odd slow one (a cold start, a garbage collection).
const RECENT = 63;
// A timer fires late by about this much; aiming a little early lands on the median.
const TIMER_SLACK_MS = 1;

/**
 * `quantile` of the recent durations is the time every padded answer waits for: the median (0.5) matches a failed
 * login's typical time; a higher one makes even most of the recorded kind wait (the work they do varies), so every
 * kind's typical time is that one figure.
 */
export const createPacer = (clock: Clock, timer: Timer, initialMs = 20, quantile = 0.5): Pacer => {
  const recent: number[] = [];
  let next = 0;
  const typicalMs = () => {
    if (recent.length === 0) return initialMs;
    const sorted = [...recent].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * quantile))] as number;
  };
  return {
    record(startedAt, endedAt = clock.now().getTime()) {
      recent[next] = endedAt - startedAt;
      next = (next + 1) % RECENT;
    },
    async pad(startedAt) {
      const remaining = startedAt + typicalMs() - TIMER_SLACK_MS - clock.now().getTime();
      if (remaining > 0) await timer.sleep(remaining);
    },
  };
};
