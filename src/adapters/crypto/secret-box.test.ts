// createSecretBox: round trips, and refusal of a wrong key or context, flipped bits, truncation and unknown versions.
import { createCipheriv, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSecretBox, SecretBoxError } from './secret-box';

const KEY_TEXT = 'a setting of at least 32 bytes of text, like JWT_SECRET';
const KEY = new TextEncoder().encode(KEY_TEXT);
const OTHER_KEY = new TextEncoder().encode('another setting of at least 32 bytes of text');
const PLAIN = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const SEALED_FORMAT = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/;

/** Asserts `open` throws a SecretBoxError whose message holds neither the plain text, the key nor the value. */
const expectRefused = (open: () => string, sealed: string, reason?: RegExp) => {
  let error: unknown;
  try {
    open();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(SecretBoxError);
  const message = (error as Error).message;
  if (reason) expect(message).toMatch(reason);
  expect(message).not.toContain(PLAIN);
  expect(message).not.toContain(KEY_TEXT);
  if (sealed.length > 0) expect(message).not.toContain(sealed);
  expect(String((error as Error).stack)).not.toContain(PLAIN);
};

const flipBit = (text: string, index: number, bit: number) =>
  text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ (1 << bit)) + text.slice(index + 1);

describe('createSecretBox', () => {
  it('seals to v1.<iv>.<ciphertext+tag> in base64url and opens it again', () => {
    // Prepare
    const box = createSecretBox(KEY);

    // Act
    const sealed = box.seal(PLAIN);

    // Assess
    expect(sealed).toMatch(SEALED_FORMAT);
    const [, iv, body] = sealed.split('.');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(body!, 'base64url')).toHaveLength(PLAIN.length + 16);
    expect(sealed).not.toContain(PLAIN);
    expect(box.open(sealed)).toBe(PLAIN);
  });

  it('is AES-256-GCM under the HKDF-SHA-256 key, with the version as associated data', () => {
    // Prepare: encrypt independently of the adapter, the way the format says.
    const key = Buffer.from(hkdfSync('sha256', KEY, new Uint8Array(0), 'login-service secret-box v1 aes-256-gcm', 32));
    const iv = Buffer.alloc(12, 7);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('v1\0'));
    const body = Buffer.concat([cipher.update(PLAIN, 'utf8'), cipher.final(), cipher.getAuthTag()]);

    // Act
    const opened = createSecretBox(KEY).open(`v1.${iv.toString('base64url')}.${body.toString('base64url')}`);

    // Assess
    expect(opened).toBe(PLAIN);
  });

  it('round-trips any text, empty and non-ASCII included, under any context', () => {
    const box = createSecretBox(KEY);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 40 }), (plain, context) => {
        const sealed = box.seal(plain, context);
        expect(sealed).toMatch(SEALED_FORMAT);
        expect(box.open(sealed, context)).toBe(plain);
      }),
    );
  });

  it('opens with another box made from the same setting (after a restart)', () => {
    const sealed = createSecretBox(KEY).seal(PLAIN, 'uid-1');
    expect(createSecretBox(new Uint8Array(KEY)).open(sealed, 'uid-1')).toBe(PLAIN);
  });

  it('seals the same text differently every time (a fresh IV each)', () => {
    const box = createSecretBox(KEY);
    const sealed = Array.from({ length: 50 }, () => box.seal(PLAIN));
    expect(new Set(sealed).size).toBe(50);
    expect(new Set(sealed.map((s) => s.split('.')[1])).size).toBe(50);
  });

  it('refuses a key shorter than 32 bytes without naming it', () => {
    const short = new TextEncoder().encode('thirty-one bytes of key text!!!');
    expect(short).toHaveLength(31);
    expect(() => createSecretBox(short)).toThrow(/at least 32 bytes/);
    expect(() => createSecretBox(short)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('thirty') }));
    expect(() => createSecretBox(new TextEncoder().encode('x'.repeat(32)))).not.toThrow();
  });

  it('refuses a value sealed under another key', () => {
    const sealed = createSecretBox(OTHER_KEY).seal(PLAIN);
    expectRefused(() => createSecretBox(KEY).open(sealed), sealed, /failed authentication/);
  });

  it('refuses a value sealed for another context (a secret copied onto another account)', () => {
    const box = createSecretBox(KEY);
    const sealed = box.seal(PLAIN, 'uid-1');
    expectRefused(() => box.open(sealed, 'uid-2'), sealed, /failed authentication/);
    expectRefused(() => box.open(sealed), sealed, /failed authentication/);
  });

  it('refuses every single flipped bit of the sealed bytes: IV, ciphertext and tag', () => {
    // Prepare
    const box = createSecretBox(KEY);
    const sealed = box.seal(PLAIN);
    const [, ivText, bodyText] = sealed.split('.') as [string, string, string];
    const bytes = Buffer.concat([Buffer.from(ivText, 'base64url'), Buffer.from(bodyText, 'base64url')]);

    for (let bit = 0; bit < bytes.length * 8; bit++) {
      // Act
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const altered = `v1.${flipped.subarray(0, 12).toString('base64url')}.${flipped.subarray(12).toString('base64url')}`;

      // Assess
      expectRefused(() => box.open(altered), altered, /failed authentication/);
    }
  });

  it('refuses every single flipped bit of the sealed text, separators and version included', () => {
    // Prepare
    const box = createSecretBox(KEY);
    const sealed = box.seal(PLAIN);

    for (let index = 0; index < sealed.length; index++) {
      for (let bit = 0; bit < 7; bit++) {
        // Act
        const altered = flipBit(sealed, index, bit);

        // Assess
        expectRefused(() => box.open(altered), altered);
      }
    }
  });

  it('refuses a second base64url spelling of the same bytes (spare bits of the last character set)', () => {
    // Prepare: 33 bytes of text + 16 of tag = 49 bytes, whose last base64url character carries 4 spare bits.
    const box = createSecretBox(KEY);
    const sealed = box.seal(`${PLAIN}!`);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const altered = sealed.slice(0, -1) + alphabet[alphabet.indexOf(sealed.at(-1)!) ^ 1];
    expect(altered).not.toBe(sealed);
    expect(Buffer.from(altered.split('.')[2]!, 'base64url')).toEqual(Buffer.from(sealed.split('.')[2]!, 'base64url'));

    // Act and Assess
    expectRefused(() => box.open(altered), altered, /malformed/);
    expect(box.open(sealed)).toBe(`${PLAIN}!`);
  });

  it('refuses truncated values: a character, the tag, the body, the IV or a part gone', () => {
    // Prepare
    const box = createSecretBox(KEY);
    const sealed = box.seal(PLAIN);
    const [version, iv, body] = sealed.split('.') as [string, string, string];
    const bodyBytes = Buffer.from(body, 'base64url');
    const truncated = [
      sealed.slice(0, -1),
      sealed.slice(0, -4),
      `${version}.${iv}.${bodyBytes.subarray(0, bodyBytes.length - 1).toString('base64url')}`,
      `${version}.${iv}.${bodyBytes.subarray(0, bodyBytes.length - 16).toString('base64url')}`,
      `${version}.${iv}.${bodyBytes.subarray(0, 15).toString('base64url')}`,
      `${version}.${iv}.${bodyBytes.subarray(bodyBytes.length - 16).toString('base64url')}`,
      `${version}.${iv}.`,
      `${version}.${iv.slice(0, -2)}.${body}`,
      `${version}..${body}`,
      `${version}.${iv}`,
      `${version}.`,
      version,
      '',
    ];

    for (const value of truncated) {
      // Act and Assess
      expectRefused(() => box.open(value), value);
    }
    // A short IV or a body shorter than a tag is refused before any decryption is tried.
    const shortIv = `${version}.${Buffer.from(iv, 'base64url').subarray(0, 9).toString('base64url')}.${body}`;
    expectRefused(() => box.open(shortIv), shortIv, /malformed or truncated/);
    const shortBody = truncated[4]!;
    expectRefused(() => box.open(shortBody), shortBody, /malformed or truncated/);
  });

  it('refuses unknown versions and malformed values, naming the reason', () => {
    const box = createSecretBox(KEY);
    const sealed = box.seal(PLAIN);
    const rest = sealed.slice(2);
    expectRefused(() => box.open(`v2${rest}`), `v2${rest}`, /unknown version/);
    expectRefused(() => box.open(`V1${rest}`), `V1${rest}`, /unknown version/);
    expectRefused(() => box.open(`v0${rest}`), `v0${rest}`, /unknown version/);
    expectRefused(() => box.open(`${sealed}.x`), `${sealed}.x`, /malformed/);
    expectRefused(() => box.open(` ${sealed}`), ` ${sealed}`, /unknown version/);
    expectRefused(() => box.open(`${sealed}=`), `${sealed}=`, /malformed/);
    expectRefused(() => box.open(`${sealed}\n`), `${sealed}\n`, /malformed/);
    expectRefused(() => box.open(PLAIN), PLAIN, /malformed/);
    expectRefused(() => box.open(null as unknown as string), '', /not text/);
  });
});
