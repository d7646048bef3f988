// Real HTTP stand-ins for a login service's JWKS endpoint, for the verifier's tests: one that serves a key set the
// test changes (and counts its fetches), one that accepts connections and never answers, and a refused port.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export type TestKey = { kid: string; alg: 'EdDSA' | 'ES256'; privateKey: CryptoKey; publicJwk: JWK };

export const makeKey = async (kid: string, alg: 'EdDSA' | 'ES256'): Promise<TestKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
};

/** Claims as the login service issues them (src/adapters/jwt/jwt-tokens.ts), overridable one by one. */
export const serviceClaims = (overrides: JWTPayload = {}): JWTPayload => {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'ada',
    username: 'ada',
    name: 'Ada Lovelace',
    uid: 'uid-1',
    sid: 'sid-1',
    jti: crypto.randomUUID(),
    iss: 'https://login.example',
    aud: 'shop-api',
    iat: now,
    exp: now + 600,
    ...overrides,
  };
};

export const signToken = (key: TestKey, claims: JWTPayload = serviceClaims(), header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }).sign(key.privateKey);

const closeServer = (server: Server, sockets: Set<Socket>) =>
  new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });

const track = (server: Server) => {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
};

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

export type JwksServer = {
  url: string;
  /** What the next fetch gets: a key set, or a raw status and body. */
  publish(keys: readonly TestKey[]): void;
  answer(status: number, body: string): void;
  fetches(): number;
  close(): Promise<void>;
};

export const startJwksServer = async (keys: readonly TestKey[]): Promise<JwksServer> => {
  let response = { status: 200, body: '' };
  let count = 0;
  const publish = (next: readonly TestKey[]) => {
    response = { status: 200, body: JSON.stringify({ keys: next.map((k) => k.publicJwk) }) };
  };
  publish(keys);
  const server = createHttpServer((_request, res) => {
    count += 1;
    res.writeHead(response.status, { 'Content-Type': 'application/json' }).end(response.body);
  });
  const sockets = track(server);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish,
    answer: (status, body) => (response = { status, body }),
    fetches: () => count,
    close: () => closeServer(server, sockets),
  };
};

/** Accepts every connection and never answers: a JWKS endpoint behind a stuck proxy. */
export const startHangingServer = async () => {
  const server = createNetServer(() => {});
  const sockets = track(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, close: () => closeServer(server, sockets) };
};

/** A port nothing listens on: it was just free, and is closed again. */
export const refusedUrl = async (path = '/.well-known/jwks.json') => {
  const server = createNetServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
};
