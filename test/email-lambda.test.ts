// Issue 10's main flows through the real Lambda handler with complete API Gateway events: mail over SMTP to a real
// smtp-server started here (a Lambda has no outbox), and a Lambda with no mailer answering resend with 503.
import type { APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkLambdaResult } from './contract';
import { coldStartWith } from './lambda-cold-start';
import { FORGOT_MESSAGE, NEW_PASSWORD, PASSWORD } from './email-helpers';
import { httpApiEvent, lambdaContext, restEvent } from './events';
import { startTestSmtpServer, type TestSmtpServer } from './smtp-server';
import { createServiceTables, startDynalite, type TestStore } from './stores';

type Handler = typeof import('../src/lambda').handler;
type Result = APIGatewayProxyResult & APIGatewayProxyStructuredResultV2;

const APP_URL = 'https://auth.example.com';

let store: TestStore;
let smtp: TestSmtpServer;
// Both Lambdas below share these tables: the one without a mailer sees the accounts the other verified.
let tables: Record<string, string>;

/** Loads the handler afresh (a cold start) with these settings on top of the tables'. */
const coldStart = coldStartWith(() => ({ ...tables, DYNAMODB_ENDPOINT: store.endpoint }));

beforeAll(async () => {
  store = await startDynalite();
  smtp = await startTestSmtpServer();
  tables = await createServiceTables(store.endpoint);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await smtp?.close();
  await store?.stop();
});

/** What the SMTP server received, one entry per envelope recipient, oldest first. */
const received = () =>
  smtp.arrivals.flatMap(({ envelope, mail }) => envelope.to.map((to) => ({ to, subject: mail.subject ?? '', text: mail.text ?? '' })));

const bodyOf = (result: Result) => JSON.parse(result.body ?? '') as Record<string, unknown>;
const call = (handler: Handler) => async (event: Parameters<Handler>[0]) =>
  checkLambdaResult(event, (await handler(event, lambdaContext())) as Result);

