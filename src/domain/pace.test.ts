// Pacing: a throttled answer waits until a typical failed login would have answered, learnt from real ones.
import { describe, expect, it } from 'vitest';
import { createClock, createTimer } from '../../test/fakes';
import { createPacer } from './pace';

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
  return { clock, timer, pacer, failedLogin };
};

describe('createPacer', () => {
  it('after failed logins of 40 ms, sleeps the remainder so a throttled answer also takes 40 ms', async () => {
    // Prepare
    const { clock, timer, pacer, failedLogin } = setup();
    for (let i = 0; i < 100; i += 1) failedLogin(40);
    const startedAt = clock.now().getTime();
    clock.advanceMs(10);

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps).toHaveLength(1);
    expect(timer.sleeps[0]).toBeCloseTo(30, 2);
    expect(clock.now().getTime() - startedAt).toBe(40);
  });

  it('follows the typical duration as it changes: from 40 ms to about 80 ms', async () => {
    // Prepare
    const { clock, timer, pacer, failedLogin } = setup();
    for (let i = 0; i < 100; i += 1) failedLogin(40);
    for (let i = 0; i < 100; i += 1) failedLogin(80);
    const startedAt = clock.now().getTime();

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps[0]).toBeCloseTo(80, 2);
  });

  it('moves only part of the way after one slow failed login, so a single outlier does not set the pace', async () => {
    // Prepare
    const { clock, timer, pacer, failedLogin } = setup(20);
    failedLogin(1020);
    const startedAt = clock.now().getTime();

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps[0]).toBeCloseTo(20 * 0.9 + 1020 * 0.1, 6);
  });

  it('waits the initial 20 ms before any failed login has been seen', async () => {
    // Prepare
    const { clock, timer, pacer } = setup();
    const startedAt = clock.now().getTime();
    clock.advanceMs(5);

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps).toEqual([15]);
  });

  it('does not sleep when the answer is already later than a typical failed login', async () => {
    // Prepare
    const { clock, timer, pacer, failedLogin } = setup();
    for (let i = 0; i < 100; i += 1) failedLogin(40);
    const startedAt = clock.now().getTime();
    clock.advanceMs(55);

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps).toEqual([]);
  });

  it('does not sleep when the answer is exactly as late as a typical failed login', async () => {
    // Prepare
    const { clock, timer, pacer } = setup(20);
    const startedAt = clock.now().getTime();
    clock.advanceMs(20);

    // Act
    await pacer.pad(startedAt);

    // Assess
    expect(timer.sleeps).toEqual([]);
  });
});
