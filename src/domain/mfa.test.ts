// TOTP second factor: enrolment (start, confirm), recovery codes, disabling, and the step-up login's second call.
// Codes come from an independent TOTP implementation (otpauth) at the fake clock's time, so a mistake in our own
// RFC 6238 code cannot hide behind a test computing codes the same wrong way.
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { createWorld, outcome, storeDown, storedUser } from '../../test/fakes';
import { changePassword, getMe } from './account';
import type { AppError } from './errors';
import { logIn } from './log-in';
import { completeStepUp, confirmTotp, disableTotp, replaceRecoveryCodes, startTotp, type MfaDeps } from './mfa';
import { mfaOf, type AccessClaims, type AuditLog, type LoginMethod } from './ports';
import { authenticate, refreshSession, type TokenPair } from './sessions';
import { clientWindow } from './throttle';

const PASSWORD = 'correct horse';
const ALICE_MAIL = 'alice@example.com';
const STEP_MS = 30_000;
const RECOVERY_CODE = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/;

/** The code an authenticator app shows at `at` (epoch ms), computed by otpauth, not by our adapter. */
const codeAt = (secret: string, at: number): string =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: at,
  });

/** A six-digit code that is none of the codes accepted around `at` (±1 step). */
const wrongCodeAt = (secret: string, at: number): string => {
  const accepted = new Set([-1, 0, 1].map((drift) => codeAt(secret, at + drift * STEP_MS)));
  for (let n = 0; ; n += 1) {
    const code = String(n).padStart(6, '0');
    if (!accepted.has(code)) return code;
  }
};

const rejection = async (attempt: Promise<unknown>) => {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as AppError;
};

type Options = { verified?: boolean; passkeysEnabled?: boolean };

/**
 * A world with alice (password PASSWORD), whose audit trail also keeps each successful login's method (the shared
 * fake audit log keeps only event, username and context).
 */
const setup = (options: Options = {}) => {
  const world = createWorld({
    users: [storedUser(options.verified === true ? { email: ALICE_MAIL, emailVerified: true } : {})],
    ...(options.passkeysEnabled === undefined ? {} : { passkeysEnabled: options.passkeysEnabled }),
  });
  const methods: (LoginMethod | undefined)[] = [];
  const audit: AuditLog = {
    record: (event, entry) => {
      world.audit.record(event, entry);
      if (event === 'login.succeeded') methods.push(entry.method);
    },
  };
  const deps: MfaDeps = { ...world.deps, audit };
  const now = () => world.clock.now().getTime();
  /** A password login's token pair, with the claims the bearer check hands the use cases. */
  const logInAlice = async (): Promise<TokenPair & { claims: AccessClaims }> => {
    const pair = await logIn(deps, { username: 'alice', password: PASSWORD }, world.context());
    return { ...pair, claims: (await authenticate(deps, pair.token)).claims };
  };
  /** The first step of a login of an account with TOTP on: the mfa_required error's body. */
  const stepUp = async (password = PASSWORD): Promise<{ mfaToken: string; methods: string[] }> => {
    const error = await rejection(logIn(deps, { username: 'alice', password }, world.context()));
    expect(error.code).toBe('mfa_required');
    return error.body as { mfaToken: string; methods: string[] };
  };
  /**
   * Turns TOTP on through the real use cases (a password login, start, confirm with the app's code at START), then
   * moves the clock 10 minutes (20 steps) on, so the steps around "now" were never used: only drift or replay
   * rules refuse a code there, never the confirming step.
   */
  const enrol = async () => {
    const session = await logInAlice();
    const { secret, otpauthUri } = await startTotp(deps, session.claims, { password: PASSWORD }, world.context());
    const { recoveryCodes } = await confirmTotp(deps, session.claims, { code: codeAt(secret, now()) }, world.context());
    world.clock.advanceSeconds(600);
    return { session, secret, otpauthUri, recoveryCodes };
  };
  return { ...world, deps, methods, now, logInAlice, stepUp, enrol };
};

