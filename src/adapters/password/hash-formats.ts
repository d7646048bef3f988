// The stored-hash formats this service verifies, parsed and bounded: one reader for the import's checks and the login.
import type { Argon2Params } from '../../settings-types';

/** A stored hash this service can verify, with the parameters its check will use. */
export type ParsedHash =
  | { format: 'argon2id' | 'argon2i'; memoryKiB: number; timeCost: number; parallelism: number }
  | { format: 'bcrypt'; cost: number }
  | {
      format: 'scrypt-better-auth' | 'scrypt-phc';
      N: number;
      r: number;
      p: number;
      salt: Buffer;
      key: Buffer;
      /** better-auth hashes the password NFKC-normalized; a PHC string says nothing, so it is hashed as typed. */
      nfkc: boolean;
    }
  | { format: 'pbkdf2-sha256-django'; iterations: number; salt: Buffer; key: Buffer };

export type HashFormat = ParsedHash['format'];

export type HashReading = { ok: true; hash: ParsedHash } | { ok: false; problem: string };

/**
 * Why argon2 parameters are refused (too costly), or undefined. Given by the caller (see argon2-limits.ts), so the
 * lazily loaded check of other formats does not share a module with the login's argon2 path.
 */
export type Argon2Bound = (params: Argon2Params) => string | undefined;

/**
 * Costs past which a check is a denial of service rather than a login (each bound is a check of about a second
 * here, against the request's 5 s): such hashes are refused at import, and at login they simply never match.
 */
export const HASH_LIMITS = {
  /** bcryptjs runs in JavaScript: cost 12 takes ~0.4 s, each step doubles it. */
  bcryptCost: 14,
  /** 128·N·r bytes of memory, at most 128 MiB (better-auth's N=16384, r=16 needs 32 MiB). */
  scryptMemoryBytes: 128 * 1024 * 1024,
  /** N·r·p, at most 2^21 (better-auth's is 2^18, ~0.15 s). */
  scryptWork: 2 ** 21,
  /** Django 5.2 uses 1,000,000 (~0.3 s); every release adds about a fifth. */
  pbkdf2Iterations: 3_000_000,
  /** Salts and keys longer than this are no hash any of these systems writes. */
  saltBytes: 256,
  keyBytes: 128,
} as const;

/** What the import says a file may hold, in words (its error for an unknown format lists them). */
export const KNOWN_FORMATS =
  'bcrypt ($2a$, $2b$, $2y$), argon2id or argon2i ($argon2id$, $argon2i$), scrypt ($scrypt$ln=..,r=..,p=..$salt$hash, ' +
  "or better-auth's salt:key in hex), PBKDF2-SHA256 in Django's form (pbkdf2_sha256$iterations$salt$hash)";

const refuse = (problem: string): HashReading => ({ ok: false, problem });
const accept = (hash: ParsedHash): HashReading => ({ ok: true, hash });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Standard base64, padded or not (PHC strings leave the padding out); undefined when it is not base64. */
const base64 = (text: string): Buffer | undefined => {
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
};

/** Comma-separated `name=value` pairs of whole numbers (PHC parameters); undefined when malformed. */
const numbers = (text: string): Map<string, number> | undefined => {
  const found = new Map<string, number>();
  for (const pair of text.split(',')) {
    const match = /^([a-z]+)=(\d{1,10})$/.exec(pair);
    if (match === null || found.has(match[1] as string)) return undefined;
    found.set(match[1] as string, Number(match[2]));
  }
  return found;
};

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
// $argon2id$v=19$m=19456,t=2,p=1$salt$hash (the version is absent from hashes of argon2 before 1.3).
const ARGON2 = /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?([a-z0-9=,]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BETTER_AUTH = /^([0-9a-fA-F]{32}):([0-9a-fA-F]{128})$/;
const SCRYPT_PHC = /^\$scrypt\$([a-z0-9=,]+)\$([A-Za-z0-9+/=]*)\$([A-Za-z0-9+/=]+)$/;
const DJANGO_PBKDF2 = /^pbkdf2_sha256\$(\d{1,10})\$([^$]*)\$([A-Za-z0-9+/=]+)$/;

const readBcrypt = (match: RegExpExecArray): HashReading => {
  const cost = Number(match[1]);
  if (cost < 4 || cost > 31) return refuse(`bcrypt cost ${cost} is not a bcrypt cost (4 to 31)`);
  if (cost > HASH_LIMITS.bcryptCost) {
    return refuse(`bcrypt cost ${cost} is above ${HASH_LIMITS.bcryptCost}: one check would take too long (a denial of service)`);
  }
  return accept({ format: 'bcrypt', cost });
};

const readArgon2 = (match: RegExpExecArray, bound: Argon2Bound): HashReading => {
  const [, variant, version, params] = match;
  if (variant === 'argon2d') return refuse('argon2d is not a password hash: only argon2id and argon2i are taken');
  if (version !== undefined && version !== '19' && version !== '16') return refuse(`argon2 version ${version} is unknown`);
  const found = numbers(params as string);
  const m = found?.get('m');
  const t = found?.get('t');
  const p = found?.get('p');
  if (found === undefined || m === undefined || t === undefined || p === undefined || found.size !== 3) {
    return refuse('argon2 parameters must be m=..,t=..,p=..');
  }
  if (m < 8 * p || t < 1 || p < 1) return refuse('argon2 parameters out of range');
  const parsed = { memoryKiB: m, timeCost: t, parallelism: p };
  const problem = bound(parsed);
  if (problem !== undefined) return refuse(problem);
  return accept({ format: variant as 'argon2id' | 'argon2i', ...parsed });
};

/** scrypt's bounds, shared by both of its forms. */
const scryptProblem = (N: number, r: number, p: number, salt: Buffer, key: Buffer): string | undefined => {
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1) return 'scrypt needs N a power of 2 above 1, r and p at least 1';
  if (128 * N * r > HASH_LIMITS.scryptMemoryBytes || N * r * p > HASH_LIMITS.scryptWork) {
    return (
      `scrypt N=${N},r=${r},p=${p} is beyond ${HASH_LIMITS.scryptMemoryBytes / 2 ** 20} MiB or N·r·p = 2^21: ` +
      'one check would take too long (a denial of service)'
    );
  }
  if (salt.length > HASH_LIMITS.saltBytes) return `scrypt salt longer than ${HASH_LIMITS.saltBytes} bytes`;
  if (key.length < 16 || key.length > HASH_LIMITS.keyBytes) return `scrypt key of ${key.length} bytes (16 to ${HASH_LIMITS.keyBytes})`;
  return undefined;
};

