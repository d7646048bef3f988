// Attacks on issue 11's second factors and passkeys, through the real app on dynalite, with the source at hand:
// code guessing against the name's throttle, replays in parallel, forged and stale mfaTokens, sealed values of one
// purpose used for another, the secret and recovery codes read back, a stolen access token, passkey ceremonies of
// another RP or account, and fuzzed bodies on every new route. `it` holds a defence; `it.fails` reproduces a
// finding (the file stays green while it stands) and names its fix.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetCommand } from '../../src/adapters/dynamodb/client';
import { createSealer } from '../../src/adapters/crypto/sealer';
import { TEST_REFRESH_SECRET, type LoginAnswer, type TestApp } from '../app-harness';
import { startDynalite, testClient, type TestStore } from '../stores';
import { freshCode, totpCode } from '../totp-helpers';
import { createAuthenticator } from '../webauthn-authenticator';
import { guardLogs } from './log-guard';
import {
  addPasskey,
  answer,
  asChallenge,
  attackApp,
  bearer,
  CEREMONY,
  challengeText,
  enrolled,
  loginOptions,
  ORIGIN,
  PASSWORD,
  post,
  registrationOptions,
  send,
  signUp,
  stepUp,
  wrongCodes,
  type Enrolled,
} from './mfa-attack-helpers';

// Started before any app writes a line: every line of this file is searched for the secrets it remembers.
const logs = guardLogs();
/** Six-digit codes are too short for the guard: they are searched for as JSON string values instead. */
const usedCodes = new Set<string>();

let store: TestStore;
let t: TestApp;

beforeAll(async () => {
  store = await startDynalite();
  t = await attackApp(store.endpoint);
  logs.remember(PASSWORD, TEST_REFRESH_SECRET);
});

afterAll(async () => {
  try {
    t?.client.destroy();
    await store?.stop();
  } finally {
    logs.stop();
  }
  // The apps logged at INFO: the guard fails if it saw no request line, so a clean result is never vacuous.
  logs.assertClean();
  const everything = logs.lines().join('\n');
  const quoted = [...usedCodes].filter((code) => everything.includes(`"${code}"`) || everything.includes(`\\"${code}\\"`));
  expect(quoted, 'TOTP codes written as values in the logs').toEqual([]);
});

// Codes are computed at the app's clock: frozen, a test's steps cannot straddle a 30 s boundary by chance.
beforeEach(() => t.clock.freeze());
afterEach(() => t.clock.run());

/** Remembers what an enrolment handed out, for the log guard. */
const remembered = (account: Enrolled): Enrolled => {
  logs.remember(account.secret, account.session.token, account.session.refreshToken);
  logs.remember(...account.recoveryCodes, ...account.recoveryCodes.map((code) => code.replaceAll('-', '')));
  return account;
};
const enrol = async (username: string) => remembered(await enrolled(t, username));
const stepUpToken = async (username: string) => {
  const token = await stepUp(t, username);
  logs.remember(token);
  return token;
};
const code = (value: string) => {
  usedCodes.add(value);
  return value;
};
const session = async (username: string): Promise<LoginAnswer> => {
  const pair = await signUp(t, username);
  logs.remember(pair.token, pair.refreshToken);
  return pair;
};
const me = async (token: string) => answer(await t.app.request('/me', { headers: bearer(token) }));
const statusesOf = (responses: Response[]) => responses.map((response) => response.status);
const codeOf = async (response: Response) => String((await response.json() as Record<string, unknown>).code);

