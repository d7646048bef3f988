// The routes the client calls. A type-only import of the server's route table checks each method and path at
// compile time, so the client's bundle carries the strings without the table (and without valibot).
import type { ROUTES, RouteId } from '../adapters/http/routes';

type Endpoint<K extends RouteId> = {
  readonly method: (typeof ROUTES)[K]['method'];
  readonly path: (typeof ROUTES)[K]['path'];
};

export const ENDPOINTS = {
  register: { method: 'POST', path: '/register' },
  logIn: { method: 'POST', path: '/login' },
  logInMfa: { method: 'POST', path: '/login/mfa' },
  passkeyLoginOptions: { method: 'POST', path: '/login/passkey/options' },
  logInWithPasskey: { method: 'POST', path: '/login/passkey' },
  refresh: { method: 'POST', path: '/token/refresh' },
  verify: { method: 'POST', path: '/verify' },
  logOut: { method: 'POST', path: '/logout' },
  logOutAll: { method: 'POST', path: '/logout/all' },
  getMe: { method: 'GET', path: '/me' },
  deleteAccount: { method: 'DELETE', path: '/me' },
  changePassword: { method: 'POST', path: '/me/password' },
  startTotp: { method: 'POST', path: '/me/mfa/totp' },
  confirmTotp: { method: 'POST', path: '/me/mfa/totp/confirm' },
  disableTotp: { method: 'DELETE', path: '/me/mfa/totp' },
  replaceRecoveryCodes: { method: 'POST', path: '/me/mfa/recovery-codes' },
  passkeyRegistrationOptions: { method: 'POST', path: '/me/passkeys/options' },
  addPasskey: { method: 'POST', path: '/me/passkeys' },
  listPasskeys: { method: 'GET', path: '/me/passkeys' },
  removePasskey: { method: 'DELETE', path: '/me/passkeys/{id}' },
  changeEmail: { method: 'POST', path: '/me/email' },
  verifyEmail: { method: 'POST', path: '/email/verify' },
  resendVerification: { method: 'POST', path: '/email/verify/resend' },
  forgotPassword: { method: 'POST', path: '/password/forgot' },
  resetPassword: { method: 'POST', path: '/password/reset' },
  jwks: { method: 'GET', path: '/.well-known/jwks.json' },
  health: { method: 'GET', path: '/health' },
} as const satisfies { readonly [K in RouteId]?: Endpoint<K> };

export type EndpointId = keyof typeof ENDPOINTS;
