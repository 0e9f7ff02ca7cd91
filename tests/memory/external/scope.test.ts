// Property test of the scope over a mem0ai vector store (mem0ai's real "memory" store, SQLite, state in PGlite):
// many users and apps with look-alike memories, random searches and lists with filters that try to widen the scope,
// random delete-alls and forgetting runs. Invariants: a read returns only memories of its scope (and, without a
// filter, all of them up to the limit); a delete-all or a forgetting run removes exactly its scope's memories.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openForgetting } from '../../../src/jobs/forgetting/index.js';
import { extractionCleaners } from '../../../src/jobs/extraction/service.js';
import { parseCredentials } from '../../../src/memory/config/credentials.js';
import { openEngine } from '../../../src/memory/engine.js';
import type { Engine } from '../../../src/memory/engine.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { credentials, DIMS, plainModel } from '../../integration/app.js';
import { seededRandom } from '../../helpers/random.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string, options?: { readonly?: boolean }) => {
  prepare(sql: string): { all(): unknown[] };
  close(): void;
};

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const AGENTS = [null, 'app-a', 'app-b'];
const WORDS = ['coffee', 'tea', 'hiking', 'sailing', 'piano', 'cello', 'Lisbon', 'Oslo', 'cats', 'dogs'];

interface Owner { user: string; agent: string | null }

describe('scope over an external vector store (property test, many users)', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let engine: Engine;
  let dbPath: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mem0-vs-scope-'));
    dbPath = path.join(dir, 'vectors.db');
    engine = await openEngine(parseCredentials(credentials(fake, {
      provider: 'memory',
      config: { db_path: dbPath, embedding_model_dims: DIMS, collection_name: 'scope_prop' },
      state_store: { provider: 'pglite', config: { path: path.join(dir, 'state') } },
    })));
  });
  afterAll(() => engine?.close());

  /** Every memory in the vector store with its owner, read straight from SQLite. */
  const owners = (): Map<string, Owner> => {
    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT id, payload FROM vectors').all() as Array<{ id: string; payload: string }>;
      return new Map(rows.map((r) => {
        const p = JSON.parse(r.payload) as { user_id: string; agent_id?: string };
        return [r.id, { user: p.user_id, agent: p.agent_id ?? null }];
      }));
    } finally {
      db.close();
    }
  };
  const inScope = (o: Owner, user: string, agent: string | null): boolean => o.user === user && (agent === null || o.agent === agent);

  it('no read, delete-all or forgetting run crosses its scope', async () => {
    const random = seededRandom(20261121);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    // Look-alike memories: every user gets the same words, some with metadata naming other users and apps.
    for (let i = 0; i < 90; i++) {
      const user = pick(USERS);
      const agent = pick(AGENTS);
      const text = `${pick(WORDS)} and ${pick(WORDS)} number ${i}`;
      const metadata: Record<string, unknown> = { n: i, owner: pick(USERS), userId: pick(USERS), app: pick(AGENTS) ?? 'none' };
      await engine.service.add({ userId: user, agentId: agent, user: text, infer: false, metadata });
    }
    const widening = (me: string): unknown[] => {
      const other = pick(USERS.filter((u) => u !== me));
      return [
        undefined,
        { user_id: other },
        { user_id: { ne: me } },
        { user_id: { in: USERS } },
        { OR: [{ user_id: other }, { user_id: me }] },
        { OR: [{ agent_id: 'app-a' }, { agent_id: 'app-b' }, { n: { gte: 0 } }] },
        { NOT: { user_id: me } },
        { NOT: [{ user_id: me }, { n: { lt: 1000 } }] },
        { agent_id: pick(['app-a', 'app-b']) },
        { owner: other },
        { userId: other },
        { user_id: '*' },
        { AND: [{ user_id: { nin: [me] } }, { n: { gte: 0 } }] },
      ];
    };

    const cleared = { deleteAll: 0, forget: 0 };
    for (let round = 0; round < 60; round++) {
      const all = owners();
      const user = pick(USERS);
      const agent = pick(AGENTS);
      const expected = [...all].filter(([, o]) => inScope(o, user, agent)).map(([id]) => id).sort();
      for (const filters of widening(user)) {
        const hits = (await engine.service.search({ userId: user, agentId: agent, query: `${pick(WORDS)} ${pick(WORDS)}`, topK: 50, filters })).results;
        const listed = await engine.service.getAll({ userId: user, agentId: agent, limit: 500, filters });
        for (const id of [...hits.map((h) => h.id), ...listed.map((m) => m.id)]) {
          expect(all.get(id), `round ${round}: ${id} for ${user}/${agent} with ${JSON.stringify(filters)}`).toBeDefined();
          expect(inScope(all.get(id)!, user, agent), `round ${round}: ${id} of ${JSON.stringify(all.get(id))} reached ${user}/${agent} with ${JSON.stringify(filters)}`).toBe(true);
        }
        expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
        if (filters === undefined) {
          expect(listed.map((m) => m.id).sort()).toEqual(expected);
          // Memories sharing nothing with the query (score 0) are never returned, so the search may come back short.
          expect(hits.length).toBeLessThanOrEqual(Math.min(50, expected.length));
          expect(hits.every((h) => h.score > 0)).toBe(true);
        }
      }
      // Now and then a delete-all or a forgetting run (hard TTL: every memory is old enough) of a random scope.
      const roll = random();
      if (roll < 0.15 || (roll < 0.25 && expected.length > 0)) {
        const before = owners();
        if (roll < 0.15) {
          const result = await engine.service.deleteAll({ userId: user, agentId: agent });
          expect(result.deleted_count).toBe(expected.length);
          cleared.deleteAll += 1;
        } else {
          const forgetting = openForgetting(engine, { memoryTtlDays: 1e-9, checkpointTtlDays: 90 }, extractionCleaners(engine.store.database.pool, engine.store.tables));
          const result = await forgetting.forget({ userId: user, appId: agent ?? undefined, dryRun: false }, new AbortController().signal);
          expect(result.deleted_count).toBe(expected.length);
          cleared.forget += 1;
        }
        const after = owners();
        for (const [id, o] of before) expect(after.has(id), `${id} of ${JSON.stringify(o)} after clearing ${user}/${agent}`).toBe(!inScope(o, user, agent));
        // Refill the scope so later rounds still have something to find.
        for (let i = 0; i < 4; i++) {
          await engine.service.add({ userId: user, agentId: agent, user: `${pick(WORDS)} refill ${round}-${i}`, infer: false, metadata: { n: 1000 + i } });
        }
      }
    }
    expect(cleared.deleteAll).toBeGreaterThan(0);
    expect(cleared.forget).toBeGreaterThan(0);
  }, 120_000);
});
