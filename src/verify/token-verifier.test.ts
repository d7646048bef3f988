// The verifier against JWKS servers the test controls over real HTTP: key rotation and the refetch cooldown,
// every way a token can be wrong, and JWKS endpoints that are down, hang, fail or publish no keys.
import { base64url, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeKey,
  refusedUrl,
  serviceClaims,
  signToken,
  startHangingServer,
  startJwksServer,
  type JwksServer,
  type TestKey,
} from '../../test/jwks-server';
import { createTokenVerifier, type TokenVerifierOptions } from './index';

const ISSUER = 'https://login.example';
const AUDIENCE = 'shop-api';

const servers: { close(): Promise<void> }[] = [];
const jwksServer = async (keys: readonly TestKey[]) => {
  const server = await startJwksServer(keys);
  servers.push(server);
  return server;
};
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const verifierFor = (jwksUrl: string, options: Partial<TokenVerifierOptions> = {}) =>
  createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl, ...options });

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

describe('a published key set', () => {
  let keyA: TestKey;
  let keyEs: TestKey;
  let server: JwksServer;

  beforeAll(async () => {
    keyA = await makeKey('key-a', 'EdDSA');
    keyEs = await makeKey('key-es', 'ES256');
    server = await jwksServer([keyA, keyEs]);
  });

  it('accepts an EdDSA and an ES256 token and resolves to their claims', async () => {
    const verifier = verifierFor(server.url);
    const claims = serviceClaims({ sub: 'grace', username: 'grace', name: 'Grace Hopper' });

    const fromEd = await verifier.verify(await signToken(keyA, claims));
    const fromEs = await verifier.verify(await signToken(keyEs, claims));

    expect(fromEd).toEqual(claims);
    expect(fromEs).toEqual(claims);
  });

  it('fetches the key set once for many tokens while it is fresh', async () => {
    const verifier = verifierFor(server.url);
    const before = server.fetches();

    await Promise.all(Array.from({ length: 5 }, async () => verifier.verify(await signToken(keyA))));

    expect(server.fetches() - before).toBe(1);
  });

  // Each with the reason it is refused for, so a case cannot pass by failing for another.
  const refusals: [string, () => Promise<string>, string, RegExp][] = [
    ['another issuer', () => signToken(keyA, serviceClaims({ iss: 'https://evil.example' })), 'invalid_token', /"iss" claim/],
    ['another audience', () => signToken(keyA, serviceClaims({ aud: 'other-api' })), 'invalid_token', /"aud" claim/],
    ['an expired token', () => signToken(keyA, serviceClaims({ exp: Math.floor(Date.now() / 1000) - 60 })), 'token_expired', /"exp" claim timestamp/],
    ['a token not valid yet', () => signToken(keyA, serviceClaims({ nbf: Math.floor(Date.now() / 1000) + 600 })), 'invalid_token', /"nbf" claim timestamp/],
    ['typ JWT (not an access token)', () => signToken(keyA, serviceClaims(), { typ: 'JWT' }), 'invalid_token', /"typ"/],
    ['no typ', () => signToken(keyA, serviceClaims(), { typ: undefined }), 'invalid_token', /"typ"/],
    ['no kid', () => signToken(keyA, serviceClaims(), { kid: undefined }), 'invalid_token', /names no key/],
    ['a kid the set does not have', () => signToken(keyA, serviceClaims(), { kid: 'key-unknown' }), 'invalid_token', /no published key matches/],
    ['no exp', () => signToken(keyA, serviceClaims({ exp: undefined })), 'invalid_token', /missing required "exp"/],
    ['no sid', () => signToken(keyA, serviceClaims({ sid: undefined })), 'invalid_token', /lacks the claims/],
    ['username other than sub', () => signToken(keyA, serviceClaims({ username: 'root' })), 'invalid_token', /lacks the claims/],
    [
      'a key outside the set naming a kid of it',
      async () => signToken(await makeKey('key-a', 'EdDSA')),
      'invalid_token',
      /signature verification failed/,
    ],
    [
      'a payload changed after signing',
      async () => {
        const [header, , signature] = (await signToken(keyA)).split('.');
        return `${header}.${encodeJson(serviceClaims({ sub: 'root', username: 'root' }))}.${signature}`;
      },
      'invalid_token',
      /signature verification failed/,
    ],
    [
      'alg none',
      async () => `${encodeJson({ alg: 'none', typ: 'at+jwt', kid: 'key-a' })}.${encodeJson(serviceClaims())}.`,
      'invalid_token',
      /ALG_NOT_ALLOWED/,
    ],
    [
      'HS256 keyed with the published public key (algorithm confusion)',
      () =>
        new SignJWT(serviceClaims())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'key-a' })
          .sign(new TextEncoder().encode(JSON.stringify(keyA.publicJwk))),
      'invalid_token',
      /ALG_NOT_ALLOWED/,
    ],
    [
      'HS256 keyed with the raw public key bytes',
      () =>
        new SignJWT(serviceClaims())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'key-a' })
          .sign(base64url.decode(keyA.publicJwk.x as string)),
      'invalid_token',
      /ALG_NOT_ALLOWED/,
    ],
    [
      'an EdDSA signature under a header that says ES256',
      async () => {
        const [, payload, signature] = (await signToken(keyA)).split('.');
        return `${encodeJson({ alg: 'ES256', typ: 'at+jwt', kid: 'key-a' })}.${payload}.${signature}`;
      },
      'invalid_token',
      /no published key matches/,
    ],
    ['not a JWT at all', async () => 'not-a-token', 'invalid_token', /Invalid Compact JWS/],
    ['a huge token', async () => 'a'.repeat(20_000), 'invalid_token', /malformed/],
  ];

  it.each(refusals)('refuses %s with %s', async (_what, makeToken, code, reason) => {
    const verifier = verifierFor(server.url);
    const token = await makeToken();

    const error = await verifier.verify(token).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TokenVerifierError', code });
    const { message, cause } = error as Error;
    expect(`${message} ${(cause as Error | undefined)?.message ?? ''}`).toMatch(reason);
  });

  it('accepts a token expired within the clock tolerance and refuses it past it', async () => {
    const exp = Math.floor(Date.now() / 1000);
    const token = await signToken(keyA, serviceClaims({ exp }));
    const at = (seconds: number) => ({ now: () => new Date((exp + seconds) * 1000) });

    const within = await verifierFor(server.url, { clock: at(4) }).verify(token);
    const past = verifierFor(server.url, { clock: at(30), clockToleranceSeconds: 10 }).verify(token);

    expect(within.exp).toBe(exp);
    await expect(past).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('refuses an algorithm the options leave out', async () => {
    const verifier = verifierFor(server.url, { algorithms: ['ES256'] });

    await expect(verifier.verify(await signToken(keyA))).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(verifier.verify(await signToken(keyEs))).resolves.toMatchObject({ sub: 'ada' });
  });

  it('refuses options that name an algorithm the service never publishes', () => {
    expect(() => verifierFor(server.url, { algorithms: ['HS256' as 'ES256'] })).toThrow(/algorithms/);
    expect(() => createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE })).toThrow(/jwksUrl/);
  });
});

