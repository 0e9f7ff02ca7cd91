// The engine releases its mem0ai vector store: on close, and when the state database then fails to open. Seen on
// mem0ai's real "memory" store (SQLite through better-sqlite3): its database file must not stay open in this process.
import { mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCredentials } from '../../../src/memory/config/credentials.js';
import { openEngine } from '../../../src/memory/engine.js';
import { JobQueue } from '../../../src/jobs/queue/queue.js';
import { stateCollectionName } from '../../../src/memory/config/vector-store-config.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { credentials, DIMS, plainModel } from '../../integration/app.js';
import { freePort } from '../../helpers/ports.js';

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

describe.skipIf(process.platform !== 'linux')('external vector store lifecycle', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mem0-vs-life-'));
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
    const port = await freePort();
    const settings = parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: dbPath, embedding_model_dims: DIMS, collection_name: 'life' },
      state_store: { provider: 'pgvector', config: { host: '127.0.0.1', port, user: 'nobody', password: 'pw-SECRET-9999' } },
    }));
    await expect(openEngine(settings)).rejects.toThrow();
    expect(openHandles(dbPath)).toBe(0);
  });

  it('collections whose names differ only in characters SQL names cannot hold never share state tables (nor a queue)', async () => {
    const state = path.join(dir, 'shared-state');
    const open = (collection: string) => openEngine(parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: path.join(dir, `${collection}.db`), embedding_model_dims: DIMS, collection_name: collection },
      state_store: { provider: 'pglite', config: { path: state } },
    })));
    const a = await open('team-a');
    const b = await open('team_a');
    try {
      expect(a.store.tables.history).not.toBe(b.store.tables.history);
      // A job accepted for one collection is never claimed by the other collection's workers.
      const queueA = new JobQueue(a.store.database.pool, a.store.tables);
      const queueB = new JobQueue(b.store.database.pool, b.store.tables);
      await queueA.enqueue({ id: 'c0ffee00-1111-4222-8333-444455556666', kind: 'delete_all', scope: { userId: 'u' }, payload: { userId: 'u' } }, 100);
      expect(await queueB.claim(10)).toEqual([]);
      expect((await queueA.claim(10)).map((j) => j.id)).toEqual(['c0ffee00-1111-4222-8333-444455556666']);
    } finally {
      await a.close();
      await b.close();
    }
    // Plain names keep their readable form; long or lossy ones get a hash and stay valid SQL names.
    expect(stateCollectionName('chroma', 'mem0')).toBe('mem0_chroma');
    const long = 'customer_support_assistant_memories_production_eu_west';
    const names = [stateCollectionName('chroma', `${long}_1`), stateCollectionName('chroma', `${long}_2`), stateCollectionName('chroma', '1abc'), stateCollectionName('chroma', 'c_1abc'), stateCollectionName('s3-vectors', 'mem0'), stateCollectionName('s3_vectors', 'mem0')];
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/);
  });

  it('two stores with the same collection name in one state database never share state tables (nor a queue)', async () => {
    const state = path.join(dir, 'shared-state-2');
    const open = (file: string) => openEngine(parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: path.join(dir, file), embedding_model_dims: DIMS },
      state_store: { provider: 'pglite', config: { path: state } },
    })));
    const a = await open('tenant-a.db');
    const b = await open('tenant-b.db');
    const again = await open('tenant-a.db');
    try {
      expect(a.store.tables.history).not.toBe(b.store.tables.history);
      expect(again.store.tables.history).toBe(a.store.tables.history);
      const queueA = new JobQueue(a.store.database.pool, a.store.tables);
      const queueB = new JobQueue(b.store.database.pool, b.store.tables);
      await queueB.enqueue({ id: 'c0ffee00-7777-4222-8333-444455556666', kind: 'delete_all', scope: { userId: 'u' }, payload: { userId: 'u' } }, 100);
      expect(await queueA.claim(10)).toEqual([]);
      expect((await queueB.claim(10)).map((j) => j.id)).toEqual(['c0ffee00-7777-4222-8333-444455556666']);
    } finally {
      await Promise.all([a.close(), b.close(), again.close()]);
    }
    // Where the store is decides; how to log in does not.
    expect(stateCollectionName('chroma', 'mem0', { host: 'chroma-a', port: 8000 })).not.toBe(stateCollectionName('chroma', 'mem0', { host: 'chroma-b', port: 8000 }));
    expect(stateCollectionName('qdrant', 'mem0', { url: 'http://q:6333', api_key: 'one' })).toBe(stateCollectionName('qdrant', 'mem0', { url: 'http://q:6333', api_key: 'two' }));
  });
});
