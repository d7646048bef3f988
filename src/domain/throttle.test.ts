// Throttling: growing waits per name after repeated failures, ceilings per client, and the client key they count on.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONTEXT, createThrottleStore, createWorld, outcome, storeDown, storedUser, THROTTLE_DEFAULTS } from '../../test/fakes';
import type { LoginState, RequestContext } from './ports';
import { logIn } from './log-in';
import { register } from './register';
import { allowance, clientKey, clientWindow, countUnknownName, currentFailures, delayMs, leasesAt } from './throttle';

const PASSWORD = 'correct horse';
const WRONG = 'wrong password';

type World = ReturnType<typeof createWorld>;

const setup = (options: Parameters<typeof createWorld>[0] = {}) =>
  createWorld({ users: [storedUser({ passwordHash: 'fake$' + PASSWORD })], ...options });

/** Where a request comes from; its deadline is set when it is sent (see `attempt`). */
type Origin = Pick<RequestContext, 'ip' | 'requestId'>;
const from = (ip: string, requestId = 'req-throttle'): Origin => ({ ip, requestId });
const ORIGIN: Origin = { ip: CONTEXT.ip, requestId: CONTEXT.requestId };


/** A login sent now, from `origin`, with a deadline REQUEST_TIMEOUT_MS from now. */
const attempt = (world: World, username: string, password: string, origin: Origin = ORIGIN) =>
  outcome(logIn(world.deps, { username, password }, world.context(origin)));

const failTimes = async (world: World, username: string, times: number, origin: Origin = ORIGIN) => {
  const results = [];
  for (let i = 0; i < times; i += 1) results.push(await attempt(world, username, WRONG, origin));
  return results;
};

const invalid = { code: 'invalid_credentials' };
const throttled = (retryAfterSeconds: number) => ({ code: 'too_many_attempts', retryAfterSeconds });

describe('delayMs', () => {
  it.each([
    [0, 0],
    [4, 0],
    [5, 1000],
    [6, 2000],
    [7, 4000],
    [14, 512_000],
    [15, 900_000],
    [2000, 900_000],
  ])('waits, after %i consecutive failures, %i ms (limit 5, cap 900 s)', (failures, expected) => {
    // Act
    const delay = delayMs(THROTTLE_DEFAULTS, failures);

    // Assess
    expect(delay).toBe(expected);
  });

  it('caps the wait at maxDelaySeconds', () => {
    // Act
    const delay = delayMs({ ...THROTTLE_DEFAULTS, maxDelaySeconds: 60 }, 12);

    // Assess
    expect(delay).toBe(60_000);
  });
});

