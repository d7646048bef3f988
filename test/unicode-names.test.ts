// Look-alike names through the real app on dynalite: one account per rendered name, one script per new name,
// display names that show something, and accounts kept under older keys still found.
import { PutCommand } from '../src/adapters/dynamodb/client';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { json, onDynalite, type TestApp } from './app-harness';

let t: TestApp;

onDynalite((_store, app) => {
  t = app;
});

const PASSWORD = 'a quiet lake at dawn';

describe('usernames that render alike', () => {
  it.each([
    ['\u01F0ohnX', 'J\u030CohnX'],
    ['\u0390\u03C9\u03C4\u03B1', '\u03AA\u0301\u03C9\u03C4\u03B1'],
  ])('registers %s once: %s is 409, and the username the service returned logs in', async (first, second) => {
    // Act
    const registered = await t.post('/register', { name: 'First', username: first, password: PASSWORD });
    const lookAlike = await t.post('/register', { name: 'Second', username: second, password: 'another long password' });
    const { username } = (await json(registered)) as { username: string };
    const asReturned = await t.post('/login', { username, password: PASSWORD });
    const asSecondTyped = await t.post('/login', { username: second, password: PASSWORD });

    // Assess
    expect(registered.status).toBe(201);
    expect(lookAlike.status).toBe(409);
    expect(await json(lookAlike)).toMatchObject({ code: 'username_taken' });
    expect(asReturned.status).toBe(200);
    expect(asSecondTyped.status).toBe(200);
  });

  it('logs in an account stored under the previous normalization (j + U+030C, before the fixed point)', async () => {
    // Prepare: what registering J + U+030C + ohnY stored before: NFKC then lower case, not composed again.
    await t.client.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { username: 'j\u030Cohny', name: 'Older', password: bcrypt.hashSync(PASSWORD, 4) },
      }),
    );

    // Act
    const login = await t.post('/login', { username: 'J\u030CohnY', password: PASSWORD });

    // Assess
    expect(login.status).toBe(200);
  });
});

describe('usernames that mix scripts', () => {
  it.each([
    ['Latin with a Cyrillic а', 'p\u0430ypal'],
    ['Latin with a Greek α', 'alph\u03B1'],
  ])('refuses %s at registration with 400 naming the username', async (_label, username) => {
    // Act
    const response = await t.post('/register', { name: 'Mixed', username, password: PASSWORD });

    // Assess
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'username' });
  });

  it.each(['наташа', 'josé', 'नमस्ते', 'İstanbul', '山田taro', 'ひらがなカタカナ漢字', 'user_1@example'])(
    'registers %s',
    async (username) => {
      // Act
      const response = await t.post('/register', { name: 'One Script', username, password: PASSWORD });

      // Assess
      expect(response.status).toBe(201);
    },
  );

  it('still logs in an existing account whose name mixes scripts', async () => {
    // Prepare: registered before the rule, as the store holds it.
    await t.client.send(
      new PutCommand({
        TableName: t.tableName,
        Item: { username: 'p\u0430ypal-old', name: 'Old', password: bcrypt.hashSync(PASSWORD, 4) },
      }),
    );

    // Act
    const login = await t.post('/login', { username: 'p\u0430ypal-old', password: PASSWORD });

    // Assess
    expect(login.status).toBe(200);
  });
});

describe('display names that render as nothing', () => {
  it.each([
    ['a Hangul filler', '\u3164'],
    ['a braille blank and a Hangul choseong filler', '\u2800\u115F'],
    ['a halfwidth Hangul filler', '\uFFA0'],
    ['a Hangul jungseong filler', '\u1160'],
    ['a braille blank', '\u2800'],
    ['fillers between spaces', ' \u3164 \u2800 '],
  ])('refuses %s with 400 naming the name', async (_label, name) => {
    // Act
    const response = await t.post('/register', { name, username: 'blankname', password: PASSWORD });

    // Assess
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'invalid_request', field: 'name' });
  });
});
