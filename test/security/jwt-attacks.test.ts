// JWT attacks on POST /verify and GET /me: each forgery, made from a real user's real token, answers 401.
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { GetCommand } from '../../src/adapters/dynamodb/client';
import {
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  SignJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateJwks } from '../../src/adapters/jwt/signing-keys';
import { createTestApp, TEST_JWT_SECRET, TEST_REFRESH_SECRET, type LoginAnswer, type TestApp } from '../app-harness';
import { startDynalite, type TestStore } from '../stores';
import { guardLogs, type LogGuard } from './log-guard';

const SERVER_SECRET = new TextEncoder().encode(TEST_JWT_SECRET);
const SERVER_KID = 'key-1';

let logs: LogGuard;
let store: TestStore;
let hs: TestApp;
let ed: TestApp;
let serverJwk: JWK;
let alice: LoginAnswer;
let mallory: LoginAnswer;
let edward: LoginAnswer;

// ---- forging: every forgery starts from a real token and changes one thing ----

type SigningKey = Parameters<SignJWT['sign']>[0];

const base64urlJson = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string): JWTPayload => decodeJwt(token);
const headerOf = (token: string) => decodeProtectedHeader(token) as JWTHeaderParameters;
const partsOf = (token: string) => {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return { header, payload, signature };
};
const nowSeconds = (app: TestApp) => Math.floor(app.clock.now().getTime() / 1000);

/** jose signs any protected header and any claims it is given. */
const signed = (claims: JWTPayload, header: JWTHeaderParameters, key: SigningKey = SERVER_SECRET) =>
  new SignJWT(claims).setProtectedHeader(header).sign(key);

/** jose will not put an HMAC under `alg: RS256` or sign `none`: those are put together by hand. */
const hmacSha256Under = (header: Record<string, unknown>, claims: JWTPayload, key: string | Uint8Array) => {
  const input = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};
const unsignedUnder = (header: Record<string, unknown>, claims: JWTPayload) =>
  `${base64urlJson(header)}.${base64urlJson(claims)}.`;

// ---- presenting a token the two ways a client can ----

type Answers = {
  verify: { status: number; code: unknown };
  me: { status: number; code: unknown; challenge: string | null };
};

const codeOf = async (response: Response) => ((await response.json()) as { code?: unknown }).code;

/** POST /verify with the token in the body, and GET /me with it as the bearer token. */
const present = async (app: TestApp, token: string): Promise<Answers> => {
  // A token someone presents is a credential too: it must not reach the log either.
  logs.remember(token);
  const verify = await app.post('/verify', { token });
  const me = await app.app.request('/me', { headers: app.bearer(token) });
  return {
    verify: { status: verify.status, code: await codeOf(verify) },
    me: { status: me.status, code: await codeOf(me), challenge: me.headers.get('www-authenticate') },
  };
};

const refused = (code: 'invalid_token' | 'token_expired' = 'invalid_token'): Answers => ({
  verify: { status: 401, code },
  me: { status: 401, code, challenge: 'Bearer error="invalid_token"' },
});
const ACCEPTED: Answers = { verify: { status: 200, code: undefined }, me: { status: 200, code: undefined, challenge: null } };

// ---- real users with real sessions ----

const signUp = async (app: TestApp, username: string, password: string, name: string) => {
  logs.remember(password);
  const login = await app.registerAndLogIn(username, password, name);
  expect(login.token, `${username} could not log in`).toEqual(expect.any(String));
  const refreshSecret = login.refreshToken.split('.')[2] ?? '';
  logs.remember(login.token, login.refreshToken, refreshSecret);
  const stored = await app.client.send(
    new GetCommand({ TableName: app.tableName, Key: { username }, ConsistentRead: true }),
  );
  logs.remember(stored.Item?.password as string);
  return login;
};

beforeAll(async () => {
  logs = guardLogs();
  logs.remember(TEST_JWT_SECRET, TEST_REFRESH_SECRET);
  store = await startDynalite();
  hs = await createTestApp(store.endpoint, { LOG_LEVEL: 'INFO' });
  const serverJwks = await generatePrivateJwks('EdDSA', SERVER_KID);
  serverJwk = serverJwks.keys[0] as JWK;
  logs.remember(serverJwk.d as string);
  ed = await createTestApp(store.endpoint, {
    LOG_LEVEL: 'INFO',
    JWT_ALG: 'EdDSA',
    JWT_PRIVATE_JWKS: JSON.stringify(serverJwks),
  });
  alice = await signUp(hs, 'alice', 'amber falcon meadow 71', 'Alice Liddell');
  mallory = await signUp(hs, 'mallory', 'quiet orchard lantern 36', 'Mallory Malice');
  edward = await signUp(ed, 'edward', 'silver canyon ribbon 58', 'Edward Lear');
});

afterAll(async () => {
  hs?.client.destroy();
  ed?.client.destroy();
  await store?.stop();
  try {
    // The app logged at INFO: a clean result means the request lines were there to be searched.
    expect(logs?.lines().some((line) => line.includes('"message":"request"'))).toBe(true);
    logs?.assertClean();
  } finally {
    logs?.stop();
  }
});