describe('clientKey', () => {
  it.each([
    ['an IPv4 address unchanged', '203.0.113.9', '203.0.113.9'],
    ['an IPv4-mapped IPv6 address as its IPv4 address', '::ffff:203.0.113.9', '203.0.113.9'],
    ['an IPv4-mapped address written in capitals', '::FFFF:203.0.113.9', '203.0.113.9'],
    ['a full IPv6 address as its /64', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['a compressed IPv6 address as its /64', '2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['an IPv6 address with capitals and leading zeros as its /64', '2001:0DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['a prefix that ends in ::', '2001:db8::', '2001:db8:0:0::/64'],
    ['the IPv6 loopback', '::1', '0:0:0:0::/64'],
  ])('keys %s', (_label, ip, expected) => {
    // Act
    const key = clientKey(ip);

    // Assess
    expect(key).toBe(expected);
  });

  it('gives two addresses of one /64 the same key, and the next /64 another', () => {
    // Act
    const first = clientKey('2001:db8:1:2:3:4:5:6');
    const sameNetwork = clientKey('2001:db8:1:2::9');
    const nextNetwork = clientKey('2001:db8:1:3::9');

    // Assess
    expect(sameNetwork).toBe(first);
    expect(nextNetwork).not.toBe(first);
  });
});

describe('logIn throttling per name', () => {
  it('answers the 6th attempt after 5 wrong passwords too_many_attempts, retry after 1 s, without checking the password', async () => {
    // Prepare
    const world = setup();
    const first5 = await failTimes(world, 'alice', 5);
    const checksBefore = world.hasher.calls.verify;

    // Act
    const sixth = logIn(world.deps, { username: 'alice', password: PASSWORD }, world.context());

    // Assess
    expect(first5).toEqual(Array(5).fill(invalid));
    await expect(sixth).rejects.toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
    expect(world.hasher.calls.verify).toBe(checksBefore);
    expect(checksBefore).toBe(5);
    expect(world.tokens.issued).toEqual([]);
  });

  it('lets 4 wrong passwords pass as plain invalid_credentials and still checks the 5th', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 4);

    // Act
    const fifth = await attempt(world, 'alice', PASSWORD);

    // Assess
    expect(fifth).toEqual({ code: 'ok' });
    expect(world.hasher.calls.verify).toBe(5);
  });

  it('keeps answering too_many_attempts until the wait has passed', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceMs(999);

    // Act
    const early = await attempt(world, 'alice', PASSWORD);

    // Assess
    expect(early).toEqual(throttled(1));
    expect(world.hasher.calls.verify).toBe(5);
  });

  it('lets one attempt through once the wait has passed, then doubles the wait: 2 s, then 4 s', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    const results = [];

    // Act
    results.push(await attempt(world, 'alice', WRONG));
    world.clock.advanceSeconds(1);
    results.push(await attempt(world, 'alice', WRONG));
    results.push(await attempt(world, 'alice', WRONG));
    world.clock.advanceSeconds(2);
    results.push(await attempt(world, 'alice', WRONG));
    results.push(await attempt(world, 'alice', WRONG));

    // Assess
    expect(results).toEqual([throttled(1), invalid, throttled(2), invalid, throttled(4)]);
    expect(world.hasher.calls.verify).toBe(7);
  });

  it('rounds the remaining wait up to whole seconds: 1.5 s left answers retry after 2 s', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceSeconds(1);
    await attempt(world, 'alice', WRONG);
    world.clock.advanceMs(500);

    // Act
    const answer = await attempt(world, 'alice', PASSWORD);

    // Assess
    expect(answer).toEqual(throttled(2));
  });

  it('caps the wait at maxDelaySeconds', async () => {
    // Prepare
    const world = setup({ throttleSettings: { maxDelaySeconds: 4 } });
    await failTimes(world, 'alice', 5);
    const waits = [];

    // Act
    for (let round = 0; round < 5; round += 1) {
      const answer = await attempt(world, 'alice', WRONG);
      waits.push(answer);
      world.clock.advanceSeconds((answer as { retryAfterSeconds?: number }).retryAfterSeconds ?? 0);
      await attempt(world, 'alice', WRONG);
    }

    // Assess
    expect(waits).toEqual([throttled(1), throttled(2), throttled(4), throttled(4), throttled(4)]);
  });

  it('resets the count after a correct password: the next 5 wrong ones are plain invalid_credentials', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceSeconds(1);
    await expect(attempt(world, 'alice', PASSWORD)).resolves.toEqual({ code: 'ok' });

    // Act
    const next5 = await failTimes(world, 'alice', 5);
    const sixth = await attempt(world, 'alice', WRONG);

    // Assess
    expect(next5).toEqual(Array(5).fill(invalid));
    expect(sixth).toEqual(throttled(1));
  });

  it('forgets the failures after a window of quiet counted from the end of the last wait', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceSeconds(1 + THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const next5 = await failTimes(world, 'alice', 5);

    // Assess
    expect(next5).toEqual(Array(5).fill(invalid));
  });

  it('still remembers the failures one second before that window of quiet has passed', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceSeconds(1 + THROTTLE_DEFAULTS.windowSeconds - 1);

    // Act
    const results = await failTimes(world, 'alice', 2);

    // Assess
    expect(results).toEqual([invalid, throttled(2)]);
  });

  it('throttles an unknown name exactly like a known one: same code, same wait', async () => {
    // Prepare
    const world = setup();
    const knownFailures = await failTimes(world, 'alice', 5);
    const unknownFailures = await failTimes(world, 'nobody', 5);

    // Act
    const [known, unknown] = await Promise.allSettled([
      logIn(world.deps, { username: 'alice', password: WRONG }, world.context()),
      logIn(world.deps, { username: 'nobody', password: WRONG }, world.context()),
    ]);

    // Assess
    expect(unknownFailures).toEqual(knownFailures);
    expect(known).toMatchObject({ status: 'rejected', reason: { code: 'too_many_attempts', details: { retryAfterSeconds: 1 } } });
    expect(unknown).toMatchObject({ status: 'rejected', reason: { code: 'too_many_attempts', details: { retryAfterSeconds: 1 } } });
    expect(unknown.status === 'rejected' && unknown.reason.message).toBe(known.status === 'rejected' && known.reason.message);
    expect(world.hasher.calls.verifyDummy).toBe(5);
  });

  it('counts a name after normalization: failures as ALICE throttle alice', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'ALICE', 5);

    // Act
    const answer = await attempt(world, 'alice', PASSWORD);

    // Assess
    expect(answer).toEqual(throttled(1));
  });

  it('counts each name on its own: bob is not throttled by alice\'s failures', async () => {
    // Prepare
    const world = createWorld({
      users: [storedUser({ passwordHash: 'fake$' + PASSWORD }), storedUser({ username: 'bob', name: 'Bob', uid: 'uid-bob', passwordHash: 'fake$' + PASSWORD })],
    });
    await failTimes(world, 'alice', 5);

    // Act
    const answer = await attempt(world, 'bob', PASSWORD);

    // Assess
    expect(answer).toEqual({ code: 'ok' });
  });

  it('gives 30 concurrent wrong guesses for one name at most 5 invalid_credentials, the rest too_many_attempts', async () => {
    // Prepare
    const world = setup();

    // Act
    const results = await Promise.all(Array.from({ length: 30 }, () => attempt(world, 'alice', WRONG)));

    // Assess
    const codes = results.map((result) => result.code);
    const plain = codes.filter((code) => code === 'invalid_credentials').length;
    expect(plain).toBeGreaterThan(0);
    expect(plain).toBeLessThanOrEqual(5);
    expect(codes.filter((code) => code === 'too_many_attempts')).toHaveLength(30 - plain);
    expect(world.hasher.calls.verify).toBe(plain);
    // The guesses really raced: several were checked at once, and the others waited or were refused.
    expect(world.hasher.checking.most).toBeGreaterThan(1);
    expect(world.users.peekLogin('alice')).toMatchObject({ failures: plain, leases: {} });
  });

  it('gives 30 concurrent wrong guesses for a name that is no account at most 5 invalid_credentials too', async () => {
    // Prepare
    const world = setup();

    // Act
    const results = await Promise.all(Array.from({ length: 30 }, () => attempt(world, 'nobody', WRONG)));

    // Assess
    const codes = results.map((result) => result.code);
    const plain = codes.filter((code) => code === 'invalid_credentials').length;
    expect(plain).toBeGreaterThan(0);
    expect(plain).toBeLessThanOrEqual(5);
    expect(codes.filter((code) => code === 'too_many_attempts')).toHaveLength(30 - plain);
    expect(world.hasher.calls.verifyDummy).toBe(plain);
    // The conditional count really raced: every guess tried it, five won.
    expect(world.throttle.counts).toEqual({ attempts: 30, wins: 5 });
    expect(world.throttle.peekFailures('nobody')?.failures).toBe(5);
  });

  it('restarts the count at 1 for a wrong password after the failures were forgotten', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceSeconds(1 + THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const answer = await attempt(world, 'alice', WRONG);

    // Assess
    expect(answer).toEqual(invalid);
    expect(world.users.peekLogin('alice')).toMatchObject({ failures: 1, lastFailureAt: world.clock.now().getTime() });
    expect(await failTimes(world, 'alice', 5)).toEqual([invalid, invalid, invalid, invalid, throttled(1)]);
  });

  it('restarts forgotten failures once when two wrong passwords arrive together: the second counts 2', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 3);
    world.clock.advanceSeconds(THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const answers = await Promise.all([attempt(world, 'alice', WRONG), attempt(world, 'alice', WRONG)]);

    // Assess
    expect(answers).toEqual([invalid, invalid]);
    expect(world.users.peekLogin('alice')?.failures).toBe(2);
  });

  it('restarts the count at 1 for a name that is no account after its failures were forgotten', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'nobody', 5);
    world.clock.advanceSeconds(1 + THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const answer = await attempt(world, 'nobody', WRONG);

    // Assess
    expect(answer).toEqual(invalid);
    expect(world.throttle.peekFailures('nobody')?.failures).toBe(1);
    expect(await failTimes(world, 'nobody', 5)).toEqual([invalid, invalid, invalid, invalid, throttled(1)]);
  });

  it('pads a throttled answer instead of hashing, and audits it as login.throttled under the account name', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceMs(300);
    const startedAt = world.clock.now().getTime();
    const context = world.context(from('203.0.113.50', 'req-throttled'));
    const hashing = { ...world.hasher.calls };

    // Act
    const answer = await outcome(logIn(world.deps, { username: 'alice', password: PASSWORD }, context));

    // Assess
    expect(answer).toEqual(throttled(1));
    expect(world.pacer.calls.pad).toEqual([startedAt]);
    expect(world.hasher.calls).toEqual(hashing);
    expect(world.audit.entries.at(-1)).toEqual({ event: 'login.throttled', username: 'alice', known: true, context });
    expect(JSON.stringify(world.audit.entries)).not.toContain(PASSWORD);
  });

  it('audits a throttled name that is no account as known false, so it is logged as a digest', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'MyS3cretPassw0rd', 5);

    // Act
    await attempt(world, 'MyS3cretPassw0rd', WRONG);

    // Assess
    expect(world.audit.entries.at(-1)).toMatchObject({ event: 'login.throttled', known: false });
  });

  it('pads only throttled answers', async () => {
    // Prepare
    const world = setup();

    // Act
    await failTimes(world, 'alice', 5);
    await attempt(world, 'alice', PASSWORD);
    world.clock.advanceSeconds(1);
    await attempt(world, 'alice', PASSWORD);

    // Assess
    expect(world.pacer.calls.pad).toHaveLength(1);
  });

  it('answers, one at a time, a wrong password, a name that is no account and a throttled attempt in the same time', async () => {
    // Prepare: each password check takes 40 ms, and the real pacer learns from the failures.
    const world = setup({ realPacer: true, checkMs: 40 });
    const timed = async (username: string) => {
      const startedAt = world.clock.now().getTime();
      const answer = await attempt(world, username, WRONG);
      return { answer, ms: world.clock.now().getTime() - startedAt };
    };
    const known = [];
    for (let i = 0; i < 5; i += 1) known.push(await timed('alice'));

    // Act
    const unknown = await timed('nobody');
    const throttledAnswer = await timed('alice');

    // Assess
    expect(known.map((k) => k.answer)).toEqual(Array(5).fill(invalid));
    expect(unknown.answer).toEqual(invalid);
    expect(throttledAnswer.answer).toEqual(throttled(1));
    expect(known.map((k) => k.ms)).toEqual(Array(5).fill(40));
    expect(unknown.ms).toBe(40);
    // The pacer aims 1 ms early (a real timer fires about that late); a fake one does not.
    expect(throttledAnswer.ms).toBeGreaterThanOrEqual(39);
    expect(throttledAnswer.ms).toBeLessThanOrEqual(40);
    expect(world.hasher.calls.verify).toBe(5);
  });
});

