// Issue 11's passkeys through the real Lambda handler with complete API Gateway events (REST v1 and HTTP API v2):
// with WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS set, a passkey is registered, listed, used to sign in and removed, driven
// by the software authenticator in test/webauthn-authenticator.ts; without them (a Lambda has no local defaults) the
// six passkey routes answer 404 not_found and the rest of the service works as before. Every result is checked
// against the OpenAPI document.
import type { APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkLambdaResult } from './contract';
import { coldStartWith } from './lambda-cold-start';
import { httpApiEvent, lambdaContext, restEvent } from './events';
import { createServiceTables, startDynalite, type TestStore } from './stores';
import { createAuthenticator, type AssertionOptions } from './webauthn-authenticator';

type Handler = typeof import('../src/lambda').handler;
type Result = APIGatewayProxyResult & APIGatewayProxyStructuredResultV2;

const PASSWORD = 'correct horse battery';
const RP_ID = 'login.example.com';
const ORIGIN = 'https://login.example.com';
// A second origin of the same relying party (a subdomain), allowed by WEBAUTHN_ORIGINS too.
const APP_ORIGIN = 'https://app.login.example.com';

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
const ceremony = (override: Partial<AssertionOptions> = {}): AssertionOptions => ({ origin: ORIGIN, rpId: RP_ID, ...override });

/** Registers an account and logs it in with its password (HTTP API events): its access token. */
const signUp = async (invoke: ReturnType<typeof call>, username: string): Promise<string> => {
  await invoke(httpApiEvent({ method: 'POST', path: '/register', body: text({ name: 'Lambda Passkey', username, password: PASSWORD }) }));
  const login = await invoke(httpApiEvent({ method: 'POST', path: '/login', body: text({ username, password: PASSWORD }) }));
  if (login.statusCode !== 200) throw new Error(`login of ${username} answered ${login.statusCode}`);
  return (bodyOf(login) as { token: string }).token;
};

