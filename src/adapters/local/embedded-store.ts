// The embedded DynamoDB-compatible store for local runs: dynalite on a loopback port, in memory or on disk.
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export type EmbeddedStore = { endpoint: string; close(): Promise<void> };

/** `path`: a LevelDB folder that keeps the data, or undefined for memory only. */
export const startEmbeddedStore = async (path: string | undefined): Promise<EmbeddedStore> => {
  const server = dynalite({ ...(path === undefined ? {} : { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
};
