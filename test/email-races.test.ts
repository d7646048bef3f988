// Issue 10's races over HTTP on dynalite: two accounts verifying one address, two resets with one token, and a reset
// racing logins with the old password (no session from before the reset may survive it). Repeated, as races are.
import { describe, expect, it } from 'vitest';
import { json, onDynalite, type LoginAnswer, type TestApp } from './app-harness';
import { logIn, NEW_PASSWORD, PASSWORD, registerWithEmail, resetTokenFor, verifiedAccount } from './email-helpers';

let t: TestApp;

onDynalite((_store, app) => {
  t = app;
});

const ROUNDS = 10;

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a session still works by either of its tokens: a refresh, or its access token on /me. */
const stillWorks = async (session: LoginAnswer) => {
  const refresh = await t.post('/token/refresh', { refreshToken: session.refreshToken });
  const me = await t.app.request('/me', { headers: t.bearer(session.token) });
  return { refresh: refresh.status, me: me.status };
};

describe('two accounts verifying one address at once', () => {
  it('exactly one gets it (200), the other 409 email_taken, every round', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const email = `contested${round}@race.example`;
      await registerWithEmail(t, `racea${round}`, email);
      const first = await t.outbox.tokenFor(email, 'verify-email');
      await registerWithEmail(t, `raceb${round}`, email);
      const second = await t.outbox.tokenFor(email, 'verify-email');

      const answers = await Promise.all([first, second].map((token) => t.post('/email/verify', { token })));

      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses, `round ${round}`).toEqual([200, 409]);
      const loser = answers.find((answer) => answer.status === 409) as Response;
      expect(await json(loser)).toMatchObject({ code: 'email_taken' });
      // The address logs in to the winner only.
      const winner = (await json(answers.find((answer) => answer.status === 200) as Response)).username;
      const byEmail = await logIn(t, { email, password: PASSWORD });
      expect(byEmail.user.username).toBe(winner);
    }
  });
});

describe('two resets with one token at once', () => {
  it('exactly one succeeds (204), the other 400 invalid_reset_token, and its password is the one in force', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const username = `tworesets${round}`;
      const email = `${username}@race.example`;
      await verifiedAccount(t, username, email);
      await t.post('/password/forgot', { username });
      const token = await resetTokenFor(t, email);
      const passwords = [`first new passphrase ${round}`, `second new passphrase ${round}`];

      const answers = await Promise.all(passwords.map((newPassword) => t.post('/password/reset', { token, newPassword })));

      expect(answers.map((answer) => answer.status).sort(), `round ${round}`).toEqual([204, 400]);
      const refused = answers.findIndex((answer) => answer.status === 400);
      expect(await json(answers[refused] as Response)).toMatchObject({ code: 'invalid_reset_token' });
      const logins = await Promise.all(passwords.map((password) => t.post('/login', { username, password })));
      expect(logins.map((login) => login.status)).toEqual(passwords.map((_p, i) => (i === refused ? 401 : 200)));
    }
  });
});

describe('a reset racing logins with the old password', () => {
  it('leaves no session from before the reset: every token of an old-password login fails afterwards', async () => {
    let raceLoginsAnswered = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const username = `resetrace${round}`;
      const email = `${username}@race.example`;
      const earlier = await verifiedAccount(t, username, email);
      await t.post('/password/forgot', { username });
      const token = await resetTokenFor(t, email);

      // The reset and four logins with the old password: one started with it, the others a little later each, so
      // that over the rounds some land before, some inside and some after the reset's own steps.
      const [reset, ...logins] = await Promise.all([
        t.post('/password/reset', { token, newPassword: NEW_PASSWORD }),
        ...[0, 1, 2, 3].map((step) => later(step * (5 + round * 3)).then(() => t.post('/login', { username, password: PASSWORD }))),
      ]);

      expect(reset?.status, `round ${round}`).toBe(204);
      const sessions = [earlier];
      for (const login of logins) {
        if (login.status === 200) sessions.push((await login.json()) as LoginAnswer);
        else expect(login.status).toBe(401);
      }
      raceLoginsAnswered += sessions.length - 1;
      for (const session of sessions) {
        expect(await stillWorks(session), `round ${round}`).toEqual({ refresh: 401, me: 401 });
      }
      expect((await t.post('/login', { username, password: NEW_PASSWORD })).status).toBe(200);
    }
    // Said, not asserted: whether any old-password login won its race depends on scheduling, not on the code.
    console.info(`reset race: ${raceLoginsAnswered} old-password logins answered 200 during ${ROUNDS} resets`);
  });
});
