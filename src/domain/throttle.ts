// Brute-force throttling: consecutive failures per name with growing waits, and fixed-window ceilings per client.
import { AppError } from './errors';
import type { Clock, FailureRecord, ThrottleStore, WindowCount } from './ports';

export type ThrottleSettings = {
  /** Consecutive failures of one name before each attempt waits (1 s, 2 s, 4 s, ...). */
  userFailures: number;
  maxDelaySeconds: number;
  /** Quiet time, after the last wait ended, that forgets a name's failures; also the per-client window. */
  windowSeconds: number;
  ipFailures: number;
  ipRegistrations: number;
};

export type ThrottleDeps = { throttle: ThrottleStore; clock: Clock; throttleSettings: ThrottleSettings };

const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError('too_many_attempts', 'too many attempts, try again later', {
    details: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) },
  });

/** The wait after `failures` consecutive failures: none below the limit, then 1 s, 2 s, 4 s ... up to the cap. */
export const delayMs = (settings: ThrottleSettings, failures: number): number =>
  failures < settings.userFailures
    ? 0
    : Math.min(2 ** (failures - settings.userFailures), settings.maxDelaySeconds) * 1000;

/** When this record stops mattering: its wait has ended and a whole window of quiet followed. */
const forgottenAt = (settings: ThrottleSettings, record: FailureRecord) =>
  record.lastFailureAt + delayMs(settings, record.failures) + settings.windowSeconds * 1000;

const ipKey = (kind: 'login' | 'register', ip: string) => `${kind}#${ip}`;

/** A client over its ceiling: 429 until its window ends. */
const windowFull = (window: WindowCount, windowMs: number, now: number) =>
  tooManyAttempts((window.windowStart + windowMs - now) / 1000);

/** How long a failure record is kept: until it could matter no more (its longest wait plus a window). */
const keepMs = (settings: ThrottleSettings) => (settings.maxDelaySeconds + settings.windowSeconds) * 1000;

/** The client as the ceilings see it: an IPv4 address, or the /64 an IPv6 address belongs to. */
export const clientKey = (ip: string): string => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::') as [string, string?];
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
};

/** A counted attempt. If the password is wrong, both counts simply stand. */
type LoginReservation = {
  /** The password was right: the name's failures are forgotten and the client's count given back. */
  succeeded(): Promise<void>;
};

/**
 * Counts a login attempt before its password is checked, so that parallel guesses cannot slip through
 * together: the name's record takes the next count by compare-and-swap, and the client's window counts the
 * attempt at once; those past a limit wait (429). A success takes both counts back.
 */
export const reserveLogin = async (deps: ThrottleDeps, username: string, ip: string): Promise<LoginReservation> => {
  const { throttle, clock, throttleSettings: settings } = deps;
  const client = ipKey('login', clientKey(ip));
  const windowMs = settings.windowSeconds * 1000;
  const started = clock.now().getTime();
  // Most names have no failures on record (a success clears them): first try to open the record outright,
  // in parallel with the client's count; only a name with a record needs a read and a compare-and-swap.
  const [opened, ipWindow] = await Promise.all([
    throttle.writeFailures(username, null, { failures: 1, lastFailureAt: started }, started + keepMs(settings)),
    throttle.hitWindow(client, started, windowMs),
  ]);
  if (ipWindow.count > settings.ipFailures) {
    if (opened) await throttle.clearFailures(username);
    throw windowFull(ipWindow, windowMs, started);
  }
  for (let attempt = 0; !opened; attempt += 1) {
    const record = await throttle.readFailures(username);
    const now = clock.now().getTime();
    const current = record !== null && now < forgottenAt(settings, record) ? record : null;
    const failures = current?.failures ?? 0;
    const waitEnds = (current?.lastFailureAt ?? 0) + delayMs(settings, failures);
    if (failures >= settings.userFailures && now < waitEnds) {
      // Not a checked password: the client's count for it is given back.
      await throttle.refundWindow(client, ipWindow.windowStart);
      throw tooManyAttempts((waitEnds - now) / 1000);
    }
    const next = { failures: failures + 1, lastFailureAt: now };
    if (await throttle.writeFailures(username, record?.version ?? null, next, now + keepMs(settings))) break;
    if (attempt === 4) throw tooManyAttempts(1);
  }
  return {
    succeeded: async () => {
      await Promise.all([throttle.clearFailures(username), throttle.refundWindow(client, ipWindow.windowStart)]);
    },
  };
};

/** Counts a registration from this client; past the ceiling, 429 (this also bounds probing names through 409s). */
export const countRegistration = async (deps: ThrottleDeps, ip: string): Promise<void> => {
  const { throttle, clock, throttleSettings: settings } = deps;
  const windowMs = settings.windowSeconds * 1000;
  const now = clock.now().getTime();
  const window = await throttle.hitWindow(ipKey('register', clientKey(ip)), now, windowMs);
  if (window.count > settings.ipRegistrations) throw windowFull(window, windowMs, now);
};
