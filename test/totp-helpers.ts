// TOTP codes for the HTTP and Lambda tests, made by the independent `otpauth` package (not our own createTotp), so
// a mistake in ours cannot be mirrored by the tests that drive it.
import { Secret, TOTP, URI } from 'otpauth';
import type { Clock } from '../src/domain/ports';

const PERIOD_MS = 30_000;

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` at `at`, `steps` time steps later (negative: earlier). */
export const totpCode = (secret: string, at: Date | number, steps = 0): string =>
  TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: (typeof at === 'number' ? at : at.getTime()) + steps * PERIOD_MS,
  });

/** A 6-digit code that is none of the codes the server accepts at `at` (its step and one either side). */
export const wrongCode = (secret: string, at: Date | number): string => {
  const accepted = new Set([-1, 0, 1].map((steps) => totpCode(secret, at, steps)));
  for (let n = Number(totpCode(secret, at)) + 1; ; n += 1) {
    const candidate = String(n % 1_000_000).padStart(6, '0');
    if (!accepted.has(candidate)) return candidate;
  }
};

/**
 * A code that has not been used yet: moves `clock` (the app's) one step on and gives that step's code. A code is
 * accepted once, and the step it was used in or an earlier one is refused, so each use needs a later step.
 */
export const freshCode = (clock: Clock & { advance(seconds: number): void }, secret: string): string => {
  clock.advance(30);
  return totpCode(secret, clock.now());
};

/** The raw bytes of a base32 secret, as otpauth decodes them. */
export const secretBytes = (secret: string): Uint8Array => Secret.fromBase32(secret).bytes;

/** What otpauth reads from an enrolment URI: an authenticator app's view of it. */
export const parseOtpauthUri = (uri: string) => {
  const parsed = URI.parse(uri);
  if (!(parsed instanceof TOTP)) throw new Error('not a TOTP URI');
  return {
    issuer: parsed.issuer,
    label: parsed.label,
    secret: parsed.secret.base32,
    algorithm: parsed.algorithm,
    digits: parsed.digits,
    period: parsed.period,
  };
};

/** The shape of a recovery code as the contract gives it: 16 base32 characters in four groups. */
export const RECOVERY_CODE = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/;
