// Pacing: a throttled answer waits until a typical failed login would have answered, learnt from real ones.
import { describe, expect, it } from 'vitest';
import { createClock, createTimer } from '../../test/fakes';
import { createPacer } from './pace';

// The pacer aims this much early: a real timer fires about that late.
const SLACK = 1;

const setup = (initialMs?: number) => {
  const clock = createClock();
  const timer = createTimer(clock);
  const pacer = initialMs === undefined ? createPacer(clock, timer) : createPacer(clock, timer, initialMs);
  /** A failed login that took `ms`, reported to the pacer as it answers. */
  const failedLogin = (ms: number) => {
    const startedAt = clock.now().getTime();
    clock.advanceMs(ms);
    pacer.record(startedAt);
  };
  /** A throttled answer 10 ms into its request: how long it ends up taking. */
  const throttledAnswer = async () => {
    const startedAt = clock.now().getTime();
    clock.advanceMs(10);
    await pacer.pad(startedAt);
    return clock.now().getTime() - startedAt;
  };
  return { clock, timer, pacer, failedLogin, throttledAnswer };
};

describe('createPacer', () => {
  it('after failed logins of 40 ms, sleeps the remainder so a throttled answer also takes about 40 ms', async () => {
    // Prepare
    const { timer, failedLogin, throttledAnswer } = setup();
    for (let i = 0; i < 100; i += 1) failedLogin(40);

    // Act
    const took = await throttledAnswer();

    // Assess
    expect(timer.sleeps).toEqual([40 - 10 - SLACK]);
    expect(took).toBe(40 - SLACK);
  });

  it('follows the typical duration as it changes: from 40 ms to 80 ms', async () => {
    // Prepare
    const { failedLogin, throttledAnswer } = setup();
    for (let i = 0; i < 100; i += 1) failedLogin(40);
    for (let i = 0; i < 100; i += 1) failedLogin(80);

    // Act
    const took = await throttledAnswer();

    // Assess
    expect(took).toBe(80 - SLACK);
  });

  it('is not moved by a few slow failed logins among many typical ones (the median)', async () => {
    // Prepare
    const { failedLogin, throttledAnswer } = setup();
    for (let i = 0; i < 60; i += 1) failedLogin(i % 10 === 0 ? 1000 : 40);

    // Act
    const took = await throttledAnswer();

    // Assess
    expect(took).toBe(40 - SLACK);
  });

  it('waits the initial 20 ms before any failed login has been seen', async () => {
    // Prepare
    const { throttledAnswer } = setup();

    // Act
    const took = await throttledAnswer();

    // Assess
    expect(took).toBe(20 - SLACK);
  });

  it('does not sleep when the answer is already later than a typical failed login', async () => {
    // Prepare
    const { clock, timer, pacer, failedLogin } = setup();
    for (let i = 0; i < 10; i += 1) failedLogin(40);
    const startedAt = clock.now().getTime();
    clock.advanceMs(55);

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps).toEqual([]);
  });
});