describe('startTotp', () => {
  it('returns a 160-bit base32 secret and the otpauth URI in the exact Key URI format', async () => {
    // Prepare
    const { deps, context, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const { secret, otpauthUri } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Assess
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(OTPAuth.Secret.fromBase32(secret).bytes).toHaveLength(20);
    expect(otpauthUri).toBe(
      `otpauth://totp/login-service:alice?secret=${secret}&issuer=login-service&algorithm=SHA1&digits=6&period=30`,
    );
    // An independent parser reads the same settings back.
    const parsed = OTPAuth.URI.parse(otpauthUri);
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP);
    expect(parsed).toMatchObject({ issuer: 'login-service', label: 'alice', digits: 6, period: 30, algorithm: 'SHA1' });
    expect(parsed.secret.base32).toBe(secret);
  });

  it('changes nothing until confirmed: no factor on, same credentialVersion, sessions kept, login as before', async () => {
    // Prepare
    const { deps, context, users, sessions, mail, audit, logInAlice, methods } = setup({ verified: true });
    const { claims } = await logInAlice();
    const other = await logInAlice();
    audit.entries.length = 0;
    methods.length = 0;

    // Act
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Assess
    const stored = users.peek('alice');
    expect(stored?.credentialVersion).toBe(0);
    expect(mfaOf(stored!).totp).toBeNull();
    expect(mfaOf(stored!).recoveryCodes).toEqual([]);
    // The pending secret is kept sealed, never as the base32 the app was given.
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(deps.secretBox!.open(mfaOf(stored!).pendingTotp!.secret, 'uid-alice')).toBe(secret);
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(2);
    await expect(authenticate(deps, other.token)).resolves.toBeDefined();
    expect((await getMe(deps, claims)).mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    expect(mail.sent).toEqual([]);
    expect(audit.entries.map((entry) => entry.event)).toEqual([]);
    await expect(logIn(deps, { username: 'alice', password: PASSWORD }, context())).resolves.toMatchObject({
      user: { username: 'alice' },
    });
    expect(methods).toEqual(['password']);
  });

  it('replaces a pending enrolment when started again: only the newest secret’s code confirms', async () => {
    // Prepare
    const { deps, context, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const first = await startTotp(deps, claims, { password: PASSWORD }, context());
    const second = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Act
    const withFirst = await outcome(confirmTotp(deps, claims, { code: codeAt(first.secret, now()) }, context()));
    const withSecond = await outcome(confirmTotp(deps, claims, { code: codeAt(second.secret, now()) }, context()));

    // Assess
    expect(second.secret).not.toBe(first.secret);
    expect([withFirst, withSecond]).toEqual([{ code: 'invalid_mfa_code' }, { code: 'ok' }]);
  });

  it('answers invalid_credentials for a wrong password, counted as a failure of the name, and starts nothing', async () => {
    // Prepare
    const { deps, context, users, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const error = await rejection(startTotp(deps, claims, { password: 'wrong password' }, context()));

    // Assess
    expect(error).toMatchObject({ code: 'invalid_credentials', message: 'the password is incorrect' });
    expect(users.peekLogin('alice')?.failures).toBe(1);
    expect(mfaOf(users.peek('alice')!).pendingTotp).toBeNull();
  });

  it('answers mfa_already_enabled when TOTP is on', async () => {
    // Prepare
    const { deps, context, enrol } = setup();
    const { session } = await enrol();

    // Act
    const error = await rejection(startTotp(deps, session.claims, { password: PASSWORD }, context()));

    // Assess
    expect(error.code).toBe('mfa_already_enabled');
  });

  it('with TOTP on, the right password forgets none of the name\u2019s failures (wrong codes included)', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { session, secret } = await enrol();
    const { mfaToken } = await stepUp();
    for (let i = 0; i < 4; i += 1) await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context()));

    // Act
    const answer = await outcome(startTotp(deps, session.claims, { password: PASSWORD }, context()));
    const fifth = await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context()));
    const sixth = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'mfa_already_enabled' });
    expect(fifth).toEqual({ code: 'invalid_mfa_code' });
    expect(sixth).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(users.peekLogin('alice')).toMatchObject({ failures: 5, leases: {} });
  });

  it('with TOTP off, the right password forgets the name\u2019s failures, as a login does', async () => {
    // Prepare
    const { deps, context, users, logInAlice } = setup();
    const { claims } = await logInAlice();
    for (let i = 0; i < 3; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, context()));
    expect(users.peekLogin('alice')?.failures).toBe(3);

    // Act
    await startTotp(deps, claims, { password: PASSWORD }, context());

    // Assess
    expect(users.peekLogin('alice')).toMatchObject({ failures: 0, leases: {} });
  });
});

