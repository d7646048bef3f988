// Issue 11's TOTP flows through the real Lambda handler with complete API Gateway events (REST v1 and HTTP API v2):
// enrolment and the step-up login with the key given as MFA_ENCRYPTION_KEY, and a Lambda without any MFA key, where
// the TOTP routes answer 404. A Lambda has the real clock: codes are made by `otpauth` at Date.now().
import type { APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkLambdaResult } from './contract';
import { coldStartWith } from './lambda-cold-start';
import { httpApiEvent, lambdaContext, restEvent } from './events';
import { createServiceTables, startDynalite, type TestStore } from './stores';
import { RECOVERY_CODE, totpCode } from './totp-helpers';

type Handler = typeof import('../src/lambda').handler;
type Result = APIGatewayProxyResult & APIGatewayProxyStructuredResultV2;

const PASSWORD = 'correct horse battery';
const MFA_KEY = 'an-mfa-encryption-key-of-at-least-32-bytes';

let store: TestStore;
// Both Lambdas below share these tables, as two deployments of one service would.
let tables: Record<string, string>;

/** Loads the handler afresh (a cold start) with these settings on top of the tables'. */
const coldStart = coldStartWith(() => ({ ...tables, DYNAMODB_ENDPOINT: store.endpoint }));

beforeAll(async () => {
  store = await startDynalite();
  tables = await createServiceTables(store.endpoint);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await store?.stop();
});

const bodyOf = (result: Result) => JSON.parse(result.body ?? '') as Record<string, unknown>;
const call = (handler: Handler) => async (event: Parameters<Handler>[0]) =>
  checkLambdaResult(event, (await handler(event, lambdaContext())) as Result);
const text = (value: unknown) => JSON.stringify(value);
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('a Lambda with MFA_ENCRYPTION_KEY', () => {
  let invoke: ReturnType<typeof call>;

  beforeAll(async () => {
    invoke = call(await coldStart({ MFA_ENCRYPTION_KEY: MFA_KEY }));
  });

  it('enrols and confirms, then logs in with the step-up: a code (HTTP API), a recovery code (REST), and disables', async () => {
    // Prepare
    await invoke(httpApiEvent({ method: 'POST', path: '/register', body: text({ name: 'Lam', username: 'lam-mfa', password: PASSWORD }) }));
    const session = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-mfa', password: PASSWORD }) })),
    ) as { token: string };

    // Act: the enrolment, by REST events.
    const started = await invoke(
      restEvent({ method: 'POST', path: '/me/mfa/totp', headers: auth(session.token), body: text({ password: PASSWORD }) }),
    );
    const { secret, otpauthUri } = bodyOf(started) as { secret: string; otpauthUri: string };
    const confirmed = await invoke(
      restEvent({ method: 'POST', path: '/me/mfa/totp/confirm', headers: auth(session.token), body: text({ code: totpCode(secret, Date.now()) }) }),
    );
    const { recoveryCodes } = bodyOf(confirmed) as { recoveryCodes: string[] };
    const meOn = await invoke(httpApiEvent({ method: 'GET', path: '/me', headers: auth(session.token) }));

    // Act: the step-up, by HTTP API events, with the next step's code (the confirming step counts as used).
    const first = await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-mfa', password: PASSWORD }) }));
    const { mfaToken } = bodyOf(first) as { mfaToken: string };
    const second = await invoke(
      httpApiEvent({ method: 'POST', path: '/login/mfa', body: text({ mfaToken, code: totpCode(secret, Date.now(), 1) }) }),
    );
    const pair = bodyOf(second) as { token: string; refreshToken: string };
    const reused = await invoke(
      httpApiEvent({ method: 'POST', path: '/login/mfa', body: text({ mfaToken, recoveryCode: recoveryCodes[0] }) }),
    );

    // Act: a recovery code, by REST events.
    const again = bodyOf(
      await invoke(restEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-mfa', password: PASSWORD }) })),
    ) as { mfaToken: string };
    const byRecovery = await invoke(
      restEvent({ method: 'POST', path: '/login/mfa', body: text({ mfaToken: again.mfaToken, recoveryCode: recoveryCodes[0] }) }),
    );
    const meAfter = await invoke(restEvent({ method: 'GET', path: '/me', headers: auth(pair.token) }));
    const disabled = await invoke(
      restEvent({ method: 'DELETE', path: '/me/mfa/totp', headers: auth(pair.token), body: text({ password: PASSWORD, recoveryCode: recoveryCodes[1] }) }),
    );
    const plain = await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-mfa', password: PASSWORD }) }));

    // Assess
    expect(started.statusCode).toBe(200);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUri).toBe(`otpauth://totp/login-service:lam-mfa?secret=${secret}&issuer=login-service&algorithm=SHA1&digits=6&period=30`);
    expect(confirmed.statusCode).toBe(200);
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    expect((bodyOf(meOn).user as Record<string, unknown>).mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
    expect(first.statusCode).toBe(403);
    expect(bodyOf(first)).toEqual({ code: 'mfa_required', message: expect.any(String), mfaToken: expect.any(String), methods: ['totp', 'recovery_code'] });
    expect(second.statusCode).toBe(200);
    expect(bodyOf(second)).toMatchObject({ tokenType: 'Bearer', user: { username: 'lam-mfa' } });
    expect(reused.statusCode).toBe(401);
    expect(bodyOf(reused)).toMatchObject({ code: 'invalid_mfa_token' });
    expect(byRecovery.statusCode).toBe(200);
    expect(meAfter.statusCode).toBe(200);
    expect((bodyOf(meAfter).user as Record<string, unknown>).mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 9 });
    expect(disabled.statusCode).toBe(204);
    expect(plain.statusCode).toBe(200);
  });

  it('a wrong code is 401 invalid_mfa_code and the mfaToken survives it', async () => {
    // Prepare
    await invoke(httpApiEvent({ method: 'POST', path: '/register', body: text({ name: 'Lam', username: 'lam-wrong', password: PASSWORD }) }));
    const session = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-wrong', password: PASSWORD }) })),
    ) as { token: string };
    const { secret } = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/me/mfa/totp', headers: auth(session.token), body: text({ password: PASSWORD }) })),
    ) as { secret: string };
    const { recoveryCodes } = bodyOf(
      await invoke(
        httpApiEvent({ method: 'POST', path: '/me/mfa/totp/confirm', headers: auth(session.token), body: text({ code: totpCode(secret, Date.now()) }) }),
      ),
    ) as { recoveryCodes: string[] };
    const { mfaToken } = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-wrong', password: PASSWORD }) })),
    ) as { mfaToken: string };

    // Act
    const wrong = await invoke(httpApiEvent({ method: 'POST', path: '/login/mfa', body: text({ mfaToken, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' }) }));
    const right = await invoke(httpApiEvent({ method: 'POST', path: '/login/mfa', body: text({ mfaToken, recoveryCode: recoveryCodes[0] }) }));

    // Assess
    expect(wrong.statusCode).toBe(401);
    expect(bodyOf(wrong)).toMatchObject({ code: 'invalid_mfa_code' });
    expect(right.statusCode).toBe(200);
  });

  it('new recovery codes need a second factor: the password alone is 400 naming code (HTTP API), an old recovery code gives them (REST)', async () => {
    // Prepare
    await invoke(httpApiEvent({ method: 'POST', path: '/register', body: text({ name: 'Lam', username: 'lam-replace', password: PASSWORD }) }));
    const session = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-replace', password: PASSWORD }) })),
    ) as { token: string };
    const { secret } = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/me/mfa/totp', headers: auth(session.token), body: text({ password: PASSWORD }) })),
    ) as { secret: string };
    const { recoveryCodes: old } = bodyOf(
      await invoke(
        httpApiEvent({ method: 'POST', path: '/me/mfa/totp/confirm', headers: auth(session.token), body: text({ code: totpCode(secret, Date.now()) }) }),
      ),
    ) as { recoveryCodes: string[] };

    // Act
    const alone = await invoke(
      httpApiEvent({ method: 'POST', path: '/me/mfa/recovery-codes', headers: auth(session.token), body: text({ password: PASSWORD }) }),
    );
    const replaced = await invoke(
      restEvent({ method: 'POST', path: '/me/mfa/recovery-codes', headers: auth(session.token), body: text({ password: PASSWORD, recoveryCode: old[0] }) }),
    );
    const me = await invoke(restEvent({ method: 'GET', path: '/me', headers: auth(session.token) }));

    // Assess
    expect(alone.statusCode).toBe(400);
    expect(bodyOf(alone)).toMatchObject({ code: 'invalid_request', field: 'code' });
    expect(replaced.statusCode).toBe(200);
    const fresh = (bodyOf(replaced) as { recoveryCodes: string[] }).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh.filter((code) => old.includes(code))).toEqual([]);
    expect((bodyOf(me).user as Record<string, unknown>).mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
  });
});

