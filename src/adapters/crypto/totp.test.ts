// createTotp: RFC 4226 / RFC 6238 vectors, agreement with the independent otpauth package, drift, malformed codes, URIs.
import fc from 'fast-check';
import { Secret, TOTP, URI } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, createTotp, hotp, timeStep } from './totp';

// The seed of RFC 4226 appendix D and RFC 6238 appendix B (SHA-1): the ASCII text "12345678901234567890".
const RFC_KEY = new TextEncoder().encode('12345678901234567890');
const RFC_SECRET = base32Encode(RFC_KEY);
const stepStart = (step: number) => new Date(step * 30_000);
const otpauthCode = (secret: string, at: Date) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: at.getTime() });

describe('hotp and timeStep', () => {
  it('gives the RFC 4226 appendix D codes for counters 0 to 9', () => {
    // Prepare
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

    // Act
    const codes = expected.map((_, counter) => hotp(RFC_KEY, counter));

    // Assess
    expect(codes).toEqual(expected);
  });

  it('gives the 6 low digits of the RFC 6238 appendix B SHA-1 codes, which check accepts at their step', () => {
    // Prepare: [Unix seconds, the 8-digit code of the RFC's table]
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    const totp = createTotp();

    for (const [seconds, eightDigits] of vectors) {
      // Act
      const at = new Date(seconds * 1000);
      const code = hotp(RFC_KEY, timeStep(at));

      // Assess
      expect(code).toBe(eightDigits.slice(-6));
      expect(totp.check(RFC_SECRET, eightDigits.slice(-6), at)).toBe(Math.floor(seconds / 30));
    }
  });

  it('counts whole 30 s periods from the epoch', () => {
    expect(timeStep(new Date(0))).toBe(0);
    expect(timeStep(new Date(29_999))).toBe(0);
    expect(timeStep(new Date(30_000))).toBe(1);
    expect(() => timeStep(new Date(Number.NaN))).toThrow(TypeError);
  });

  it('refuses a negative or fractional counter', () => {
    expect(() => hotp(RFC_KEY, -1)).toThrow(RangeError);
    expect(() => hotp(RFC_KEY, 1.5)).toThrow(RangeError);
  });
});