describe('confirmTotp', () => {
  it('turns TOTP on with the app\u2019s code and returns 10 distinct recovery codes of 80 bits', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Act
    const { recoveryCodes } = await confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context());

    // Assess
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    const stored = users.peek('alice')!;
    expect(stored.credentialVersion).toBe(1);
    expect(mfaOf(stored).pendingTotp).toBeNull();
    expect(mfaOf(stored).totp?.lastStep).toBe(Math.floor(now() / STEP_MS));
    expect((await getMe(deps, claims)).mfa).toEqual({ totp: true, passkeys: 0, recoveryCodesLeft: 10 });
  });

  it('stores the secret sealed and the recovery codes only as digests: none of them in clear', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Act
    const { recoveryCodes } = await confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context());

    // Assess
    const stored = users.peek('alice')!;
    const text = JSON.stringify(stored);
    expect(text).not.toContain(secret);
    for (const code of recoveryCodes) {
      expect(text).not.toContain(code);
      expect(text).not.toContain(code.replaceAll('-', ''));
    }
    const totp = mfaOf(stored).totp!;
    expect(totp.secret).not.toBe(secret);
    // Sealed for this account: it opens with its uid as the context, and with no other.
    expect(deps.secretBox!.open(totp.secret, 'uid-alice')).toBe(secret);
    expect(() => deps.secretBox!.open(totp.secret, 'uid-bob')).toThrow();
    expect([...mfaOf(stored).recoveryCodes].sort()).toEqual(recoveryCodes.map((code) => deps.recoveryCodes.digest(code)).sort());
  });

  it('accepts a code one step off (clock drift) at confirmation', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Act
    await confirmTotp(deps, claims, { code: codeAt(secret, now() - STEP_MS) }, context());

    // Assess
    expect(mfaOf(users.peek('alice')!).totp).not.toBeNull();
  });

  it('answers invalid_mfa_code with status 400 for a wrong code, and keeps the enrolment pending', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    const before = users.peek('alice');

    // Act
    const error = await rejection(confirmTotp(deps, claims, { code: wrongCodeAt(secret, now()) }, context()));

    // Assess
    expect(error).toMatchObject({ code: 'invalid_mfa_code', details: { status: 400 } });
    expect(users.peek('alice')).toEqual(before);
    // The right code still confirms it afterwards.
    await expect(confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context())).resolves.toBeDefined();
  });

  it('counts wrong codes on the name\u2019s throttle: 5 are checked, then too_many_attempts, even for the right code', async () => {
    // Prepare
    const { deps, context, users, audit, clock, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    audit.entries.length = 0;
    const wrong = [];
    for (let i = 0; i < 5; i += 1) wrong.push(await outcome(confirmTotp(deps, claims, { code: wrongCodeAt(secret, now()) }, context())));

    // Act
    const rightCode = await outcome(confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context()));
    const rightPassword = await outcome(logIn(deps, { username: 'alice', password: PASSWORD }, context()));
    clock.advanceSeconds(1);
    const afterTheWait = await outcome(confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context()));

    // Assess
    expect(wrong).toEqual(Array(5).fill({ code: 'invalid_mfa_code' }));
    expect(audit.entries.filter((entry) => entry.event === 'mfa.failed')).toHaveLength(5);
    expect(rightCode).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(rightPassword).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(afterTheWait).toEqual({ code: 'ok' });
    // A confirmation is no login: the failures stay until one completes.
    expect(users.peekLogin('alice')).toMatchObject({ failures: 5, leases: {} });
  });

  it('counts wrong codes together with wrong passwords, and a right confirmation forgets none of them', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    for (let i = 0; i < 3; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, context()));

    // Act
    const wrong = await outcome(confirmTotp(deps, claims, { code: wrongCodeAt(secret, now()) }, context()));
    const right = await outcome(confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context()));

    // Assess
    expect([wrong, right]).toEqual([{ code: 'invalid_mfa_code' }, { code: 'ok' }]);
    expect(users.peekLogin('alice')).toMatchObject({ failures: 4, leases: {} });
  });

  it('counts a wrong code against the client\u2019s failed-login ceiling too', async () => {
    // Prepare
    const { deps, context, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    const client = clientWindow(deps, 'login', context().ip);
    const before = await client.count();

    // Act
    await outcome(confirmTotp(deps, claims, { code: wrongCodeAt(secret, now()) }, context()));

    // Assess
    expect(await client.count()).toBe(before + 1);
  });

  it('answers invalid_mfa_code for a code two steps off', async () => {
    // Prepare
    const { deps, context, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());

    // Act
    const error = await rejection(confirmTotp(deps, claims, { code: codeAt(secret, now() + 2 * STEP_MS) }, context()));

    // Assess
    expect(error.code).toBe('invalid_mfa_code');
  });

  it('answers invalid_request when nothing is pending', async () => {
    // Prepare
    const { deps, context, users, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const error = await rejection(confirmTotp(deps, claims, { code: '123456' }, context()));

    // Assess
    expect(error.code).toBe('invalid_request');
    // Nothing was checked, so nothing is counted; the attempt it opened is closed.
    expect(users.peekLogin('alice')).toMatchObject({ failures: 0, leases: {} });
  });

  it('answers invalid_request once the pending enrolment has expired (15 minutes)', async () => {
    // Prepare
    const { deps, context, clock, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    clock.advanceSeconds(15 * 60);

    // Act
    const error = await rejection(confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context()));

    // Assess
    expect(error.code).toBe('invalid_request');
    expect(mfaOf(users.peek('alice')!).totp).toBeNull();
  });

  it('answers mfa_already_enabled when confirmed twice', async () => {
    // Prepare
    const { deps, context, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    await confirmTotp(deps, claims, { code: codeAt(secret, now()) }, context());

    // Act
    const error = await rejection(confirmTotp(deps, claims, { code: codeAt(secret, now() + STEP_MS) }, context()));

    // Assess
    expect(error.code).toBe('mfa_already_enabled');
  });

  it('answers mfa_already_enabled to the second of two concurrent confirmations (a double submit)', async () => {
    // Prepare
    const { deps, context, users, logInAlice, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    const code = codeAt(secret, now());

    // Act
    const answers = await Promise.all([
      outcome(confirmTotp(deps, claims, { code }, context())),
      outcome(confirmTotp(deps, claims, { code }, context())),
    ]);

    // Assess
    expect(answers.map((answer) => answer.code).sort()).toEqual(['mfa_already_enabled', 'ok']);
    expect(users.peek('alice')?.credentialVersion).toBe(1);
  });

  it('counts the confirming step as used: its code cannot complete a login, the next step\u2019s can', async () => {
    // Prepare
    const { deps, context, clock, users, audit, logInAlice, stepUp, now } = setup();
    const { claims } = await logInAlice();
    const { secret } = await startTotp(deps, claims, { password: PASSWORD }, context());
    const confirming = codeAt(secret, now());
    await confirmTotp(deps, claims, { code: confirming }, context());
    clock.advanceMs(1);
    const { mfaToken } = await stepUp();

    // Act
    const reused = await outcome(completeStepUp(deps, { mfaToken, code: confirming }, context()));
    const next = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now() + STEP_MS) }, context()));

    // Assess
    expect(reused).toEqual({ code: 'invalid_mfa_code' });
    expect(next).toEqual({ code: 'ok' });
    // Refused before any write, as a wrong code: counted (then forgotten by the completed login).
    expect(audit.entries.filter((entry) => entry.event === 'mfa.failed')).toHaveLength(1);
    expect(users.peekLogin('alice')?.failures).toBe(0);
  });
});

/**
 * The three TOTP changes, each made from one session of alice while another session of hers is live: the
 * session that makes it, the other one, and the change itself.
 */
const CHANGES = [
  [
    'mfa.enabled',
    async (world: ReturnType<typeof setup>) => {
      const session = await world.logInAlice();
      const other = await world.logInAlice();
      const { secret } = await startTotp(world.deps, session.claims, { password: PASSWORD }, world.context());
      return {
        session,
        other,
        change: () => confirmTotp(world.deps, session.claims, { code: codeAt(secret, world.now()) }, world.context()),
      };
    },
  ],
  [
    'mfa.disabled',
    async (world: ReturnType<typeof setup>) => {
      const { session, secret } = await world.enrol();
      const { mfaToken } = await world.stepUp();
      const other = await completeStepUp(world.deps, { mfaToken, code: codeAt(secret, world.now()) }, world.context());
      return {
        session,
        other,
        // The next step's code: the one just used for the other session's login is spent.
        change: () =>
          disableTotp(
            world.deps,
            session.claims,
            { password: PASSWORD, code: codeAt(secret, world.now() + STEP_MS) },
            world.context(),
          ),
      };
    },
  ],
  [
    'mfa.recovery_codes_replaced',
    async (world: ReturnType<typeof setup>) => {
      const { session, secret, recoveryCodes } = await world.enrol();
      const { mfaToken } = await world.stepUp();
      const other = await completeStepUp(world.deps, { mfaToken, recoveryCode: recoveryCodes[0]! }, world.context());
      return {
        session,
        other,
        // The other login used a recovery code: the current step's code is unspent.
        change: () =>
          replaceRecoveryCodes(world.deps, session.claims, { password: PASSWORD, code: codeAt(secret, world.now()) }, world.context()),
      };
    },
  ],
] as const;

