// The contract check itself: it must refuse what the document does not allow, or every test built on it proves nothing.
import { describe, expect, it } from 'vitest';
import { checkResponse, ContractError, type Observed } from './contract';

const json = (status: number, body: unknown, extra: Record<string, string> = {}): Omit<Observed, 'method' | 'path'> => ({
  status,
  headers: new Headers({ 'Content-Type': 'application/json', ...extra }),
  body: JSON.stringify(body),
});
const me = (answer: Omit<Observed, 'method' | 'path'>): Observed => ({ method: 'GET', path: '/me', ...answer });
const user = { username: 'ada', name: 'Ada', createdAt: '2026-12-01T10:00:00.000Z', email: null, emailVerified: false, pendingEmail: null, mfa: { totp: false, passkeys: 0, recoveryCodesLeft: 0 } };
const bearerChallenge = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };

describe('contract check', () => {
  it('accepts documented answers: a 200 on /me, and a 401 with its code and challenge', () => {
    expect(() => checkResponse(me(json(200, { user }, { 'Cache-Control': 'no-store' })))).not.toThrow();
    expect(() => checkResponse(me(json(401, { code: 'invalid_token', message: 'the token is invalid' }, bearerChallenge)))).not.toThrow();
  });

  it.each([
    ['a status the route does not list', me(json(418, { code: 'invalid_token', message: 'x' }))],
    ['a success body without its required field', me(json(200, { notUser: true }))],
    ['a success body with a field the document does not have', me(json(200, { user, extra: 1 }))],
    ['a 401 without the WWW-Authenticate header', me(json(401, { code: 'invalid_token', message: 'x' }))],
    ['an error code outside the route\'s list', me(json(401, { code: 'username_taken', message: 'x' }, bearerChallenge))],
    ['a body that is not JSON', me({ status: 200, headers: new Headers({ 'Content-Type': 'application/json' }), body: '<html>' })],
    ['JSON sent as text/plain', me({ status: 200, headers: new Headers({ 'Content-Type': 'text/plain' }), body: '{}' })],
  ])('refuses %s', (_what, observed) => {
    expect(() => checkResponse(observed)).toThrow(ContractError);
  });
});