describe('logIn throttling per client', () => {
  const A = from('203.0.113.1');
  const B = from('203.0.113.2');

  it('answers too_many_attempts, even for a new name and the right password, once one ip reached ipFailures', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    const failures = [
      await attempt(world, 'user1', WRONG, A),
      await attempt(world, 'user2', WRONG, A),
      await attempt(world, 'alice', WRONG, A),
    ];
    const checksBefore = world.hasher.calls.verify + world.hasher.calls.verifyDummy;

    // Act
    const answer = await attempt(world, 'alice', PASSWORD, A);

    // Assess
    expect(failures).toEqual([invalid, invalid, invalid]);
    expect(answer).toEqual(throttled(THROTTLE_DEFAULTS.windowSeconds));
    expect(world.hasher.calls.verify + world.hasher.calls.verifyDummy).toBe(checksBefore);
  });

  it('is a soft ceiling: exceeded by at most the attempts in flight at once, then closed to the rest', async () => {
    // Prepare: waves of 4 parallel wrong guesses across names, against a ceiling of 10.
    const world = setup({ throttleSettings: { ipFailures: 10 } });
    const answers = [];

    // Act
    for (let wave = 0; wave < 5; wave += 1) {
      answers.push(...(await Promise.all([1, 2, 3, 4].map((i) => attempt(world, `user${wave}-${i}`, WRONG, A)))));
    }

    // Assess
    const checked = answers.filter((a) => a.code === 'invalid_credentials').length;
    expect(checked).toBeGreaterThanOrEqual(10);
    expect(checked).toBeLessThanOrEqual(10 + 4 - 1);
    expect(answers.slice(checked)).toEqual(Array(20 - checked).fill(throttled(THROTTLE_DEFAULTS.windowSeconds)));
    expect(world.hasher.calls.verifyDummy).toBe(checked);
  });

  it('counts every one of 20 parallel wrong guesses from one ip once, so the next attempt is refused', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(world, `user${i}`, WRONG, A)));

    // Act
    const next = await attempt(world, 'alice', PASSWORD, A);

    // Assess
    expect(answers.filter((a) => a.code === 'invalid_credentials').length).toBeGreaterThanOrEqual(3);
    // The window holds each failure once, up to the ceiling (a full window takes no more).
    expect(await clientWindow(world.deps, 'login', A.ip).count()).toBe(
      Math.min(3, answers.filter((a) => a.code === 'invalid_credentials').length),
    );
    expect(next).toEqual(throttled(THROTTLE_DEFAULTS.windowSeconds));
  });

  it('does not count a success against its client: a right password does not use up the ceiling', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    for (let i = 0; i < 5; i += 1) await attempt(world, 'alice', PASSWORD, A);

    // Act
    const failures = await Promise.all([1, 2, 3].map((i) => attempt(world, `user${i}`, WRONG, A)));

    // Assess
    expect(failures).toEqual([invalid, invalid, invalid]);
  });

  it('does not count attempts a name had to wait for against the client: their passwords were never checked', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 8 } });
    await failTimes(world, 'alice', 5, A);
    for (let i = 0; i < 10; i += 1) await attempt(world, 'alice', WRONG, A);

    // Act
    const others = await Promise.all([1, 2, 3].map((i) => attempt(world, `user${i}`, WRONG, A)));

    // Assess
    expect(others).toEqual([invalid, invalid, invalid]);
  });

  it('leaves another ip unaffected by one ip reaching its ceiling', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    await attempt(world, 'user1', WRONG, A);
    await attempt(world, 'user2', WRONG, A);
    await attempt(world, 'user3', WRONG, A);

    // Act
    const answer = await attempt(world, 'alice', PASSWORD, B);

    // Assess
    expect(answer).toEqual({ code: 'ok' });
  });

  it('lets the ip in again once its window has ended', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    await attempt(world, 'user1', WRONG, A);
    await attempt(world, 'user2', WRONG, A);
    await attempt(world, 'user3', WRONG, A);
    world.clock.advanceSeconds(THROTTLE_DEFAULTS.windowSeconds - 1);
    const stillClosed = await attempt(world, 'alice', PASSWORD, A);
    world.clock.advanceSeconds(1);

    // Act
    const answer = await attempt(world, 'alice', PASSWORD, A);

    // Assess
    expect(stillClosed).toEqual(throttled(1));
    expect(answer).toEqual({ code: 'ok' });
  });

  it('does not count successful logins against the ip', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });
    for (let i = 0; i < 5; i += 1) await attempt(world, 'alice', PASSWORD, A);

    // Act
    const answers = await failTimes(world, 'user1', 3, A);

    // Assess
    expect(answers).toEqual([invalid, invalid, invalid]);
  });

  it('counts the addresses of one IPv6 /64 as one client, and the next /64 as another', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 2 } });
    await attempt(world, 'user1', WRONG, from('2001:db8:1:2::1'));
    await attempt(world, 'user2', WRONG, from('2001:db8:1:2:aaaa:bbbb:cccc:dddd'));

    // Act
    const sameNetwork = await attempt(world, 'alice', PASSWORD, from('2001:db8:1:2::ffff'));
    const nextNetwork = await attempt(world, 'alice', PASSWORD, from('2001:db8:1:3::1'));

    // Assess
    expect(sameNetwork).toEqual(throttled(THROTTLE_DEFAULTS.windowSeconds));
    expect(nextNetwork).toEqual({ code: 'ok' });
  });
});

