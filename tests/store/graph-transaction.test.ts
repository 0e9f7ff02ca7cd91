/**
 * The PostgreSQL graph commits with the memories: MemoryStore.apply writes graph changes in its own transaction (the
 * relations' provenance is the memories just written), and inside a queued job's completion transaction a failure
 * after the write leaves neither memories nor relations behind.
 */
import { describe, expect, it } from 'vitest';
import { storeOnClient } from '../../src/store/index.js';
import { matchKey } from '../../src/memory/graph/names.js';
import { PostgresGraph } from '../../src/store/graph/postgres.js';
import type { GraphChanges } from '../../src/store/graph/types.js';
import { withTransaction } from '../../src/store/index.js';
import { backends, DIMS, freshStores, vec } from './backends.js';

function annaInShanghai(): GraphChanges {
  const entity = (name: string, i: number) => ({ name, matchKey: matchKey(name), type: '', embedding: vec(i) });
  return {
    entities: [entity('anna', 1), entity('shanghai', 2)],
    add: [{ source: 'anna', relationship: 'lives_in', destination: 'shanghai' }],
    delete: [],
  };
}

for (const backend of backends()) {
  describe(`graph in the memories' transaction (${backend.name})`, () => {
    const open = freshStores(backend);

    it('writes memories and relations together; the relations remember the memories they came with', async () => {
      const store = await open();
      const graph = new PostgresGraph(store.database.pool, store.tables, DIMS);
      const scope = { userId: 'u1' };
      const applied = await store.memories.apply(scope, {
        inserts: [{ data: 'Anna lives in Shanghai', vector: vec(1) }],
        graph: { scope: { userId: 'u1', agentId: '' }, changes: annaInShanghai() },
      });
      expect(applied.graph).toEqual({ added: [{ source: 'anna', relationship: 'lives_in', destination: 'shanghai' }], deleted: [] });
      expect(await graph.listRelations(scope, 10)).toHaveLength(1);
      // The provenance is the inserted memory: forgetting it removes the relation.
      expect(await graph.forgetMemories(scope, [applied.inserted[0]!.id])).toHaveLength(1);
      expect(await graph.listRelations(scope, 10)).toEqual([]);
    }, 120_000); // the first test of the file also starts the embedded database

    it('a graph change that fails takes the memories with it', async () => {
      const store = await open();
      const bad = annaInShanghai();
      bad.entities[0]!.embedding = [1, 2, 3]; // wrong size: the graph write refuses
      await expect(store.memories.apply({ userId: 'u2' }, {
        inserts: [{ data: 'Anna lives in Shanghai', vector: vec(1) }],
        graph: { scope: { userId: 'u2', agentId: '' }, changes: bad },
      })).rejects.toThrow(/3 dimensions/);
      expect(await store.memories.list({ userId: 'u2' }, { limit: 10 })).toEqual([]);
    });

    it("inside a queued job's completion transaction, both roll back when the job fails after the write", async () => {
      const store = await open();
      const graph = new PostgresGraph(store.database.pool, store.tables, DIMS);
      await expect(withTransaction(store.database.pool, async (client) => {
        await storeOnClient(store, client).apply({ userId: 'u3' }, {
          inserts: [{ data: 'Anna lives in Shanghai', vector: vec(1) }],
          graph: { scope: { userId: 'u3', agentId: '' }, changes: annaInShanghai() },
        });
        throw new Error('the job lost its lease');
      })).rejects.toThrow('lease');
      expect(await store.memories.list({ userId: 'u3' }, { limit: 10 })).toEqual([]);
      expect(await graph.listRelations({ userId: 'u3' }, 10)).toEqual([]);
    });
  });
}
