// register: validates input, hashes the password as typed, and relies on the store's conditional write for uniqueness.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld } from '../../test/fakes';
import { register } from './register';

// The world's clock starts at 2024-05-01T12:00:00.000Z.
const setup = (options: Parameters<typeof createWorld>[0] = {}) => createWorld({ users: [], idPrefix: 'uid', ...options });

const valid = { name: 'Alice Smith', username: 'alice', password: 'correct horse' };

describe('register', () => {
  it('stores the normalized username, trimmed name, hashed password, creation time, a new uid, version 0 and no address', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    const result = await register(deps, { ...valid, username: 'Ａｌｉｃｅ', name: '  Alice Smith ' }, CONTEXT);

    // Assess
    expect(result).toEqual({ username: 'alice' });
    expect(users.peek('alice')).toEqual({
      username: 'alice',
      name: 'Alice Smith',
      passwordHash: 'fake$correct horse',
      createdAt: '2024-05-01T12:00:00.000Z',
      uid: 'uid-1',
      credentialVersion: 0,
      email: null,
      emailVerified: false,
      pendingEmail: null,
    });
  });

  it('gives every account its own uid', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, valid, CONTEXT);
    await register(deps, { ...valid, username: 'bob' }, CONTEXT);

    // Assess
    expect(users.peek('alice')?.uid).toBe('uid-1');
    expect(users.peek('bob')?.uid).toBe('uid-2');
  });

  it('hashes a password with leading and trailing spaces exactly as given', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, { ...valid, password: '  spaced out  ' }, CONTEXT);

    // Assess
    expect(users.peek('alice')?.passwordHash).toBe('fake$  spaced out  ');
  });

  it('accepts an 8-emoji password (16 UTF-16 units, 8 code points)', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, { ...valid, password: '😀'.repeat(8) }, CONTEXT);

    // Assess
    expect(users.peek('alice')?.passwordHash).toBe('fake$' + '😀'.repeat(8));
  });

  it('accepts a username of 64 astral letters counted as code points', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const result = await register(deps, { ...valid, username: '𠀀'.repeat(64) }, CONTEXT);

    // Assess
    expect(result.username).toBe('𠀀'.repeat(64));
  });

  it.each([
    ['2 code points', 'ab'],
    ['65 code points', 'a'.repeat(65)],
    ['a space', 'alice smith'],
    ['a slash', 'alice/smith'],
    ['an emoji', 'alice😀'],
  ])('rejects a username of %s as invalid_request naming username', async (_label, username) => {
    // Prepare
    const { deps, hasher } = setup();

    // Act
    const attempt = register(deps, { ...valid, username }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'username' } });
    expect(hasher.calls.hash).toBe(0);
  });

  it.each([
    ['7 code points', 'a'.repeat(7), ['too_short']],
    ['257 code points', 'a'.repeat(257), ['too_long']],
  ])('rejects a password of %s as weak_password', async (_label, password, reasons) => {
    // Prepare
    const { deps, users } = setup();

    // Act
    const attempt = register(deps, { ...valid, password }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons } });
    expect(users.peek('alice')).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['129 code points', 'n'.repeat(129)],
    ['a control character', 'Alice\u0007'],
    ['a bidi override', 'Alice\u202Eevil'],
  ])('rejects a name that is %s as invalid_request naming name', async (_label, name) => {
    // Prepare
    const { deps } = setup();

    // Act
    const attempt = register(deps, { ...valid, name }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'name' } });
  });

  it('rejects a taken username in a different case as username_taken and keeps the first user', async () => {
    // Prepare
    const { deps, users } = setup();
    await register(deps, valid, CONTEXT);
    const before = users.peek('alice');

    // Act
    const attempt = register(deps, { name: 'Mallory', username: 'ALICE', password: 'another password' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'username_taken' });
    expect(users.peek('alice')).toEqual(before);
    expect(before?.name).toBe('Alice Smith');
  });
});

describe('register password policy', () => {
  it('rejects a password on the blocklist, in any case, as weak_password common_password', async () => {
    // Prepare
    const { deps, users, hasher } = setup();

    // Act
    const attempt = register(deps, { ...valid, password: 'LetMeIn123' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['common_password'] } });
    expect(users.peek('alice')).toBeUndefined();
    expect(hasher.calls.hash).toBe(0);
  });

  it('rejects a password containing the normalized username and a word of the name', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const attempt = register(deps, { name: 'Alice Smith', username: 'ALICE', password: 'smith-alice-77' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'weak_password',
      details: { reasons: ['contains_username', 'contains_name'] },
    });
  });

  it('applies the configured minimum length', async () => {
    // Prepare
    const { deps } = setup({ minPasswordLength: 15 });

    // Act
    const attempt = register(deps, { ...valid, password: 'x'.repeat(14) }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'weak_password', details: { reasons: ['too_short'] } });
  });
});

