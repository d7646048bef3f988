// retry: the one loop that tries a compare-and-swap or a clean-up again, within a named number of turns.
import { describe, expect, it } from 'vitest';
import { AGAIN, ATTEMPTS, retry } from './retry';

/** Work that answers from a script, one entry per turn: a value, AGAIN, or an error to throw. */
const scripted = <T>(script: ReadonlyArray<T | typeof AGAIN | Error>) => {
  const turns: number[] = [];
  const work = async (turn: number): Promise<T | typeof AGAIN> => {
    turns.push(turn);
    const next = script[turns.length - 1];
    if (next instanceof Error) throw next;
    if (next === undefined) throw new Error(`the script has no turn ${turns.length}`);
    return next;
  };
  return { work, turns };
};

const recordPauses = () => {
  const pauses: number[] = [];
  return { pauses, pause: async (turn: number) => void pauses.push(turn) };
};

describe('retry', () => {
  it('returns the first value at once, without pausing', async () => {
    // Prepare
    const { work, turns } = scripted(['done']);
    const { pauses, pause } = recordPauses();

    // Act
    const result = await retry({ attempts: 3, pause }, work);

    // Assess
    expect(result).toBe('done');
    expect(turns).toEqual([1]);
    expect(pauses).toEqual([]);
  });

  it('tries again while the work asks for another turn, and returns the value it then gives', async () => {
    // Prepare
    const { work, turns } = scripted([AGAIN, AGAIN, 'third time']);

    // Act
    const result = await retry({ attempts: 5 }, work);

    // Assess
    expect(result).toBe('third time');
    expect(turns).toEqual([1, 2, 3]);
  });

  it('returns falsy values as values: false, 0 and an empty string end the loop', async () => {
    // Act
    const results = [
      await retry({ attempts: 3 }, scripted([false]).work),
      await retry({ attempts: 3 }, scripted([0]).work),
      await retry({ attempts: 3 }, scripted(['']).work),
    ];

    // Assess
    expect(results).toEqual([false, 0, '']);
  });

  it('gives up after `attempts` turns and answers undefined when every turn asked for another', async () => {
    // Prepare
    const { work, turns } = scripted<string>([AGAIN, AGAIN, AGAIN, 'never reached']);

    // Act
    const result = await retry({ attempts: 3 }, work);

    // Assess
    expect(result).toBeUndefined();
    expect(turns).toEqual([1, 2, 3]);
  });

  it('pauses between turns with the number of the turn just done, and not after the last', async () => {
    // Prepare
    const { work } = scripted<string>([AGAIN, AGAIN, AGAIN]);
    const { pauses, pause } = recordPauses();

    // Act
    await retry({ attempts: 3, pause }, work);

    // Assess
    expect(pauses).toEqual([1, 2]);
  });

  it('waits for each pause before the next turn', async () => {
    // Prepare
    const events: string[] = [];
    const pause = async (turn: number) => {
      events.push(`pause ${turn} starts`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`pause ${turn} ends`);
    };

    // Act
    await retry({ attempts: 2, pause }, async (turn) => {
      events.push(`turn ${turn}`);
      return turn === 2 ? 'ok' : AGAIN;
    });

    // Assess
    expect(events).toEqual(['turn 1', 'pause 1 starts', 'pause 1 ends', 'turn 2']);
  });

  it('throws at once what the work throws when errors are not to be retried', async () => {
    // Prepare
    const failure = new Error('store down');
    const { work, turns } = scripted<string>([failure, 'not reached']);

    // Act
    const attempt = retry({ attempts: 3 }, work);

    // Assess
    await expect(attempt).rejects.toBe(failure);
    expect(turns).toEqual([1]);
  });

  it('retries an error retryOnError accepts, and returns the value of a later turn', async () => {
    // Prepare
    const { work, turns } = scripted([new Error('blip'), 'ok']);
    const seen: unknown[] = [];

    // Act
    const result = await retry({ attempts: 3, retryOnError: (error) => (seen.push(error), true) }, work);

    // Assess
    expect(result).toBe('ok');
    expect(turns).toEqual([1, 2]);
    expect(seen).toHaveLength(1);
  });

  it('throws the last turn\'s error when every turn failed with a retried error', async () => {
    // Prepare
    const last = new Error('third failure');
    const { work, turns } = scripted<string>([new Error('first'), new Error('second'), last]);
    const { pauses, pause } = recordPauses();

    // Act
    const attempt = retry({ attempts: 3, pause, retryOnError: () => true }, work);

    // Assess
    await expect(attempt).rejects.toBe(last);
    expect(turns).toEqual([1, 2, 3]);
    expect(pauses).toEqual([1, 2]);
  });

  it('throws at once an error retryOnError refuses, even with turns left', async () => {
    // Prepare
    const fatal = new Error('not a blip');
    const { work, turns } = scripted<string>([new Error('blip'), fatal, 'not reached']);

    // Act
    const attempt = retry({ attempts: 5, retryOnError: (error) => error instanceof Error && error.message === 'blip' }, work);

    // Assess
    await expect(attempt).rejects.toBe(fatal);
    expect(turns).toEqual([1, 2]);
  });

  it('mixes the two: an error retried, then another turn asked for, then a value', async () => {
    // Prepare
    const { work, turns } = scripted([new Error('blip'), AGAIN, 'ok']);

    // Act
    const result = await retry({ attempts: 3, retryOnError: () => true }, work);

    // Assess
    expect(result).toBe('ok');
    expect(turns).toEqual([1, 2, 3]);
  });

  it('names small, positive bounds for each kind of loop', () => {
    // Assess
    expect(ATTEMPTS).toEqual({ compareAndSwap: 5, cleanUp: 3 });
  });
});
