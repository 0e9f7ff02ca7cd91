/**
 * The systems under test behind one small interface, each fed the same precomputed vectors.
 *
 * - ours: `MemoryService` (src/memory/service.ts) over the store (src/store) through `storeRepository`, with a fake
 *   embedder that looks the text up in {@link VectorBook}. Bulk loading uses the store's batch insert.
 * - mem0ai: `Memory` from `mem0ai/oss`, its `pgvector` vector store on the same database (another table), and its
 *   documented `langchain` embedder provider given an object with `embedQuery`/`embedDocuments` that look the text up
 *   in the same {@link VectorBook}. The LLM is configured (the constructor needs one) but never called: every add is
 *   `infer: false`.
 * - raw: no system at all — the SQL statement ours sends for each call (the same builders in src/store/queries.ts;
 *   a search is the small-scope statement, prepared as ours prepares it, which answers the bench's users of 10–100
 *   memories each; parameters built before the clock starts), run directly through a `pg.Pool` of the same size
 *   and session settings on ours' tables: what the database itself needs for that work (the physical limit of this
 *   design).
 * @module
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { loadMem0 } from '../../src/memory/mem0.js';
import type { Providers } from '../../src/memory/providers.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { newMemoryPayload, pythonIso } from '../../src/store/payload.js';
import { applySessionSettings } from '../../src/store/pool.js';
import { addMemoriesWithHistory, SMALL_SCOPE_ROWS, TOKEN_SEPARATOR } from '../../src/store/queries.js';
import { vectorBinary, vectorLiteral } from '../../src/store/sql.js';
import type { SqlQuery } from '../../src/store/sql.js';
import { lexemeQuery, queryTerms, wordTokens } from '../../src/store/tokens.js';
import type { Memory, Query } from './data.js';

export const TOP_K = 5;

/** text → vector. Both fake embedders read it; a text never seen gets a fixed vector (and is counted). */
export class VectorBook {
  private readonly byText = new Map<string, number[]>();
  misses = 0;

  constructor(private readonly fallback: number[]) {}

  set(text: string, vector: number[]): void {
    this.byText.set(text, vector);
  }

  delete(text: string): void {
    this.byText.delete(text);
  }

  get(text: string): number[] {
    const v = this.byText.get(text);
    if (v) return v;
    this.misses += 1;
    return this.fallback;
  }
}

export interface Side {
  readonly name: string;
  /** The table holding this side's memories, quoted, for ANALYZE and counts. */
  readonly table: string;
  /** The SQL expression of a memory's user id in that table. */
  readonly userColumn: string;
  /** How `load` writes, for the report. */
  readonly loadMethod: string;
  /** The HNSW index on `vector`, quoted: dropped before a bulk load and built again after it (same definition). */
  readonly hnswIndex: string;
  load(rows: Memory[]): Promise<void>;
  /** One search through the public API; returns the number of hits. */
  search(query: Query, filters?: Record<string, string>): Promise<number>;
  /** One `infer=false` add through the public API. */
  add(userId: string, text: string, metadata: Record<string, string>): Promise<void>;
  /** Work done before the clock starts (the raw side builds its statements there). */
  prepare?(queries: readonly Query[], adds: readonly Memory[]): void;
  close(): Promise<void>;
}

export interface Backend {
  kind: 'postgres' | 'pglite';
  /** Connection string of the benchmark database (postgres only). */
  url?: string;
}

async function pool<T>(items: readonly T[], workers: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await fn(item);
      }
    }),
  );
}

export async function openOurs(backend: Backend, collection: string, dims: number, book: VectorBook): Promise<Side & { store: Store }> {
  const block =
    backend.kind === 'postgres'
      ? { provider: 'pgvector', config: { connection_string: backend.url, collection_name: collection, embedding_model_dims: dims } }
      : { provider: 'pglite', config: { path: 'memory://', collection_name: collection, embedding_model_dims: dims } };
  const store = await openStore(parseStoreConfig(block));
  const providers: Providers = {
    llm: {
      provider: 'none',
      completeJson: () => Promise.reject(new Error('the benchmark never calls the LLM')),
    },
    embedder: {
      provider: 'precomputed',
      dims,
      embed: (text) => Promise.resolve(book.get(text)),
      embedBatch: (texts) => Promise.resolve(texts.map((t) => book.get(t))),
    },
    reranker: null,
  };
  const service = new MemoryService({ repository: storeRepository(store), providers });
  return {
    name: 'ours',
    store,
    table: store.tables.memories,
    hnswIndex: `"public"."${collection}_hnsw_idx"`,
    userColumn: 'user_id',
    loadMethod: 'store batch insert (`memories.insert`, one call per user, 4 in parallel)',
    async load(rows) {
      const byUser = new Map<string, Memory[]>();
      for (const r of rows) {
        const list = byUser.get(r.userId) ?? [];
        list.push(r);
        byUser.set(r.userId, list);
      }
      await pool([...byUser.entries()], 4, async ([userId, list]) => {
        await store.memories.insert(
          { userId },
          list.map((m) => ({ data: m.text, vector: m.vector, metadata: m.metadata })),
        );
      });
    },
    async search(query, filters) {
      const hits = (await service.search({ userId: query.userId, query: query.text, topK: TOP_K, filters })).results;
      return hits.length;
    },
    async add(userId, text, metadata) {
      await service.add({ userId, messages: [{ role: 'user', content: text }], infer: false, metadata });
    },
    close: () => store.close(),
  };
}

