// Use case: bring users from another system, one JSON line each, checked as registration checks them and written
// without overwriting anyone unless asked; and the same line shape for the export.
import { displayName } from './credentials';
import { AppError } from './errors';
import type { Ids, SessionStore, Timer, UserRecord } from './ports';
import { ATTEMPTS, retry } from './retry';
import { legacyUsernameKeys, registrableUsername } from './username';

/** One user of an import or export file (a JSON object on one line); `createdAt` may be absent. */
export type TransferRecord = { username: string; name: string; passwordHash: string; createdAt?: string };

/** A hash's format (`bcrypt`, `argon2id`, ...), or why it cannot be imported; the adapter that verifies hashes knows. */
export type HashCheck = { format: string } | { problem: string };

/** A user ready to be written: its name normalized, its fields checked. */
export type ImportedUser = { username: string; name: string; passwordHash: string; createdAt: string | null };

export type UserTransferStore = {
  /** The first of `keys` that holds a user (a strongly consistent read), or undefined. */
  findExisting(keys: readonly string[]): Promise<string | undefined>;
  /** Creates the user with `uid` and credentialVersion 0, only if nobody has its username: false otherwise. */
  insert(user: ImportedUser, uid: string): Promise<boolean>;
  /**
   * The user stored under `key`, if any, takes the name and hash of `user` (and its createdAt if it had none); its
   * credentialVersion grows by one and its uid stays (`uid` if it had none). Answers the uid it had (null for none),
   * or undefined when nobody is stored under `key`.
   */
  overwrite(key: string, user: ImportedUser, uid: string): Promise<{ previousUid: string | null } | undefined>;
};

export type ImportDeps = {
  users: UserTransferStore;
  sessions: Pick<SessionStore, 'removeAll'>;
  ids: Ids;
  timer: Timer;
  checkHash(passwordHash: string): HashCheck;
};

export type ImportOptions = {
  /** Checks everything (the store is read, to tell what would be skipped) and writes nothing. */
  dryRun: boolean;
  /** An existing user takes the line's name and hash, keeps its uid, and loses its sessions. */
  overwrite: boolean;
  /** Users written at once. */
  concurrency: number;
};

/** What became of the lines: in a dry run, what would have. */
export type ImportSummary = {
  /** Lines read, blank ones included (line numbers count them). */
  lines: number;
  created: number;
  /** Existing users left as they were. */
  skipped: number;
  /** Existing users overwritten (--overwrite). */
  replaced: number;
  /** Lines that are no valid user. */
  invalid: number;
  /** Lines whose normalized name an earlier line already had. */
  duplicates: number;
  /** Users the store failed to take (the rest of the import went on). */
  failed: number;
  /** Hash formats of the valid lines, by count. */
  formats: Record<string, number>;
};

export type ImportEvents = {
  /** A line that was not imported, and why (line numbers count from 1). */
  problem(line: number, message: string): void;
  /** After each line is settled. */
  progress?(summary: Readonly<ImportSummary>): void;
};

const FIELDS = ['username', 'name', 'passwordHash', 'createdAt'] as const;
// createdAt as the export writes it and as JSON usually carries dates: an ISO 8601 UTC or offset timestamp.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** One export line for a stored user: the fields an import reads, nothing else (no uid, no login state). */
export const exportLine = (user: Pick<UserRecord, 'username' | 'name' | 'passwordHash' | 'createdAt'>): string => {
  const record: TransferRecord = { username: user.username, name: user.name, passwordHash: user.passwordHash };
  if (user.createdAt !== null) record.createdAt = user.createdAt;
  return JSON.stringify(record);
};

export type ParsedLine =
  | { kind: 'blank' }
  | { kind: 'user'; user: ImportedUser; format: string; olderKeys: string[] }
  | { kind: 'invalid'; problem: string };

const invalid = (problem: string): ParsedLine => ({ kind: 'invalid', problem });

