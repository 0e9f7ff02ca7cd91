// The engine releases its mem0ai vector store: on close, and when the state database then fails to open. Seen on
// mem0ai's real "memory" store (SQLite through better-sqlite3): its database file must not stay open in this process.
import { mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials } from '../../src/memory/credentials.js';
import { openEngine } from '../../src/memory/engine.js';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { credentials, DIMS, plainModel } from '../integration/app.js';

/** Open file descriptors of this process that point at `file`. */
function openHandles(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n += 1;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(process.platform !== 'linux')('external vector store lifecycle', () => {
  let fake: FakeOpenAI;
  let dir: string;

  beforeAll(async () => {
    fake = await FakeOpenAI.start({ dims: DIMS });
    plainModel(fake);
    dir = mkdtempSync(path.join(tmpdir(), 'mem0-vs-life-'));
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('closing the engine closes the vector store', async () => {
    const dbPath = path.join(dir, 'closed.db');
    const engine = await openEngine(parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: dbPath, embedding_model_dims: DIMS, collection_name: 'life' },
      state_store: { provider: 'pglite', config: { path: 'memory://' } },
    })));
    await engine.service.add({ userId: 'u', user: 'I keep a lighthouse', infer: false });
    expect(openHandles(dbPath)).toBeGreaterThan(0);
    await engine.close();
    expect(openHandles(dbPath)).toBe(0);
  });

  it('a state database that fails to open closes the vector store opened for it', async () => {
    const dbPath = path.join(dir, 'state-fails.db');
    const port = await deadPort();
    const settings = parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: dbPath, embedding_model_dims: DIMS, collection_name: 'life' },
      state_store: { provider: 'pgvector', config: { host: '127.0.0.1', port, user: 'nobody', password: 'pw-SECRET-9999' } },
    }));
    await expect(openEngine(settings)).rejects.toThrow();
    expect(openHandles(dbPath)).toBe(0);
  });
});