describe('register throttling per client', () => {
  const A = from('203.0.113.1');
  const B = from('203.0.113.2');
  const newUser = (username: string) => ({ name: 'Someone', username, password: 'a fine passphrase' });

  it('lets ipRegistrations registrations from one ip pass and answers the next too_many_attempts', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 3 } });
    await register(world.deps, newUser('user1'), world.context(A));
    await register(world.deps, newUser('user2'), world.context(A));
    await register(world.deps, newUser('user3'), world.context(A));

    // Act
    const fourth = register(world.deps, newUser('user4'), world.context(A));

    // Assess
    await expect(fourth).rejects.toMatchObject({
      code: 'too_many_attempts',
      details: { retryAfterSeconds: THROTTLE_DEFAULTS.windowSeconds },
    });
    expect(world.users.peek('user3')).toBeDefined();
    expect(world.users.peek('user4')).toBeUndefined();
    expect(world.hasher.calls.hash).toBe(3);
  });

  it('leaves another ip free to register', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 3 } });
    for (const name of ['user1', 'user2', 'user3']) await register(world.deps, newUser(name), world.context(A));

    // Act
    const result = await register(world.deps, newUser('user4'), world.context(B));

    // Assess
    expect(result).toEqual({ username: 'user4' });
  });

  it('counts a registration refused as username_taken, so probing names is capped too', async () => {
    // Prepare
    const world = createWorld({ users: [storedUser()], throttleSettings: { ipRegistrations: 2 } });
    await expect(register(world.deps, newUser('alice'), world.context(A))).rejects.toMatchObject({ code: 'username_taken' });
    await expect(register(world.deps, newUser('alice'), world.context(A))).rejects.toMatchObject({ code: 'username_taken' });

    // Act
    const third = register(world.deps, newUser('user3'), world.context(A));

    // Assess
    await expect(third).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(world.hasher.calls.hash).toBe(2);
  });

  it('does not count a registration the store failed (503): behind a shared NAT that would lock everyone out', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 2 } });
    world.users.fail('create', storeDown(), { times: 5 });
    for (let i = 0; i < 5; i += 1) {
      await expect(register(world.deps, newUser(`down${i}`), world.context(A))).rejects.toMatchObject({
        code: 'service_unavailable',
      });
    }

    // Act
    const results = [
      await register(world.deps, newUser('user1'), world.context(A)),
      await register(world.deps, newUser('user2'), world.context(A)),
    ];

    // Assess
    expect(results).toEqual([{ username: 'user1' }, { username: 'user2' }]);
    await expect(register(world.deps, newUser('user3'), world.context(A))).rejects.toMatchObject({
      code: 'too_many_attempts',
    });
  });

  it('counts a registration after its write, and still answers 201 when counting it fails', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 1 } });
    const order: string[] = [];
    world.users.before('create', () => void order.push('create'));
    world.throttle.before('addToWindow', () => void order.push('count'));
    world.throttle.fail('addToWindow', storeDown(), { times: 1 });

    // Act
    const result = await register(world.deps, newUser('user1'), world.context(A));

    // Assess
    expect(result).toEqual({ username: 'user1' });
    expect(order).toEqual(['create', 'count']);
    expect(world.users.peek('user1')).toBeDefined();
  });

  it('is a soft ceiling for registrations too: parallel ones all pass the check, then the next is refused', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 2 } });

    // Act
    const parallel = await Promise.all(
      [1, 2, 3, 4].map((i) => register(world.deps, newUser(`user${i}`), world.context(A))),
    );
    const next = register(world.deps, newUser('user5'), world.context(A));

    // Assess
    expect(parallel).toHaveLength(4);
    await expect(next).rejects.toMatchObject({ code: 'too_many_attempts' });
  });

  it('lets the ip register again once its window has ended', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 1 } });
    await register(world.deps, newUser('user1'), world.context(A));
    await expect(register(world.deps, newUser('user2'), world.context(A))).rejects.toMatchObject({ code: 'too_many_attempts' });
    world.clock.advanceSeconds(THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const result = await register(world.deps, newUser('user3'), world.context(A));

    // Assess
    expect(result).toEqual({ username: 'user3' });
  });
});

