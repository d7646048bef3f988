// Signing keys: HS256 publishes nothing, asymmetric sets publish only public halves, and a bad key set fails fast with KeyError.
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { asymmetricKeys, generatePrivateJwks, hmacKeys, KeyError, type PrivateJwks } from './signing-keys';

const twoKeys = async (): Promise<PrivateJwks> => {
  const ed = await generatePrivateJwks('EdDSA', 'ed-1');
  const es = await generatePrivateJwks('ES256', 'es-1');
  return { keys: [...ed.keys, ...es.keys] };
};

const onlyKey = (jwks: PrivateJwks): JWK => {
  const [key] = jwks.keys;
  if (key === undefined) throw new Error('no key');
  return key;
};

describe('hmacKeys', () => {
  it('publishes no key and names the secret by a kid that does not reveal it', async () => {
    // Prepare
    const secretText = 'a-shared-secret-of-at-least-32-bytes!';
    const secret = new TextEncoder().encode(secretText);

    // Act
    const keys = await hmacKeys(secret);

    // Assess
    expect(keys.publicJwks).toEqual({ keys: [] });
    expect(keys.alg).toBe('HS256');
    expect(keys.algorithms).toEqual(['HS256']);
    expect(keys.kid).toMatch(/^hs256-/);
    expect(keys.kid).not.toContain(secretText);
    expect(keys.kid).not.toContain(Buffer.from(secret).toString('base64url').slice(0, 8));
    expect(keys.kid).not.toContain(Buffer.from(secret).toString('hex').slice(0, 8));
  });

  it('gives different secrets different kids, and one secret the same kid', async () => {
    // Prepare
    const one = new TextEncoder().encode('s'.repeat(32));
    const other = new TextEncoder().encode('o'.repeat(32));

    // Act
    const first = await hmacKeys(one);
    const again = await hmacKeys(one);
    const second = await hmacKeys(other);

    // Assess
    expect(first.kid).toBe(again.kid);
    expect(first.kid).not.toBe(second.kid);
  });
});

describe('asymmetricKeys', () => {
  it.each(['EdDSA', 'ES256'] as const)('publishes the public half of a %s key, without d', async (alg) => {
    // Prepare
    const jwks = await generatePrivateJwks(alg, 'key-1');

    // Act
    const keys = await asymmetricKeys(jwks);

    // Assess
    expect(keys.alg).toBe(alg);
    expect(keys.kid).toBe('key-1');
    expect(keys.publicJwks.keys).toHaveLength(1);
    const [published] = keys.publicJwks.keys;
    expect(published).not.toHaveProperty('d');
    expect(published).toMatchObject({ kid: 'key-1', alg, use: 'sig', x: onlyKey(jwks).x });
  });

  it('publishes every key of the set with kid, alg and use sig, and never a private member', async () => {
    // Prepare
    const jwks = await twoKeys();

    // Act
    const keys = await asymmetricKeys(jwks);

    // Assess
    expect(keys.publicJwks.keys.map((key) => [key.kid, key.alg, key.use])).toEqual([
      ['ed-1', 'EdDSA', 'sig'],
      ['es-1', 'ES256', 'sig'],
    ]);
    for (const key of keys.publicJwks.keys) expect(key).not.toHaveProperty('d');
    for (const key of jwks.keys) expect(JSON.stringify(keys.publicJwks)).not.toContain(key.d as string);
    expect([...keys.algorithms].sort()).toEqual(['ES256', 'EdDSA']);
  });

  it('signs with the first key by default and with the key JWT_SIGNING_KID names otherwise', async () => {
    // Prepare
    const jwks = await twoKeys();

    // Act
    const byDefault = await asymmetricKeys(jwks);
    const named = await asymmetricKeys(jwks, 'es-1');

    // Assess
    expect([byDefault.kid, byDefault.alg]).toEqual(['ed-1', 'EdDSA']);
    expect([named.kid, named.alg]).toEqual(['es-1', 'ES256']);
  });

  it('generates a private key set whose kid defaults to the algorithm and a date', async () => {
    // Prepare
    const alg = 'ES256';

    // Act
    const jwks = await generatePrivateJwks(alg);

    // Assess
    expect(onlyKey(jwks)).toMatchObject({ alg, kid: expect.stringMatching(/^es256-\d{4}-\d{2}-\d{2}$/) });
    expect(typeof onlyKey(jwks).d).toBe('string');
  });

  it.each<[string, (jwks: PrivateJwks) => { jwks: PrivateJwks; signingKid?: string }]>([
    ['an empty set', () => ({ jwks: { keys: [] } })],
    ['a set that is not a list', () => ({ jwks: { keys: 'nope' as unknown as JWK[] } })],
    ['a key without kid', (jwks) => ({ jwks: { keys: jwks.keys.map(({ kid: _kid, ...key }) => key) } })],
    ['a key with an empty kid', (jwks) => ({ jwks: { keys: jwks.keys.map((key) => ({ ...key, kid: '' })) } })],
    ['duplicate kids', (jwks) => ({ jwks: { keys: jwks.keys.map((key) => ({ ...key, kid: 'same' })) } })],
    ['an unknown signing kid', (jwks) => ({ jwks, signingKid: 'not-there' })],
    ['a public-only key (no d)', (jwks) => ({ jwks: { keys: jwks.keys.map(({ d: _d, ...key }) => key) } })],
    ['an unsupported alg (RS256)', (jwks) => ({ jwks: { keys: jwks.keys.map((key) => ({ ...key, alg: 'RS256' })) } })],
    ['an unsupported alg (HS256)', (jwks) => ({ jwks: { keys: jwks.keys.map((key) => ({ ...key, alg: 'HS256' })) } })],
    ['a key without alg', (jwks) => ({ jwks: { keys: jwks.keys.map(({ alg: _alg, ...key }) => key) } })],
  ])('refuses %s with KeyError', async (_label, damage) => {
    // Prepare
    const { jwks, signingKid } = damage(await twoKeys());

    // Act
    const attempt = asymmetricKeys(jwks, signingKid);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(KeyError);
  });
});

describe('asymmetricKeys key types', () => {
  it.each([
    ['an Ed25519 key labelled ES256', 'EdDSA', 'ES256'],
    ['a P-256 key labelled EdDSA', 'ES256', 'EdDSA'],
  ] as const)('refuses %s with KeyError', async (_label, generatedAs, labelledAs) => {
    // Prepare
    const [key] = (await generatePrivateJwks(generatedAs, 'mislabelled')).keys;

    // Act
    const attempt = asymmetricKeys({ keys: [{ ...key, alg: labelledAs }] });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(KeyError);
  });
});
