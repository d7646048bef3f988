// Property: whatever body a client throws at any endpoint, the answer is a JSON 2xx/4xx, never a 5xx.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { onDynalite, type TestApp } from '../../../test/app-harness';

let t: TestApp;

onDynalite(async (_store, app) => {
  t = app;
  await t.post('/register', { name: 'Existing', username: 'existing', password: 'amber fields twelve' });
});

const FIELDS = ['name', 'username', 'password', 'token', 'user'] as const;

// Values of every JSON type, with strings that stress normalization and encoding.
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', 'existing', 'EXISTING', '\ud800', '\udfff\ud800', '\u0000', '\ufdfa'.repeat(300), 'a'.repeat(300)),
);
const anyValue = fc.oneof(nastyString, fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));

// Nearly valid bodies, so that the deeper paths (hashing, store writes, token checks) run too.
const nearlyValid = fc
  .record({
    name: fc.oneof(fc.constant('Neo'), anyValue),
    username: fc.oneof(fc.stringMatching(/^[a-z0-9._@+-]{3,12}$/), fc.constant('existing'), anyValue),
    password: fc.oneof(fc.constant('amber fields twelve'), fc.constant('long enough password'), anyValue),
    token: fc.oneof(fc.constant('eyJhbGciOiJub25lIn0.eyJzdWIiOiJleGlzdGluZyJ9.'), anyValue),
  })
  .map((o) => JSON.stringify(o));

const body = fc.oneof(
  nearlyValid,
  // Objects with the fields the endpoints read, holding values of any type.
  fc.record(Object.fromEntries(FIELDS.map((f) => [f, anyValue])), { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ user: fc.record({ username: anyValue }, { requiredKeys: [] }), token: anyValue }, { requiredKeys: [] }).map(
    (o) => JSON.stringify(o),
  ),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', '{', '{"a":', 'null', '[]', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'),
);

const request = fc.record({
  path: fc.constantFrom('/register', '/login', '/verify', '/health', '/nope'),
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH'),
  body,
  authorization: fc.option(fc.oneof(fc.string({ maxLength: 60 }), fc.constant('Bearer '), fc.constant('Bearer a.b.c'))),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
});

describe('malformed input', () => {
  it('never answers 5xx and always answers errors as JSON with a code', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { 'Content-Type': r.contentType };
        if (r.authorization !== null) headers.Authorization = r.authorization;
        const hasBody = r.method !== 'GET';

        const response = await t.app.request(r.path, { method: r.method, headers, ...(hasBody ? { body: r.body } : {}) });

        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          const payload = (await response.json()) as { code?: unknown; message?: unknown };
          expect(typeof payload.code).toBe('string');
          expect(typeof payload.message).toBe('string');
        }
      }),
      { numRuns: 1500 },
    );
  }, 120_000);
});