describe('key rotation', () => {
  it('accepts a token of a newly published kid after refetching the set', async () => {
    const keyA = await makeKey('2026-11', 'EdDSA');
    const keyB = await makeKey('2026-12', 'ES256');
    const server = await jwksServer([keyA]);
    const verifier = verifierFor(server.url, { cooldownMs: 0 });
    await verifier.verify(await signToken(keyA));

    server.publish([keyA, keyB]);
    const claims = await verifier.verify(await signToken(keyB, serviceClaims({ sub: 'bea', username: 'bea' })));

    expect(claims.sub).toBe('bea');
    expect(server.fetches()).toBe(2);
  });

  it('does not refetch for unknown kids during the cooldown (a flood of made-up kids costs one fetch)', async () => {
    const keyA = await makeKey('old', 'EdDSA');
    const keyB = await makeKey('new', 'EdDSA');
    const server = await jwksServer([keyA]);
    const verifier = verifierFor(server.url, { cooldownMs: 60_000 });
    await verifier.verify(await signToken(keyA));
    server.publish([keyA, keyB]);

    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, async (_, i) => verifier.verify(await signToken(keyB, serviceClaims(), { kid: `made-up-${i}` }))),
    );

    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as { code: string }).code === 'invalid_token')).toBe(true);
    expect(server.fetches()).toBe(1);
  });

  it('refuses a key removed from the set once the cached set has aged out', async () => {
    const retired = await makeKey('retired', 'EdDSA');
    const current = await makeKey('current', 'EdDSA');
    const server = await jwksServer([retired, current]);
    const verifier = verifierFor(server.url, { cacheMaxAgeMs: 0 });
    await verifier.verify(await signToken(retired));

    server.publish([current]);

    await expect(verifier.verify(await signToken(retired))).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(verifier.verify(await signToken(current))).resolves.toMatchObject({ sub: 'ada' });
  });

  it('keeps verifying with the cached keys while the JWKS endpoint fails', async () => {
    const key = await makeKey('cached', 'ES256');
    const server = await jwksServer([key]);
    const verifier = verifierFor(server.url);
    await verifier.verify(await signToken(key));

    server.answer(500, '{"code":"internal_error"}');

    await expect(verifier.verify(await signToken(key))).resolves.toMatchObject({ sub: 'ada' });
  });
});

