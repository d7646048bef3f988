// Brute-force throttling and the password policy over HTTP, with the real adapters on dynalite.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, json, onDynalite, type TestApp } from '../../../test/app-harness';
import type { TestStore } from '../../../test/stores';

let store: TestStore;
let t: TestApp;

onDynalite((started, app) => {
  store = started;
  t = app;
});

const guess = (app: TestApp, username: string, password = 'not the password', peer = '198.51.100.1') =>
  app.post('/login', { username, password }, { 'X-Test-Peer': peer });

describe('per-name throttling', () => {
  it('lets at most 5 of 30 parallel wrong guesses for one name be checked; the rest wait with 429', async () => {
    await t.post('/register', { name: 'Target', username: 'target', password: 'a long passphrase here' });

    // Time stands still: on a loaded machine the burst may take longer than the first wait (1 s) or a lease.
    t.clock.freeze();
    const answers = await Promise.all(Array.from({ length: 30 }, () => guess(t, 'target'))).finally(() => t.clock.run());

    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(25);
    const throttled = answers.find((a) => a.status === 429);
    expect(throttled?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await json(throttled as Response)).toMatchObject({ code: 'too_many_attempts' });
  });

  it('throttles an unknown name exactly like a known one', async () => {
    await t.post('/register', { name: 'Known', username: 'knownone', password: 'a long passphrase here' });
    // Time stands still: on a loaded machine these twelve requests may take longer than the first wait (1 s).
    t.clock.freeze();
    for (let i = 0; i < 5; i += 1) await guess(t, 'known-victim-x');
    for (let i = 0; i < 5; i += 1) await guess(t, 'knownone');

    const unknown = await guess(t, 'known-victim-x');
    const known = await guess(t, 'knownone');
    t.clock.run();

    expect([unknown.status, known.status]).toEqual([429, 429]);
    expect(unknown.headers.get('retry-after')).toBe(known.headers.get('retry-after'));
    expect(await json(unknown)).toEqual(await json(known));
  });

  it('does not check the password while waiting, then lets one attempt through and doubles the wait', async () => {
    await t.post('/register', { name: 'Patient', username: 'patient', password: 'a long passphrase here' });
    for (let i = 0; i < 5; i += 1) await guess(t, 'patient');

    const rightButWaiting = await guess(t, 'patient', 'a long passphrase here');
    t.clock.advance(1.1);
    const wrongAfterWait = await guess(t, 'patient');
    const nextWait = await guess(t, 'patient');
    t.clock.advance(2.1);
    const rightAfterWait = await guess(t, 'patient', 'a long passphrase here');
    const afterReset = await guess(t, 'patient');
    t.clock.advance(-3.2);

    expect(rightButWaiting.status).toBe(429);
    expect(rightButWaiting.headers.get('retry-after')).toBe('1');
    expect(wrongAfterWait.status).toBe(401);
    expect(nextWait.headers.get('retry-after')).toBe('2');
    expect(rightAfterWait.status).toBe(200);
    expect(afterReset.status).toBe(401);
  });
});

describe('per-client ceilings', () => {
  let limited: TestApp;

  beforeAll(async () => {
    limited = await createTestApp(store.endpoint, { THROTTLE_IP_FAILURES: '3', THROTTLE_IP_REGISTRATIONS: '2' });
  });

  afterAll(() => limited?.client.destroy());

  it('stops a client after its failed logins across names, and only that client', async () => {
    for (const name of ['spray1', 'spray2', 'spray3']) await guess(limited, name, 'Winter2026!', '203.0.113.7');

    const sameClient = await guess(limited, 'spray4', 'Winter2026!', '203.0.113.7');
    const otherClient = await guess(limited, 'spray4', 'Winter2026!', '203.0.113.8');

    expect(sameClient.status).toBe(429);
    expect(otherClient.status).toBe(401);
  });

  it('counts IPv6 clients per /64', async () => {
    for (const name of ['v6a', 'v6b', 'v6c']) await guess(limited, name, 'Winter2026!', '2001:db8:1:2::1');

    const sameNetwork = await guess(limited, 'v6d', 'Winter2026!', '2001:db8:1:2:ffff::9');

    expect(sameNetwork.status).toBe(429);
  });

  it('caps registrations per client, which also bounds probing names through 409', async () => {
    const signUp = (username: string) =>
      limited.post('/register', { name: 'N', username, password: 'a long passphrase here' }, { 'X-Test-Peer': '192.0.2.50' });

    const statuses = [(await signUp('reg1')).status, (await signUp('reg1')).status, (await signUp('reg3')).status];

    expect(statuses).toEqual([201, 409, 429]);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY says how many proxies append to it', async () => {
    const direct = await createTestApp(store.endpoint, { THROTTLE_IP_FAILURES: '1' });
    const proxied = await createTestApp(store.endpoint, { THROTTLE_IP_FAILURES: '1', TRUST_PROXY: '1' });
    const attempt = (app: TestApp, forwardedFor: string) =>
      app.post('/login', { username: 'xff', password: 'Winter2026!' }, { 'X-Test-Peer': '10.0.0.1', 'X-Forwarded-For': forwardedFor });

    await attempt(direct, '198.51.100.20');
    const spoofed = await attempt(direct, '198.51.100.21');
    await attempt(proxied, 'spoof, 198.51.100.30');
    const anotherClient = await attempt(proxied, 'spoof, 198.51.100.31');

    expect(spoofed.status).toBe(429);
    expect(anotherClient.status).toBe(401);
    direct.client.destroy();
    proxied.client.destroy();
  });
});

describe('password policy', () => {
  it.each([
    [{ name: 'Pat', username: 'pat1', password: 'password123' }, 'common_password'],
    [{ name: 'Pat', username: 'paddington', password: 'my-Paddington-pw' }, 'contains_username'],
    [{ name: 'Margaret Hamilton', username: 'mh1969', password: 'apollo-margaret-11' }, 'contains_name'],
  ])('refuses %j as weak_password with %s', async (body, reason) => {
    const response = await t.post('/register', body);

    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: 'weak_password', reasons: expect.arrayContaining([reason]) });
  });
});

describe('audit trail', () => {
  it('logs failures on unknown names as a digest, with the client address and request id', async () => {
    const audited = await createTestApp(store.endpoint, { LOG_LEVEL: 'INFO' });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });

    const response = await guess(audited, 'MyS3cretPassw0rd', 'oops', '192.0.2.99');
    spy.mockRestore();

    const event = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.event === 'login.failed');
    expect(event).toEqual({
      event: 'login.failed',
      username: expect.stringMatching(/^hmac:[\w-]{12}$/),
      ip: '192.0.2.99',
      requestId: response.headers.get('x-request-id'),
      at: expect.stringMatching(/^\d{4}-/),
    });
    expect(lines.join('\n')).not.toContain('mys3cretpassw0rd');
    audited.client.destroy();
  });
});