describe('HS256 mode', () => {
  it('accepts the untouched real token (positive control)', async () => {
    // Prepare
    const token = alice.token;

    // Act
    const answers = await present(hs, token);

    // Assess
    expect(answers).toEqual(ACCEPTED);
  });

  it('accepts the real claims re-signed with the server secret, so each forgery fails only for what it changes', async () => {
    // Prepare
    const copy = await signed(claimsOf(alice.token), headerOf(alice.token));

    // Act
    const answers = await present(hs, copy);

    // Assess
    expect(answers).toEqual(ACCEPTED);
  });

  it.each(['none', 'None', 'NONE'])('rejects an unsigned token with alg %s with 401 invalid_token', async (alg) => {
    // Prepare
    const forged = unsignedUnder({ ...headerOf(alice.token), alg }, claimsOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects alg none that keeps the real signature with 401 invalid_token', async () => {
    // Prepare
    const { payload, signature } = partsOf(alice.token);
    const forged = `${base64urlJson({ ...headerOf(alice.token), alg: 'none' })}.${payload}.${signature}`;

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects HS512 signed with the HS256 secret with 401 invalid_token', async () => {
    // Prepare
    const forged = await signed(claimsOf(alice.token), { ...headerOf(alice.token), alg: 'HS512' });

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects alg RS256 over an HMAC-SHA256 signature made with the HS256 secret with 401 invalid_token', async () => {
    // Prepare
    const forged = hmacSha256Under({ ...headerOf(alice.token), alg: 'RS256' }, claimsOf(alice.token), TEST_JWT_SECRET);

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token without exp with 401 invalid_token', async () => {
    // Prepare
    const { exp: _dropped, ...claims } = claimsOf(alice.token);
    const forged = await signed(claims, headerOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token whose exp has passed with 401 token_expired', async () => {
    // Prepare
    const now = nowSeconds(hs);
    const forged = await signed({ ...claimsOf(alice.token), iat: now - 7200, exp: now - 3600 }, headerOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused('token_expired'));
  });

  it('rejects a token whose nbf is in the future with 401 invalid_token', async () => {
    // Prepare
    const forged = await signed({ ...claimsOf(alice.token), nbf: nowSeconds(hs) + 600 }, headerOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token from another issuer with 401 invalid_token', async () => {
    // Prepare
    const forged = await signed({ ...claimsOf(alice.token), iss: 'https://issuer.example.com' }, headerOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token for another audience with 401 invalid_token', async () => {
    // Prepare
    const forged = await signed({ ...claimsOf(alice.token), aud: 'another-service' }, headerOf(alice.token));

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it.each([
    ['typ JWT', 'JWT'],
    ['no typ', undefined],
  ])('rejects a token with %s instead of at+jwt with 401 invalid_token', async (_label, typ) => {
    // Prepare
    const { typ: _real, ...header } = headerOf(alice.token);
    const forged = await signed(claimsOf(alice.token), typ === undefined ? header : { ...header, typ });

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it.each([
    ['sub and username', (other: JWTPayload) => ({ sub: other.sub, username: other.username })],
    [
      'every claim of the other user’s session',
      (other: JWTPayload) => ({ sub: other.sub, username: other.username, name: other.name, uid: other.uid, sid: other.sid }),
    ],
  ])('rejects a payload switched to another user (%s) under the real signature with 401 invalid_token', async (_label, switched) => {
    // Prepare
    const { header, signature } = partsOf(alice.token);
    const payload = base64urlJson({ ...claimsOf(alice.token), ...switched(claimsOf(mallory.token)) });
    const forged = `${header}.${payload}.${signature}`;

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token signed with another HS256 secret under the real kid with 401 invalid_token', async () => {
    // Prepare
    const otherSecret = new TextEncoder().encode('another-secret-that-is-at-least-32-bytes-long');
    const forged = await signed(claimsOf(alice.token), headerOf(alice.token), otherSecret);

    // Act
    const answers = await present(hs, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a validly signed token over 16 KiB: 401 invalid_token as a bearer, 413 in a /verify body', async () => {
    // Prepare
    const claims = claimsOf(alice.token);
    const withPadding = (length: number) => signed({ ...claims, pad: 'x'.repeat(length) }, headerOf(alice.token));
    const justUnder = await withPadding(11_000);
    const oversized = await withPadding(13_000);
    logs.remember(justUnder, oversized);
    expect(justUnder.length).toBeLessThanOrEqual(16 * 1024);
    expect(oversized.length).toBeGreaterThan(16 * 1024);

    // Act
    const underAsBearer = await hs.app.request('/me', { headers: hs.bearer(justUnder) });
    const asBearerToMe = await hs.app.request('/me', { headers: hs.bearer(oversized) });
    const asBearerToVerify = await hs.app.request('/verify', { method: 'POST', headers: hs.bearer(oversized) });
    const inVerifyBody = await hs.post('/verify', { token: oversized });

    // Assess
    // The control proves it is the size that is refused, not the padding claim or the signature.
    expect(underAsBearer.status).toBe(200);
    expect([asBearerToMe.status, await codeOf(asBearerToMe)]).toEqual([401, 'invalid_token']);
    expect(asBearerToMe.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect([asBearerToVerify.status, await codeOf(asBearerToVerify)]).toEqual([401, 'invalid_token']);
    // A body above the 16 KiB request limit is refused before anything reads the token in it.
    expect([inVerifyBody.status, await codeOf(inVerifyBody)]).toEqual([413, 'payload_too_large']);
  });

  it('rejects a refresh token used as an access token with 401 invalid_token', async () => {
    // Prepare
    const token = alice.refreshToken;

    // Act
    const answers = await present(hs, token);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects the token of a session that has been logged out with 401 invalid_token', async () => {
    // Prepare
    const leaver = await signUp(hs, 'leaver', 'paper lantern drift 44', 'Lea Vermont');
    const logout = await hs.post('/logout', '', hs.bearer(leaver.token));
    expect(logout.status).toBe(204);

    // Act
    const answers = await present(hs, leaver.token);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects the token of a deleted account after its name was registered again with 401 invalid_token', async () => {
    // Prepare
    const first = await signUp(hs, 'phoenix', 'first life cinder 12', 'Fawkes Bird');
    const deleted = await hs.app.request('/me', {
      method: 'DELETE',
      headers: { ...hs.bearer(first.token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ password: 'first life cinder 12' }),
    });
    expect(deleted.status).toBe(204);
    const reborn = await signUp(hs, 'phoenix', 'second life ember 34', 'Fawkes Bird');
    expect(claimsOf(reborn.token).sub).toBe(claimsOf(first.token).sub);

    // Act
    const answers = await present(hs, first.token);

    // Assess
    expect(answers).toEqual(refused());
    expect(await present(hs, reborn.token)).toEqual(ACCEPTED);
  });
});

describe('EdDSA mode', () => {
  const publishedJwk = async (): Promise<JWK> => {
    const jwks = (await (await ed.app.request('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    const jwk = jwks.keys.find((key) => key.kid === SERVER_KID);
    if (jwk === undefined) throw new Error(`the JWKS does not publish ${SERVER_KID}`);
    return jwk;
  };

  it('accepts the untouched real token (positive control)', async () => {
    // Prepare
    const token = edward.token;

    // Act
    const answers = await present(ed, token);

    // Assess
    expect(answers).toEqual(ACCEPTED);
  });

  it('accepts the real claims re-signed with the server key, so each forgery fails only for what it changes', async () => {
    // Prepare
    const copy = await signed(claimsOf(edward.token), headerOf(edward.token), await importJWK(serverJwk, 'EdDSA'));

    // Act
    const answers = await present(ed, copy);

    // Assess
    expect(answers).toEqual(ACCEPTED);
  });

  it.each([
    ['the raw bytes of the public JWK x', (jwk: JWK) => new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))],
    ['the JSON text of the published JWK', (jwk: JWK) => new TextEncoder().encode(JSON.stringify(jwk))],
    [
      'the PEM text of the public key',
      (jwk: JWK) =>
        new TextEncoder().encode(
          createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
            .export({ type: 'spki', format: 'pem' })
            .toString(),
        ),
    ],
  ])('rejects HS256 keyed with %s with 401 invalid_token', async (_label, keyFrom) => {
    // Prepare
    const key = keyFrom(await publishedJwk());
    const forged = await signed(claimsOf(edward.token), { ...headerOf(edward.token), alg: 'HS256' }, key);

    // Act
    const answers = await present(ed, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects an unsigned token with alg none with 401 invalid_token', async () => {
    // Prepare
    const forged = unsignedUnder({ ...headerOf(edward.token), alg: 'none' }, claimsOf(edward.token));

    // Act
    const answers = await present(ed, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token signed by another Ed25519 key under the same kid with 401 invalid_token', async () => {
    // Prepare
    const [attackerJwk] = (await generatePrivateJwks('EdDSA', SERVER_KID)).keys;
    logs.remember(attackerJwk?.d as string);
    const attackerKey = await importJWK(attackerJwk as JWK, 'EdDSA');
    const forged = await signed(claimsOf(edward.token), headerOf(edward.token), attackerKey);

    // Act
    const answers = await present(ed, forged);

    // Assess
    expect(answers).toEqual(refused());
  });

  it('rejects a token whose kid points to no published key with 401 invalid_token', async () => {
    // Prepare
    const serverKey = await importJWK(serverJwk, 'EdDSA');
    const forged = await signed(claimsOf(edward.token), { ...headerOf(edward.token), kid: 'key-nowhere' }, serverKey);

    // Act
    const answers = await present(ed, forged);

    // Assess
    expect(answers).toEqual(refused());
  });
});
