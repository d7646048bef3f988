// TokenService on jose: HS256 access tokens, algorithm, issuer, audience and required claims pinned on verify.
import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../domain/errors';
import type { Clock, PublicUser, TokenService } from '../../domain/ports';

export type JwtTokensOptions = {
  secret: Uint8Array;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
};

const ALGORITHM = 'HS256';
// Far above any token we issue (a tutorial-era user may have a long name); refuses megabyte-sized junk.
const MAX_TOKEN_LENGTH = 16 * 1024;

const invalidToken = (cause?: unknown) => new AppError('invalid_token', 'the token is invalid', { cause });

export const createJwtTokens = (options: JwtTokensOptions): TokenService => {
  const { issuer, audience, ttlSeconds, clock } = options;
  // Imported once per process: jose would otherwise re-import a raw secret on every sign and verify.
  const key = crypto.subtle.importKey('raw', new Uint8Array(options.secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  const verifyOptions = {
    algorithms: [ALGORITHM],
    issuer,
    audience,
    requiredClaims: ['exp', 'iat', 'sub', 'jti'],
  };

  return {
    async issue(user) {
      const issuedAt = Math.floor(clock.now().getTime() / 1000);
      const token = await new SignJWT({ username: user.username, name: user.name })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(user.username)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .setJti(crypto.randomUUID())
        .sign(await key);
      return { token, expiresIn: ttlSeconds };
    },

    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, await key, { ...verifyOptions, currentDate: clock.now() }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          throw new AppError('token_expired', 'the token has expired', { cause: error });
        }
        if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidToken(error);
        throw error;
      }
      const { sub, username, name } = payload;
      if (typeof sub !== 'string' || username !== sub || typeof name !== 'string') throw invalidToken();
      return { username: sub, name } satisfies PublicUser;
    },
  };
};