describe('a Lambda with WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS', () => {
  let invoke: ReturnType<typeof call>;

  beforeAll(async () => {
    invoke = call(await coldStart({ WEBAUTHN_RP_ID: RP_ID, WEBAUTHN_ORIGINS: `${ORIGIN},${APP_ORIGIN}` }));
  });

  it('registers a passkey (REST), lists it, signs in with it (HTTP API) from either origin, and removes it', async () => {
    // Prepare
    const token = await signUp(invoke, 'lam-pk');
    const authenticator = createAuthenticator();

    // Act: registration, by REST events.
    const optionsResult = await invoke(
      restEvent({ method: 'POST', path: '/me/passkeys/options', headers: auth(token), body: text({ password: PASSWORD }) }),
    );
    const creation = bodyOf(optionsResult) as unknown as PublicKeyCredentialCreationOptionsJSON;
    const added = await invoke(
      restEvent({
        method: 'POST',
        path: '/me/passkeys',
        headers: auth(token),
        body: text({ response: authenticator.createCredential(creation, ceremony()), name: 'Lambda key' }),
      }),
    );
    const passkey = bodyOf(added) as { id: string; name: string; createdAt: string };
    const listedBefore = await invoke(restEvent({ method: 'GET', path: '/me/passkeys', headers: auth(token) }));

    // Act: the login, by HTTP API events, from the main origin and then the app's.
    const requestResult = await invoke(httpApiEvent({ method: 'POST', path: '/login/passkey/options', body: text({}) }));
    const request = bodyOf(requestResult) as unknown as PublicKeyCredentialRequestOptionsJSON;
    const assertion = authenticator.getAssertion(request, ceremony());
    const loggedIn = await invoke(httpApiEvent({ method: 'POST', path: '/login/passkey', body: text({ response: assertion }) }));
    const pair = bodyOf(loggedIn) as { token: string; refreshToken: string };
    const replayed = await invoke(httpApiEvent({ method: 'POST', path: '/login/passkey', body: text({ response: assertion }) }));
    // (No body at all: the options take none.)
    const second = bodyOf(await invoke(httpApiEvent({ method: 'POST', path: '/login/passkey/options' }))) as unknown as PublicKeyCredentialRequestOptionsJSON;
    const fromApp = await invoke(
      httpApiEvent({ method: 'POST', path: '/login/passkey', body: text({ response: authenticator.getAssertion(second, ceremony({ origin: APP_ORIGIN })) }) }),
    );
    const me = await invoke(httpApiEvent({ method: 'GET', path: '/me', headers: auth(pair.token) }));
    const listedAfter = await invoke(httpApiEvent({ method: 'GET', path: '/me/passkeys', headers: auth(pair.token) }));

    // Act: removal, by a REST event through a catch-all resource; then the passkey no longer signs in.
    const removed = await invoke(
      restEvent({ method: 'DELETE', path: `/me/passkeys/${passkey.id}`, headers: auth(pair.token), body: text({ password: PASSWORD }) }, '/{proxy+}'),
    );
    const third = bodyOf(await invoke(restEvent({ method: 'POST', path: '/login/passkey/options', body: text({}) }))) as unknown as PublicKeyCredentialRequestOptionsJSON;
    const gone = await invoke(
      restEvent({ method: 'POST', path: '/login/passkey', body: text({ response: authenticator.getAssertion(third, ceremony()) }) }),
    );

    // Assess
    expect(optionsResult.statusCode).toBe(200);
    expect(creation.rp).toEqual({ id: RP_ID, name: 'login-service' });
    expect(creation.user.name).toBe('lam-pk');
    expect(creation.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    expect(added.statusCode).toBe(201);
    expect(passkey).toMatchObject({ id: expect.any(String), name: 'Lambda key', createdAt: expect.any(String) });
    expect(bodyOf(listedBefore)).toEqual({
      passkeys: [{ id: passkey.id, name: 'Lambda key', createdAt: passkey.createdAt, lastUsedAt: null, backedUp: true }],
    });

    expect(requestResult.statusCode).toBe(200);
    expect(request.rpId).toBe(RP_ID);
    expect(request).not.toHaveProperty('allowCredentials');
    expect(loggedIn.statusCode).toBe(200);
    expect(bodyOf(loggedIn)).toMatchObject({ tokenType: 'Bearer', user: { username: 'lam-pk' } });
    expect(replayed.statusCode).toBe(401);
    expect(bodyOf(replayed)).toMatchObject({ code: 'invalid_passkey' });
    expect(fromApp.statusCode).toBe(200);
    expect(me.statusCode).toBe(200);
    expect((bodyOf(me).user as Record<string, unknown>).mfa).toEqual({ totp: false, passkeys: 1, recoveryCodesLeft: 0 });
    const [used] = (bodyOf(listedAfter) as { passkeys: { lastUsedAt: string | null }[] }).passkeys;
    expect(typeof used?.lastUsedAt).toBe('string');

    expect(removed.statusCode).toBe(204);
    expect(gone.statusCode).toBe(401);
    expect(bodyOf(gone)).toMatchObject({ code: 'invalid_passkey' });
  });

  it("refuses the local origin and RP id (this Lambda's relying party is another): 400 at registration, 401 at login", async () => {
    // Prepare
    const token = await signUp(invoke, 'lam-pk-origin');
    const authenticator = createAuthenticator();
    const options = async () =>
      bodyOf(
        await invoke(httpApiEvent({ method: 'POST', path: '/me/passkeys/options', headers: auth(token), body: text({ password: PASSWORD }) })),
      ) as unknown as PublicKeyCredentialCreationOptionsJSON;
    const addWith = async (override: Partial<AssertionOptions>) =>
      invoke(
        httpApiEvent({
          method: 'POST',
          path: '/me/passkeys',
          headers: auth(token),
          body: text({ response: authenticator.createCredential(await options(), ceremony(override)) }),
        }),
      );
    const logInWith = async (override: Partial<AssertionOptions>) => {
      const request = bodyOf(await invoke(httpApiEvent({ method: 'POST', path: '/login/passkey/options', body: text({}) })));
      const response = authenticator.getAssertion(request as unknown as PublicKeyCredentialRequestOptionsJSON, ceremony(override));
      return invoke(httpApiEvent({ method: 'POST', path: '/login/passkey', body: text({ response }) }));
    };

    // Act
    const localOrigin = await addWith({ origin: 'http://localhost:3000' });
    const localRpId = await addWith({ rpId: 'localhost' });
    const right = await addWith({});
    const loginLocalOrigin = await logInWith({ origin: 'http://localhost:3000' });
    const loginLocalRpId = await logInWith({ rpId: 'localhost' });
    const loginRight = await logInWith({});

    // Assess
    for (const result of [localOrigin, localRpId]) {
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toMatchObject({ code: 'invalid_passkey' });
    }
    expect(right.statusCode).toBe(201);
    for (const result of [loginLocalOrigin, loginLocalRpId]) {
      expect(result.statusCode).toBe(401);
      expect(bodyOf(result)).toMatchObject({ code: 'invalid_passkey' });
    }
    expect(loginRight.statusCode).toBe(200);
  });
});

describe('a Lambda without WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS', () => {
  let invoke: ReturnType<typeof call>;
  let token: string;

  beforeAll(async () => {
    invoke = call(await coldStart({}));
    token = await signUp(invoke, 'lam-nopk');
  });

  it('logs in with the password and shows GET /me as before, no passkeys', async () => {
    const me = await invoke(restEvent({ method: 'GET', path: '/me', headers: auth(token) }));

    expect(me.statusCode).toBe(200);
    expect((bodyOf(me).user as Record<string, unknown>).mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
  });

  it.each([
    ['POST', '/me/passkeys/options', { password: PASSWORD }],
    ['POST', '/me/passkeys', { response: {} }],
    ['GET', '/me/passkeys', undefined],
    ['DELETE', '/me/passkeys/c29tZS1jcmVkZW50aWFs', { password: PASSWORD }],
    ['POST', '/login/passkey/options', {}],
    ['POST', '/login/passkey', { response: {} }],
  ])('answers %s %s with 404 not_found (REST and HTTP API)', async (method, path, body) => {
    const request = { method, path, headers: auth(token), ...(body === undefined ? {} : { body: text(body) }) };

    const viaRest = await invoke(restEvent(request));
    const viaProxy = await invoke(restEvent(request, '/{proxy+}'));
    const viaHttpApi = await invoke(httpApiEvent(request));

    for (const result of [viaRest, viaProxy, viaHttpApi]) {
      expect(result.statusCode).toBe(404);
      expect(bodyOf(result)).toMatchObject({ code: 'not_found' });
    }
  });
});

describe('a Lambda with half a relying party', () => {
  it.each([
    ['only WEBAUTHN_RP_ID', { WEBAUTHN_RP_ID: RP_ID }, /WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS/],
    ['only WEBAUTHN_ORIGINS', { WEBAUTHN_ORIGINS: ORIGIN }, /WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS/],
    ['an origin of another site', { WEBAUTHN_RP_ID: RP_ID, WEBAUTHN_ORIGINS: `${ORIGIN},https://evil.example` }, /WEBAUTHN_ORIGINS/],
    ['a plain-http origin', { WEBAUTHN_RP_ID: RP_ID, WEBAUTHN_ORIGINS: 'http://login.example.com' }, /WEBAUTHN_ORIGINS/],
  ])('does not start with %s, naming the setting', async (_, env, message) => {
    await expect(coldStart(env)).rejects.toThrow(message);
  });
});