describe('register audit', () => {
  it('records user.registered for the normalized username with the request context, and never the password', async () => {
    // Prepare
    const { deps, audit } = setup();
    const context = { ...CONTEXT, ip: '203.0.113.20', requestId: 'req-register' };

    // Act
    await register(deps, { ...valid, username: 'ALICE' }, context);

    // Assess
    expect(audit.entries).toEqual([
      { event: 'user.registered', username: 'alice', known: true, context },
    ]);
    expect(JSON.stringify(audit.entries)).not.toContain(valid.password);
  });

  it.each([
    ['a taken username', { ...valid, username: 'ALICE' }, 'username_taken'],
    ['a weak password', { ...valid, username: 'bob', password: 'short' }, 'weak_password'],
  ])('records nothing but the first registration for a registration refused for %s', async (_label, input, code) => {
    // Prepare
    const { deps, audit } = setup();
    await register(deps, valid, CONTEXT);

    // Act
    const attempt = register(deps, input, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code });
    expect(audit.entries.map((entry) => entry.event)).toEqual(['user.registered']);
  });
});

describe('register with an email address', () => {
  it('stores the address lower-cased and unverified, and mails a verification link to it', async () => {
    // Prepare
    const { deps, users, mail, oneTimeTokens, tokenMaker } = setup();

    // Act
    await register(deps, { ...valid, email: '  Alice@Example.COM ' }, CONTEXT);

    // Assess
    expect(users.peek('alice')).toMatchObject({ email: 'alice@example.com', emailVerified: false, pendingEmail: null });
    expect(mail.sent).toEqual([
      { kind: 'verify_email', to: 'alice@example.com', token: expect.any(String), expiresInSeconds: 86400 },
    ]);
    const token = mail.tokenFor('alice@example.com', 'verify_email');
    expect(oneTimeTokens.issued).toEqual([
      expect.objectContaining({ digest: tokenMaker.digest(token), purpose: 'verify_email', uid: 'uid-1', email: 'alice@example.com' }),
    ]);
  });

  it('records user.registered and email.verification_sent', async () => {
    // Prepare
    const { deps, audit } = setup();

    // Act
    await register(deps, { ...valid, email: 'alice@example.com' }, CONTEXT);

    // Assess
    expect(audit.entries.map((entry) => entry.event)).toEqual(['user.registered', 'email.verification_sent']);
  });

  it('registers an address another account has verified, without looking at the claims (it reveals nothing)', async () => {
    // Prepare
    const { deps, users, emailClaims } = setup({ claims: [{ email: 'alice@example.com', uid: 'uid-bob', username: 'bob' }] });

    // Act
    const result = await register(deps, { ...valid, email: 'alice@example.com' }, CONTEXT);

    // Assess
    expect(result).toEqual({ username: 'alice' });
    expect(users.peek('alice')?.email).toBe('alice@example.com');
    expect(emailClaims.calls).toEqual({});
  });

  it('still creates the account when the verification mail cannot be sent', async () => {
    // Prepare
    const { deps, users, mail, log } = setup();
    mail.fail(new Error('smtp down'));

    // Act
    const result = await register(deps, { ...valid, email: 'alice@example.com' }, CONTEXT);

    // Assess
    expect(result).toEqual({ username: 'alice' });
    expect(users.peek('alice')?.email).toBe('alice@example.com');
    expect(mail.sent).toEqual([]);
    expect(log.warnings).toEqual([{ message: 'mail not sent', fields: { kind: 'verify_email', error: 'smtp down' } }]);
  });

  // Known bug (src/domain/email-verification.ts, sendVerification, line 87-88): sendQuietly answers false instead of
  // throwing, so the audit says a mail went that did not. Flip `it.fails` to `it` once fixed.
  it('records no email.verification_sent when the verification mail could not go', async () => {
    // Prepare
    const { deps, mail, audit } = setup();
    mail.fail(new Error('smtp down'));

    // Act
    await register(deps, { ...valid, email: 'alice@example.com' }, CONTEXT);

    // Assess
    expect(audit.entries.map((entry) => entry.event)).toEqual(['user.registered']);
  });

  it('rejects a malformed address as invalid_request naming email, and creates nothing', async () => {
    // Prepare
    const { deps, users, mail } = setup();

    // Act
    const attempt = register(deps, { ...valid, email: 'not an address' }, CONTEXT);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'email' } });
    expect(users.peek('alice')).toBeUndefined();
    expect(mail.sent).toEqual([]);
  });
});
