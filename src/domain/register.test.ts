// register: validates input, hashes the password as typed, and relies on the store's conditional write for uniqueness.
import { describe, expect, it } from 'vitest';
import { createClock, createIds, createPasswordHasher, createUserStore } from '../../test/fakes';
import { register } from './register';

const setup = () => {
  const users = createUserStore();
  const hasher = createPasswordHasher();
  const clock = createClock(new Date('2024-05-01T12:00:00.000Z'));
  const ids = createIds('uid');
  return { users, hasher, deps: { users, hasher, clock, ids } };
};

const valid = { name: 'Alice Smith', username: 'alice', password: 'correct horse' };

describe('register', () => {
  it('stores the normalized username, trimmed name, hashed password, creation time, a new uid and version 0', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    const result = await register(deps, { ...valid, username: 'Ａｌｉｃｅ', name: '  Alice Smith ' });

    // Assess
    expect(result).toEqual({ username: 'alice' });
    expect(users.peek('alice')).toEqual({
      username: 'alice',
      name: 'Alice Smith',
      passwordHash: 'fake$correct horse',
      createdAt: '2024-05-01T12:00:00.000Z',
      uid: 'uid-1',
      credentialVersion: 0,
    });
  });

  it('gives every account its own uid', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, valid);
    await register(deps, { ...valid, username: 'bob' });

    // Assess
    expect(users.peek('alice')?.uid).toBe('uid-1');
    expect(users.peek('bob')?.uid).toBe('uid-2');
  });

  it('hashes a password with leading and trailing spaces exactly as given', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, { ...valid, password: '  spaced out  ' });

    // Assess
    expect(users.peek('alice')?.passwordHash).toBe('fake$  spaced out  ');
  });

  it('accepts an 8-emoji password (16 UTF-16 units, 8 code points)', async () => {
    // Prepare
    const { deps, users } = setup();

    // Act
    await register(deps, { ...valid, password: '😀'.repeat(8) });

    // Assess
    expect(users.peek('alice')?.passwordHash).toBe('fake$' + '😀'.repeat(8));
  });

  it('accepts a username of 64 astral letters counted as code points', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const result = await register(deps, { ...valid, username: '𠀀'.repeat(64) });

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
    const attempt = register(deps, { ...valid, username });

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
    const attempt = register(deps, { ...valid, password });

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
    const attempt = register(deps, { ...valid, name });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'name' } });
  });

  it('rejects a taken username in a different case as username_taken and keeps the first user', async () => {
    // Prepare
    const { deps, users } = setup();
    await register(deps, valid);
    const before = users.peek('alice');

    // Act
    const attempt = register(deps, { name: 'Mallory', username: 'ALICE', password: 'another password' });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'username_taken' });
    expect(users.peek('alice')).toEqual(before);
    expect(before?.name).toBe('Alice Smith');
  });
});