describe('guessing codes at /login/mfa', () => {
  it('a fresh mfaToken for every guess does not reset the count: 5 wrong codes are checked, then 429, the right code too', async () => {
    const { secret } = await enrol('guess-fresh-tokens');
    const guesses = wrongCodes(secret, t.clock.now(), 5).map(code);

    const checked: number[] = [];
    for (const guess of guesses) {
      const mfaToken = await stepUpToken('guess-fresh-tokens');
      checked.push((await post(t, '/login/mfa', { mfaToken, code: guess })).status);
    }
    const sixthLogin = await post(t, '/login', { username: 'guess-fresh-tokens', password: PASSWORD });
    const rightCodeNow = await post(t, '/login/mfa', { mfaToken: await stepUpTokenOr429(), code: code(totpCode(secret, t.clock.now())) });

    expect(checked).toEqual([401, 401, 401, 401, 401]);
    // Past the limit the right password gets no new mfaToken, and a code is not checked at all.
    expect(sixthLogin.status).toBe(429);
    expect(sixthLogin.headers.get('Retry-After')).toMatch(/^[1-9][0-9]*$/);
    expect(rightCodeNow.status).toBe(401);
    expect(await codeOf(rightCodeNow)).toBe('invalid_mfa_token');

    async function stepUpTokenOr429() {
      const login = await post(t, '/login', { username: 'guess-fresh-tokens', password: PASSWORD });
      return login.status === 403 ? String((await login.json() as Record<string, unknown>).mfaToken) : 'none: the login was 429';
    }
  });

  it('with an mfaToken taken before the limit, the 6th code (even the right one) is 429, not checked', async () => {
    const { secret } = await enrol('guess-one-token');
    const mfaToken = await stepUpToken('guess-one-token');
    const guesses = wrongCodes(secret, t.clock.now(), 5).map(code);

    const checked: number[] = [];
    for (const guess of guesses) checked.push((await post(t, '/login/mfa', { mfaToken, code: guess })).status);
    const right = await post(t, '/login/mfa', { mfaToken, code: code(totpCode(secret, t.clock.now())) });
    const recovery = await post(t, '/login/mfa', { mfaToken, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' });

    expect(checked).toEqual([401, 401, 401, 401, 401]);
    expect(right.status).toBe(429);
    expect(recovery.status).toBe(429);
  });

  it('30 wrong codes at once, each with its own mfaToken: at most 5 are checked (401), the rest 429', async () => {
    const { secret } = await enrol('guess-parallel');
    const tokens: string[] = [];
    for (let i = 0; i < 30; i += 1) tokens.push(await stepUpToken('guess-parallel'));
    const guesses = wrongCodes(secret, t.clock.now(), 30).map(code);

    const answers = await Promise.all(tokens.map((mfaToken, i) => post(t, '/login/mfa', { mfaToken, code: guesses[i] })));

    const statuses = statusesOf(answers);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(25);
  });

  it('one right code sent 10 times at once, with 10 different mfaTokens: exactly one login', async () => {
    const { secret } = await enrol('replay-code');
    const tokens: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      // Tokens issued at different moments: the one spent first does not void the others by its time alone.
      t.clock.advance(0.01);
      tokens.push(await stepUpToken('replay-code'));
    }
    const right = code(freshCode(t.clock, secret));

    const answers = await Promise.all(tokens.map((mfaToken) => post(t, '/login/mfa', { mfaToken, code: right })));

    const statuses = statusesOf(answers);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status !== 200 && status !== 401 && status !== 429)).toEqual([]);
  });

  it('one recovery code sent 10 times at once: exactly one login, and 9 codes are left', async () => {
    const { session: owner, recoveryCodes } = await enrol('replay-recovery');
    const tokens: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      t.clock.advance(0.01);
      tokens.push(await stepUpToken('replay-recovery'));
    }

    const answers = await Promise.all(tokens.map((mfaToken) => post(t, '/login/mfa', { mfaToken, recoveryCode: recoveryCodes[0] })));
    const pairs = await Promise.all(answers.filter((a) => a.status === 200).map(async (a) => (await a.json()) as LoginAnswer));
    for (const pair of pairs) logs.remember(pair.token, pair.refreshToken);

    expect(statusesOf(answers).filter((status) => status === 200)).toHaveLength(1);
    // The winner's login ended no session (a login is no factor change): the owner's token still reads /me.
    expect((await me(pairs[0]!.token)).body).toMatchObject({ user: { mfa: { totp: true, recoveryCodesLeft: 9 } } });
    expect((await me(owner.token)).status).toBe(200);
  });

  it('a code that completed a login is refused afterwards by DELETE /me/mfa/totp and by the passkey options', async () => {
    const { session: owner, secret } = await enrol('code-once-across');
    const mfaToken = await stepUpToken('code-once-across');
    const used = code(freshCode(t.clock, secret));

    const login = await post(t, '/login/mfa', { mfaToken, code: used });
    const disable = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: used }, bearer(owner.token));
    const options = await post(t, '/me/passkeys/options', { password: PASSWORD, code: used }, bearer(owner.token));

    expect(login.status).toBe(200);
    logs.remember(((await login.json()) as LoginAnswer).token);
    expect({ status: disable.status, code: await codeOf(disable) }).toEqual({ status: 401, code: 'invalid_mfa_code' });
    expect({ status: options.status, code: await codeOf(options) }).toEqual({ status: 401, code: 'invalid_mfa_code' });
    expect((await me(owner.token)).body).toMatchObject({ user: { mfa: { totp: true } } });
  });
});

