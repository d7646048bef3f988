// Brute-force throttling: consecutive failures per name with growing waits, and fixed-window ceilings per client.
import { AppError } from './errors';
import type { Clock, FailureRecord, LoginState, ThrottleStore } from './ports';
import { AGAIN, ATTEMPTS, retry } from './retry';

export type ThrottleSettings = {
  /** Consecutive failures of one name before each attempt waits (1 s, 2 s, 4 s, ...). */
  userFailures: number;
  maxDelaySeconds: number;
  /** Quiet time, after the last wait ended, that forgets a name's failures; also the per-client window. */
  windowSeconds: number;
  ipFailures: number;
  ipRegistrations: number;
  /** Mails a client may ask for per window: forgot-password, verification resends, changes of address. */
  ipMails: number;
};

export type ThrottleDeps = { throttle: ThrottleStore; clock: Clock; throttleSettings: ThrottleSettings };

export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError('too_many_attempts', 'too many attempts, try again later', {
    details: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) },
  });

/** The wait after `failures` consecutive failures: none below the limit, then 1 s, 2 s, 4 s ... up to the cap. */
export const delayMs = (settings: ThrottleSettings, failures: number): number =>
  failures < settings.userFailures
    ? 0
    : Math.min(2 ** (failures - settings.userFailures), settings.maxDelaySeconds) * 1000;

type Failures = Pick<FailureRecord, 'failures' | 'lastFailureAt'>;

/** The failures that still count at `now`: none once the last wait has ended and a whole window of quiet followed. */
export const currentFailures = (settings: ThrottleSettings, record: Failures | null, now: number): number =>
  record === null || record.failures === 0 ||
  now >= record.lastFailureAt + delayMs(settings, record.failures) + settings.windowSeconds * 1000
    ? 0
    : record.failures;

/**
 * How many attempts of a name may be checked at once at `now`: below the limit, as many as failures are left
 * before it; past it, one once the wait has ended (`waitEnds`), none before.
 */
export const allowance = (settings: ThrottleSettings, record: Failures | null, now: number) => {
  const failures = currentFailures(settings, record, now);
  if (failures < settings.userFailures) return { slots: settings.userFailures - failures, waitEnds: 0, failures };
  const waitEnds = (record?.lastFailureAt ?? 0) + delayMs(settings, failures);
  return { slots: now >= waitEnds ? 1 : 0, waitEnds, failures };
};

/** The leases of a login state still running at `now`, and those past their deadline (attempts that died). */
export const leasesAt = (state: LoginState, now: number) => {
  const live: string[] = [];
  const expired: string[] = [];
  for (const [id, deadline] of Object.entries(state.leases)) (deadline > now ? live : expired).push(id);
  return { live, expired };
};

/**
 * Whether an unknown name in this state is counted in one conditional write (no failures, or a few recent
 * ones); otherwise it is read and swapped, two round trips more, which a known name in the same state matches.
 */
export const countsInOneWrite = (settings: ThrottleSettings, record: Failures | null, now: number): boolean =>
  record === null ||
  record.failures === 0 ||
  (record.failures < settings.userFailures && record.lastFailureAt > now - settings.windowSeconds * 1000);

// A window keeps at most this many event ids (about 40 KB): a ceiling set higher is not enforced (it is off).
export const WINDOW_CAP = 1000;

/** How long a failure record is kept: until it could matter no more (its longest wait plus a window). */
export const keepMs = (settings: ThrottleSettings) => (settings.maxDelaySeconds + settings.windowSeconds) * 1000;

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

/**
 * A client's fixed window of one kind of event (failed logins, registrations, mails, passkey login options): read
 * before the work, added to after it, by event id, so a retried write counts once. A soft ceiling: the attempts in
 * flight at once from one client may all pass the read before any of them is counted (`take` is the hard one).
 */
export const clientWindow = (deps: ThrottleDeps, kind: 'login' | 'register' | 'mail' | 'passkey', ip: string) => {
  const { throttle, clock, throttleSettings: settings } = deps;
  const windowMs = settings.windowSeconds * 1000;
  const now = clock.now().getTime();
  const start = now - (now % windowMs);
  const key = `${kind}#${clientKey(ip)}#${start}`;
  // Passkey login options cost nothing to ask for and are counted like failed logins: as many per window.
  const limit = { login: settings.ipFailures, register: settings.ipRegistrations, mail: settings.ipMails, passkey: settings.ipFailures }[kind];
  /** 429 until the window ends. */
  const closed = () => tooManyAttempts((start + windowMs - clock.now().getTime()) / 1000);
  /** Counts event `id`: false when the window was full (then the client is past its ceiling). */
  const add = (id: string) => throttle.addToWindow(key, id, start + windowMs, Math.min(limit, WINDOW_CAP));
  return {
    /** 429 until the window ends, when the client has used up its ceiling. */
    assertOpen(count: number): void {
      if (count >= limit) throw closed();
    },
    count: () => throttle.windowCount(key),
    add,
    /** 429 unless event `id` fits in the window: a hard ceiling, for what must not slip past it in a burst. */
    async take(id: string): Promise<void> {
      if (!(await add(id))) throw closed();
    },
    remove: (id: string) => throttle.removeFromWindow(key, id),
  };
};

/**
 * Counts a failed attempt of a name that is no account, if the name may be checked now; throws
 * too_many_attempts otherwise. Unknown names are counted like known ones (the same limits, waits and
 * forgetting), so a 429 tells nothing about whether an account exists. Most names have no failures on record,
 * or a few: one conditional write; otherwise the record is read and swapped.
 */
export const countUnknownName = async (deps: ThrottleDeps, username: string, attempt: string): Promise<void> => {
  const { throttle, clock, throttleSettings: settings } = deps;
  const now = clock.now().getTime();
  const window = settings.windowSeconds * 1000;
  const when = { below: settings.userFailures, since: now - window };
  if (await throttle.countFailure(username, now, when, now + keepMs(settings), attempt)) return;
  const counted = await retry({ attempts: ATTEMPTS.compareAndSwap }, async () => {
    const record = await throttle.readFailures(username);
    // This attempt's own write landed already (its answer was lost, and the SDK or this loop tried again).
    if (record?.lastAttempt === attempt) return true;
    const at = clock.now().getTime();
    const { slots, waitEnds, failures } = allowance(settings, record, at);
    if (slots === 0) throw tooManyAttempts((waitEnds - at) / 1000);
    const next = { failures: failures + 1, lastFailureAt: at, lastAttempt: attempt };
    return (await throttle.writeFailures(username, record?.version ?? null, next, at + keepMs(settings))) ? true : AGAIN;
  });
  // Every turn lost to another attempt on the same name: a crowd of guesses, answered like one.
  if (counted === undefined) throw tooManyAttempts(1);
};

const HOUR_MS = 3_600_000;

/**
 * Takes one of the account's mails for this hour (forgot-password, resends, changes of address): false, and nothing
 * is counted, once `perHour` were taken. One conditional write decides, so a burst at once gets no more.
 */
export const takeAccountMail = async (
  deps: ThrottleDeps & { ids: { newId(): string } },
  uid: string,
  perHour: number,
): Promise<boolean> => {
  const now = deps.clock.now().getTime();
  const start = now - (now % HOUR_MS);
  return deps.throttle.addToWindow(`mails#${uid}#${start}`, deps.ids.newId(), start + HOUR_MS, Math.min(perHour, WINDOW_CAP));
};