describe('createTotp check', () => {
  it('accepts the code otpauth makes at fixed times, returning that time step', () => {
    // Prepare
    const totp = createTotp();
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const times = [new Date('2024-02-29T12:00:00Z'), new Date('2030-01-01T00:00:29.999Z'), new Date(1_700_000_000_000)];

    for (const at of times) {
      // Act
      const code = otpauthCode(secret, at);

      // Assess
      expect(hotp(base32Decode(secret), timeStep(at))).toBe(code);
      expect(totp.check(secret, code, at)).toBe(timeStep(at));
    }
  });

  it('agrees with otpauth for any 160-bit secret at any time', () => {
    const totp = createTotp();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (bytes, ms) => {
          const secret = base32Encode(bytes);
          const at = new Date(ms);
          const code = otpauthCode(secret, at);
          expect(hotp(bytes, timeStep(at))).toBe(code);
          expect(totp.check(secret, code, at)).not.toBeNull();
        },
      ),
    );
  });

  it('accepts the codes of one step before and after, and refuses those two steps away', () => {
    // Prepare
    const totp = createTotp();
    const now = 37_037_037; // 1111111110 s, inside the RFC's 1111111109..1111111111 vectors
    const at = new Date(now * 30_000 + 12_345);
    const codeOf = (step: number) => hotp(RFC_KEY, step);
    const window = [codeOf(now - 1), codeOf(now), codeOf(now + 1)];
    // The far codes must differ from those in the window, or the refusal below would prove nothing.
    expect(window).not.toContain(codeOf(now - 2));
    expect(window).not.toContain(codeOf(now + 2));

    // Act and Assess
    expect(totp.check(RFC_SECRET, codeOf(now - 1), at)).toBe(now - 1);
    expect(totp.check(RFC_SECRET, codeOf(now), at)).toBe(now);
    expect(totp.check(RFC_SECRET, codeOf(now + 1), at)).toBe(now + 1);
    expect(totp.check(RFC_SECRET, codeOf(now - 2), at)).toBeNull();
    expect(totp.check(RFC_SECRET, codeOf(now + 2), at)).toBeNull();
  });

  it('returns the later step when a code is the code of two steps in the window, so it cannot be replayed', () => {
    // Prepare: under the RFC key steps 56295193 and 56295195 share a code (found once by search).
    const totp = createTotp();
    const middle = 56_295_194;
    expect(hotp(RFC_KEY, middle - 1)).toBe('769717');
    expect(hotp(RFC_KEY, middle + 1)).toBe('769717');

    // Act
    const step = totp.check(RFC_SECRET, '769717', stepStart(middle));

    // Assess
    expect(step).toBe(middle + 1);
  });

  it('does not look before step 0 at the epoch', () => {
    const totp = createTotp();
    expect(totp.check(RFC_SECRET, hotp(RFC_KEY, 0), new Date(0))).toBe(0);
    expect(totp.check(RFC_SECRET, hotp(RFC_KEY, 1), new Date(0))).toBe(1);
  });

  it('refuses a wrong code under the right secret, and the right code under another secret', () => {
    // Prepare
    const totp = createTotp();
    const at = new Date('2025-06-01T08:00:00Z');
    const now = timeStep(at);
    const right = hotp(RFC_KEY, now);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const other = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    expect([now - 1, now, now + 1].map((step) => hotp(RFC_KEY, step))).not.toContain(wrong);
    expect([now - 1, now, now + 1].map((step) => hotp(base32Decode(other), step))).not.toContain(right);

    // Act and Assess
    expect(totp.check(RFC_SECRET, wrong, at)).toBeNull();
    expect(totp.check(other, right, at)).toBeNull();
  });

  it('gives null, never an exception, for anything but exactly 6 ASCII digits, even around the right code', () => {
    // Prepare
    const totp = createTotp();
    const at = new Date('2025-06-01T08:00:00Z');
    const right = hotp(RFC_KEY, timeStep(at));
    const malformed: unknown[] = [
      '', '12345', '1234567', `${right} `, ` ${right}`, `${right}\n`, `${right}0`, `0${right}`,
      `${right.slice(0, 3)} ${right.slice(3)}`, `${right.slice(0, 3)}-${right.slice(3)}`,
      '12345a', '-12345', '+12345', '1234.5', '1e+05',
      '１２３４５６', '١٢٣٤٥٦', '۱۲۳۴۵۶', '１23456',
      null, undefined, Number(right), ['123456'], { code: right },
    ];

    for (const code of malformed) {
      // Act and Assess
      expect(totp.check(RFC_SECRET, code as string, at)).toBeNull();
    }
    expect(totp.check(RFC_SECRET, right, at)).toBe(timeStep(at));
  });

  it('gives null for any text that is not 6 ASCII digits', () => {
    const totp = createTotp();
    const at = new Date('2025-06-01T08:00:00Z');
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/^[0-9]{6}$/.test(s)),
        (code) => {
          expect(totp.check(RFC_SECRET, code, at)).toBeNull();
        },
      ),
    );
  });

  it('throws for a stored secret that is not base32', () => {
    const totp = createTotp();
    expect(() => totp.check('not base32!', '123456', new Date())).toThrow(TypeError);
  });
});

describe('createTotp newSecret', () => {
  it('makes 160 random bits as 32 base32 characters, different every time', () => {
    // Prepare
    const totp = createTotp();

    // Act
    const secrets = Array.from({ length: 50 }, () => totp.newSecret());

    // Assess
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(base32Decode(secret)).toHaveLength(20);
      expect(Secret.fromBase32(secret).bytes).toEqual(new Uint8Array(base32Decode(secret)));
    }
    expect(new Set(secrets).size).toBe(50);
  });
});