describe('a factor change', () => {
  it.each(CHANGES)('(%s) ends every other session and keeps the calling one, which can still refresh', async (_event, prepare) => {
    // Prepare
    const world = setup({ verified: true });
    const { session, other, change } = await prepare(world);
    const versionBefore = world.users.peek('alice')!.credentialVersion;

    // Act
    await change();

    // Assess
    const version = world.users.peek('alice')!.credentialVersion;
    expect(version).toBe(versionBefore + 1);
    expect(world.sessions.sessionsOf('uid-alice').map((s) => s.sid)).toEqual([session.claims.sid]);
    expect(world.sessions.peek('uid-alice', session.claims.sid)?.credentialVersion).toBe(version);
    await expect(authenticate(world.deps, other.token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(authenticate(world.deps, session.token)).resolves.toBeDefined();
    await expect(refreshSession(world.deps, session.refreshToken, world.context())).resolves.toMatchObject({
      user: { username: 'alice' },
    });
    await expect(refreshSession(world.deps, other.refreshToken, world.context())).rejects.toMatchObject({
      code: 'invalid_refresh_token',
    });
  });

  it.each(CHANGES)('(%s) writes its audit event and mails a factor_changed notice to the verified address', async (event, prepare) => {
    // Prepare
    const world = setup({ verified: true });
    const { change } = await prepare(world);
    world.audit.entries.length = 0;
    world.mail.sent.length = 0;

    // Act
    await change();

    // Assess
    expect(world.audit.entries.map((entry) => ({ event: entry.event, username: entry.username }))).toEqual([
      { event, username: 'alice' },
    ]);
    expect(world.mail.sent).toEqual([{ kind: 'factor_changed', to: ALICE_MAIL, username: 'alice', change: event }]);
  });

  it.each(CHANGES)('(%s) sends no notice when the address is not verified', async (_event, prepare) => {
    // Prepare
    const world = setup();
    world.users.patch('alice', { email: ALICE_MAIL, emailVerified: false });
    const { change } = await prepare(world);

    // Act
    await change();

    // Assess
    expect(world.mail.sent).toEqual([]);
  });

  it.each(CHANGES)('(%s) still keeps the calling session when carrying it over fails once', async (_event, prepare) => {
    // Prepare
    const world = setup();
    const { session, change } = await prepare(world);
    world.sessions.fail('carryOver', storeDown(), { times: 1 });

    // Act
    const answer = await outcome(change());

    // Assess
    // The change is made (and its recovery codes, if any, must reach the user): the carry-over is tried again.
    expect(answer).toEqual({ code: 'ok' });
    await expect(refreshSession(world.deps, session.refreshToken, world.context())).resolves.toMatchObject({
      user: { username: 'alice' },
    });
  });

  it('ends a password login in flight when TOTP goes on meanwhile: it leaves no session', async () => {
    // Prepare
    const world = setup();
    const session = await world.logInAlice();
    const { secret } = await startTotp(world.deps, session.claims, { password: PASSWORD }, world.context());
    // The enrolment is confirmed after the racing login wrote its session, before its last write.
    world.users.before('recordSuccess', async () => {
      world.users.before('recordSuccess', undefined);
      await confirmTotp(world.deps, session.claims, { code: codeAt(secret, world.now()) }, world.context());
    });

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, world.context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_credentials' });
    expect(world.sessions.sessionsOf('uid-alice').map((s) => s.sid)).toEqual([session.claims.sid]);
  });

  it('voids a login in flight: an mfaToken issued before new recovery codes no longer works', async () => {
    // Prepare
    const world = setup();
    const { session, secret, recoveryCodes } = await world.enrol();
    const { mfaToken } = await world.stepUp();
    // With a recovery code, so the code below is unspent: only the voided token can refuse it.
    await replaceRecoveryCodes(world.deps, session.claims, { password: PASSWORD, recoveryCode: recoveryCodes[0]! }, world.context());

    // Act
    const answer = await outcome(completeStepUp(world.deps, { mfaToken, code: codeAt(secret, world.now()) }, world.context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_token' });
  });
});

describe('completeStepUp', () => {
  it('answers 503 service_unavailable for a code where the service lost its MFA key, and a recovery code still works', async () => {
    // Prepare: enrolled under a key; the same store served by a deployment without one
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret, recoveryCodes } = await enrol();
    const keyless: MfaDeps = { ...deps, secretBox: null };
    const first = await stepUp();

    // Act
    const viaCode = await outcome(completeStepUp(keyless, { mfaToken: first.mfaToken, code: codeAt(secret, now()) }, context()));
    const viaRecovery = await outcome(completeStepUp(keyless, { mfaToken: first.mfaToken, recoveryCode: recoveryCodes[0]! }, context()));

    // Assess
    expect(viaCode).toEqual({ code: 'service_unavailable' });
    expect(viaRecovery).toEqual({ code: 'ok' });
  });

  it('gives the token pair for the right code, forgets the name\u2019s failures and records password+totp', async () => {
    // Prepare
    const { deps, context, users, sessions, tokens, methods, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    await outcome(logIn(deps, { username: 'alice', password: 'wrong password' }, context()));
    const { mfaToken } = await stepUp();
    expect(users.peekLogin('alice')?.failures).toBe(1);
    methods.length = 0;

    // Act
    const pair = await completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context());

    // Assess
    expect(pair).toMatchObject({ user: { username: 'alice', name: 'Alice' }, refreshToken: expect.stringMatching(/^uid-alice\./) });
    const claims = (await authenticate(deps, pair.token)).claims;
    expect(tokens.issued.at(-1)).toEqual(claims);
    expect(sessions.peek('uid-alice', claims.sid)?.credentialVersion).toBe(1);
    expect(users.peekLogin('alice')).toEqual({ failures: 0, lastFailureAt: expect.any(Number), leases: {} });
    expect(mfaOf(users.peek('alice')!).totp?.lastStep).toBe(Math.floor(now() / STEP_MS));
    expect(methods).toEqual(['password+totp']);
  });

  it('gives the token pair for a recovery code, as a person may type it, which is then used up', async () => {
    // Prepare
    const { deps, context, users, methods, enrol, stepUp } = setup();
    const { recoveryCodes } = await enrol();
    const code = recoveryCodes[3]!;
    const { mfaToken } = await stepUp();
    methods.length = 0;

    // Act
    const pair = await completeStepUp(deps, { mfaToken, recoveryCode: ` ${code.toLowerCase().replaceAll('-', ' ')} ` }, context());

    // Assess
    expect(pair.user).toEqual({ username: 'alice', name: 'Alice' });
    expect(methods).toEqual(['password+recovery_code']);
    const left = mfaOf(users.peek('alice')!).recoveryCodes;
    expect(left).toHaveLength(9);
    expect(left).not.toContain(deps.recoveryCodes.digest(code));
  });

  it('accepts a recovery code once: the second login with it is invalid_mfa_code', async () => {
    // Prepare
    const { deps, context, clock, users, enrol, stepUp } = setup();
    const { recoveryCodes } = await enrol();
    const first = await stepUp();
    await completeStepUp(deps, { mfaToken: first.mfaToken, recoveryCode: recoveryCodes[0]! }, context());
    clock.advanceMs(1);
    const second = await stepUp();

    // Act
    const again = await outcome(completeStepUp(deps, { mfaToken: second.mfaToken, recoveryCode: recoveryCodes[0]! }, context()));
    const failures = users.peekLogin('alice')?.failures;
    const another = await outcome(completeStepUp(deps, { mfaToken: second.mfaToken, recoveryCode: recoveryCodes[1]! }, context()));

    // Assess
    expect(again).toEqual({ code: 'invalid_mfa_code' });
    expect(failures).toBe(1);
    expect(another).toEqual({ code: 'ok' });
  });

  it('answers invalid_mfa_code for a well-formed recovery code that is not one of the account\u2019s', async () => {
    // Prepare
    const { deps, context, enrol, stepUp } = setup();
    await enrol();
    const { mfaToken } = await stepUp();

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_code' });
  });

  it.each([
    ['one step behind', -1],
    ['one step ahead', 1],
  ])('accepts a code %s (clock drift)', async (_label, drift) => {
    // Prepare
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now() + drift * STEP_MS) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'ok' });
  });

  it.each([
    ['two steps behind', -2],
    ['two steps ahead', 2],
  ])('refuses a code %s', async (_label, drift) => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    // Enrolled 20 steps ago: the step two behind was never used, so only the drift bound refuses it.
    const { mfaToken } = await stepUp();

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now() + drift * STEP_MS) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_code' });
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('refuses a code used already (the same step), on a later login within its 30 s', async () => {
    // Prepare
    const { deps, context, clock, users, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const code = codeAt(secret, now());
    await completeStepUp(deps, { mfaToken: (await stepUp()).mfaToken, code }, context());
    clock.advanceSeconds(5);
    const { mfaToken } = await stepUp();

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_code' });
    // A replay is a wrong code: it counts on the name's throttle.
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('refuses the code of an earlier step than the last one used, though it is within the drift', async () => {
    // Prepare
    const { deps, context, clock, users, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    // A phone one step fast signs in first: the step ahead is recorded as used.
    await completeStepUp(deps, { mfaToken: (await stepUp()).mfaToken, code: codeAt(secret, now() + STEP_MS) }, context());
    clock.advanceMs(1);
    const { mfaToken } = await stepUp();

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_code' });
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('accepts an mfaToken once: after a completed login it is invalid_mfa_token, even with a fresh code', async () => {
    // Prepare
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    await completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context());

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now() + STEP_MS) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_token' });
  });

  it('keeps the mfaToken working after wrong codes', async () => {
    // Prepare
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    const wrong = [
      await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context())),
      await outcome(completeStepUp(deps, { mfaToken, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' }, context())),
    ];

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(wrong).toEqual([{ code: 'invalid_mfa_code' }, { code: 'invalid_mfa_code' }]);
    expect(answer).toEqual({ code: 'ok' });
  });

  it.each([
    [299, 'ok'],
    [300, 'invalid_mfa_token'],
  ])('after %i s the mfaToken (MFA_TOKEN_TTL 300 s) answers %s', async (seconds, expected) => {
    // Prepare
    const { deps, context, clock, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    clock.advanceSeconds(seconds);

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(answer).toEqual({ code: expected });
  });

  it('answers invalid_mfa_token once the password has changed (credentialVersion bump)', async () => {
    // Prepare
    const { deps, context, sessions, enrol, stepUp, now } = setup();
    const { session, secret } = await enrol();
    const { mfaToken } = await stepUp();
    const changed = await changePassword(deps, session.claims, { currentPassword: PASSWORD, newPassword: 'battery staple' }, context());

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_token' });
    expect(sessions.sessionsOf('uid-alice').map((s) => s.sid)).toEqual([(await authenticate(deps, changed.token)).claims.sid]);
  });

  it('answers invalid_mfa_token once TOTP was turned off, and for an account deleted or replaced', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { session, secret } = await enrol();
    const { mfaToken } = await stepUp();
    const code = codeAt(secret, now());
    await disableTotp(deps, session.claims, { password: PASSWORD, code: codeAt(secret, now() + STEP_MS) }, context());
    // Put back as it was, apart from TOTP: only the factor being off refuses the token.
    users.patch('alice', { credentialVersion: 1 });

    // Act
    const off = await outcome(completeStepUp(deps, { mfaToken, code }, context()));
    users.patch('alice', { uid: 'uid-someone-else' });
    const replaced = await outcome(completeStepUp(deps, { mfaToken, code }, context()));
    users.drop('alice');
    const gone = await outcome(completeStepUp(deps, { mfaToken, code }, context()));

    // Assess
    expect([off, replaced, gone]).toEqual([{ code: 'invalid_mfa_token' }, { code: 'invalid_mfa_token' }, { code: 'invalid_mfa_token' }]);
  });

  it('answers invalid_mfa_token, keeping no session or lease, when the password changes just before the last write', async () => {
    // Prepare
    const { deps, context, users, sessions, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    const before = sessions.sessionsOf('uid-alice').length;
    users.before('updateFactors', () => users.patch('alice', { passwordHash: 'fake$new password', credentialVersion: 2 }));

    // Act
    const answer = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(answer).toEqual({ code: 'invalid_mfa_token' });
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(before);
    expect(users.peekLogin('alice')?.leases).toEqual({});
  });

  it('answers invalid_mfa_token to the second of two concurrent uses of one mfaToken (a double submit)', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { secret, recoveryCodes } = await enrol();
    const { mfaToken } = await stepUp();

    // Act
    const answers = await Promise.all([
      outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context())),
      outcome(completeStepUp(deps, { mfaToken, recoveryCode: recoveryCodes[0]! }, context())),
    ]);

    // Assess
    expect(answers.map((answer) => answer.code).sort()).toEqual(['invalid_mfa_token', 'ok']);
    expect(users.peekLogin('alice')?.leases).toEqual({});
  });

  it('answers invalid_mfa_token for a tampered, truncated or made-up token, opening no attempt', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    const [body, tag] = mfaToken.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    // The same token claiming to be issued later (so a spent one would pass the "issued after" check).
    const later = Buffer.from(JSON.stringify({ ...payload, t: (payload.t as number) + 1 })).toString('base64url');
    const flipped = `${body.slice(0, -1)}${body.endsWith('A') ? 'B' : 'A'}.${tag}`;
    const openBefore = users.calls.openAttempt ?? 0;

    // Act
    const answers = await Promise.all(
      [`${later}.${tag}`, flipped, body, mfaToken.slice(0, -2), 'not-a-token', ''].map((token) =>
        outcome(completeStepUp(deps, { mfaToken: token, code: codeAt(secret, now()) }, context())),
      ),
    );

    // Assess
    expect(answers).toEqual(Array(6).fill({ code: 'invalid_mfa_token' }));
    expect(users.calls.openAttempt ?? 0).toBe(openBefore);
  });

  it('answers invalid_request for both a code and a recoveryCode, or for neither', async () => {
    // Prepare
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret, recoveryCodes } = await enrol();
    const { mfaToken } = await stepUp();

    // Act
    const both = await rejection(
      completeStepUp(deps, { mfaToken, code: codeAt(secret, now()), recoveryCode: recoveryCodes[0]! }, context()),
    );
    const neither = await rejection(completeStepUp(deps, { mfaToken }, context()));

    // Assess
    expect(both.code).toBe('invalid_request');
    expect(neither.code).toBe('invalid_request');
  });

  it('counts wrong codes on the name\u2019s throttle like wrong passwords: 5 free, then too_many_attempts', async () => {
    // Prepare
    const { deps, context, users, audit, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    audit.entries.length = 0;
    const wrong = [];
    for (let i = 0; i < 5; i += 1) {
      wrong.push(await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context())));
    }

    // Act
    const rightCode = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));
    const rightPassword = await outcome(logIn(deps, { username: 'alice', password: PASSWORD }, context()));

    // Assess
    expect(wrong).toEqual(Array(5).fill({ code: 'invalid_mfa_code' }));
    expect(rightCode).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(rightPassword).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(users.peekLogin('alice')).toMatchObject({ failures: 5, leases: {} });
    expect(audit.entries.filter((entry) => entry.event === 'mfa.failed')).toHaveLength(5);
  });

  it('counts wrong passwords and wrong codes together: a right password in between forgets none of them', async () => {
    // Prepare
    const { deps, context, users, clock, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    for (let i = 0; i < 3; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, context()));
    const { mfaToken } = await stepUp();
    expect(users.peekLogin('alice')?.failures).toBe(3);
    for (let i = 0; i < 2; i += 1) await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context()));

    // Act
    const refused = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));
    clock.advanceSeconds(1);
    const afterTheWait = await outcome(completeStepUp(deps, { mfaToken, code: codeAt(secret, now()) }, context()));

    // Assess
    expect(refused).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(afterTheWait).toEqual({ code: 'ok' });
    expect(users.peekLogin('alice')?.failures).toBe(0);
  });

  it('counts wrong codes against the client\u2019s failed-login ceiling too', async () => {
    // Prepare
    const { deps, context, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const { mfaToken } = await stepUp();
    const client = clientWindow(deps, 'login', context().ip);
    const before = await client.count();

    // Act
    await outcome(completeStepUp(deps, { mfaToken, code: wrongCodeAt(secret, now()) }, context()));

    // Assess
    expect(await client.count()).toBe(before + 1);
  });

  it.each([
    ['a TOTP code', 'code'],
    ['a recovery code', 'recoveryCode'],
  ])('makes at most 4 store requests for the second step with %s', async (_label, kind) => {
    // Prepare
    const { deps, context, requests, enrol, stepUp, now } = setup();
    const { secret, recoveryCodes } = await enrol();
    const { mfaToken } = await stepUp();
    const factor = kind === 'code' ? { code: codeAt(secret, now()) } : { recoveryCode: recoveryCodes[0]! };
    requests.clear();

    // Act
    await completeStepUp(deps, { mfaToken, ...factor }, context());

    // Assess
    expect(requests.counts().requests).toBeLessThanOrEqual(4);
    expect(requests.requests.map(({ store, op }) => `${store}.${op}`).sort()).toEqual(
      ['sessions.create', 'throttle.windowCount', 'users.openAttempt', 'users.updateFactors'].sort(),
    );
  });

  it('lets only one of two concurrent second steps with the same code through', async () => {
    // Prepare
    const { deps, context, sessions, clock, enrol, stepUp, now } = setup();
    const { secret } = await enrol();
    const first = await stepUp();
    clock.advanceMs(1);
    const second = await stepUp();
    const code = codeAt(secret, now());
    const before = sessions.sessionsOf('uid-alice').length;

    // Act
    const answers = await Promise.all([
      outcome(completeStepUp(deps, { mfaToken: first.mfaToken, code }, context())),
      outcome(completeStepUp(deps, { mfaToken: second.mfaToken, code }, context())),
    ]);

    // Assess
    expect(answers.map((answer) => answer.code).sort()).toEqual(['invalid_mfa_code', 'ok']);
    expect(sessions.sessionsOf('uid-alice')).toHaveLength(before + 1);
  });
});