/** The slice of mem0ai's `Memory` this benchmark uses (its own types are wider than we need). */
interface Mem0Memory {
  add(messages: string, config: { userId: string; infer: boolean; metadata?: Record<string, unknown> }): Promise<unknown>;
  search(query: string, config: { filters: Record<string, unknown>; topK: number; threshold: number }): Promise<{ results: unknown[] }>;
  vectorStore: {
    insert(vectors: number[][], ids: string[], payloads: Record<string, unknown>[]): Promise<void>;
    close(): Promise<void>;
  };
  _entityStore?: { close(): Promise<void> };
  db: { addHistory(...args: unknown[]): Promise<void>; close?(): void | Promise<void> };
  _ensureInitialized(): Promise<void>;
}

export async function openMem0(url: string, collection: string, dims: number, book: VectorBook, historyDir: string): Promise<Side> {
  const mem0 = await loadMem0();
  // mem0ai's documented way to bring an embedder of one's own: provider "langchain" with an Embeddings-like object.
  const embeddings = {
    embedQuery: (text: string) => Promise.resolve(book.get(text)),
    embedDocuments: (texts: string[]) => Promise.resolve(texts.map((t) => book.get(t))),
  };
  const Ctor = mem0.Memory as unknown as new (config: unknown) => Mem0Memory;
  const memory = new Ctor({
    version: 'v1.1',
    embedder: { provider: 'langchain', config: { model: embeddings, embeddingDims: dims } },
    vectorStore: {
      provider: 'pgvector',
      // hnsw: true gives mem0ai the same HNSW (vector_cosine_ops) index ours has; its own default is no index.
      config: { connectionString: url, collectionName: collection, embeddingModelDims: dims, dimension: dims, hnsw: true },
    },
    llm: { provider: 'openai', config: { apiKey: 'not-used-infer-is-false', model: 'gpt-4o-mini' } },
    // mem0ai's default history store (SQLite file), in the benchmark's temporary folder.
    historyStore: { provider: 'sqlite', config: { historyDbPath: path.join(historyDir, `${collection}-history.db`) } },
  });
  await memory._ensureInitialized();
  return {
    name: 'mem0ai',
    table: `"public"."${collection}"`,
    hnswIndex: `"public"."${collection}_hnsw_idx"`,
    userColumn: "payload->>'user_id'",
    loadMethod:
      "`Memory.add(text, { infer: false })` builds each row's payload with the vector store's `insert` and the " +
      "history writes held back, then the rows go through mem0ai's own `PGVector.insert` 1 000 at a time (no history rows)",
    async load(rows) {
      // Memory.add writes one row per call (and one SQLite history row, fsynced). To load 100 000 rows in reasonable
      // time, mem0ai's own code builds every payload (data, hash, textLemmatized, createdAt, metadata) while its
      // vector-store insert is held back and history is skipped; the held rows then go to its own PGVector.insert.
      const held: { vectors: number[][]; ids: string[]; payloads: Record<string, unknown>[] } = { vectors: [], ids: [], payloads: [] };
      const store = memory.vectorStore;
      const realInsert = store.insert.bind(store);
      const realHistory = memory.db.addHistory;
      store.insert = (vectors, ids, payloads) => {
        held.vectors.push(...vectors);
        held.ids.push(...ids);
        held.payloads.push(...payloads);
        return Promise.resolve();
      };
      memory.db.addHistory = () => Promise.resolve();
      try {
        await pool(rows, 8, async (m) => {
          book.set(m.text, m.vector);
          await memory.add(m.text, { userId: m.userId, infer: false, metadata: m.metadata });
          book.delete(m.text);
        });
      } finally {
        store.insert = realInsert;
        memory.db.addHistory = realHistory;
      }
      for (let i = 0; i < held.ids.length; i += 1000) {
        await realInsert(held.vectors.slice(i, i + 1000), held.ids.slice(i, i + 1000), held.payloads.slice(i, i + 1000));
      }
    },
    async search(query, filters) {
      // threshold 0: mem0ai otherwise drops hits under 0.1 similarity, which ours does not do; top_k counts compare.
      const res = await memory.search(query.text, { filters: { user_id: query.userId, ...filters }, topK: TOP_K, threshold: 0 });
      return res.results.length;
    },
    async add(userId, text, metadata) {
      await memory.add(text, { userId, infer: false, metadata });
    },
    async close() {
      await memory.vectorStore.close();
      await memory._entityStore?.close();
      await memory.db.close?.();
    },
  };
}

