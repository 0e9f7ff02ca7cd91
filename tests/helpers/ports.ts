/** Loopback ports for tests. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback port that was free a moment ago (taken, then released): a server can start on it, and until one does,
 * connecting to it is refused.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