describe('the mfaToken', () => {
  it('forged (random, unsigned, signed with another key) or altered is 401 invalid_mfa_token, and counts nothing', async () => {
    const { secret } = await enrol('forged-token');
    const real = await stepUpToken('forged-token');
    const [body, tag] = real.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const reencode = (changed: Record<string, unknown>) => Buffer.from(JSON.stringify(changed)).toString('base64url');
    const otherKey = createSealer(new TextEncoder().encode('an attacker key that is at least 32 bytes'), 'step-up');
    const wrongPurpose = createSealer(new TextEncoder().encode(TEST_REFRESH_SECRET), 'passkey-login');
    const far = Date.now() + 3_600_000;
    const forgeries = [
      '',
      'x',
      'a.b',
      `${body}.`,
      `${body}`,
      `${body}.${tag}.${tag}`,
      `${body}.${tag.slice(0, -2)}`,
      `${reencode({ ...payload, v: Number(payload.v) + 1 })}.${tag}`,
      `${reencode({ ...payload, exp: far })}.${tag}`,
      `${reencode({ ...payload, t: Number(payload.t) + 1 })}.${tag}`,
      otherKey.seal({ u: payload.u as string, id: payload.id as string, v: payload.v as number, t: payload.t as number }, far),
      wrongPurpose.seal({ u: payload.u as string, id: payload.id as string, v: payload.v as number, t: payload.t as number }, far),
      `${body}.${tag}`.toUpperCase(),
      `${body}=.${tag}`,
      'A'.repeat(5000),
    ];

    // A right, unused code with every forgery: the token alone is what they are refused for.
    const right = code(freshCode(t.clock, secret));
    const answers = [];
    for (const mfaToken of forgeries) answers.push(await post(t, '/login/mfa', { mfaToken, code: right }));
    const realStillWorks = await post(t, '/login/mfa', { mfaToken: real, code: right });

    for (const [i, response] of answers.entries()) {
      expect({ i, status: response.status, code: await codeOf(response) }).toEqual({ i, status: 401, code: 'invalid_mfa_token' });
    }
    // The forgeries counted no failure on the name (else this would be 429) and spent neither the code nor the token.
    expect(realStillWorks.status).toBe(200);
    logs.remember(((await realStillWorks.json()) as LoginAnswer).token);
  });

  it("another account's mfaToken does not take this account's code: it is checked against its own account", async () => {
    const victim = await enrol('token-victim');
    const attacker = await enrol('token-attacker');
    const victimToken = await stepUpToken('token-victim');
    const attackerToken = await stepUpToken('token-attacker');
    t.clock.advance(30);

    const crossed = await post(t, '/login/mfa', { mfaToken: attackerToken, code: code(totpCode(victim.secret, t.clock.now())) });
    const crossedRecovery = await post(t, '/login/mfa', { mfaToken: attackerToken, recoveryCode: victim.recoveryCodes[0] });
    const own = await post(t, '/login/mfa', { mfaToken: victimToken, code: code(totpCode(victim.secret, t.clock.now())) });
    const ownPair = (await own.json()) as LoginAnswer;
    logs.remember(ownPair.token);

    expect({ status: crossed.status, code: await codeOf(crossed) }).toEqual({ status: 401, code: 'invalid_mfa_code' });
    expect({ status: crossedRecovery.status, code: await codeOf(crossedRecovery) }).toEqual({ status: 401, code: 'invalid_mfa_code' });
    expect(own.status).toBe(200);
    expect(ownPair.user.username).toBe('token-victim');
    // The victim's recovery code was not spent by the crossed attempt.
    expect((await me(ownPair.token)).body).toMatchObject({ user: { mfa: { recoveryCodesLeft: 10 } } });
    expect(attacker.recoveryCodes).toHaveLength(10);
  });

  it('is void after a password change, even with a right code', async () => {
    const { session: owner, secret } = await enrol('token-password-change');
    const mfaToken = await stepUpToken('token-password-change');

    const changed = await post(t, '/me/password', { currentPassword: PASSWORD, newPassword: 'an entirely new passphrase 9' }, bearer(owner.token));
    const late = await post(t, '/login/mfa', { mfaToken, code: code(freshCode(t.clock, secret)) });

    expect(changed.status).toBe(200);
    logs.remember(((await changed.json()) as LoginAnswer).token, 'an entirely new passphrase 9');
    expect({ status: late.status, code: await codeOf(late) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
  });

  it('is void after TOTP is turned off and on again (a new secret), with a code of either secret', async () => {
    const { session: owner, secret } = await enrol('token-reenrolled');
    const mfaToken = await stepUpToken('token-reenrolled');
    const off = await send(t, 'DELETE', '/me/mfa/totp', { password: PASSWORD, code: code(freshCode(t.clock, secret)) }, bearer(owner.token));
    const started = (await (await post(t, '/me/mfa/totp', { password: PASSWORD }, bearer(owner.token))).json()) as { secret: string };
    logs.remember(started.secret);
    const on = await post(t, '/me/mfa/totp/confirm', { code: code(freshCode(t.clock, started.secret)) }, bearer(owner.token));
    logs.remember(...((await on.json()) as { recoveryCodes: string[] }).recoveryCodes);

    const withNew = await post(t, '/login/mfa', { mfaToken, code: code(freshCode(t.clock, started.secret)) });
    const withOld = await post(t, '/login/mfa', { mfaToken, code: code(freshCode(t.clock, secret)) });

    expect(off.status).toBe(204);
    expect(on.status).toBe(200);
    expect({ status: withNew.status, code: await codeOf(withNew) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
    expect({ status: withOld.status, code: await codeOf(withOld) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
  });

  it('is void after MFA_TOKEN_TTL_SECONDS (300), and works just before', async () => {
    const { secret } = await enrol('token-expiry');
    const early = await stepUpToken('token-expiry');
    t.clock.advance(1);
    const late = await stepUpToken('token-expiry');

    t.clock.advance(299.5);
    const justBefore = await post(t, '/login/mfa', { mfaToken: late, code: code(totpCode(secret, t.clock.now())) });
    logs.remember(((await justBefore.json()) as LoginAnswer).token);
    const expired = await post(t, '/login/mfa', { mfaToken: early, code: code(freshCode(t.clock, secret)) });

    expect(justBefore.status).toBe(200);
    expect({ status: expired.status, code: await codeOf(expired) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
  });

  it('of a deleted account does not sign in the account registered later under the same name and password', async () => {
    const first = await enrol('token-reborn');
    const mfaToken = await stepUpToken('token-reborn');
    expect((await send(t, 'DELETE', '/me', { password: PASSWORD }, bearer(first.session.token))).status).toBe(204);
    const second = await enrol('token-reborn');

    const withNewCode = await post(t, '/login/mfa', { mfaToken, code: code(freshCode(t.clock, second.secret)) });
    const withOldCode = await post(t, '/login/mfa', { mfaToken, code: code(freshCode(t.clock, first.secret)) });

    expect({ status: withNewCode.status, code: await codeOf(withNewCode) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
    expect({ status: withOldCode.status, code: await codeOf(withOldCode) }).toEqual({ status: 401, code: 'invalid_mfa_token' });
  });
});
