// SecretBox on node:crypto: AES-256-GCM under a key derived by HKDF-SHA-256, sealed as `v1.<iv>.<ciphertext+tag>`.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretBox } from '../../domain/mfa-ports';

export const MIN_SECRET_BOX_KEY_BYTES = 32;
const VERSION = 'v1';
// A fixed purpose string: the same setting could key something else one day and never yield this key.
const HKDF_INFO = 'login-service secret-box v1 aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Why a sealed value did not open. Its message names the reason only: never the value, the key or the text. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/** Strict base64url: a second spelling of the same bytes (spare bits set in the last character) is refused. */
const decode = (text: string): Buffer | null => {
  if (!BASE64URL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
};

// The version is authenticated too: a v1 body relabelled as another format's fails rather than being misread.
const additionalData = (context: string): Buffer => Buffer.from(`${VERSION}\0${context}`);

/** `secret` is the setting's text as bytes (at least 32), the AES key is derived from it rather than being it. */
export const createSecretBox = (secret: Uint8Array): SecretBox => {
  if (secret.length < MIN_SECRET_BOX_KEY_BYTES) {
    throw new RangeError(`secret box key must be at least ${MIN_SECRET_BOX_KEY_BYTES} bytes`);
  }
  const key = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), HKDF_INFO, 32));

  return {
    seal: (plain, context = '') => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(context));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },

    open: (sealed, context = '') => {
      if (typeof sealed !== 'string') throw new SecretBoxError('sealed value is not text');
      const parts = sealed.split('.');
      if (parts.length !== 3) throw new SecretBoxError('sealed value is malformed');
      const [version, ivText, bodyText] = parts as [string, string, string];
      if (version !== VERSION) throw new SecretBoxError('sealed value has an unknown version');
      const iv = decode(ivText);
      const body = decode(bodyText);
      if (iv === null || body === null || iv.length !== IV_BYTES || body.length < TAG_BYTES) {
        throw new SecretBoxError('sealed value is malformed or truncated');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(context));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      try {
        const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
        return plain.toString('utf8');
      } catch {
        // Node's own error says only "Unsupported state or unable to authenticate data"; ours says what it means.
        throw new SecretBoxError('sealed value failed authentication (wrong key or context, or altered)');
      }
    },
  };
};
