import { describe, expect, it } from 'vitest';
import { createSealer } from './sealer';

const key = new TextEncoder().encode('a test key of at least thirty-two bytes!');

describe('createSealer', () => {
  const sealer = createSealer(key, 'test');

  it('opens what it sealed until it expires', () => {
    const sealed = sealer.seal({ uid: 'u1', v: 3 }, 2000);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealer.open(sealed, 1999)).toEqual({ uid: 'u1', v: 3 });
    expect(sealer.open(sealed, 2000)).toBeNull();
  });

  it('refuses a value of another purpose or key, or altered anywhere', () => {
    const sealed = sealer.seal({ uid: 'u1' }, 2000);
    expect(createSealer(key, 'other').open(sealed, 0)).toBeNull();
    expect(createSealer(new TextEncoder().encode('another key of at least thirty-two bytes'), 'test').open(sealed, 0)).toBeNull();
    const [body, tag] = sealed.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ uid: 'u2', exp: 2000 })).toString('base64url');
    expect(sealer.open(`${forged}.${tag}`, 0)).toBeNull();
    expect(sealer.open(`${body}.${tag.slice(0, -2)}`, 0)).toBeNull();
    expect(sealer.open(`${body}.${tag}.x`, 0)).toBeNull();
  });

  it('answers null for anything that is not a sealed value, never throws', () => {
    for (const text of ['', '.', 'a.b', 'not sealed', 'x'.repeat(5000), `${'a'.repeat(10)}.!!`]) {
      expect(sealer.open(text, 0)).toBeNull();
    }
    expect(sealer.open(42 as unknown as string, 0)).toBeNull();
  });
});
