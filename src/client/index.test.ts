// The typed client against a real local server (real HTTP, the embedded store): every method, the error mapping,
// the refresh before expiry and on token_expired, one refresh for many concurrent callers, and the mail links
// (read back from the server's outbox on disk).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWTHeaderParameters } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, TEST_REFRESH_SECRET } from '../../test/app-harness';
import { checkedFetch } from '../../test/contract';
import { createTestOutbox, type TestOutbox } from '../../test/outbox';
import { authenticatorApp } from '../../test/browser/authenticator-app';
import { parseOtpauthUri, RECOVERY_CODE } from '../../test/totp-helpers';
import { createAuthenticator } from '../../test/webauthn-authenticator';
import { ROUTES, type RouteId } from '../adapters/http/routes';
import { startServer, type RunningServer } from '../server';
import { ENDPOINTS } from './endpoints';
import { createLoginClient, LoginServiceError, MfaRequiredError, type Fetch, type LoginClient } from './index';

const SERVER_ENV = {
  DATA_DIR: ':memory:',
  PORT: '0',
  LOG_LEVEL: 'SILENT',
  JWT_SECRET: TEST_JWT_SECRET,
  REFRESH_TOKEN_SECRET: TEST_REFRESH_SECRET,
  // The shortest lifetime the service allows: the client refreshes once less than 30 s of it is left.
  TOKEN_TTL_SECONDS: '60',
  // Every request comes from 127.0.0.1: the per-client registration ceiling would stop this file halfway.
  THROTTLE_IP_REGISTRATIONS: '1000',
};
const PASSWORD = 'a long enough passphrase';

/** Routes the client leaves out on purpose, with why. */
const NOT_IN_CLIENT: Partial<Record<RouteId, string>> = { openApi: 'a document for tools, not a call an app makes' };