describe('base32', () => {
  it('gives the RFC 4648 test vectors without padding', () => {
    const vectors: [string, string][] = [
      ['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain);
    }
  });

  it('round-trips any bytes, agreeing with otpauth', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = base32Encode(bytes);
        expect(text).toMatch(/^[A-Z2-7]*$/);
        expect(text).toHaveLength(Math.ceil((bytes.length * 8) / 5));
        expect(base32Decode(text)).toEqual(bytes);
        expect(new Uint8Array(Secret.fromBase32(text).bytes)).toEqual(bytes);
      }),
    );
  });

  it('refuses text outside the alphabet, padding, impossible lengths and spare bits set', () => {
    for (const bad of ['mzxw6', 'MZXW0', 'MZXW1', 'MY======', 'M', 'MZX', 'MZXW6Y', 'MZ', 'MZXR', 'MZ XW', 'МZXW6']) {
      expect(() => base32Decode(bad)).toThrow(TypeError);
    }
  });
});

describe('createTotp otpauthUri', () => {
  it('gives exactly the Key URI format the issue names', () => {
    // Prepare
    const totp = createTotp();

    // Act
    const uri = totp.otpauthUri({ issuer: 'login-service', account: 'alice', secret: 'JBSWY3DPEHPK3PXP' });

    // Assess
    expect(uri).toBe(
      'otpauth://totp/login-service:alice?secret=JBSWY3DPEHPK3PXP&issuer=login-service&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('percent-encodes issuer and account, so a colon, space, & or ? in the account keeps the label whole', () => {
    // Prepare
    const totp = createTotp();
    const secret = totp.newSecret();

    // Act
    const uri = totp.otpauthUri({ issuer: 'Acme & Co? 100%', account: 'a:b c&d=e?#', secret });
    const parsed = URI.parse(uri);

    // Assess
    expect(uri).toBe(
      `otpauth://totp/Acme%20%26%20Co%3F%20100%25:a%3Ab%20c%26d%3De%3F%23?secret=${secret}` +
        '&issuer=Acme%20%26%20Co%3F%20100%25&algorithm=SHA1&digits=6&period=30',
    );
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed.issuer).toBe('Acme & Co? 100%');
    expect(parsed.label).toBe('a:b c&d=e?#');
    expect(parsed.secret.base32).toBe(secret);
  });

  it('parses with otpauth to the same secret, issuer, label and parameters for any issuer and account', () => {
    const totp = createTotp();
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !s.includes(':')),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        (issuer, account, bytes) => {
          const secret = base32Encode(bytes);
          const uri = totp.otpauthUri({ issuer, account, secret });
          const parsed = URI.parse(uri) as TOTP;
          expect(parsed).toBeInstanceOf(TOTP);
          expect(parsed.issuer).toBe(issuer);
          expect(parsed.label).toBe(account);
          expect(parsed.issuerInLabel).toBe(true);
          expect(parsed.secret.base32).toBe(secret);
          expect([parsed.algorithm, parsed.digits, parsed.period]).toEqual(['SHA1', 6, 30]);
          // The label's prefix, read the way the Key URI format says (up to the first colon), is the issuer.
          const label = uri.slice('otpauth://totp/'.length, uri.indexOf('?'));
          expect(decodeURIComponent(label.slice(0, label.indexOf(':')))).toBe(issuer);
        },
      ),
    );
  });

  it('refuses an issuer with a colon, an empty issuer or account, badly formed Unicode and a secret that is not base32', () => {
    const totp = createTotp();
    const secret = totp.newSecret();
    const cases = [
      { issuer: 'Acme:Login', account: 'alice', secret },
      { issuer: '', account: 'alice', secret },
      { issuer: 'Acme', account: '', secret },
      { issuer: 'Acme', account: 'al\ud800ice', secret },
      { issuer: 'Acme', account: 'alice', secret: 'jbswy3dp' },
      { issuer: 'Acme', account: 'alice', secret: 'JBSWY3DP&issuer=Evil' },
    ];
    for (const input of cases) {
      expect(() => totp.otpauthUri(input)).toThrow(TypeError);
    }
  });

  it('never puts the secret in its error messages', () => {
    const totp = createTotp();
    const secret = totp.newSecret();
    for (const input of [{ issuer: 'a:b', account: 'x', secret }, { issuer: 'a', account: '', secret }]) {
      expect(() => totp.otpauthUri(input)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secret) }));
    }
  });
});
