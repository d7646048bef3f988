// Sessions over HTTP with the real adapters on dynalite: rotation, reuse, logout, account self-service, JWKS.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generatePrivateJwks } from '../jwt/signing-keys';
import { createTestApp, json, type LoginAnswer, onDynalite, type TestApp } from '../../../test/app-harness';
import type { TestStore } from '../../../test/stores';

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});

const refresh = async (app: TestApp, refreshToken: string) => app.post('/token/refresh', { refreshToken });
const verifies = async (app: TestApp, token: string) => (await app.post('/verify', { token })).status === 200;

describe('refresh-token rotation', () => {
  it('returns a new pair in login’s shape and keeps the absolute lifetime', async () => {
    const login = await t.registerAndLogIn('rotator');
    t.clock.advance(3600);

    const response = await refresh(t, login.refreshToken);
    const rotated = (await response.json()) as LoginAnswer;
    t.clock.advance(-3600);

    expect(response.status).toBe(200);
    expect(rotated).toMatchObject({ user: { username: 'rotator' }, tokenType: 'Bearer', expiresIn: 3600 });
    expect(rotated.refreshToken).not.toBe(login.refreshToken);
    // The clock runs on between the calls: within a second of an hour less.
    expect(Math.abs(rotated.refreshExpiresIn - (login.refreshExpiresIn - 3600))).toBeLessThanOrEqual(1);
    expect(await verifies(t, rotated.token)).toBe(true);
  });

  it('gives the same successor to the old token within the grace window', async () => {
    const login = await t.registerAndLogIn('twotabs');

    const first = (await (await refresh(t, login.refreshToken)).json()) as LoginAnswer;
    const second = (await (await refresh(t, login.refreshToken)).json()) as LoginAnswer;

    expect(second.refreshToken).toBe(first.refreshToken);
    expect(await verifies(t, second.token)).toBe(true);
  });

  it('ends the session when a superseded token comes back after the grace window', async () => {
    const login = await t.registerAndLogIn('reused');
    const rotated = (await (await refresh(t, login.refreshToken)).json()) as LoginAnswer;
    t.clock.advance(61);

    const replay = await refresh(t, login.refreshToken);
    const successor = await refresh(t, rotated.refreshToken);
    t.clock.advance(-61);

    expect(replay.status).toBe(401);
    expect(await json(replay)).toMatchObject({ code: 'refresh_token_reused' });
    expect(successor.status).toBe(401);
    expect(await json(successor)).toMatchObject({ code: 'invalid_refresh_token' });
    expect(await verifies(t, rotated.token)).toBe(false);
  });

  it('gives 20 concurrent refreshes of one token a single successor: the session does not fork', async () => {
    const login = await t.registerAndLogIn('racer20');

    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(t, login.refreshToken)));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as LoginAnswer[];

    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(bodies.map((b) => b.refreshToken)).size).toBe(1);
    const next = await refresh(t, bodies[0]?.refreshToken ?? '');
    expect(next.status).toBe(200);
  });

  it.each(['', 'garbage', 'a.b.c', 'x'.repeat(300)])('refuses the refresh token %j as invalid', async (token) => {
    const response = await refresh(t, token);

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_refresh_token' });
  });

  it('never accepts a refresh token as an access token', async () => {
    const login = await t.registerAndLogIn('confused');

    const asAccess = await t.post('/verify', { token: login.refreshToken });
    const asBearer = await t.app.request('/me', { headers: t.bearer(login.refreshToken) });

    expect(asAccess.status).toBe(401);
    expect(asBearer.status).toBe(401);
  });
});

describe('logout', () => {
  it('ends the session at once, and logging out again is still 204', async () => {
    const login = await t.registerAndLogIn('leaving');

    const first = await t.post('/logout', '', t.bearer(login.token));
    const again = await t.post('/logout', '', t.bearer(login.token));

    expect(first.status).toBe(204);
    expect(again.status).toBe(204);
    expect(await verifies(t, login.token)).toBe(false);
    expect((await refresh(t, login.refreshToken)).status).toBe(401);
  });

  it('ends the session by its refresh token', async () => {
    const login = await t.registerAndLogIn('leaving2');

    const response = await t.post('/logout', { refreshToken: login.refreshToken });

    expect(response.status).toBe(204);
    expect(await verifies(t, login.token)).toBe(false);
  });

  it('ends every session of the user with /logout/all, and only that user’s', async () => {
    const a = await t.registerAndLogIn('many', 'tangerine umbrella');
    const b = (await (await t.post('/login', { username: 'many', password: 'tangerine umbrella' })).json()) as LoginAnswer;
    const other = await t.registerAndLogIn('bystander');

    const response = await t.post('/logout/all', '', t.bearer(a.token));

    expect(response.status).toBe(204);
    expect(await verifies(t, a.token)).toBe(false);
    expect(await verifies(t, b.token)).toBe(false);
    expect(await verifies(t, other.token)).toBe(true);
  });

  it('asks for a bearer token with WWW-Authenticate: Bearer', async () => {
    const response = await t.post('/logout/all', '');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(response)).toMatchObject({ code: 'missing_token' });
  });
});

