// createRefreshSecrets: random secrets, keyed deterministic successors, digests that reveal nothing, and a correct comparison.
import { describe, expect, it } from 'vitest';
import { createRefreshSecrets, randomIds } from './refresh-secrets';

const KEY = new Uint8Array(32).fill(1);
const OTHER_KEY = new Uint8Array(32).fill(2);

describe('createRefreshSecrets', () => {
  it('makes a new secret of 256 bits as 43 base64url characters', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);

    // Act
    const secret = secrets.newSecret();

    // Assess
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('makes a different secret at every call', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);

    // Act
    const made = Array.from({ length: 50 }, () => secrets.newSecret());

    // Assess
    expect(new Set(made).size).toBe(50);
  });

  it('derives the same successor from the same secret under one key', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);
    const again = createRefreshSecrets(new Uint8Array(KEY));
    const secret = secrets.newSecret();

    // Act
    const successor = secrets.successor(secret);

    // Assess
    expect(successor).toBe(secrets.successor(secret));
    expect(successor).toBe(again.successor(secret));
    expect(successor).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(successor).not.toBe(secret);
  });

  it('derives a different successor under another key', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);
    const others = createRefreshSecrets(OTHER_KEY);
    const secret = secrets.newSecret();

    // Act
    const successor = secrets.successor(secret);

    // Assess
    expect(others.successor(secret)).not.toBe(successor);
  });

  it('derives different successors from different secrets', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);

    // Act
    const first = secrets.successor('secret-one');
    const second = secrets.successor('secret-two');

    // Assess
    expect(first).not.toBe(second);
  });

  it('digests a secret into something else, the same every time, and not the successor', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);
    const secret = secrets.newSecret();

    // Act
    const digest = secrets.digest(secret);

    // Assess
    expect(digest).not.toBe(secret);
    expect(digest).not.toContain(secret);
    expect(digest).toBe(secrets.digest(secret));
    expect(digest).not.toBe(secrets.successor(secret));
    expect(secrets.digest(secrets.newSecret())).not.toBe(digest);
  });

  it.each([
    ['equal digests', 'abc', 'abc', true],
    ['different digests of one length', 'abc', 'abd', false],
    ['a digest and its prefix', 'abc', 'ab', false],
    ['two empty strings', '', '', true],
  ])('compares %s correctly', (_label, a, b, expected) => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);

    // Act
    const same = secrets.same(a, b);

    // Assess
    expect(same).toBe(expected);
  });

  it('tells the digest of a secret apart from the digest of another', () => {
    // Prepare
    const secrets = createRefreshSecrets(KEY);
    const secret = secrets.newSecret();

    // Act
    const matches = secrets.same(secrets.digest(secret), secrets.digest(secret));
    const mismatches = secrets.same(secrets.digest(secret), secrets.digest(secrets.newSecret()));

    // Assess
    expect(matches).toBe(true);
    expect(mismatches).toBe(false);
  });
});

describe('randomIds', () => {
  it('makes distinct ids without dots, so they fit in a refresh token locator', () => {
    // Prepare
    const count = 50;

    // Act
    const ids = Array.from({ length: count }, () => randomIds.newId());

    // Assess
    expect(new Set(ids).size).toBe(count);
    expect(ids.every((id) => !id.includes('.') && id.length > 0 && id.length <= 64)).toBe(true);
  });
});