describe('a Lambda without any MFA key', () => {
  let invoke: ReturnType<typeof call>;
  let token: string;

  beforeAll(async () => {
    invoke = call(await coldStart({}));
    await invoke(httpApiEvent({ method: 'POST', path: '/register', body: text({ name: 'No Key', username: 'lam-nokey', password: PASSWORD }) }));
    token = (
      bodyOf(await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username: 'lam-nokey', password: PASSWORD }) }))) as {
        token: string;
      }
    ).token;
  });

  it('logs in and shows GET /me as before, TOTP off', async () => {
    const me = await invoke(restEvent({ method: 'GET', path: '/me', headers: auth(token) }));

    expect(me.statusCode).toBe(200);
    expect((bodyOf(me).user as Record<string, unknown>).mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
  });

  it.each([
    ['POST', '/me/mfa/totp', { password: PASSWORD }],
    ['POST', '/me/mfa/totp/confirm', { code: '123456' }],
  ])('answers %s %s with 404 not_found', async (method, path, body) => {
    const viaRest = await invoke(restEvent({ method, path, headers: auth(token), body: text(body) }));
    const viaHttpApi = await invoke(httpApiEvent({ method, path, headers: auth(token), body: text(body) }));

    for (const result of [viaRest, viaHttpApi]) {
      expect(result.statusCode).toBe(404);
      expect(bodyOf(result)).toMatchObject({ code: 'not_found' });
    }
  });

  // Without a key every TOTP route is unserved alike (disable used to check the password and answer 400 first).
  it('answers DELETE /me/mfa/totp with 404 not_found', async () => {
    const result = await invoke(
      httpApiEvent({ method: 'DELETE', path: '/me/mfa/totp', headers: auth(token), body: text({ password: PASSWORD, code: '123456' }) }),
    );

    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ code: 'not_found' });
  });

  it.each([
    ['the password alone', { password: PASSWORD }],
    ['the password and a code', { password: PASSWORD, code: '123456' }],
  ])('answers POST /me/mfa/recovery-codes with 404 not_found for %s, as the other TOTP routes', async (_what, body) => {
    const result = await invoke(restEvent({ method: 'POST', path: '/me/mfa/recovery-codes', headers: auth(token), body: text(body) }));

    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toMatchObject({ code: 'not_found' });
  });
});