describe('account self-service', () => {
  it('returns the user with createdAt from GET /me', async () => {
    const login = await t.registerAndLogIn('selfie', 'copper kettle song', 'Self Ie');

    const response = await t.app.request('/me', { headers: t.bearer(login.token) });

    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      user: {
        username: 'selfie',
        name: 'Self Ie',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        email: null,
        emailVerified: false,
        pendingEmail: null,
        mfa: { totp: false, passkeys: 0, recoveryCodesLeft: 0 },
      },
    });
  });

  it.each([
    ['DELETE', '/me'],
    ['POST', '/me/password'],
  ])('answers %s %s without a token with 401 missing_token before looking at the body', async (method, path) => {
    const response = await t.app.request(path, { method });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(response)).toMatchObject({ code: 'missing_token' });
  });

  it('answers GET /me without a token with 401 missing_token', async () => {
    const response = await t.app.request('/me');

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await json(response)).toMatchObject({ code: 'missing_token' });
  });

  it('answers POST /logout with neither a bearer token nor a refresh token with 401 missing_token', async () => {
    const response = await t.post('/logout', '');

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'missing_token' });
  });

  it('answers /verify with an empty token and no header with invalid_token and verified:false', async () => {
    const response = await t.post('/verify', { token: '' });

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_token', verified: false });
  });

  it.each([
    ['POST', '/logout/all'],
    ['GET', '/me'],
    ['POST', '/me/password'],
  ])('answers %s %s with the token of an ended session with 401 invalid_token', async (method, path) => {
    const login = await t.registerAndLogIn(`ended${path.replace(/\W/g, '')}`);
    await t.post('/logout', '', t.bearer(login.token));

    const response = await t.app.request(path, {
      method,
      headers: { ...t.bearer(login.token), 'Content-Type': 'application/json' },
      ...(method === 'GET' ? {} : { body: JSON.stringify({ currentPassword: 'correct horse battery', newPassword: 'another fine passphrase' }) }),
    });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await json(response)).toMatchObject({ code: 'invalid_token' });
  });

  it('answers a bad bearer token with error="invalid_token"', async () => {
    const response = await t.app.request('/me', { headers: t.bearer('not.a.token') });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('changes the password, ends every session, and answers with a new pair', async () => {
    const login = await t.registerAndLogIn('changer', 'old password 1');
    const other = (await (await t.post('/login', { username: 'changer', password: 'old password 1' })).json()) as LoginAnswer;

    const response = await t.post(
      '/me/password',
      { currentPassword: 'old password 1', newPassword: 'new password 2' },
      t.bearer(login.token),
    );
    const fresh = (await response.json()) as LoginAnswer;

    expect(response.status).toBe(200);
    expect(await verifies(t, login.token)).toBe(false);
    expect(await verifies(t, other.token)).toBe(false);
    expect(await verifies(t, fresh.token)).toBe(true);
    expect((await t.post('/login', { username: 'changer', password: 'old password 1' })).status).toBe(401);
    expect((await t.post('/login', { username: 'changer', password: 'new password 2' })).status).toBe(200);
  });

  it('refuses a password change with a wrong current password', async () => {
    const login = await t.registerAndLogIn('keeper', 'violet harbor lamp');

    const response = await t.post(
      '/me/password',
      { currentPassword: 'not it at all', newPassword: 'new password 2' },
      t.bearer(login.token),
    );

    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ code: 'invalid_credentials' });
    expect(await verifies(t, login.token)).toBe(true);
  });

  it('deletes the account and its sessions; the name is free, and the new account is another one', async () => {
    const login = await t.registerAndLogIn('phoenix', 'first life pw');

    const deleted = await t.app.request('/me', {
      method: 'DELETE',
      headers: { ...t.bearer(login.token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'first life pw' }),
    });
    const reborn = await t.registerAndLogIn('phoenix', 'second life pw');

    expect(deleted.status).toBe(204);
    expect(await verifies(t, login.token)).toBe(false);
    expect((await refresh(t, login.refreshToken)).status).toBe(401);
    expect(await verifies(t, reborn.token)).toBe(true);
  });
});

describe('JWKS', () => {
  it('publishes no key in HS256 mode', async () => {
    const response = await t.app.request('/.well-known/jwks.json');

    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ keys: [] });
  });

  it('lets a service verify EdDSA tokens on its own across a key rotation', async () => {
    const [k1] = (await generatePrivateJwks('EdDSA', 'key-1')).keys;
    const [k2] = (await generatePrivateJwks('EdDSA', 'key-2')).keys;
    const before = await createTestApp(store.endpoint, { JWT_ALG: 'EdDSA', JWT_PRIVATE_JWKS: JSON.stringify({ keys: [k1] }) });
    const oldToken = (await before.registerAndLogIn('rotating')).token;
    // Publish key-2 beside key-1, and let key-2 sign.
    const after = await createTestApp(
      store.endpoint,
      { JWT_ALG: 'EdDSA', JWT_PRIVATE_JWKS: JSON.stringify({ keys: [k1, k2] }), JWT_SIGNING_KID: 'key-2' },
      { tableName: before.tableName, sessionsTableName: before.sessionsTableName },
    );
    const newToken = (await (await after.post('/login', { username: 'rotating', password: 'correct horse battery' })).json() as LoginAnswer).token;

    const published = (await (await after.app.request('/.well-known/jwks.json')).json()) as { keys: Record<string, unknown>[] };
    const remote = createLocalJWKSet(published as Parameters<typeof createLocalJWKSet>[0]);
    const verifyOnItsOwn = (token: string) =>
      jwtVerify(token, remote, { algorithms: ['EdDSA'], issuer: 'login-service', audience: 'login-service', typ: 'at+jwt' });

    expect(published.keys.map((k) => k.kid)).toEqual(['key-1', 'key-2']);
    expect(published.keys.every((k) => k.d === undefined && k.use === 'sig' && k.alg === 'EdDSA')).toBe(true);
    expect((await verifyOnItsOwn(oldToken)).protectedHeader.kid).toBe('key-1');
    expect((await verifyOnItsOwn(newToken)).protectedHeader.kid).toBe('key-2');
    expect(await verifies(after, oldToken)).toBe(true);
    before.client.destroy();
    after.client.destroy();
  });
});