/**
 * The raw side over ours' tables: each search is the statement `MemoryStore.search` sends on its fast path, each add
 * the one `MemoryStore.apply` sends for an `infer=false` add, built in {@link Side.prepare} and run through a plain
 * pool (same size, same session settings, so the same plans). An add gets its own text (" (raw)" appended): the
 * texts ours added are in the same table and would be skipped as duplicates.
 */
/** The statement `MemoryStore.apply` sends for an `infer=false` add of `data` by `m`'s user: memory + ADD history row. */
export function rawAddStatement(tables: Store['tables'], m: Memory, data: string): SqlQuery {
  const id = randomUUID();
  const now = new Date();
  const payload = newMemoryPayload({ userId: m.userId }, { data, metadata: m.metadata, role: 'user' }, pythonIso(now));
  return addMemoriesWithHistory(tables, { userId: m.userId }, [{
    id, vector: vectorLiteral(m.vector), payload: JSON.stringify(payload), createdAt: now.toISOString(),
    updatedAt: now.toISOString(), tokens: wordTokens(data).join(TOKEN_SEPARATOR),
  }], [{
    memoryId: id, oldMemory: null, newMemory: data, event: 'ADD', createdAt: now.toISOString(), updatedAt: now.toISOString(),
    isDeleted: false, actorId: null, role: 'user', userId: m.userId, agentId: null,
  }]);
}

export function openRaw(url: string, ours: Side & { store: Store }): Side {
  const { tables } = ours.store;
  const max = (ours.store.database.pool as pg.Pool & { options: { max: number } }).options.max;
  const pool = new pg.Pool({ connectionString: url, max, onConnect: applySessionSettings } as pg.PoolConfig);
  const searches = new Map<string, SqlQuery>();
  const adds = new Map<string, SqlQuery>();
  const searchKey = (query: Query, filters?: Record<string, string>) => `${query.userId}\u0000${query.text}\u0000${JSON.stringify(filters ?? null)}`;
  const searchSql = (query: Query, filters?: Record<string, string>) =>
    ours.store.memories.smallScopeStatement({ userId: query.userId }, {
      vector: vectorBinary(query.vector), terms: queryTerms(query.text, 64).map(lexemeQuery), topK: TOP_K,
      candidates: Math.max(TOP_K * 2, 20), filters,
    });
  const addSql = (m: Memory): SqlQuery => rawAddStatement(tables, m, `${m.text} (raw)`);
  return {
    name: 'raw',
    table: ours.table,
    hnswIndex: ours.hnswIndex,
    userColumn: ours.userColumn,
    loadMethod: "none (reads and writes ours' table)",
    load: () => Promise.resolve(),
    prepare(queries, memories) {
      for (const q of queries) searches.set(searchKey(q), searchSql(q));
      for (const m of memories) adds.set(`${m.userId}\u0000${m.text}`, addSql(m));
    },
    async search(query, filters) {
      const sql = searches.get(searchKey(query, filters)) ?? searchSql(query, filters);
      const res = await pool.query<{ id: string | null; scopeSize: number }>(sql);
      // The bench's scopes are small; a bigger one would get only its count from this statement, not an answer.
      if ((res.rows[0]?.scopeSize ?? 0) > SMALL_SCOPE_ROWS) throw new Error(`raw search: user ${query.userId} is not a small scope`);
      return res.rows.filter((r) => r.id !== null).length;
    },
    async add(userId, text, metadata) {
      const sql = adds.get(`${userId}\u0000${text}`);
      if (!sql) throw new Error(`raw add of a text not prepared (${Object.keys(metadata).length} metadata keys)`);
      const res = await pool.query(sql);
      if (res.rowCount !== 1) throw new Error(`raw add wrote ${res.rowCount} rows (a duplicate?)`);
    },
    close: () => pool.end(),
  };
}