describe('a JWKS endpoint that cannot be used', () => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('k', 'EdDSA');
  });

  it('says jwks_unavailable when the connection is refused', async () => {
    const verifier = verifierFor(await refusedUrl());

    const outcome = verifier.verify(await signToken(key));

    await expect(outcome).rejects.toMatchObject({ code: 'jwks_unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('says jwks_unavailable within the timeout when the endpoint never answers', { timeout: 10_000 }, async () => {
    const hanging = await startHangingServer();
    servers.push(hanging);
    const verifier = verifierFor(hanging.url, { timeoutMs: 300 });

    const outcome = verifier.verify(await signToken(key));

    await expect(outcome).rejects.toMatchObject({ code: 'jwks_unavailable', message: expect.stringMatching(/no answer within 300 ms/) });
  });

  it.each([
    [500, '{"code":"internal_error"}'],
    [200, '<html>not json</html>'],
    [200, '{"keys":"none"}'],
  ])('says jwks_unavailable when the endpoint answers %i %s', async (status, body) => {
    const server = await jwksServer([]);
    server.answer(status, body);

    const outcome = verifierFor(server.url).verify(await signToken(key));

    await expect(outcome).rejects.toMatchObject({ code: 'jwks_unavailable' });
  });

  it('says the service is an HS256 deployment when its JWKS is empty and no verifyUrl is set', async () => {
    const server = await jwksServer([]);
    const hs256Token = await new SignJWT(serviceClaims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'hs256-abc' })
      .sign(new Uint8Array(32));

    const outcome = verifierFor(server.url).verify(hs256Token);

    await expect(outcome).rejects.toMatchObject({
      code: 'jwks_unavailable',
      message: expect.stringMatching(/has no keys: the login service signs with HS256.*pass verifyUrl/),
    });
  });
});

describe('a verifyUrl (the live session check) that says no or cannot be used', () => {
  let key: TestKey;
  let jwks: JwksServer;
  beforeAll(async () => {
    key = await makeKey('live', 'ES256');
    jwks = await jwksServer([key]);
  });

  it('says session_check_unavailable within the timeout when /verify never answers', { timeout: 10_000 }, async () => {
    const hanging = await startHangingServer();
    servers.push(hanging);
    const verifier = verifierFor(jwks.url, { verifyUrl: hanging.url, timeoutMs: 300 });

    const outcome = verifier.verify(await signToken(key));

    await expect(outcome).rejects.toMatchObject({ code: 'session_check_unavailable', message: expect.stringMatching(/no answer within 300 ms/) });
  });

  it.each([
    [503, '{"code":"service_unavailable","message":"the store did not answer"}', 'session_check_unavailable'],
    [200, '{"verified":false}', 'session_check_unavailable'],
    [401, '{"code":"token_expired","message":"the token has expired","verified":false}', 'token_expired'],
    [401, '{"code":"invalid_token","message":"the token is invalid","verified":false}', 'invalid_token'],
  ])('turns a /verify answer of %i %s into %s', async (status, body, code) => {
    const service = await jwksServer([]);
    service.answer(status, body);
    const verifier = verifierFor(jwks.url, { verifyUrl: service.url });

    const outcome = verifier.verify(await signToken(key));

    await expect(outcome).rejects.toMatchObject({ code });
  });
});