/** The token of the newest link to `page` the SMTP server received for `to`. */
const tokenFor = (to: string, page: 'verify-email' | 'reset-password') => {
  const prefix = `${APP_URL}/${page}#token=`;
  const links = received()
    .filter((mail) => mail.to === to)
    .flatMap((mail) => mail.text.match(/https?:\/\/[^\s<>"]+/g) ?? [])
    .filter((link) => link.startsWith(prefix));
  const last = links.at(-1);
  if (last === undefined) throw new Error(`no ${page} link reached ${to}`);
  return decodeURIComponent(last.slice(prefix.length));
};

describe('a Lambda sending over SMTP', () => {
  let invoke: ReturnType<typeof call>;

  beforeAll(async () => {
    invoke = call(
      await coldStart({ SMTP_URL: smtp.url, MAIL_FROM: 'Login <no-reply@example.com>', APP_URL }),
    );
  });

  it('registers with an address, verifies it, then forgot, reset and login by email (REST and HTTP API events)', async () => {
    const json = (value: unknown) => JSON.stringify(value);

    const registered = await invoke(
      restEvent({ method: 'POST', path: '/register', body: json({ name: 'Lam', username: 'lamuser', password: PASSWORD, email: 'Lam@Example.com' }) }),
    );
    const verified = await invoke(
      httpApiEvent({ method: 'POST', path: '/email/verify', body: json({ token: tokenFor('lam@example.com', 'verify-email') }) }),
    );
    const before = bodyOf(await invoke(restEvent({ method: 'POST', path: '/login', body: json({ email: 'lam@example.com', password: PASSWORD }) })));
    const forgot = await invoke(restEvent({ method: 'POST', path: '/password/forgot', body: json({ email: 'lam@example.com' }) }));
    const reset = await invoke(
      httpApiEvent({
        method: 'POST',
        path: '/password/reset',
        body: json({ token: tokenFor('lam@example.com', 'reset-password'), newPassword: NEW_PASSWORD }),
      }),
    );
    const oldSession = await invoke(
      restEvent({ method: 'POST', path: '/token/refresh', body: json({ refreshToken: before.refreshToken }) }),
    );
    const oldPassword = await invoke(httpApiEvent({ method: 'POST', path: '/login', body: json({ email: 'lam@example.com', password: PASSWORD }) }));
    const newPassword = await invoke(
      httpApiEvent({ method: 'POST', path: '/login', body: json({ email: 'lam@example.com', password: NEW_PASSWORD }) }),
    );

    expect(registered.statusCode).toBe(201);
    expect(verified.statusCode).toBe(200);
    expect(bodyOf(verified)).toEqual({ username: 'lamuser', email: 'lam@example.com', emailVerified: true });
    expect(before.refreshToken).toEqual(expect.any(String));
    expect(forgot.statusCode).toBe(202);
    expect(bodyOf(forgot)).toEqual({ message: FORGOT_MESSAGE });
    expect(reset.statusCode).toBe(204);
    expect(oldSession.statusCode).toBe(401);
    expect(oldPassword.statusCode).toBe(401);
    expect(newPassword.statusCode).toBe(200);
    expect((bodyOf(newPassword).user as { username: string }).username).toBe('lamuser');
    const subjects = received().filter((mail) => mail.to === 'lam@example.com').map((mail) => mail.subject);
    expect(subjects).toEqual([
      expect.stringMatching(/^Verify your email address/),
      expect.stringMatching(/^Reset your password/),
      expect.stringMatching(/^Your password was changed/),
    ]);
  });

  it('resends a verification link over SMTP with a bearer token: 202', async () => {
    const json = (value: unknown) => JSON.stringify(value);
    await invoke(
      httpApiEvent({ method: 'POST', path: '/register', body: json({ name: 'Re', username: 'lamresend', password: PASSWORD, email: 'lamresend@example.com' }) }),
    );
    const { token } = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: json({ username: 'lamresend', password: PASSWORD }) })),
    ) as { token: string };
    const first = tokenFor('lamresend@example.com', 'verify-email');

    const resent = await invoke(
      httpApiEvent({ method: 'POST', path: '/email/verify/resend', headers: { Authorization: `Bearer ${token}` } }),
    );

    expect(resent.statusCode).toBe(202);
    expect(tokenFor('lamresend@example.com', 'verify-email')).not.toBe(first);
  });
});

describe('a Lambda without MAIL_FROM or SMTP_URL', () => {
  let invoke: ReturnType<typeof call>;

  beforeAll(async () => {
    invoke = call(await coldStart({}));
  });

  it('answers resend with 503 service_unavailable, while forgot for a verified address stays 202', async () => {
    const json = (value: unknown) => JSON.stringify(value);
    // Accounts of the SMTP Lambda above: lamresend still waits for verification, lamuser has a verified address.
    const { token } = bodyOf(
      await invoke(httpApiEvent({ method: 'POST', path: '/login', body: json({ username: 'lamresend', password: PASSWORD }) })),
    ) as { token: string };
    const receivedBefore = received().length;

    const resent = await invoke(
      restEvent({ method: 'POST', path: '/email/verify/resend', headers: { Authorization: `Bearer ${token}` } }),
    );
    const forgot = await invoke(restEvent({ method: 'POST', path: '/password/forgot', body: json({ email: 'lam@example.com' }) }));
    const registered = await invoke(
      httpApiEvent({ method: 'POST', path: '/register', body: json({ name: 'No', username: 'nomail', password: PASSWORD, email: 'nomail@example.com' }) }),
    );

    expect(resent.statusCode).toBe(503);
    expect(bodyOf(resent)).toMatchObject({ code: 'service_unavailable' });
    expect(forgot.statusCode).toBe(202);
    expect(bodyOf(forgot)).toEqual({ message: FORGOT_MESSAGE });
    // The registration stands though its mail could not go.
    expect(registered.statusCode).toBe(201);
    expect(received().length).toBe(receivedBefore);
  });
});
