// The ./verify entry against real login services (EdDSA, ES256, HS256) on real ports, with the Hono and the Express
// middleware mounted in small apps that are served on real ports too, as a back-end team would run them.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedUrl } from '../../test/jwks-server';
import { startServer, type RunningServer } from '../server';
import {
  createTokenVerifier,
  expressMiddleware,
  honoMiddleware,
  type AuthenticatedRequest,
  type AuthVariables,
  type TokenVerifier,
  type TokenVerifierError,
  type TokenVerifierOptions,
} from './index';

const ISSUER = 'https://login.test';
const AUDIENCE = 'shop-api';
// What src/adapters/jwt/jwt-tokens.ts issues; AccessTokenClaims must name each of them.
const ISSUED_CLAIMS = ['aud', 'exp', 'iat', 'iss', 'jti', 'name', 'sid', 'sub', 'uid', 'username'];

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const startLoginService = async (alg: 'EdDSA' | 'ES256' | 'HS256') => {
  const service = await startServer({
    DATA_DIR: ':memory:',
    PORT: '0',
    LOG_LEVEL: 'SILENT',
    JWT_ALG: alg,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
  });
  cleanups.push(() => service.close());
  return service;
};

const postJson = (url: string, body: unknown, token?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });

/** Registers (once) and logs in: a fresh session's access token. */
const logIn = async (service: RunningServer, username: string) => {
  const password = 'correct horse battery staple';
  await postJson(`${service.url}/register`, { name: 'Ada Lovelace', username, password });
  const response = await postJson(`${service.url}/login`, { username, password });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
};

const urlsOf = (service: RunningServer) => ({
  jwksUrl: `${service.url}/.well-known/jwks.json`,
  verifyUrl: `${service.url}/verify`,
});

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

type Mounts = Record<string, TokenVerifier>;
type Served = { url: string; errors: TokenVerifierError[] };

/** A small Hono service: each verifier guards /<name>/*, and /<name>/whoami answers the claims it was given. */
const serveHono = async (mounts: Mounts): Promise<Served> => {
  const errors: TokenVerifierError[] = [];
  const app = new Hono<{ Variables: AuthVariables }>();
  for (const [name, verifier] of Object.entries(mounts)) {
    app.use(`/${name}/*`, honoMiddleware(verifier, { onError: (error) => errors.push(error) }));
    app.get(`/${name}/whoami`, (c) => c.json({ claims: c.get('auth') }));
  }
  return { url: await listen(createAdaptorServer({ fetch: app.fetch }) as Server), errors };
};

/** The same service on Express 5. */
const serveExpress = async (mounts: Mounts): Promise<Served> => {
  const errors: TokenVerifierError[] = [];
  const app = express();
  for (const [name, verifier] of Object.entries(mounts)) {
    app.use(`/${name}`, expressMiddleware(verifier, { onError: (error) => errors.push(error) }));
    app.get(`/${name}/whoami`, (req, res) => {
      res.json({ claims: (req as AuthenticatedRequest<typeof req>).auth });
    });
  }
  return { url: await listen(app.listen(0, '127.0.0.1')), errors };
};

const get = async (url: string, authorization?: string) => {
  const response = await fetch(url, { headers: authorization === undefined ? {} : { Authorization: authorization } });
  return { status: response.status, challenge: response.headers.get('WWW-Authenticate'), body: (await response.json()) as Record<string, unknown> };
};

