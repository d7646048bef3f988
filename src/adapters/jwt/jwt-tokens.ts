// TokenService on jose: access tokens (typ at+jwt, kid) signed with the configured key; algorithm, type,
// issuer, audience and required claims pinned on verify.
import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../domain/errors';
import type { AccessClaims, Clock, TokenService } from '../../domain/ports';
import type { SigningKeys } from './signing-keys';

export type JwtTokensOptions = {
  keys: SigningKeys;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clock: Clock;
};

/** The access-token type (RFC 9068's header): a refresh token or an ID token is never taken for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';
// Far above any token we issue (a tutorial-era user may have a long name); refuses megabyte-sized junk.
const MAX_TOKEN_LENGTH = 16 * 1024;

const invalidToken = (cause?: unknown) => new AppError('invalid_token', 'the token is invalid', { cause });

export const createJwtTokens = (options: JwtTokensOptions): TokenService => {
  const { keys, issuer, audience, ttlSeconds, clock } = options;
  const verifyOptions = {
    algorithms: keys.algorithms,
    typ: ACCESS_TOKEN_TYPE,
    issuer,
    audience,
    requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid', 'uid'],
  };

  return {
    async issue(claims) {
      const issuedAt = Math.floor(clock.now().getTime() / 1000);
      // OpenID Connect's names for the address (Core 5.1), whenever the account has one.
      const email = claims.email === undefined ? {} : { email: claims.email, email_verified: claims.emailVerified === true };
      const token = await new SignJWT({ username: claims.username, name: claims.name, uid: claims.uid, sid: claims.sid, ...email })
        .setProtectedHeader({ alg: keys.alg, typ: ACCESS_TOKEN_TYPE, kid: keys.kid })
        .setSubject(claims.username)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .setJti(crypto.randomUUID())
        .sign(keys.signingKey);
      return { token, expiresIn: ttlSeconds };
    },

    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys.verificationKey, { ...verifyOptions, currentDate: clock.now() }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          throw new AppError('token_expired', 'the token has expired', { cause: error });
        }
        if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidToken(error);
        throw error;
      }
      const { sub, username, name, uid, sid, email, email_verified: emailVerified } = payload;
      if (
        typeof sub !== 'string' ||
        username !== sub ||
        typeof name !== 'string' ||
        typeof uid !== 'string' ||
        typeof sid !== 'string'
      ) {
        throw invalidToken();
      }
      return {
        username: sub,
        name,
        uid,
        sid,
        ...(typeof email === 'string' ? { email, emailVerified: emailVerified === true } : {}),
      } satisfies AccessClaims;
    },
  };
};