describe('currentFailures and allowance', () => {
  const NOW = Date.UTC(2026, 0, 1);
  const record = (failures: number, agoMs: number) => ({ failures, lastFailureAt: NOW - agoMs });
  const WINDOW_MS = THROTTLE_DEFAULTS.windowSeconds * 1000;

  it.each([
    ['no record', null, 0],
    ['a record of no failures', record(0, 0), 0],
    ['3 failures just now', record(3, 0), 3],
    ['3 failures one ms short of a window ago', record(3, WINDOW_MS - 1), 3],
    ['3 failures a window ago', record(3, WINDOW_MS), 0],
    ['5 failures a window ago, their 1 s wait not yet followed by a whole window', record(5, WINDOW_MS), 5],
    ['5 failures a window and their 1 s wait ago', record(5, WINDOW_MS + 1000), 0],
  ])('counts %s as %i current failures', (_label, failures, expected) => {
    // Act
    const current = currentFailures(THROTTLE_DEFAULTS, failures, NOW);

    // Assess
    expect(current).toBe(expected);
  });

  it.each([
    ['no record', null, { slots: 5, waitEnds: 0, failures: 0 }],
    ['2 failures', record(2, 10), { slots: 3, waitEnds: 0, failures: 2 }],
    ['4 failures', record(4, 10), { slots: 1, waitEnds: 0, failures: 4 }],
    ['5 failures, wait running', record(5, 999), { slots: 0, waitEnds: NOW + 1, failures: 5 }],
    ['5 failures, wait over', record(5, 1000), { slots: 1, waitEnds: NOW, failures: 5 }],
    ['6 failures, 2 s wait running', record(6, 1000), { slots: 0, waitEnds: NOW + 1000, failures: 6 }],
    ['failures forgotten', record(7, 10 * WINDOW_MS), { slots: 5, waitEnds: 0, failures: 0 }],
  ])('gives a name with %s its places to be checked at once', (_label, failures, expected) => {
    // Act
    const places = allowance(THROTTLE_DEFAULTS, failures, NOW);

    // Assess
    expect(places).toEqual(expected);
  });
});