describe.each(['EdDSA', 'ES256'] as const)('a login service signing with %s', (alg) => {
  let service: RunningServer;
  let token: string;
  let verifier: TokenVerifier;
  const verifierOf = (options: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: urlsOf(service).jwksUrl, ...options });

  beforeAll(async () => {
    service = await startLoginService(alg);
    token = await logIn(service, 'ada');
    verifier = verifierOf();
  });

  it('issues tokens the verifier accepts, with every claim the service puts in', async () => {
    const claims = await verifier.verify(token);

    expect(decodeProtectedHeader(token)).toMatchObject({ alg, typ: 'at+jwt' });
    expect(Object.keys(claims).sort()).toEqual(ISSUED_CLAIMS);
    expect(claims).toMatchObject({ sub: 'ada', username: 'ada', name: 'Ada Lovelace', iss: ISSUER, aud: AUDIENCE });
  });

  describe.each([
    ['Hono', serveHono],
    ['Express', serveExpress],
  ] as const)('the %s middleware', (_framework, serve) => {
    let served: Served;
    const url = (mount: string) => `${served.url}/${mount}/whoami`;

    beforeAll(async () => {
      served = await serve({
        api: verifier,
        // Two hours on: the token (an hour's lifetime) has expired.
        later: verifierOf({ clock: { now: () => new Date(Date.now() + 2 * 3600_000) } }),
        elsewhere: verifierOf({ issuer: 'https://other-login.test' }),
        otherAudience: verifierOf({ audience: 'billing-api' }),
        down: createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: await refusedUrl() }),
      });
    });

    it('hands the claims of a valid token to the route', async () => {
      const answer = await get(url('api'), `Bearer ${token}`);

      expect(answer.status).toBe(200);
      expect(answer.body.claims).toMatchObject({ sub: 'ada', username: 'ada', name: 'Ada Lovelace' });
    });

    it.each([
      ['no Authorization header', undefined],
      ['another scheme', 'Basic YWRhOnNlY3JldA=='],
      ['Bearer alone', 'Bearer'],
    ])('answers %s with 401 missing_token and a bare Bearer challenge', async (_what, authorization) => {
      const answer = await get(url('api'), authorization);

      expect(answer).toEqual({ status: 401, challenge: 'Bearer', body: { code: 'missing_token', message: 'a bearer token is required' } });
    });

    it.each([
      ['a token that is no JWT', 'api', 'Bearer not.a.jwt'],
      ['a token and a second word', 'api', 'Bearer TOKEN extra'],
      ['a token of another issuer', 'elsewhere', 'Bearer TOKEN'],
      ['a token for another audience', 'otherAudience', 'Bearer TOKEN'],
    ])('answers %s with 401 invalid_token', async (_what, mount, authorization) => {
      const answer = await get(url(mount), authorization.replace('TOKEN', token));

      expect(answer).toEqual({
        status: 401,
        challenge: 'Bearer error="invalid_token", error_description="the token is invalid"',
        body: { code: 'invalid_token', message: 'the token is invalid' },
      });
    });

    it('answers an expired token with 401 token_expired and an invalid_token challenge', async () => {
      const answer = await get(url('later'), `Bearer ${token}`);

      expect(answer).toEqual({
        status: 401,
        challenge: 'Bearer error="invalid_token", error_description="the token has expired"',
        body: { code: 'token_expired', message: 'the token has expired' },
      });
    });

    it('answers 503 jwks_unavailable when the JWKS cannot be fetched, and tells onError why', async () => {
      const answer = await get(url('down'), `Bearer ${token}`);

      expect(answer.status).toBe(503);
      expect(answer.challenge).toBeNull();
      expect(answer.body).toEqual({ code: 'jwks_unavailable', message: expect.stringMatching(/signing keys are unavailable/) });
      expect(served.errors.at(-1)).toMatchObject({ code: 'jwks_unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
    });
  });

  it('with verifyUrl, refuses a token whose session was logged out (offline, it stays valid until exp)', async () => {
    const sessionToken = await logIn(service, 'ada');
    const checked = verifierOf({ verifyUrl: urlsOf(service).verifyUrl });
    const before = await checked.verify(sessionToken);

    const logout = await postJson(`${service.url}/logout`, {}, sessionToken);

    expect(before.sub).toBe('ada');
    expect(logout.status).toBe(204);
    await expect(checked.verify(sessionToken)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(verifier.verify(sessionToken)).resolves.toMatchObject({ sub: 'ada' });
  });

  it('with verifyUrl, says session_check_unavailable when /verify cannot be reached', async () => {
    const checked = verifierOf({ verifyUrl: await refusedUrl('/verify') });

    await expect(checked.verify(token)).rejects.toMatchObject({ code: 'session_check_unavailable' });
  });
});

describe('an HS256 login service (its JWKS is empty)', () => {
  let service: RunningServer;
  let token: string;

  beforeAll(async () => {
    service = await startLoginService('HS256');
    token = await logIn(service, 'grace');
  });

  it('without verifyUrl, says why no token can be checked offline, and the middleware answers 503', async () => {
    const verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: urlsOf(service).jwksUrl });
    const served = await serveHono({ api: verifier });

    const direct = await verifier.verify(token).catch((error: unknown) => error);
    const answer = await get(`${served.url}/api/whoami`, `Bearer ${token}`);

    expect(direct).toMatchObject({
      code: 'jwks_unavailable',
      message: expect.stringMatching(/has no keys: the login service signs with HS256.*pass verifyUrl/),
    });
    expect(answer).toMatchObject({ status: 503, body: { code: 'jwks_unavailable' } });
    expect(served.errors[0]?.message).toMatch(/HS256/);
  });

  it.each([
    ['verifyUrl alone', (urls: ReturnType<typeof urlsOf>) => ({ verifyUrl: urls.verifyUrl })],
    ['jwksUrl and verifyUrl', (urls: ReturnType<typeof urlsOf>) => urls],
  ])('with %s, accepts a live session and refuses it once logged out', async (_what, pick) => {
    const sessionToken = await logIn(service, 'grace');
    const verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, ...pick(urlsOf(service)) });
    const served = await serveExpress({ api: verifier });
    const live = await get(`${served.url}/api/whoami`, `Bearer ${sessionToken}`);

    await postJson(`${service.url}/logout`, {}, sessionToken);
    const ended = await get(`${served.url}/api/whoami`, `Bearer ${sessionToken}`);

    expect(live).toMatchObject({ status: 200, body: { claims: { sub: 'grace', iss: ISSUER, aud: AUDIENCE } } });
    expect(Object.keys(live.body.claims as object).sort()).toEqual(ISSUED_CLAIMS);
    expect(ended).toMatchObject({ status: 401, challenge: expect.stringContaining('error="invalid_token"'), body: { code: 'invalid_token' } });
  });

  it('with verifyUrl, still refuses a valid token of a deployment whose issuer the verifier does not expect', async () => {
    const verifier = createTokenVerifier({ issuer: 'https://other-login.test', audience: AUDIENCE, verifyUrl: urlsOf(service).verifyUrl });

    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'invalid_token', message: expect.stringMatching(/issuer/) });
  });
});
