// createJwtTokens: issued tokens round-trip, and every forged, altered or mis-scoped token is refused.
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../../test/fakes';
import { createJwtTokens } from './jwt-tokens';

const SECRET = new TextEncoder().encode('s'.repeat(32));
const OTHER_SECRET = new TextEncoder().encode('o'.repeat(32));
const ISSUER = 'login-service';
const AUDIENCE = 'login-clients';
const TTL = 900;
const START = new Date('2024-05-01T12:00:00.000Z');
const NOW = START.getTime() / 1000;

const setup = () => {
  const clock = createClock(START);
  const tokens = createJwtTokens({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL, clock });
  return { clock, tokens };
};

const goodClaims = (): JWTPayload => ({
  sub: 'alice',
  username: 'alice',
  name: 'Alice',
  iss: ISSUER,
  aud: AUDIENCE,
  iat: NOW,
  exp: NOW + TTL,
  jti: 'c0ffee00-0000-4000-8000-000000000000',
});

/** Signs claims as an attacker (or a misconfigured peer) would; `undefined` claims are left out. */
const forge = (claims: JWTPayload, options: { alg?: string; secret?: Uint8Array } = {}) => {
  const present = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  return new SignJWT(present)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .sign(options.secret ?? SECRET);
};

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('createJwtTokens', () => {
  it('verifies its own token back to the username and name', async () => {
    // Prepare
    const { tokens } = setup();

    // Act
    const issued = await tokens.issue({ username: 'alice', name: 'Alice' });
    const user = await tokens.verify(issued.token);

    // Assess
    expect(user).toEqual({ username: 'alice', name: 'Alice' });
    expect(issued.expiresIn).toBe(TTL);
  });

  it('issues an HS256 token with sub, username, name, iat, exp = iat + ttl, iss, aud and jti', async () => {
    // Prepare
    const { tokens } = setup();

    // Act
    const { token } = await tokens.issue({ username: 'alice', name: 'Alice' });

    // Assess
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({ sub: 'alice', username: 'alice', name: 'Alice', iss: ISSUER, aud: AUDIENCE });
    expect(payload.iat).toBe(NOW);
    expect(payload.exp).toBe(NOW + TTL);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives each token its own jti', async () => {
    // Prepare
    const { tokens } = setup();

    // Act
    const first = await tokens.issue({ username: 'alice', name: 'Alice' });
    const second = await tokens.issue({ username: 'alice', name: 'Alice' });

    // Assess
    expect(decodeJwt(first.token).jti).not.toBe(decodeJwt(second.token).jti);
  });

  it('still accepts a token one second before it expires', async () => {
    // Prepare
    const { tokens, clock } = setup();
    const { token } = await tokens.issue({ username: 'alice', name: 'Alice' });
    clock.advanceSeconds(TTL - 1);

    // Act
    const user = await tokens.verify(token);

    // Assess
    expect(user.username).toBe('alice');
  });

  it('returns token_expired once the clock has passed exp', async () => {
    // Prepare
    const { tokens, clock } = setup();
    const { token } = await tokens.issue({ username: 'alice', name: 'Alice' });
    clock.advanceSeconds(TTL + 1);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'token_expired' });
  });

  it('returns invalid_token, not token_expired, for an expired token signed with another secret', async () => {
    // Prepare
    const { tokens } = setup();
    const token = await forge({ ...goodClaims(), exp: NOW - 10 }, { secret: OTHER_SECRET });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('accepts a well-formed token built outside the service (the forge helper is sound)', async () => {
    // Prepare
    const { tokens } = setup();
    const token = await forge(goodClaims());

    // Act
    const user = await tokens.verify(token);

    // Assess
    expect(user).toEqual({ username: 'alice', name: 'Alice' });
  });

  it.each<[string, () => Promise<string>]>([
    ['alg none', async () => new UnsecuredJWT(goodClaims()).encode()],
    ['HS512 with the same secret', () => forge(goodClaims(), { alg: 'HS512' })],
    ['another secret', () => forge(goodClaims(), { secret: OTHER_SECRET })],
    ['a wrong issuer', () => forge({ ...goodClaims(), iss: 'someone-else' })],
    ['a wrong audience', () => forge({ ...goodClaims(), aud: 'someone-else' })],
    ['no exp', () => forge({ ...goodClaims(), exp: undefined })],
    ['no jti', () => forge({ ...goodClaims(), jti: undefined })],
    ['no sub', () => forge({ ...goodClaims(), sub: undefined })],
    ['nbf in the future', () => forge({ ...goodClaims(), nbf: NOW + 60 })],
    ['a username that differs from sub', () => forge({ ...goodClaims(), username: 'bob' })],
    ['no name', () => forge({ ...goodClaims(), name: undefined })],
    ['not a JWT', async () => 'not-a-jwt'],
    ['three empty segments', async () => '..'],
  ])('returns invalid_token for a token with %s', async (_label, makeToken) => {
    // Prepare
    const { tokens } = setup();
    const token = await makeToken();

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('returns invalid_token for a re-encoded payload that keeps the original signature', async () => {
    // Prepare
    const { tokens } = setup();
    const { token } = await tokens.issue({ username: 'alice', name: 'Alice' });
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

  it('verifies a token for a tutorial-era user with a 3100-character name', async () => {
    // Prepare
    const { tokens } = setup();
    const { token } = await tokens.issue({ username: 'alice', name: 'A'.repeat(3100) });

    // Act
    const user = await tokens.verify(token);

    // Assess
    expect(user.name).toHaveLength(3100);
  });

  it('returns invalid_token for an otherwise valid token longer than 16 KiB', async () => {
    // Prepare
    const { tokens } = setup();
    const { token } = await tokens.issue({ username: 'alice', name: 'A'.repeat(13_000) });
    expect(token.length).toBeGreaterThan(16 * 1024);

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it.each(['iss', 'aud', 'iat', 'jti'])('returns invalid_token for a token without %s', async (claim) => {
    // Prepare
    const { tokens } = setup();
    const token = await forge({ ...goodClaims(), [claim]: undefined });

    // Act
    const attempt = tokens.verify(token);

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_token' });
  });
});