describe('leasesAt', () => {
  it('tells running leases from those whose deadline has come (their attempts died)', () => {
    // Prepare
    const state: LoginState = { failures: 0, lastFailureAt: 0, leases: { early: 999, due: 1000, later: 1001 } };

    // Act
    const leases = leasesAt(state, 1000);

    // Assess
    expect(leases).toEqual({ live: ['later'], expired: ['early', 'due'] });
  });
});

describe('clientWindow', () => {
  const windowAt = (world: World, ip = '203.0.113.9') => clientWindow(world.deps, 'login', ip);

  it('counts events by id: the same id added twice counts once, and a taken-back one not at all', async () => {
    // Prepare
    const world = setup();
    const window = windowAt(world);

    // Act
    await window.add('a');
    await window.add('a');
    await window.add('b');
    await window.remove('b');
    await window.remove('never-added');

    // Assess
    expect(await window.count()).toBe(1);
  });

  it('closes at the ceiling with retry after the end of its fixed window', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 2 } });
    world.clock.advanceSeconds(100);
    const window = windowAt(world);
    await window.add('a');
    const first = await window.count();
    expect(() => window.assertOpen(first)).not.toThrow();
    await window.add('b');
    const count = await window.count();

    // Act
    const closed = () => window.assertOpen(count);

    // Assess
    expect(count).toBe(2);
    expect(closed).toThrow(expect.objectContaining({
      code: 'too_many_attempts',
      details: { retryAfterSeconds: THROTTLE_DEFAULTS.windowSeconds - 100 },
    }));
  });

  it('starts a new window when the fixed one ends, and keeps logins and registrations apart', async () => {
    // Prepare
    const world = setup();
    await windowAt(world).add('a');
    await clientWindow(world.deps, 'register', '203.0.113.9').add('r');

    // Act
    world.clock.advanceSeconds(THROTTLE_DEFAULTS.windowSeconds);
    const next = await windowAt(world).count();

    // Assess
    expect(next).toBe(0);
  });

  it('keeps passkey login options in a window of their own, with the failed logins\' ceiling', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 2 } });
    const options = clientWindow(world.deps, 'passkey', '203.0.113.9');
    await options.take('o1');
    await options.take('o2');

    // Act
    const third = options.take('o3');

    // Assess
    await expect(third).rejects.toMatchObject({ code: 'too_many_attempts' });
    expect(await windowAt(world).count()).toBe(0);
  });

  it('counts the addresses of one IPv6 /64 in one window', async () => {
    // Prepare
    const world = setup();
    await windowAt(world, '2001:db8:1:2::1').add('a');

    // Act
    const count = await windowAt(world, '2001:db8:1:2::ffff').count();

    // Assess
    expect(count).toBe(1);
  });
});

