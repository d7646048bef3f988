// createJwtTokens: access tokens (typ at+jwt, kid) round-trip in every mode, keys rotate, and forged or mis-scoped tokens are refused.
import {
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../../test/fakes';
import type { AccessClaims } from '../../domain/ports';
import { createJwtTokens } from './jwt-tokens';
import { asymmetricKeys, generatePrivateJwks, hmacKeys, type PrivateJwks, type SigningKeys } from './signing-keys';

const SECRET = new TextEncoder().encode('s'.repeat(32));
const OTHER_SECRET = new TextEncoder().encode('o'.repeat(32));
const ISSUER = 'login-service';
const AUDIENCE = 'login-clients';
const TTL = 900;
const START = new Date('2024-05-01T12:00:00.000Z');
const NOW = START.getTime() / 1000;
const CLAIMS: AccessClaims = { username: 'alice', name: 'Alice', uid: 'uid-alice', sid: 'sid-1' };

const tokensFor = (keys: SigningKeys, clock = createClock(START)) =>
  createJwtTokens({ keys, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL, clock });

const setup = async () => {
  const clock = createClock(START);
  const keys = await hmacKeys(SECRET);
  return { clock, keys, tokens: tokensFor(keys, clock) };
};

const setupAsymmetric = async (alg: 'EdDSA' | 'ES256' = 'EdDSA') => {
  const jwks = await generatePrivateJwks(alg, `${alg.toLowerCase()}-1`);
  const keys = await asymmetricKeys(jwks);
  return { jwks, keys, privateJwk: jwks.keys[0] as JWK, tokens: tokensFor(keys) };
};

const goodClaims = (): JWTPayload => ({
  sub: 'alice',
  username: 'alice',
  name: 'Alice',
  uid: 'uid-alice',
  sid: 'sid-1',
  iss: ISSUER,
  aud: AUDIENCE,
  iat: NOW,
  exp: NOW + TTL,
  jti: 'c0ffee00-0000-4000-8000-000000000000',
});

type ForgeOptions = { key?: CryptoKey | Uint8Array; header?: Partial<JWTHeaderParameters> };

/** Signs claims as an attacker (or a misconfigured peer) would; `undefined` claims and header members are left out. */
// The kid the service gives its HS256 secret: forged tokens carry it, so only the attacked part is wrong.
const HS_KID = (await hmacKeys(SECRET)).kid;

const forge = (claims: JWTPayload, options: ForgeOptions = {}) => {
  const present = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  const header = Object.fromEntries(
    Object.entries({ alg: 'HS256', typ: 'at+jwt', kid: HS_KID, ...options.header }).filter(([, value]) => value !== undefined),
  ) as JWTHeaderParameters;
  return new SignJWT(present).setProtectedHeader(header).sign(options.key ?? SECRET);
};

/** The private key of a JWK, as an attacker holding it (or the service itself) would sign with it. */
const privateKeyOf = async (jwk: JWK) => (await importJWK(jwk, jwk.alg)) as CryptoKey;

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('createJwtTokens in HS256 mode', () => {
  it('verifies its own token back to username, name, uid and sid', async () => {
    // Prepare
    const { tokens } = await setup();

    // Act
    const issued = await tokens.issue(CLAIMS);
    const claims = await tokens.verify(issued.token);

    // Assess
    expect(claims).toEqual(CLAIMS);
    expect(issued.expiresIn).toBe(TTL);
  });

  it('issues a token with header alg HS256, typ at+jwt and the key kid', async () => {
    // Prepare
    const { tokens, keys } = await setup();

    // Act
    const { token } = await tokens.issue(CLAIMS);

    // Assess
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid });
  });

  it('issues sub, username, name, uid, sid, iat, exp = iat + ttl, iss, aud and jti', async () => {
    // Prepare
    const { tokens } = await setup();

    // Act
    const { token } = await tokens.issue(CLAIMS);

    // Assess
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({
      sub: 'alice',
      username: 'alice',
      name: 'Alice',
      uid: 'uid-alice',
      sid: 'sid-1',
      iss: ISSUER,
      aud: AUDIENCE,
    });
    expect(payload.iat).toBe(NOW);
    expect(payload.exp).toBe(NOW + TTL);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives each token its own jti', async () => {
    // Prepare
    const { tokens } = await setup();

    // Act
    const first = await tokens.issue(CLAIMS);
    const second = await tokens.issue(CLAIMS);

    // Assess
    expect(decodeJwt(first.token).jti).not.toBe(decodeJwt(second.token).jti);
  });

  it('still accepts a token one second before it expires', async () => {
    // Prepare
    const { tokens, clock } = await setup();
    const { token } = await tokens.issue(CLAIMS);
    clock.advanceSeconds(TTL - 1);

    // Act
    const claims = await tokens.verify(token);

    // Assess
    expect(claims.username).toBe('alice');
  });

  it('returns token_expired once the clock has passed exp', async () => {
    // Prepare
    const { tokens, clock } = await setup();
    const { token } = await tokens.issue(CLAIMS);
    clock.advanceSeconds(TTL + 1);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('returns invalid_token, not token_expired, for an expired token signed with another secret', async () => {
    // Prepare
    const { tokens } = await setup();
    const token = await forge({ ...goodClaims(), exp: NOW - 10 }, { key: OTHER_SECRET });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('accepts a well-formed token built outside the service (the forge helper is sound)', async () => {
    // Prepare
    const { tokens } = await setup();
    const token = await forge(goodClaims());

    // Act
    const claims = await tokens.verify(token);

    // Assess
    expect(claims).toEqual(CLAIMS);
  });

  it.each<[string, () => Promise<string>]>([
    ['alg none', async () => new UnsecuredJWT(goodClaims()).encode()],
    ['HS512 with the same secret', () => forge(goodClaims(), { header: { alg: 'HS512' } })],
    ['another secret', () => forge(goodClaims(), { key: OTHER_SECRET })],
    ['typ JWT', () => forge(goodClaims(), { header: { typ: 'JWT' } })],
    ['no kid', () => forge(goodClaims(), { header: { kid: undefined } })],
    ['a kid that names another secret', () => forge(goodClaims(), { header: { kid: 'hs256-someoneelse' } })],
    ['no typ', () => forge(goodClaims(), { header: { typ: undefined } })],
    ['typ refresh+jwt', () => forge(goodClaims(), { header: { typ: 'refresh+jwt' } })],
    ['a wrong issuer', () => forge({ ...goodClaims(), iss: 'someone-else' })],
    ['a wrong audience', () => forge({ ...goodClaims(), aud: 'someone-else' })],
    ['no exp', () => forge({ ...goodClaims(), exp: undefined })],
    ['no jti', () => forge({ ...goodClaims(), jti: undefined })],
    ['no sub', () => forge({ ...goodClaims(), sub: undefined })],
    ['no sid', () => forge({ ...goodClaims(), sid: undefined })],
    ['no uid', () => forge({ ...goodClaims(), uid: undefined })],
    ['a numeric sid', () => forge({ ...goodClaims(), sid: 1 })],
    ['a numeric uid', () => forge({ ...goodClaims(), uid: 7 })],
    ['nbf in the future', () => forge({ ...goodClaims(), nbf: NOW + 60 })],
    ['a username that differs from sub', () => forge({ ...goodClaims(), username: 'bob' })],
    ['no name', () => forge({ ...goodClaims(), name: undefined })],
    ['not a JWT', async () => 'not-a-jwt'],
    ['three empty segments', async () => '..'],
  ])('returns invalid_token for a token with %s', async (_label, makeToken) => {
    // Prepare
    const { tokens } = await setup();
    const token = await makeToken();

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it.each(['iss', 'aud', 'iat', 'jti'])('returns invalid_token for a token without %s', async (claim) => {
    // Prepare
    const { tokens } = await setup();
    const token = await forge({ ...goodClaims(), [claim]: undefined });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a re-encoded payload that keeps the original signature', async () => {
    // Prepare
    const { tokens } = await setup();
    const { token } = await tokens.issue(CLAIMS);
    const [header, payload, signature] = token.split('.');
    const altered = { ...decodeJwt(token), sub: 'admin', username: 'admin' };
    const tampered = [header, base64url(altered), signature].join('.');
    expect(tampered).not.toBe(token);
    expect(payload).not.toBe(base64url(altered));

    // Act
    const attempt = tokens.verify(tampered);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a re-encoded header that claims another typ, keeping the signature', async () => {
    // Prepare
    const { tokens } = await setup();
    const { token } = await tokens.issue(CLAIMS);
    const [header, payload, signature] = token.split('.');
    const altered = base64url({ ...decodeProtectedHeader(token), typ: 'JWT' });
    expect(altered).not.toBe(header);

    // Act
    const attempt = tokens.verify([altered, payload, signature].join('.'));

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('verifies a token for a tutorial-era user with a 3100-character name', async () => {
    // Prepare
    const { tokens } = await setup();
    const { token } = await tokens.issue({ ...CLAIMS, name: 'A'.repeat(3100) });

    // Act
    const claims = await tokens.verify(token);

    // Assess
    expect(claims.name).toHaveLength(3100);
  });

  it('returns invalid_token for an otherwise valid token longer than 16 KiB', async () => {
    // Prepare
    const { tokens } = await setup();
    const { token } = await tokens.issue({ ...CLAIMS, name: 'A'.repeat(13_000) });
    expect(token.length).toBeGreaterThan(16 * 1024);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a token of an asymmetric service', async () => {
    // Prepare
    const { tokens } = await setup();
    const { token } = await (await setupAsymmetric('EdDSA')).tokens.issue(CLAIMS);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('createJwtTokens with asymmetric keys', () => {
  it.each(['EdDSA', 'ES256'] as const)('round-trips the claims of a %s token with typ at+jwt and kid', async (alg) => {
    // Prepare
    const { tokens, keys } = await setupAsymmetric(alg);

    // Act
    const { token } = await tokens.issue(CLAIMS);
    const claims = await tokens.verify(token);

    // Assess
    expect(claims).toEqual(CLAIMS);
    expect(decodeProtectedHeader(token)).toEqual({ alg, typ: 'at+jwt', kid: keys.kid });
  });

  it('accepts a token built outside the service with the private key (the forge helper is sound)', async () => {
    // Prepare
    const { tokens, privateJwk } = await setupAsymmetric('EdDSA');
    const key = await privateKeyOf(privateJwk);

    // Act
    const claims = await tokens.verify(await forge(goodClaims(), { key, header: { alg: 'EdDSA', kid: privateJwk.kid } }));

    // Assess
    expect(claims).toEqual(CLAIMS);
  });

  it('returns invalid_token for a token signed with the right key but typ JWT', async () => {
    // Prepare
    const { tokens, privateJwk } = await setupAsymmetric('EdDSA');
    const key = await privateKeyOf(privateJwk);
    const token = await forge(goodClaims(), { key, header: { alg: 'EdDSA', kid: privateJwk.kid, typ: 'JWT' } });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it.each(['sid', 'uid'])('returns invalid_token for a token signed with the right key but without %s', async (claim) => {
    // Prepare
    const { tokens, privateJwk } = await setupAsymmetric('ES256');
    const key = await privateKeyOf(privateJwk);
    const token = await forge({ ...goodClaims(), [claim]: undefined }, { key, header: { alg: 'ES256', kid: privateJwk.kid } });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for HS256 signed with the public key bytes (algorithm confusion)', async () => {
    // Prepare
    const { tokens, keys } = await setupAsymmetric('EdDSA');
    const publicJwk = keys.publicJwks.keys[0] as JWK;
    const publicBytes = Buffer.from(publicJwk.x as string, 'base64url');
    expect(publicBytes).toHaveLength(32);
    const token = await forge(goodClaims(), { key: new Uint8Array(publicBytes), header: { alg: 'HS256', kid: publicJwk.kid } });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for HS256 signed with the published JWK text as the secret', async () => {
    // Prepare
    const { tokens, keys } = await setupAsymmetric('ES256');
    const publicJwk = keys.publicJwks.keys[0] as JWK;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await forge(goodClaims(), { key: secret, header: { alg: 'HS256', kid: publicJwk.kid } });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for alg none with the kid of a real key', async () => {
    // Prepare
    const { tokens, keys } = await setupAsymmetric('EdDSA');
    const [header, payload] = new UnsecuredJWT(goodClaims()).encode().split('.');
    const withKid = base64url({ ...JSON.parse(Buffer.from(header as string, 'base64url').toString()), typ: 'at+jwt', kid: keys.kid });

    // Act
    const attempt = tokens.verify(`${withKid}.${payload}.`);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a token signed by the right key under a kid that is not in the set', async () => {
    // Prepare
    const { tokens, privateJwk } = await setupAsymmetric('EdDSA');
    const key = await privateKeyOf(privateJwk);
    const token = await forge(goodClaims(), { key, header: { alg: 'EdDSA', kid: 'not-in-the-set' } });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a token signed by a key that is not in the set, even under a known kid', async () => {
    // Prepare
    const { tokens, keys } = await setupAsymmetric('EdDSA');
    const stranger = await generatePrivateJwks('EdDSA', keys.kid);
    const token = await tokensFor(await asymmetricKeys(stranger)).issue(CLAIMS);
    expect(decodeProtectedHeader(token.token).kid).toBe(keys.kid);

    // Act
    const attempt = tokens.verify(token.token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a token of an HS256 service', async () => {
    // Prepare
    const { tokens } = await setupAsymmetric('ES256');
    const { token } = await (await setup()).tokens.issue(CLAIMS);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns token_expired for an expired token of its own', async () => {
    // Prepare
    const clock = createClock(START);
    const tokens = tokensFor((await setupAsymmetric('ES256')).keys, clock);
    const { token } = await tokens.issue(CLAIMS);
    clock.advanceSeconds(TTL + 1);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'token_expired' });
  });

  describe('key rotation', () => {
    const rotationSet = async (): Promise<PrivateJwks> => {
      const first = await generatePrivateJwks('EdDSA', 'key-2024');
      const second = await generatePrivateJwks('ES256', 'key-2025');
      return { keys: [...first.keys, ...second.keys] };
    };

    it('still verifies a token the first key signed once the second key signs', async () => {
      // Prepare
      const jwks = await rotationSet();
      const before = tokensFor(await asymmetricKeys(jwks, 'key-2024'));
      const { token } = await before.issue(CLAIMS);
      const after = tokensFor(await asymmetricKeys(jwks, 'key-2025'));

      // Act
      const claims = await after.verify(token);

      // Assess
      expect(decodeProtectedHeader(token).kid).toBe('key-2024');
      expect(claims).toEqual(CLAIMS);
    });

    it('signs new tokens with the key JWT_SIGNING_KID names, which the previous signer already verifies', async () => {
      // Prepare
      const jwks = await rotationSet();
      const before = tokensFor(await asymmetricKeys(jwks, 'key-2024'));
      const after = tokensFor(await asymmetricKeys(jwks, 'key-2025'));

      // Act
      const { token } = await after.issue(CLAIMS);

      // Assess
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'key-2025' });
      await expect(before.verify(token)).resolves.toEqual(CLAIMS);
    });

    it('refuses a token of a retired key once it has left the set', async () => {
      // Prepare
      const jwks = await rotationSet();
      const { token } = await tokensFor(await asymmetricKeys(jwks, 'key-2024')).issue(CLAIMS);
      const retired = tokensFor(await asymmetricKeys({ keys: jwks.keys.slice(1) }));

      // Act
      const attempt = retired.verify(token);

      // Assess
      await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
    });
  });
});
