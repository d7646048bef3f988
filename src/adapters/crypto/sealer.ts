// Sealer on node:crypto: `<base64url JSON payload>.<base64url HMAC-SHA-256>`, the key derived per purpose.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Sealer } from '../../domain/mfa-ports';

// Sealed values travel in JSON bodies and WebAuthn challenges: a bound keeps a forged one cheap to refuse.
const MAX_SEALED_CHARS = 1024;
const PART = /^[A-Za-z0-9_-]+$/;

/** `secret`: a service key (the refresh-token secret); `purpose` names what the values are for. */
export const createSealer = (secret: Uint8Array, purpose: string): Sealer => {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `login-service sealer ${purpose}`, 32));
  const mac = (body: string) => createHmac('sha256', key).update(body).digest();
  return {
    seal(payload, expiresAt) {
      const body = Buffer.from(JSON.stringify({ ...payload, exp: expiresAt })).toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    open(sealed, now) {
      if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_CHARS) return null;
      const [body, tag, extra] = sealed.split('.');
      if (body === undefined || tag === undefined || extra !== undefined || !PART.test(body) || !PART.test(tag)) {
        return null;
      }
      const expected = mac(body);
      const given = Buffer.from(tag, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      try {
        const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, string | number>;
        const { exp, ...rest } = payload;
        return typeof exp === 'number' && now < exp ? rest : null;
      } catch {
        return null;
      }
    },
  };
};
