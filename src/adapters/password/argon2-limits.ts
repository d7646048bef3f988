// The argon2 costs a login will check, kept apart so the login bundle carries only these few lines of the formats.
import type { Argon2Params } from '../../settings-types';

/** 256 MiB, and memory times passes at most 1 GiB (~1 s here); our own policy's hashes are always within. */
export const ARGON2_LIMITS = { memoryKiB: 262_144, work: 1_048_576, parallelism: 16 } as const;

/**
 * Whether argon2 parameters are within the limits, or within our own policy (which may be set above them): a hash
 * this service wrote is never refused.
 */
export const argon2WithinLimits = (hash: Argon2Params, policy: Argon2Params): boolean =>
  hash.memoryKiB <= Math.max(ARGON2_LIMITS.memoryKiB, policy.memoryKiB) &&
  hash.memoryKiB * hash.timeCost <= Math.max(ARGON2_LIMITS.work, policy.memoryKiB * policy.timeCost) &&
  hash.parallelism <= Math.max(ARGON2_LIMITS.parallelism, policy.parallelism);

/** Why an argon2 hash is refused at import, or undefined when it is within the limits. */
export const argon2LimitProblem = (hash: Argon2Params, policy: Argon2Params): string | undefined =>
  argon2WithinLimits(hash, policy)
    ? undefined
    : `argon2 m=${hash.memoryKiB},t=${hash.timeCost},p=${hash.parallelism} is beyond ${ARGON2_LIMITS.memoryKiB} KiB, ` +
      `${ARGON2_LIMITS.work} KiB x passes or p=${ARGON2_LIMITS.parallelism}: one check would take too long (a denial of service)`;