let server: RunningServer;
/** A second server that keeps its data on disk, so its outbox writes each mail as an .eml file. */
let mailServer: RunningServer;
let outbox: TestOutbox;
let dataDir: string;
beforeAll(async () => {
  server = await startServer(SERVER_ENV);
  // The server writes DATA_DIR/outbox, which the test reads back.
  dataDir = mkdtempSync(join(tmpdir(), 'client-data-'));
  outbox = createTestOutbox(join(dataDir, 'outbox'));
  // Every request comes from 127.0.0.1: the per-client mail ceiling would stop this file halfway.
  mailServer = await startServer({ ...SERVER_ENV, DATA_DIR: dataDir, THROTTLE_IP_MAILS: '1000' });
});
afterAll(async () => {
  await server?.close();
  await mailServer?.close();
  for (const dir of [dataDir, outbox?.folder]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

type Seen = { method: string; path: string; status: number };

/**
 * A fetch that records what the client sent and got. `replaceToken` stands in for time passing on the wire: it
 * may swap the bearer token of a request for another (an expired copy), which the server then judges for real.
 */
const recordingFetch = (replaceToken?: (token: string) => Promise<string>) => {
  const seen: Seen[] = [];
  const fetchFn: Fetch = async (url, init) => {
    const headers = new Headers(init.headers);
    const bearer = /^Bearer (.+)$/.exec(headers.get('Authorization') ?? '')?.[1];
    if (bearer !== undefined && replaceToken !== undefined) headers.set('Authorization', `Bearer ${await replaceToken(bearer)}`);
    const response = await checkedFetch(url, { ...init, headers });
    seen.push({ method: init.method ?? 'GET', path: new URL(url).pathname, status: response.status });
    return response;
  };
  const refreshes = () => seen.filter((call) => call.path === '/token/refresh').length;
  return { fetchFn, seen, refreshes };
};

/** A clock the test moves forward: the client's idea of now, never the server's. */
const movableNow = () => {
  let offsetMs = 0;
  return { now: () => Date.now() + offsetMs, advance: (seconds: number) => (offsetMs += seconds * 1000) };
};

/** The same access token, re-signed by the server's key as if issued two minutes ago: the server says token_expired. */
const expiredCopy = async (token: string) => {
  const past = Math.floor(Date.now() / 1000) - 120;
  return new SignJWT({ ...decodeJwt(token), iat: past, exp: past + 60 })
    .setProtectedHeader(decodeProtectedHeader(token) as JWTHeaderParameters)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
};

let userCount = 0;
/** A new account, and a client logged in to it. */
const loggedIn = async (options: { fetch?: Fetch; now?: () => number } = {}) => {
  const username = `client-user-${++userCount}`;
  const client = createLoginClient({ baseUrl: `${server.url}/`, fetch: checkedFetch, ...options });
  await client.register({ name: 'Client Test', username, password: PASSWORD });
  await client.login({ username, password: PASSWORD });
  return { client, username };
};

/** The LoginServiceError a promise rejects with (fails the test if it resolves or throws something else). */
const failure = async (promise: Promise<unknown>): Promise<LoginServiceError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LoginServiceError);
  return error as LoginServiceError;
};

describe('typed client: the routes', () => {
  it('calls each route of the route table by its method and path, except the ones it leaves out on purpose', () => {
    const expected = Object.entries(ROUTES)
      .filter(([id]) => NOT_IN_CLIENT[id as RouteId] === undefined)
      .map(([id, route]) => [id, { method: route.method, path: route.path }]);

    expect(ENDPOINTS).toEqual(Object.fromEntries(expected));
  });
});

describe('typed client against a local server', () => {
  it('registers, logs in and holds the session, then reads /me and verifies its own token', async () => {
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    expect(client.session).toBeNull();

    const registered = await client.register({ name: 'Ada Lovelace', username: 'Ada-Client', password: PASSWORD });
    const pair = await client.login({ username: 'ADA-client', password: PASSWORD });
    const me = await client.me();
    const bySession = await client.verify();
    const byBody = await client.verify({ token: pair.token, username: 'ada-client' });

    expect(registered).toEqual({ username: 'ada-client' });
    expect(pair).toMatchObject({ user: { username: 'ada-client', name: 'Ada Lovelace' }, tokenType: 'Bearer', expiresIn: 60 });
    expect(client.session).toEqual(pair);
    expect(me.user).toMatchObject({ username: 'ada-client', name: 'Ada Lovelace' });
    expect(typeof me.user.createdAt).toBe('string');
    expect(bySession).toMatchObject({ verified: true, username: 'ada-client' });
    expect(byBody).toMatchObject({ verified: true, username: 'ada-client' });
  });

  it('rotates the refresh token on refresh() and keeps working with the new pair', async () => {
    const { client } = await loggedIn();
    const before = client.session!;

    const after = await client.refresh();
    const me = await client.me();
    const oldAgain = await fetch(`${server.url}/token/refresh`, {
      method: 'POST',
      body: JSON.stringify({ refreshToken: before.refreshToken }),
    });

    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(client.session).toEqual(after);
    expect(me.user.username).toBe(before.user.username);
    // Within the grace window the replaced token gets the same successor: proof the rotation really happened.
    expect(((await oldAgain.json()) as { refreshToken: string }).refreshToken).toBe(after.refreshToken);
  });

  it('holds the new session a password change starts; the new password logs in, the old one does not', async () => {
    const { client, username } = await loggedIn();
    const before = client.session!;

    const pair = await client.changePassword({ currentPassword: PASSWORD, newPassword: 'another long passphrase' });
    const me = await client.me();
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const oldPassword = await failure(other.login({ username, password: PASSWORD }));
    await other.login({ username, password: 'another long passphrase' });

    expect(client.session).toEqual(pair);
    expect(pair.refreshToken).not.toBe(before.refreshToken);
    expect(me.user.username).toBe(username);
    expect(oldPassword.code).toBe('invalid_credentials');
  });

  it('logs out by the refresh token and forgets the session; a second logout sends nothing', async () => {
    const recorder = recordingFetch();
    const { client } = await loggedIn({ fetch: recorder.fetchFn });
    const refreshToken = client.session!.refreshToken;

    await client.logout();
    const sent = recorder.seen.length;
    await client.logout();
    const refreshAfter = await fetch(`${server.url}/token/refresh`, { method: 'POST', body: JSON.stringify({ refreshToken }) });
    const me = await failure(client.me());

    expect(client.session).toBeNull();
    expect(recorder.seen.at(sent - 1)).toEqual({ method: 'POST', path: '/logout', status: 204 });
    expect(recorder.seen).toHaveLength(sent + 1); // only the me() below the second logout
    expect(refreshAfter.status).toBe(401);
    expect(me).toMatchObject({ status: 401, code: 'missing_token' });
  });

  it('ends every session of the account on logoutAll()', async () => {
    const { client, username } = await loggedIn();
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    await other.login({ username, password: PASSWORD });

    await client.logoutAll();
    const otherMe = await failure(other.me());

    expect(client.session).toBeNull();
    expect(otherMe).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('keeps the session when deleteAccount() gets a wrong password, and forgets it when the account is gone', async () => {
    const { client, username } = await loggedIn();

    const wrong = await failure(client.deleteAccount({ password: 'not the password' }));
    const heldAfterWrong = client.session;
    await client.deleteAccount({ password: PASSWORD });
    const login = await failure(client.login({ username, password: PASSWORD }));

    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(heldAfterWrong).not.toBeNull();
    expect(client.session).toBeNull();
    expect(login.code).toBe('invalid_credentials');
  });

  it('reads the JWKS and the health check', async () => {
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });

    expect(await client.jwks()).toEqual({ keys: [] });
    expect(await client.health()).toEqual({ status: 'ok' });
  });
});

describe('typed client: errors', () => {
  it('throws weak_password with its reasons, username_taken, invalid_credentials and invalid_request with its field', async () => {
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    await client.register({ name: 'Taken', username: 'taken-name', password: PASSWORD });

    const weak = await failure(client.register({ name: 'Pat Doe', username: 'qwv', password: 'qwv12' }));
    const taken = await failure(client.register({ name: 'Other', username: 'TAKEN-name', password: PASSWORD }));
    const wrong = await failure(client.login({ username: 'taken-name', password: 'not it at all' }));
    // The types forbid it; a plain-JavaScript caller can still send it.
    const invalid = await failure(client.login({ username: 42 as unknown as string, password: PASSWORD }));

    expect(weak).toMatchObject({ status: 400, code: 'weak_password', reasons: ['too_short', 'contains_username'] });
    expect(taken).toMatchObject({ status: 409, code: 'username_taken', message: 'this username is already taken' });
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_request', field: 'username' });
    expect(invalid.reasons).toBeUndefined();
  });

  it('reads retryAfterSeconds from Retry-After on a 429', async () => {
    const limited = await startServer({ ...SERVER_ENV, THROTTLE_IP_REGISTRATIONS: '1' });
    try {
      const client = createLoginClient({ baseUrl: limited.url, fetch: checkedFetch });
      await client.register({ name: 'First', username: 'first-one', password: PASSWORD });

      const throttled = await failure(client.register({ name: 'Second', username: 'second-one', password: PASSWORD }));

      expect(throttled).toMatchObject({ status: 429, code: 'too_many_attempts' });
      expect(throttled.retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('answers a bearer call without a session with missing_token, and refresh() with no_session', async () => {
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });

    expect(await failure(client.me())).toMatchObject({ status: 401, code: 'missing_token' });
    expect(await failure(client.refresh())).toMatchObject({ status: 0, code: 'no_session' });
  });

  it('turns a refused connection into network_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const client = createLoginClient({ baseUrl: `http://127.0.0.1:${port}` });

    const error = await failure(client.health());

    expect(error).toMatchObject({ status: 0, code: 'network_error' });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('turns an answer that is not the service JSON (a proxy page) into invalid_response', async () => {
    const proxy: Server = createServer((request, response) => {
      const failing = request.url === '/health';
      response.writeHead(failing ? 502 : 200, { 'Content-Type': 'text/html' });
      response.end('<html><body>Bad Gateway</body></html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const client = createLoginClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
    try {
      const failed = await failure(client.health());
      const notJson = await failure(client.jwks());

      expect(failed).toMatchObject({ status: 502, code: 'invalid_response' });
      expect(notJson).toMatchObject({ status: 200, code: 'invalid_response' });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('typed client: keeping the access token fresh', () => {
  it('uses the token as it is while more than 30 s of it is left', async () => {
    const recorder = recordingFetch();
    const clock = movableNow();
    const { client } = await loggedIn({ fetch: recorder.fetchFn, now: clock.now });

    clock.advance(25);
    await client.me();

    expect(recorder.refreshes()).toBe(0);
  });

  it('refreshes before a bearer call once less than 30 s of the token is left', async () => {
    const recorder = recordingFetch();
    const clock = movableNow();
    const { client } = await loggedIn({ fetch: recorder.fetchFn, now: clock.now });
    const before = client.session!;
    const sent = recorder.seen.length;

    clock.advance(31);
    await client.me();

    expect(recorder.seen.slice(sent).map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'POST /token/refresh 200',
      'GET /me 200',
    ]);
    expect(client.session!.token).not.toBe(before.token);
  });

  it('refreshes and retries once when the server says token_expired', async () => {
    let expiring: string | undefined;
    const recorder = recordingFetch(async (token) => (token === expiring ? expiredCopy(token) : token));
    const { client } = await loggedIn({ fetch: recorder.fetchFn });
    expiring = client.session!.token;
    const sent = recorder.seen.length;

    const me = await client.me();

    expect(me.user.name).toBe('Client Test');
    expect(recorder.seen.slice(sent).map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'GET /me 401',
      'POST /token/refresh 200',
      'GET /me 200',
    ]);
  });

  it('retries only once: a second token_expired is thrown', async () => {
    const recorder = recordingFetch(expiredCopy);
    const { client } = await loggedIn({ fetch: recorder.fetchFn });
    const sent = recorder.seen.length;

    const error = await failure(client.me());

    expect(error).toMatchObject({ status: 401, code: 'token_expired' });
    expect(recorder.seen.slice(sent).map((call) => `${call.method} ${call.path} ${call.status}`)).toEqual([
      'GET /me 401',
      'POST /token/refresh 200',
      'GET /me 401',
    ]);
  });

  it('starts one refresh for many calls that find the token about to expire', async () => {
    const recorder = recordingFetch();
    const clock = movableNow();
    const { client } = await loggedIn({ fetch: recorder.fetchFn, now: clock.now });

    clock.advance(31);
    const answers = await Promise.all([client.me(), client.me(), client.verify(), client.me(), client.me()]);

    expect(answers).toHaveLength(5);
    expect(recorder.refreshes()).toBe(1);
  });

  it('starts one refresh for many calls answered token_expired at once', async () => {
    let expiring: string | undefined;
    const recorder = recordingFetch(async (token) => (token === expiring ? expiredCopy(token) : token));
    const { client } = await loggedIn({ fetch: recorder.fetchFn });
    expiring = client.session!.token;

    const answers = await Promise.all([client.me(), client.me(), client.verify(), client.me()]);

    expect(answers).toHaveLength(4);
    expect(recorder.seen.filter((call) => call.status === 401)).toHaveLength(4);
    expect(recorder.refreshes()).toBe(1);
  });

  it('forgets the session when the server refuses its refresh token', async () => {
    const clock = movableNow();
    const { client } = await loggedIn({ now: clock.now });
    // The session ends elsewhere (another tab logged out with the same refresh token).
    await fetch(`${server.url}/logout`, { method: 'POST', body: JSON.stringify({ refreshToken: client.session!.refreshToken }) });

    clock.advance(31);
    const error = await failure(client.me());

    expect(error).toMatchObject({ status: 401, code: 'invalid_refresh_token' });
    expect(client.session).toBeNull();
  });

  it('keeps the session when a refresh fails on the way, and the next call refreshes with the same token', async () => {
    const recorder = recordingFetch();
    let dropNextRefresh = true;
    const flaky: Fetch = (url, init) => {
      if (dropNextRefresh && url.endsWith('/token/refresh')) {
        dropNextRefresh = false;
        return Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }));
      }
      return recorder.fetchFn(url, init);
    };
    const clock = movableNow();
    const { client } = await loggedIn({ fetch: flaky, now: clock.now });
    const before = client.session!;

    clock.advance(31);
    const dropped = await failure(client.me());
    const heldAfterDrop = client.session;
    const me = await client.me();

    expect(dropped).toMatchObject({ status: 0, code: 'network_error' });
    expect(dropped.message).toContain('ECONNRESET');
    expect(heldAfterDrop).toEqual(before);
    expect(me.user.username).toBe(before.user.username);
    expect(client.session!.token).not.toBe(before.token);
  });
});

describe('typed client: email addresses and password reset', () => {
  let mailUsers = 0;
  /** A new account with an address (unverified) on the mail server, and a client for it, not logged in. */
  const withAddress = async () => {
    const n = ++mailUsers;
    const username = `mail-user-${n}`;
    const email = `mail-user-${n}@example.com`;
    const client = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });
    await client.register({ name: 'Mail Test', username, password: PASSWORD, email });
    return { client, username, email };
  };

  it('registers with an email, verifies it by the mailed token, and then logs in by that address', async () => {
    const { client, username, email } = await withAddress();
    const byEmailBefore = await failure(client.login({ email, password: PASSWORD }));
    await client.login({ username, password: PASSWORD });
    const before = await client.me();

    const verified = await client.verifyEmail({ token: await outbox.tokenFor(email, 'verify-email') });
    const after = await client.me();
    const other = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });
    const pair = await other.login({ email: email.toUpperCase(), password: PASSWORD });

    // An unverified address does not log in, and says nothing more than a wrong password does.
    expect(byEmailBefore).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(before.user).toMatchObject({ email, emailVerified: false, pendingEmail: null });
    expect(verified).toEqual({ username, email, emailVerified: true });
    expect(after.user).toMatchObject({ email, emailVerified: true, pendingEmail: null });
    expect(pair.user.username).toBe(username);
    expect(other.session).toEqual(pair);
  });

  it('resends a verification link: the earlier one stops working, the new one verifies', async () => {
    const { client, username, email } = await withAddress();
    const first = await outbox.tokenFor(email, 'verify-email');
    await client.login({ username, password: PASSWORD });

    const resent = await client.resendVerification();
    const second = await outbox.tokenFor(email, 'verify-email');
    const stale = await failure(client.verifyEmail({ token: first }));
    const verified = await client.verifyEmail({ token: second });

    expect(typeof resent.message).toBe('string');
    expect(second).not.toBe(first);
    expect(stale).toMatchObject({ status: 400, code: 'invalid_verification_token' });
    expect(verified.emailVerified).toBe(true);
  });

  it('changes the address: a wrong password is refused, the new one waits as pendingEmail until its link is opened', async () => {
    const { client, username, email } = await withAddress();
    await client.verifyEmail({ token: await outbox.tokenFor(email, 'verify-email') });
    await client.login({ username, password: PASSWORD });
    const newEmail = `changed-${email}`;

    const wrong = await failure(client.changeEmail({ email: newEmail, password: 'not the password' }));
    const accepted = await client.changeEmail({ email: newEmail, password: PASSWORD });
    const pending = await client.me();
    await client.verifyEmail({ token: await outbox.tokenFor(newEmail, 'verify-email') });
    const changed = await client.me();

    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(typeof accepted.message).toBe('string');
    expect(pending.user).toMatchObject({ email, emailVerified: true, pendingEmail: newEmail });
    expect(changed.user).toMatchObject({ email: newEmail, emailVerified: true, pendingEmail: null });
  });

  it('throws email_taken when another account verified the address first', async () => {
    const first = await withAddress();
    const second = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });
    await second.register({ name: 'Second', username: `${first.username}-again`, password: PASSWORD, email: first.email });
    const [firstToken, secondToken] = (await outbox.to(first.email))
      .flatMap((mail) => mail.links)
      .filter((link) => link.includes('/verify-email#token='))
      .map((link) => decodeURIComponent(link.slice(link.indexOf('#token=') + '#token='.length)));

    await first.client.verifyEmail({ token: firstToken! });
    const taken = await failure(second.verifyEmail({ token: secondToken! }));

    expect(taken).toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('resets a forgotten password by the mailed token: every session ends, the new password logs in, the token works once', async () => {
    const { client, username, email } = await withAddress();
    await client.verifyEmail({ token: await outbox.tokenFor(email, 'verify-email') });
    await client.login({ username, password: PASSWORD });
    const anonymous = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });

    const byName = await anonymous.forgotPassword({ username });
    const byEmail = await anonymous.forgotPassword({ email });
    const unknown = await anonymous.forgotPassword({ username: 'nobody-has-this-name' });
    const token = await outbox.tokenFor(email, 'reset-password');
    const weak = await failure(anonymous.resetPassword({ token, newPassword: 'short' }));
    const reset = await anonymous.resetPassword({ token, newPassword: 'a brand new passphrase' });
    const again = await failure(anonymous.resetPassword({ token, newPassword: 'yet another passphrase' }));
    const oldSession = await failure(client.me());
    const oldPassword = await failure(anonymous.login({ username, password: PASSWORD }));
    const pair = await anonymous.login({ email, password: 'a brand new passphrase' });

    // The same answer whether or not the account exists.
    expect(byEmail).toEqual(byName);
    expect(unknown).toEqual(byName);
    expect(weak).toMatchObject({ status: 400, code: 'weak_password' });
    expect(reset).toBeUndefined();
    expect(again).toMatchObject({ status: 400, code: 'invalid_reset_token' });
    expect(oldSession).toMatchObject({ status: 401 });
    expect(oldPassword.code).toBe('invalid_credentials');
    expect(pair.user.username).toBe(username);
  });

  it('throws invalid_verification_token and invalid_reset_token for tokens no link carried', async () => {
    const client = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });

    const verify = await failure(client.verifyEmail({ token: 'not-a-token-the-service-made' }));
    const reset = await failure(client.resetPassword({ token: 'not-a-token-the-service-made', newPassword: PASSWORD }));

    expect(verify).toMatchObject({ status: 400, code: 'invalid_verification_token' });
    expect(reset).toMatchObject({ status: 400, code: 'invalid_reset_token' });
  });

  it('refuses a login with both a username and an email, in its types and at the server', async () => {
    const client = createLoginClient({ baseUrl: mailServer.url, fetch: checkedFetch });

    // @ts-expect-error one of the two, never both
    const both = await failure(client.login({ username: 'someone', email: 'someone@example.com', password: PASSWORD }));

    expect(both).toMatchObject({ status: 400, code: 'invalid_request' });
  });
});