const readScryptPhc = (match: RegExpExecArray): HashReading => {
  const found = numbers(match[1] as string);
  const ln = found?.get('ln');
  const r = found?.get('r');
  const p = found?.get('p');
  if (found === undefined || ln === undefined || r === undefined || p === undefined || found.size !== 3) {
    return refuse('scrypt parameters must be ln=..,r=..,p=..');
  }
  if (ln < 1 || ln > 30) return refuse(`scrypt ln=${ln} is out of range`);
  const salt = base64(match[2] as string);
  const key = base64(match[3] as string);
  if (salt === undefined || key === undefined) return refuse('scrypt salt and hash must be base64');
  const problem = scryptProblem(2 ** ln, r, p, salt, key);
  return problem === undefined
    ? accept({ format: 'scrypt-phc', N: 2 ** ln, r, p, salt, key, nfkc: false })
    : refuse(problem);
};

const readDjango = (match: RegExpExecArray): HashReading => {
  const iterations = Number(match[1]);
  const salt = Buffer.from(match[2] as string, 'utf8');
  const key = base64(match[3] as string);
  if (iterations < 1) return refuse('pbkdf2_sha256 needs at least one iteration');
  if (iterations > HASH_LIMITS.pbkdf2Iterations) {
    return refuse(
      `pbkdf2_sha256 with ${iterations} iterations is above ${HASH_LIMITS.pbkdf2Iterations}: ` +
        'one check would take too long (a denial of service)',
    );
  }
  if (salt.length > HASH_LIMITS.saltBytes) return refuse(`pbkdf2_sha256 salt longer than ${HASH_LIMITS.saltBytes} bytes`);
  if (key === undefined || key.length < 16 || key.length > HASH_LIMITS.keyBytes) {
    return refuse(`pbkdf2_sha256 hash must be base64 of 16 to ${HASH_LIMITS.keyBytes} bytes`);
  }
  return accept({ format: 'pbkdf2-sha256-django', iterations, salt, key });
};

/**
 * Reads a stored hash: its format and parameters, or why it cannot be used (an unknown format, or parameters so
 * costly that checking them is a denial of service). Never echoes the hash, which is as secret as a password.
 */
export const readHash = (stored: string, argon2Bound: Argon2Bound): HashReading => {
  let match: RegExpExecArray | null;
  if ((match = BCRYPT.exec(stored)) !== null) return readBcrypt(match);
  if ((match = ARGON2.exec(stored)) !== null) return readArgon2(match, argon2Bound);
  if ((match = SCRYPT_PHC.exec(stored)) !== null) return readScryptPhc(match);
  if ((match = DJANGO_PBKDF2.exec(stored)) !== null) return readDjango(match);
  if ((match = BETTER_AUTH.exec(stored)) !== null) {
    // better-auth passes the salt's hex text itself to scrypt as the salt, not the bytes it spells.
    return accept({
      format: 'scrypt-better-auth',
      N: 16_384,
      r: 16,
      p: 1,
      salt: Buffer.from(match[1] as string, 'utf8'),
      key: Buffer.from(match[2] as string, 'hex'),
      nfkc: true,
    });
  }
  return refuse(unknownFormat(stored));
};

// Says what was found without showing the hash: the scheme name of one that looks like a hash (`$1$`, `sha1$`,
// `bcrypt_sha256$`), or that one of our own schemes is malformed.
const unknownFormat = (stored: string): string => {
  const name = /^\$([a-z0-9-]{1,20})\$/.exec(stored)?.[1] ?? /^([a-z0-9_]{1,20})\$/.exec(stored)?.[1];
  const ours = ['2a', '2b', '2y', 'argon2id', 'argon2i', 'argon2d', 'scrypt', 'pbkdf2_sha256'];
  if (name !== undefined && ours.includes(name)) return `a malformed "${name}" hash`;
  return `unknown password hash format${name === undefined ? '' : ` ("${name}")`}; known formats: ${KNOWN_FORMATS}`;
};