/** Checks one line: a JSON object with the user's fields, each as registration would take it. Other fields are ignored. */
export const parseImportLine = (text: string, checkHash: ImportDeps['checkHash']): ParsedLine => {
  if (text.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('not a JSON object');
  const record = value as Record<string, unknown>;
  for (const field of FIELDS) {
    if (field === 'createdAt' && (record[field] === undefined || record[field] === null)) continue;
    if (typeof record[field] !== 'string') return invalid(`${field} must be a string`);
  }
  const { username: rawUsername, name: rawName, passwordHash, createdAt } = record as TransferRecord;
  let username: string;
  let name: string;
  try {
    username = registrableUsername(rawUsername);
    name = displayName(rawName);
  } catch (error) {
    if (error instanceof AppError) return invalid(error.message);
    throw error;
  }
  if (createdAt !== undefined && (!TIMESTAMP.test(createdAt) || Number.isNaN(Date.parse(createdAt)))) {
    return invalid('createdAt must be an ISO 8601 timestamp such as 2026-11-26T09:30:00.000Z');
  }
  const hash = checkHash(passwordHash);
  if ('problem' in hash) return invalid(`passwordHash: ${hash.problem}`);
  return {
    kind: 'user',
    user: { username, name, passwordHash, createdAt: createdAt === undefined ? null : new Date(createdAt).toISOString() },
    format: hash.format,
    // An account stored before today's normalization (or by the tutorial) is found at login under one of these:
    // it is an existing user too, and a new item under the normalized name would shadow it.
    olderKeys: legacyUsernameKeys(rawUsername),
  };
};

type Outcome = 'created' | 'skipped' | 'replaced';

/**
 * Imports the lines. Each is checked in order (so of two lines with one normalized name, the first wins), then up
 * to `concurrency` users are written at once, each by a conditional write: an existing user is never overwritten
 * unless `overwrite`, and then its sessions end. A bad line, a duplicate or a store failure is reported with its
 * line number, and the rest goes on.
 */
export const importUsers = async (
  deps: ImportDeps,
  lines: AsyncIterable<string> | Iterable<string>,
  options: ImportOptions,
  events: ImportEvents,
): Promise<ImportSummary> => {
  const summary: ImportSummary = {
    lines: 0,
    created: 0,
    skipped: 0,
    replaced: 0,
    invalid: 0,
    duplicates: 0,
    failed: 0,
    formats: {},
  };
  const firstLine = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  const settled = () => events.progress?.(summary);

  const write = async (line: number, user: ImportedUser, olderKeys: string[]) => {
    try {
      const outcome = await writeOne(deps, user, olderKeys, options);
      summary[outcome] += 1;
    } catch (error) {
      summary.failed += 1;
      events.problem(line, failureMessage(error));
    }
    settled();
  };

  for await (const text of lines) {
    summary.lines += 1;
    const line = summary.lines;
    const parsed = parseImportLine(line === 1 ? text.replace(/^\uFEFF/, '') : text, deps.checkHash);
    if (parsed.kind === 'blank') continue;
    if (parsed.kind === 'invalid') {
      summary.invalid += 1;
      events.problem(line, parsed.problem);
      settled();
      continue;
    }
    const first = firstLine.get(parsed.user.username);
    if (first !== undefined) {
      summary.duplicates += 1;
      events.problem(line, `duplicate of line ${first} (both are "${parsed.user.username}"): the first one is kept`);
      settled();
      continue;
    }
    firstLine.set(parsed.user.username, line);
    summary.formats[parsed.format] = (summary.formats[parsed.format] ?? 0) + 1;
    const task = write(line, parsed.user, parsed.olderKeys).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return summary;
};

// A store that is briefly unavailable (throttling, a dropped connection) gets a few more tries before the line fails.
const retryUnavailable = <T>(deps: ImportDeps, work: () => Promise<T>): Promise<T> =>
  retry(
    {
      attempts: ATTEMPTS.cleanUp,
      pause: (turn) => deps.timer.sleep(200 * 2 ** turn),
      retryOnError: (error) => error instanceof AppError && error.code === 'service_unavailable',
    },
    work,
  ) as Promise<T>;

const writeOne = async (
  deps: ImportDeps,
  user: ImportedUser,
  olderKeys: string[],
  options: ImportOptions,
): Promise<Outcome> => {
  if (options.dryRun) {
    const existing = await retryUnavailable(deps, () => deps.users.findExisting([user.username, ...olderKeys]));
    return existing === undefined ? 'created' : options.overwrite ? 'replaced' : 'skipped';
  }
  // Names are only ever written under today's normalization, so an older key found now stays taken (unless the
  // overwrite below finds it deleted): no race to lose.
  let older =
    olderKeys.length === 0 ? undefined : await retryUnavailable(deps, () => deps.users.findExisting(olderKeys));
  for (let turn = 0; turn < ATTEMPTS.compareAndSwap; turn += 1) {
    if (older === undefined && (await retryUnavailable(deps, () => deps.users.insert(user, deps.ids.newId())))) {
      return 'created';
    }
    if (!options.overwrite) return 'skipped';
    const key = older ?? user.username;
    const replaced = await retryUnavailable(deps, () => deps.users.overwrite(key, user, deps.ids.newId()));
    if (replaced === undefined) {
      // Deleted between the two writes: create it after all.
      older = undefined;
      continue;
    }
    // The user changed first, then its sessions go (as a password change does): a login racing with this sees the
    // new credentialVersion and drops the session it just wrote.
    if (replaced.previousUid !== null) await endSessions(deps, replaced.previousUid);
    return 'replaced';
  }
  throw new AppError('service_unavailable', 'the user kept changing while it was written; run this line again');
};

const endSessions = async (deps: ImportDeps, uid: string) => {
  try {
    await retry({ attempts: ATTEMPTS.cleanUp, retryOnError: () => true }, () => deps.sessions.removeAll(uid));
  } catch (error) {
    throw new AppError(
      'service_unavailable',
      `the user was replaced, but its sessions could not all be ended (${failureMessage(error)}); import this line again`,
      { cause: error },
    );
  }
};

const failureMessage = (error: unknown): string =>
  error instanceof AppError ? `${error.code}: ${error.message}` : error instanceof Error ? error.name : 'unknown failure';