/** A new account logged in on `client`, with TOTP turned on: its app, recovery codes and name. */
const withTotp = async () => {
  const { client, username } = await loggedIn();
  const { secret } = await client.startTotp({ password: PASSWORD });
  const app = authenticatorApp(secret);
  const { recoveryCodes } = await client.confirmTotp({ code: await app.code() });
  return { client, username, app, recoveryCodes };
};

/** The MfaRequiredError a password login of an account with TOTP on rejects with. */
const stepUp = async (client: LoginClient, username: string): Promise<MfaRequiredError> => {
  const error = await failure(client.login({ username, password: PASSWORD }));
  expect(error).toBeInstanceOf(MfaRequiredError);
  return error as MfaRequiredError;
};

describe('typed client: authenticator app (TOTP) and recovery codes', () => {
  it('sets up an authenticator app: the secret and otpauth URI, a wrong code refused, the right one gives 10 recovery codes', async () => {
    const { client, username } = await loggedIn();
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    await other.login({ username, password: PASSWORD });

    const wrongPassword = await failure(client.startTotp({ password: 'not the password' }));
    const enrolment = await client.startTotp({ password: PASSWORD });
    const app = authenticatorApp(enrolment.secret);
    const beforeConfirm = await client.me();
    const wrong = await failure(client.confirmTotp({ code: app.wrong() }));
    const { recoveryCodes } = await client.confirmTotp({ code: await app.code() });
    const after = await client.me();
    const again = await failure(client.startTotp({ password: PASSWORD }));
    const otherSession = await failure(other.me());

    expect(wrongPassword).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(parseOtpauthUri(enrolment.otpauthUri)).toMatchObject({
      issuer: 'login-service',
      label: username,
      secret: enrolment.secret,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(beforeConfirm.user.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(wrong).toMatchObject({ status: 400, code: 'invalid_mfa_code' });
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    // This session carried on; every other one ended.
    expect(after.user.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(again).toMatchObject({ status: 409, code: 'mfa_already_enabled' });
    expect(otherSession).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it('rejects a password login of a TOTP account with MfaRequiredError, and loginMfa with a code holds the session', async () => {
    const { username, app } = await withTotp();
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });

    const required = await stepUp(client, username);
    const heldAfterStepUp = client.session;
    const wrong = await failure(client.loginMfa({ mfaToken: required.mfaToken, code: app.wrong() }));
    // The token survives a wrong code.
    const pair = await client.loginMfa({ mfaToken: required.mfaToken, code: await app.code() });
    const me = await client.me();
    // Spent: refused for the token, whatever the code (a wrong one here, so no third code has to wait for the clock).
    const spent = await failure(
      createLoginClient({ baseUrl: server.url, fetch: checkedFetch }).loginMfa({ mfaToken: required.mfaToken, code: app.wrong() }),
    );

    expect(required).toBeInstanceOf(LoginServiceError);
    expect(required).toMatchObject({ status: 403, code: 'mfa_required', methods: ['totp', 'recovery_code'] });
    expect(required.mfaToken.length).toBeGreaterThan(20);
    // The step-up token is not written out when the error is logged or serialized.
    expect(JSON.stringify(required)).not.toContain(required.mfaToken);
    expect(String(required)).not.toContain(required.mfaToken);
    expect(Object.keys(required)).not.toContain('mfaToken');
    expect(heldAfterStepUp).toBeNull();
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
    expect(client.session).toEqual(pair);
    expect(pair.user.username).toBe(username);
    expect(me.user.username).toBe(username);
    expect(spent).toMatchObject({ status: 401, code: 'invalid_mfa_token' });
  });

  it('finishes a login with a recovery code once; the same code again is refused', async () => {
    const { username, recoveryCodes } = await withTotp();
    const client = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const [first] = recoveryCodes as [string];

    await client.loginMfa({ mfaToken: (await stepUp(client, username)).mfaToken, recoveryCode: first.toLowerCase() });
    const me = await client.me();
    const reused = await failure(client.loginMfa({ mfaToken: (await stepUp(client, username)).mfaToken, recoveryCode: first }));

    expect(me.user.mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 9 });
    expect(reused).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
  });

  it('replaces the recovery codes with the password and a code, or an old recovery code; the password alone, a wrong password or a wrong code changes nothing', async () => {
    const { client, username, app, recoveryCodes: old } = await withTotp();

    // @ts-expect-error a second factor is required: new recovery codes sign in
    const alone = await failure(client.replaceRecoveryCodes({ password: PASSWORD }));
    const wrongPassword = await failure(client.replaceRecoveryCodes({ password: 'not the password', code: app.wrong() }));
    const wrongCode = await failure(client.replaceRecoveryCodes({ password: PASSWORD, code: app.wrong() }));
    const byCode = await client.replaceRecoveryCodes({ password: PASSWORD, code: await app.code() });
    // One of the codes just given stands in for the app; it is spent with the rest of its set.
    const { recoveryCodes } = await client.replaceRecoveryCodes({ password: PASSWORD, recoveryCode: byCode.recoveryCodes[5]! });
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const oldCode = await failure(other.loginMfa({ mfaToken: (await stepUp(other, username)).mfaToken, recoveryCode: old[0]! }));
    const spent = await failure(
      other.loginMfa({ mfaToken: (await stepUp(other, username)).mfaToken, recoveryCode: byCode.recoveryCodes[6]! }),
    );
    await other.loginMfa({ mfaToken: (await stepUp(other, username)).mfaToken, recoveryCode: recoveryCodes[0]! });

    expect(alone).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(wrongPassword).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(wrongCode).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
    expect(byCode.recoveryCodes).toHaveLength(10);
    expect(byCode.recoveryCodes.filter((code) => old.includes(code))).toEqual([]);
    expect(recoveryCodes).toHaveLength(10);
    expect(recoveryCodes.filter((code) => byCode.recoveryCodes.includes(code))).toEqual([]);
    expect(oldCode).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
    expect(spent).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
    expect((await other.me()).user.mfa.recoveryCodesLeft).toBe(9);
  });

  it('turns TOTP off with the password and a code: a wrong code is refused, then the password alone logs in', async () => {
    const { client, username, app } = await withTotp();

    const wrong = await failure(client.disableTotp({ password: PASSWORD, code: app.wrong() }));
    const done = await client.disableTotp({ password: PASSWORD, code: await app.code() });
    const me = await client.me();
    const noCodes = await failure(client.replaceRecoveryCodes({ password: PASSWORD, code: app.wrong() }));
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const pair = await other.login({ username, password: PASSWORD });

    expect(wrong).toMatchObject({ status: 401, code: 'invalid_mfa_code' });
    expect(done).toBeUndefined();
    expect(me.user.mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(noCodes).toMatchObject({ status: 400, code: 'mfa_not_enabled' });
    expect(pair.user.username).toBe(username);
  }, 60_000);

  it('turns TOTP off with a recovery code', async () => {
    const { client, recoveryCodes } = await withTotp();

    await client.disableTotp({ password: PASSWORD, recoveryCode: recoveryCodes[3]! });

    expect((await client.me()).user.mfa.totp).toBe(false);
  });
});

describe('typed client: passkeys', () => {
  /** The ceremony as the browser on the server's own page carries it out. */
  const ceremony = () => ({ origin: server.url, rpId: new URL(server.url).hostname });

  it('adds a passkey, lists it, signs in with it (no password, no code), and removes it', async () => {
    const { client, username } = await loggedIn();
    const authenticator = createAuthenticator();

    const wrongPassword = await failure(client.passkeyRegistrationOptions({ password: 'not the password' }));
    const creation = await client.passkeyRegistrationOptions({ password: PASSWORD });
    const added = await client.addPasskey({ response: authenticator.createCredential(creation, ceremony()), name: 'Test key' });
    const listed = await client.listPasskeys();

    const anonymous = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const request = await anonymous.passkeyLoginOptions();
    const pair = await anonymous.loginWithPasskey({ response: authenticator.getAssertion(request, ceremony()) });
    const usedList = await anonymous.listPasskeys();
    const replayed = await failure(anonymous.loginWithPasskey({ response: authenticator.getAssertion(request, ceremony()) }));

    const removeWrong = await failure(anonymous.removePasskey({ id: added.id, password: 'not the password' }));
    await anonymous.removePasskey({ id: added.id, password: PASSWORD });
    const removedAgain = await failure(anonymous.removePasskey({ id: added.id, password: PASSWORD }));
    const after = await anonymous.listPasskeys();
    const gone = await failure(
      createLoginClient({ baseUrl: server.url, fetch: checkedFetch }).loginWithPasskey({
        response: authenticator.getAssertion(await anonymous.passkeyLoginOptions(), ceremony()),
      }),
    );

    expect(wrongPassword).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(creation.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    expect(added).toMatchObject({ name: 'Test key' });
    expect(listed.passkeys).toEqual([{ id: added.id, name: 'Test key', createdAt: added.createdAt, lastUsedAt: null, backedUp: true }]);
    expect(request.allowCredentials ?? []).toEqual([]);
    expect(pair.user.username).toBe(username);
    expect(anonymous.session).toEqual(pair);
    expect(typeof usedList.passkeys[0]?.lastUsedAt).toBe('string');
    expect(replayed).toMatchObject({ status: 401, code: 'invalid_passkey' });
    expect(removeWrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(removedAgain).toMatchObject({ status: 404, code: 'not_found' });
    expect(after.passkeys).toEqual([]);
    expect(gone).toMatchObject({ status: 401, code: 'invalid_passkey' });
  });

  it('asks for a second factor too when TOTP is on, and offers "passkey" at the step-up once the account has one', async () => {
    const { client, username, recoveryCodes } = await withTotp();
    const authenticator = createAuthenticator();

    const passwordOnly = await failure(client.passkeyRegistrationOptions({ password: PASSWORD }));
    const creation = await client.passkeyRegistrationOptions({ password: PASSWORD, recoveryCode: recoveryCodes[0]! });
    await client.addPasskey({ response: authenticator.createCredential(creation, ceremony()) });
    const other = createLoginClient({ baseUrl: server.url, fetch: checkedFetch });
    const required = await stepUp(other, username);
    // The passkey stands for the whole login, second factor included.
    const pair = await other.loginWithPasskey({
      response: authenticator.getAssertion(await other.passkeyLoginOptions(), ceremony()),
    });

    expect(passwordOnly).toMatchObject({ status: 400, code: 'invalid_request' });
    expect([...required.methods].sort()).toEqual(['passkey', 'recovery_code', 'totp']);
    expect(pair.user.username).toBe(username);
    expect((await other.me()).user.mfa).toMatchObject({ totp: true, passkeys: 1 });
  });

  it('encodes a passkey id as one path segment', async () => {
    const recorder = recordingFetch();
    const { client } = await loggedIn({ fetch: recorder.fetchFn });

    const missing = await failure(client.removePasskey({ id: 'a/b?c', password: PASSWORD }));

    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    expect(recorder.seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/me/passkeys/a%2Fb%3Fc' });
  });
});
