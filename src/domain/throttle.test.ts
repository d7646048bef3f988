// Throttling: growing waits per name after repeated failures, ceilings per client, and the client key they count on.
import { describe, expect, it } from 'vitest';
import { CONTEXT, createWorld, storedUser, THROTTLE_DEFAULTS } from '../../test/fakes';
import type { RequestContext } from './ports';
import { logIn } from './log-in';
import { register } from './register';
import { clientKey, delayMs } from './throttle';

const PASSWORD = 'correct horse';
const WRONG = 'wrong password';

type World = ReturnType<typeof createWorld>;

const setup = (options: Parameters<typeof createWorld>[0] = {}) =>
  createWorld({ users: [storedUser({ passwordHash: 'fake$' + PASSWORD })], ...options });

const from = (ip: string, requestId = 'req-throttle'): RequestContext => ({ ip, requestId });

/** How a login ended: 'ok', or the error code with its retry delay (if any). */
const outcome = async (attempt: Promise<unknown>) =>
  attempt.then(
    () => ({ code: 'ok' }),
    (error: { code: string; details?: { retryAfterSeconds?: number } }) =>
      error.details?.retryAfterSeconds === undefined
        ? { code: error.code }
        : { code: error.code, retryAfterSeconds: error.details.retryAfterSeconds },
  );

const attempt = (world: World, username: string, password: string, context: RequestContext = CONTEXT) =>
  outcome(logIn(world.deps, { username, password }, context));

const failTimes = async (world: World, username: string, times: number, context: RequestContext = CONTEXT) => {
  const results = [];
  for (let i = 0; i < times; i += 1) results.push(await attempt(world, username, WRONG, context));
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
    const sixth = logIn(world.deps, { username: 'alice', password: PASSWORD }, CONTEXT);

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
      logIn(world.deps, { username: 'alice', password: WRONG }, CONTEXT),
      logIn(world.deps, { username: 'nobody', password: WRONG }, CONTEXT),
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
    // The compare-and-swap really raced: more writes were tried than won.
    expect(world.throttle.writes.attempts).toBeGreaterThan(world.throttle.writes.wins);
  });

  it('pads a throttled answer instead of hashing, and audits it as login.throttled under the account name', async () => {
    // Prepare
    const world = setup();
    await failTimes(world, 'alice', 5);
    world.clock.advanceMs(300);
    const startedAt = world.clock.now().getTime();
    const context = from('203.0.113.50', 'req-throttled');
    const hashing = { ...world.hasher.calls };

    // Act
    const answer = await attempt(world, 'alice', PASSWORD, context);

    // Assess
    expect(answer).toEqual(throttled(1));
    expect(world.pacer.calls.pad).toEqual([startedAt]);
    expect(world.hasher.calls).toEqual(hashing);
    expect(world.audit.entries.at(-1)).toEqual({
      event: 'login.throttled',
      username: 'alice',
      known: true,
      context: { ip: '203.0.113.50', requestId: 'req-throttled' },
    });
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
    await attempt(world, 'alice', PASSWORD, CONTEXT);
    world.clock.advanceSeconds(1);
    await attempt(world, 'alice', PASSWORD, CONTEXT);

    // Assess
    expect(world.pacer.calls.pad).toHaveLength(1);
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

  it('lets at most ipFailures of 20 parallel wrong guesses from one ip, across names, be checked', async () => {
    // Prepare
    const world = setup({ throttleSettings: { ipFailures: 3 } });

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(world, `user${i}`, WRONG, A)));

    // Assess
    expect(answers.filter((a) => a.code === 'invalid_credentials').length).toBeLessThanOrEqual(3);
    expect(answers.filter((a) => a.code === 'too_many_attempts').length).toBeGreaterThanOrEqual(17);
  });

  it('gives a success back to its client: a right password does not use up the ceiling', async () => {
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
    await register(world.deps, newUser('user1'), A);
    await register(world.deps, newUser('user2'), A);
    await register(world.deps, newUser('user3'), A);

    // Act
    const fourth = register(world.deps, newUser('user4'), A);

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
    for (const name of ['user1', 'user2', 'user3']) await register(world.deps, newUser(name), A);

    // Act
    const result = await register(world.deps, newUser('user4'), B);

    // Assess
    expect(result).toEqual({ username: 'user4' });
  });

  it('counts a registration refused as username_taken, so probing names is capped too', async () => {
    // Prepare
    const world = createWorld({ users: [storedUser()], throttleSettings: { ipRegistrations: 2 } });
    await expect(register(world.deps, newUser('alice'), A)).rejects.toMatchObject({ code: 'username_taken' });
    await expect(register(world.deps, newUser('alice'), A)).rejects.toMatchObject({ code: 'username_taken' });

    // Act
    const third = register(world.deps, newUser('user3'), A);

    // Assess
    await expect(third).rejects.toMatchObject({ code: 'too_many_attempts' });
  });

  it('lets the ip register again once its window has ended', async () => {
    // Prepare
    const world = createWorld({ users: [], throttleSettings: { ipRegistrations: 1 } });
    await register(world.deps, newUser('user1'), A);
    await expect(register(world.deps, newUser('user2'), A)).rejects.toMatchObject({ code: 'too_many_attempts' });
    world.clock.advanceSeconds(THROTTLE_DEFAULTS.windowSeconds);

    // Act
    const result = await register(world.deps, newUser('user3'), A);

    // Assess
    expect(result).toEqual({ username: 'user3' });
  });
});