describe('disableTotp', () => {
  it('turns TOTP off with the password and a code: recovery codes gone, logins with the password alone again', async () => {
    // Prepare
    const { deps, context, users, methods, enrol, now } = setup();
    const { session, secret } = await enrol();
    methods.length = 0;

    // Act
    await disableTotp(deps, session.claims, { password: PASSWORD, code: codeAt(secret, now()) }, context());

    // Assess
    const mfa = mfaOf(users.peek('alice')!);
    expect(mfa).toMatchObject({ totp: null, pendingTotp: null, recoveryCodes: [] });
    expect((await getMe(deps, session.claims)).mfa).toEqual({ totp: false, passkeys: 0, recoveryCodesLeft: 0 });
    await expect(logIn(deps, { username: 'alice', password: PASSWORD }, context())).resolves.toMatchObject({
      user: { username: 'alice' },
    });
    expect(methods).toEqual(['password']);
  });

  it('turns TOTP off with the password and a recovery code', async () => {
    // Prepare
    const { deps, context, users, enrol } = setup();
    const { session, recoveryCodes } = await enrol();

    // Act
    await disableTotp(deps, session.claims, { password: PASSWORD, recoveryCode: recoveryCodes[9]! }, context());

    // Assess
    expect(mfaOf(users.peek('alice')!)).toMatchObject({ totp: null, recoveryCodes: [] });
  });

  it('answers invalid_mfa_code (401: no status detail) for a wrong code, counted on the name, and keeps TOTP on', async () => {
    // Prepare
    const { deps, context, users, audit, enrol, now } = setup();
    const { session, secret } = await enrol();
    const before = users.peek('alice');

    // Act
    const error = await rejection(
      disableTotp(deps, session.claims, { password: PASSWORD, code: wrongCodeAt(secret, now()) }, context()),
    );

    // Assess
    expect(error.code).toBe('invalid_mfa_code');
    expect(error.details?.status).toBeUndefined();
    expect(users.peek('alice')).toEqual(before);
    expect(users.peekLogin('alice')?.failures).toBe(1);
    expect(audit.entries.at(-1)?.event).toBe('mfa.failed');
  });

  it('refuses the code a login just used (the same step)', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp, now } = setup();
    const { session, secret } = await enrol();
    const code = codeAt(secret, now());
    await completeStepUp(deps, { mfaToken: (await stepUp()).mfaToken, code }, context());

    // Act
    const error = await rejection(disableTotp(deps, session.claims, { password: PASSWORD, code }, context()));

    // Assess
    expect(error.code).toBe('invalid_mfa_code');
    expect(mfaOf(users.peek('alice')!).totp).not.toBeNull();
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('answers invalid_credentials for a wrong password, even with a right code', async () => {
    // Prepare
    const { deps, context, users, enrol, now } = setup();
    const { session, secret } = await enrol();

    // Act
    const error = await rejection(
      disableTotp(deps, session.claims, { password: 'wrong password', code: codeAt(secret, now()) }, context()),
    );

    // Assess
    expect(error.code).toBe('invalid_credentials');
    expect(mfaOf(users.peek('alice')!).totp).not.toBeNull();
  });

  it('answers invalid_request when TOTP is on and neither a code nor a recovery code is sent', async () => {
    // Prepare
    const { deps, context, enrol } = setup();
    const { session } = await enrol();

    // Act
    const error = await rejection(disableTotp(deps, session.claims, { password: PASSWORD }, context()));

    // Assess
    expect(error.code).toBe('invalid_request');
  });

  it('answers mfa_not_enabled when TOTP is off, after the password (a wrong one is invalid_credentials)', async () => {
    // Prepare
    const { deps, context, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const off = await rejection(disableTotp(deps, claims, { password: PASSWORD, code: '123456' }, context()));
    const wrongPassword = await rejection(disableTotp(deps, claims, { password: 'wrong password', code: '123456' }, context()));

    // Assess
    expect(off.code).toBe('mfa_not_enabled');
    expect(wrongPassword.code).toBe('invalid_credentials');
  });
});

describe('replaceRecoveryCodes', () => {
  it('returns 10 new codes for the password and a code: the old ones stop working, the new ones work', async () => {
    // Prepare
    const { deps, context, users, clock, enrol, stepUp, now } = setup();
    const { session, secret, recoveryCodes: old } = await enrol();

    // Act
    const { recoveryCodes } = await replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, code: codeAt(secret, now()) }, context());

    // Assess
    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) expect(code).toMatch(RECOVERY_CODE);
    expect(recoveryCodes.filter((code) => old.includes(code))).toEqual([]);
    expect([...mfaOf(users.peek('alice')!).recoveryCodes].sort()).toEqual(
      recoveryCodes.map((code) => deps.recoveryCodes.digest(code)).sort(),
    );
    // The code is spent: its step is the last one used.
    expect(mfaOf(users.peek('alice')!).totp?.lastStep).toBe(Math.floor(now() / STEP_MS));
    const { mfaToken } = await stepUp();
    expect(await outcome(completeStepUp(deps, { mfaToken, recoveryCode: old[0]! }, context()))).toEqual({
      code: 'invalid_mfa_code',
    });
    clock.advanceMs(1);
    expect(await outcome(completeStepUp(deps, { mfaToken, recoveryCode: recoveryCodes[0]! }, context()))).toEqual({
      code: 'ok',
    });
  });

  it('returns 10 new codes for the password and one of the old recovery codes, which goes with the rest', async () => {
    // Prepare
    const { deps, context, users, enrol, stepUp } = setup();
    const { session, recoveryCodes: old } = await enrol();

    // Act
    const { recoveryCodes } = await replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, recoveryCode: old[4]! }, context());
    const again = await outcome(replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, recoveryCode: old[4]! }, context()));

    // Assess
    expect(recoveryCodes).toHaveLength(10);
    expect([...mfaOf(users.peek('alice')!).recoveryCodes].sort()).toEqual(
      recoveryCodes.map((code) => deps.recoveryCodes.digest(code)).sort(),
    );
    // Spent: neither a second replacement nor a login takes it.
    expect(again).toEqual({ code: 'invalid_mfa_code' });
    const { mfaToken } = await stepUp();
    expect(await outcome(completeStepUp(deps, { mfaToken, recoveryCode: old[4]! }, context()))).toEqual({ code: 'invalid_mfa_code' });
    expect((await getMe(deps, session.claims)).mfa.recoveryCodesLeft).toBe(10);
  });

  it('answers invalid_request naming the field code for the password alone while TOTP is on: nothing changed, counted or forgotten', async () => {
    // Prepare
    const { deps, context, users, enrol } = setup();
    const { session } = await enrol();
    for (let i = 0; i < 2; i += 1) await outcome(logIn(deps, { username: 'alice', password: `guess ${i}` }, context()));
    const before = users.peek('alice');

    // Act
    const error = await rejection(replaceRecoveryCodes(deps, session.claims, { password: PASSWORD }, context()));

    // Assess
    expect(error).toMatchObject({ code: 'invalid_request', details: { field: 'code' } });
    expect(users.peek('alice')).toEqual(before);
    // The two wrong passwords still count, and the attempt it opened is closed (no lease left on the name).
    expect(users.peekLogin('alice')).toMatchObject({ failures: 2, leases: {} });
  });

  it('answers invalid_mfa_code (401) for a wrong code or recovery code, each counted on the name, and keeps the codes', async () => {
    // Prepare
    const { deps, context, users, audit, enrol, now } = setup();
    const { session, secret, recoveryCodes } = await enrol();
    const before = users.peek('alice');
    audit.entries.length = 0;

    // Act
    const wrongCode = await rejection(
      replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, code: wrongCodeAt(secret, now()) }, context()),
    );
    const wrongRecovery = await rejection(
      replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, recoveryCode: 'AAAA-BBBB-CCCC-DDDD' }, context()),
    );

    // Assess
    for (const error of [wrongCode, wrongRecovery]) {
      expect(error.code).toBe('invalid_mfa_code');
      expect(error.details?.status).toBeUndefined();
    }
    expect(users.peek('alice')).toEqual(before);
    expect(users.peekLogin('alice')?.failures).toBe(2);
    expect(audit.entries.map((entry) => entry.event)).toEqual(['mfa.failed', 'mfa.failed']);
    // The old codes still work.
    expect(mfaOf(users.peek('alice')!).recoveryCodes).toContain(deps.recoveryCodes.digest(recoveryCodes[0]!));
  });

  it('answers too_many_attempts past the name\u2019s limit, even for the right code, and a full proof then forgets the failures', async () => {
    // Prepare
    const { deps, context, users, clock, enrol, now } = setup();
    const { session, secret } = await enrol();
    for (let i = 0; i < 5; i += 1) {
      await outcome(replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, code: wrongCodeAt(secret, now()) }, context()));
    }

    // Act
    const refused = await outcome(replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, code: codeAt(secret, now()) }, context()));
    clock.advanceSeconds(1);
    const afterTheWait = await outcome(
      replaceRecoveryCodes(deps, session.claims, { password: PASSWORD, code: codeAt(secret, now()) }, context()),
    );

    // Assess
    expect(refused).toEqual({ code: 'too_many_attempts', retryAfterSeconds: 1 });
    expect(afterTheWait).toEqual({ code: 'ok' });
    // The password and a code are every factor: as a completed login, they forget the failures.
    expect(users.peekLogin('alice')?.failures).toBe(0);
  });

  it('answers invalid_credentials for a wrong password, even with a right code, and spends nothing', async () => {
    // Prepare
    const { deps, context, users, enrol, now } = setup();
    const { session, secret } = await enrol();
    const before = users.peek('alice');

    // Act
    const error = await rejection(
      replaceRecoveryCodes(deps, session.claims, { password: 'wrong password', code: codeAt(secret, now()) }, context()),
    );

    // Assess
    expect(error.code).toBe('invalid_credentials');
    expect(users.peek('alice')).toEqual(before);
    expect(users.peekLogin('alice')?.failures).toBe(1);
  });

  it('answers mfa_not_enabled when TOTP is off, after the password (a wrong one is invalid_credentials)', async () => {
    // Prepare
    const { deps, context, logInAlice } = setup();
    const { claims } = await logInAlice();

    // Act
    const off = await rejection(replaceRecoveryCodes(deps, claims, { password: PASSWORD }, context()));
    const offWithCode = await rejection(replaceRecoveryCodes(deps, claims, { password: PASSWORD, code: '123456' }, context()));
    const wrongPassword = await rejection(replaceRecoveryCodes(deps, claims, { password: 'wrong password' }, context()));

    // Assess
    expect(off.code).toBe('mfa_not_enabled');
    expect(offWithCode.code).toBe('mfa_not_enabled');
    expect(wrongPassword.code).toBe('invalid_credentials');
  });

  it('answers not_found where the service has no MFA key', async () => {
    // Prepare
    const { deps, context, logInAlice } = setup();
    const { claims } = await logInAlice();
    const keyless: MfaDeps = { ...deps, secretBox: null };

    // Act
    const error = await rejection(replaceRecoveryCodes(keyless, claims, { password: PASSWORD, code: '123456' }, context()));

    // Assess
    expect(error.code).toBe('not_found');
  });
});

describe('login.succeeded method', () => {
  it('records password, password+totp and password+recovery_code, one per completed login', async () => {
    // Prepare
    const { deps, context, clock, methods, enrol, stepUp, now } = setup();
    const { secret, recoveryCodes } = await enrol();

    // Act
    await completeStepUp(deps, { mfaToken: (await stepUp()).mfaToken, code: codeAt(secret, now()) }, context());
    clock.advanceMs(1);
    await completeStepUp(deps, { mfaToken: (await stepUp()).mfaToken, recoveryCode: recoveryCodes[0]! }, context());

    // Assess
    // The enrolment's own login (before TOTP was on) was a password login.
    expect(methods).toEqual(['password', 'password+totp', 'password+recovery_code']);
  });
});