describe('countUnknownName', () => {
  const deps = () => {
    const throttle = createThrottleStore();
    let now = Date.UTC(2026, 0, 1);
    const clock = { now: () => new Date(now) };
    return { throttle, clock, throttleSettings: THROTTLE_DEFAULTS, advance: (ms: number) => (now += ms) };
  };

  it('counts 5 failures of a name with one conditional write each, then refuses the 6th until the wait ends', async () => {
    // Prepare
    const d = deps();
    for (let i = 0; i < 5; i += 1) await countUnknownName(d, 'nobody', randomUUID());

    // Act
    const sixth = countUnknownName(d, 'nobody', randomUUID());

    // Assess
    await expect(sixth).rejects.toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
    expect(d.throttle.counts).toEqual({ attempts: 6, wins: 5 });
    expect(d.throttle.peekFailures('nobody')?.failures).toBe(5);
  });

  it('counts one more failure once the wait has ended, through a compare-and-swap', async () => {
    // Prepare
    const d = deps();
    for (let i = 0; i < 5; i += 1) await countUnknownName(d, 'nobody', randomUUID());
    d.advance(1000);

    // Act
    await countUnknownName(d, 'nobody', randomUUID());

    // Assess
    expect(d.throttle.peekFailures('nobody')?.failures).toBe(6);
    expect(d.throttle.writes).toEqual({ attempts: 1, wins: 1 });
  });

  it('answers a crowd that keeps winning every swap like a crowd of guesses: too_many_attempts', async () => {
    // Prepare
    const d = deps();
    for (let i = 0; i < 5; i += 1) await countUnknownName(d, 'nobody', randomUUID());
    d.advance(1000);
    // Another attempt on the same name lands between each read and swap.
    let rival = false;
    d.throttle.before('writeFailures', async (name) => {
      const record = d.throttle.peekFailures(name);
      if (rival || record === undefined) return;
      rival = true;
      await d.throttle.writeFailures(name, record.version, { ...record }, record.expiresAt);
      rival = false;
    });

    // Act
    const attempt = countUnknownName(d, 'nobody', randomUUID());

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
    expect(d.throttle.writes).toEqual({ attempts: 10, wins: 5 });
  });
});
