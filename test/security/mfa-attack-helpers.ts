// Helpers for the attacks on issue 11's second factors and passkeys (mfa-attacks.test.ts): an app with passkeys on,
// accounts with TOTP and passkeys set up over the real HTTP routes, and the values an attacker handles (mfaTokens,
// sealed challenges) in the forms the routes take them. Codes come from the independent `otpauth` (totp-helpers).
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { createTestApp, json, type LoginAnswer, type TestApp } from '../app-harness';
import { freshCode, totpCode } from '../totp-helpers';
import type { CeremonyOptions, SoftwareAuthenticator } from '../webauthn-authenticator';

export const PASSWORD = 'correct horse battery';
export const RP_ID = 'localhost';
export const ORIGIN = 'http://localhost:3000';
/** What the browser and authenticator of the real site write into a ceremony. */
export const CEREMONY: CeremonyOptions = { origin: ORIGIN, rpId: RP_ID };

/** The real app with passkeys on for the local RP, logging at INFO (the log guard must see request lines). */
export const attackApp = (endpoint: string, env: Record<string, string> = {}) =>
  createTestApp(endpoint, { LOG_LEVEL: 'INFO', WEBAUTHN_RP_ID: RP_ID, WEBAUTHN_ORIGINS: ORIGIN, ...env });

/** Any method with a JSON body, from a peer address of the test's own (the per-client ceilings key on it). */
export const send = (app: TestApp, method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.app.request(path, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Test-Peer': '203.0.113.11', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

export const post = (app: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(app, 'POST', path, body, headers);

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A response's status and JSON body (empty for a 204). */
export const answer = async (response: Response) => ({
  status: response.status,
  body: response.status === 204 ? {} : await json(response),
});

export const signUp = async (app: TestApp, username: string): Promise<LoginAnswer> => {
  const registered = await post(app, '/register', { name: 'Factor Owner', username, password: PASSWORD });
  if (registered.status !== 201) throw new Error(`registration of ${username} answered ${registered.status}`);
  const login = await post(app, '/login', { username, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login of ${username} answered ${login.status}`);
  return (await login.json()) as LoginAnswer;
};

export type Enrolled = { session: LoginAnswer; secret: string; recoveryCodes: string[] };

/** An account with TOTP on, set up through the routes; `session` is the owner's (the one a thief would steal). */
export const enrolled = async (app: TestApp, username: string): Promise<Enrolled> => {
  const session = await signUp(app, username);
  const started = await post(app, '/me/mfa/totp', { password: PASSWORD }, bearer(session.token));
  if (started.status !== 200) throw new Error(`enrolment of ${username} answered ${started.status}`);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await post(app, '/me/mfa/totp/confirm', { code: totpCode(secret, app.clock.now()) }, bearer(session.token));
  if (confirmed.status !== 200) throw new Error(`confirmation of ${username} answered ${confirmed.status}`);
  const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
  return { session, secret, recoveryCodes };
};

/** The first step of a login of an account with TOTP on: its mfaToken (403 mfa_required, or this throws). */
export const stepUp = async (app: TestApp, username: string): Promise<string> => {
  const response = await post(app, '/login', { username, password: PASSWORD });
  const body = await json(response);
  if (response.status !== 403 || typeof body.mfaToken !== 'string') {
    throw new Error(`login of ${username} answered ${response.status} ${String(body.code)}`);
  }
  return body.mfaToken;
};

/** `count` distinct six-digit codes, none of which the server accepts for `secret` at `at` (±1 step). */
export const wrongCodes = (secret: string, at: Date, count: number): string[] => {
  const accepted = new Set([-1, 0, 1].map((steps) => totpCode(secret, at, steps)));
  const codes: string[] = [];
  for (let n = 100_000; codes.length < count; n += 7919) {
    const candidate = String(n % 1_000_000).padStart(6, '0');
    if (!accepted.has(candidate) && !codes.includes(candidate)) codes.push(candidate);
  }
  return codes;
};

/** A second factor for a request to an account with TOTP on: a fresh code (the clock moves one step on). */
export const factorOf = (app: TestApp, account: Enrolled | undefined) =>
  account === undefined ? {} : { code: freshCode(app.clock, account.secret) };

/** Registration options behind the password (and a fresh code when `account` has TOTP on). */
export const registrationOptions = async (app: TestApp, token: string, account?: Enrolled) => {
  const response = await post(app, '/me/passkeys/options', { password: PASSWORD, ...factorOf(app, account) }, bearer(token));
  if (response.status !== 200) throw new Error(`registration options answered ${response.status}`);
  return (await response.json()) as PublicKeyCredentialCreationOptionsJSON;
};

/** Registers a passkey of `authenticator` on the session's account: the added passkey's id. */
export const addPasskey = async (app: TestApp, token: string, authenticator: SoftwareAuthenticator, account?: Enrolled) => {
  const creation = await registrationOptions(app, token, account);
  const added = await post(app, '/me/passkeys', { response: authenticator.createCredential(creation, CEREMONY) }, bearer(token));
  if (added.status !== 201) throw new Error(`adding a passkey answered ${added.status}`);
  return ((await added.json()) as { id: string }).id;
};

/** Authentication options anyone may ask for. */
export const loginOptions = async (app: TestApp) => {
  const response = await post(app, '/login/passkey/options', {});
  if (response.status !== 200) throw new Error(`passkey login options answered ${response.status}`);
  return (await response.json()) as PublicKeyCredentialRequestOptionsJSON;
};

/** The service's own text behind an options' challenge (the options carry it as base64url of its UTF-8). */
export const challengeText = (options: { challenge: string }) => Buffer.from(options.challenge, 'base64url').toString('utf8');

/** A text of ours in the form clientDataJSON carries a challenge in. */
export const asChallenge = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
