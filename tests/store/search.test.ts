import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memories.js';
import { SESSION_SETTINGS_SQL } from '../../src/store/pool.js';
import { searchMemories, SMALL_SCOPE_ROWS } from '../../src/store/queries.js';
import { vectorBinary, vectorLiteral } from '../../src/store/sql.js';
import { lexemeQuery, queryTerms, tsqueryText, wordTokens } from '../../src/store/tokens.js';
import { backends, DIMS, freshStores, randomVector, vec } from './backends.js';

describe('wordTokens', () => {
  it('splits Chinese and Japanese into words, not one giant token', () => {
    expect(wordTokens('我喜欢吃寿司和拉面')).toEqual(['我', '喜欢', '吃', '寿司', '和', '拉面']);
    expect(wordTokens('東京タワーに行きました。ラーメンが好きです')).toContain('ラーメン');
    expect(wordTokens('東京タワーに行きました。ラーメンが好きです')).toContain('好き');
  });

  it('lower-cases, normalises width, drops punctuation and duplicates', () => {
    expect(wordTokens('Hello, HELLO world!! ＡＢＣ')).toEqual(['hello', 'world', 'abc']);
    expect(wordTokens('  ...  ')).toEqual([]);
  });

  it('quotes every lexeme in the tsquery text so operators in input stay literal', () => {
    expect(tsqueryText(["it's", 'a\\b', '!x'])).toBe("'it''s' | 'a\\\\b' | '!x'");
    expect(tsqueryText([])).toBeNull();
  });
});

describe.each(backends())('search on $name', (backend) => {
  const open = freshStores(backend);

  it('finds Chinese and Japanese memories by a word inside a sentence', async () => {
    const store = await open();
    const scope = { userId: 'cjk' };
    const texts = ['我喜欢吃寿司和拉面', '他每天早上跑步', '東京タワーに行きました', 'ラーメンが大好きです', 'I enjoy hiking on weekends'];
    await store.memories.insert(scope, texts.map((data, i) => ({ data, vector: vec(i) })));
    // The query vector points away from every memory, so only the keyword side can rank the right one first.
    const away = vec(7, 6, 0);
    const top = async (query: string) => (await store.memories.search(scope, { vector: away, query, topK: 1 }))[0]?.data;
    expect(await top('拉面')).toBe('我喜欢吃寿司和拉面');
    expect(await top('跑步')).toBe('他每天早上跑步');
    expect(await top('タワー に 行き')).toBe('東京タワーに行きました');
    expect(await top('ラーメン')).toBe('ラーメンが大好きです');
    expect(await top('HIKING')).toBe('I enjoy hiking on weekends');
    const hits = await store.memories.search(scope, { vector: away, query: '拉面', topK: 5 });
    expect(hits[0]?.keywordScore).toBeGreaterThan(0);
    expect(hits.filter((h) => h.keywordScore > 0)).toHaveLength(1);
  });

  it('reports vector scores as 0–1 similarities (max(0, 1 − cosine distance)) and orders by the fused score', async () => {
    const store = await open();
    const scope = { userId: 'scores' };
    const same = vec(0, 1, 0);
    const opposite = same.map((x) => -x);
    const orthogonal = vec(3, 4, 0);
    await store.memories.insert(scope, [
      { data: 'same', vector: same },
      { data: 'opposite', vector: opposite },
      { data: 'orthogonal', vector: orthogonal },
      ...Array.from({ length: 20 }, (_, i) => ({ data: `random ${i}`, vector: randomVector(i + 100) })),
    ]);
    const hits = await store.memories.search(scope, { vector: same, query: 'same opposite', topK: 23 });
    expect(hits).toHaveLength(23);
    const score = (d: string) => hits.find((h) => h.data === d)!.vectorScore;
    expect(score('same')).toBeCloseTo(1, 6);
    expect(score('orthogonal')).toBeCloseTo(0, 6);
    expect(score('opposite')).toBe(0);
    for (const h of hits) {
      expect(h.score).toBeGreaterThanOrEqual(h.vectorScore);
      expect(h.score).toBeLessThanOrEqual(1);
      expect(h.vectorScore).toBeCloseTo(Math.max(0, 1 - h.distance), 9);
    }
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
    // The keyword match lifts 'opposite' above the keyword-less memories that are as far from the query as it.
    expect(hits.find((h) => h.data === 'opposite')!.score).toBeGreaterThan(0);
    // The nearest memory with a keyword match too ranks first.
    expect(hits[0]?.data).toBe('same');
  });

  it('the small-scope statement answers exactly what the general one does: same rows, order and scores', async () => {
    const store = await open();
    const scope = { userId: 'twins', agentId: 'a' };
    const words = ['tea', 'coffee', 'hiking', 'rain', 'paris', '拉面', 'ラーメン'];
    await store.memories.insert(scope, Array.from({ length: 300 }, (_, i) => ({
      data: `${words[i % 7]} ${words[(i * 3) % 7]} note ${i}`, vector: randomVector(i), metadata: { odd: i % 2 === 1 },
    })));
    // Same user, other agent, and another user: never in the answers.
    await store.memories.insert({ userId: 'twins' }, Array.from({ length: 50 }, (_, i) => ({ data: `tea ${i}`, vector: randomVector(i) })));
    await store.memories.insert({ userId: 'other', agentId: 'a' }, Array.from({ length: 50 }, (_, i) => ({ data: `tea ${i}`, vector: randomVector(i) })));
    const pool = await backend.pool();
    const run = async (smallScope: boolean, query: string, topK: number, filters?: unknown) => {
      const sql = searchMemories(store.tables, scope, {
        vector: vectorBinary(randomVector(7000 + topK)), terms: queryTerms(query, 64).map(lexemeQuery),
        topK, candidates: Math.max(topK * 2, 20), filters, smallScope,
      });
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The general statement without the HNSW index, so both vector sides are exact and must agree to the bit.
        if (!smallScope) await client.query("SELECT set_config('enable_indexscan', 'off', true)");
        const rows = (await client.query(sql)).rows as { id: string | null; score: number; vectorScore: number; keywordScore: number; distance: number; payload: { user_id: string; agent_id: string } | null; scopeSize: number }[];
        await client.query('ROLLBACK');
        return rows;
      } finally {
        client.release();
      }
    };
    for (const [query, topK, filters] of [
      ['tea rain', 5, undefined], ['拉面 hiking paris', 20, undefined], ['', 10, undefined], ['coffee', 50, { odd: true }],
      ['nothing matches this', 3, undefined],
    ] as const) {
      const small = await run(true, query, topK, filters);
      const general = await run(false, query, topK, filters);
      expect(small).toHaveLength(topK);
      expect(small).toEqual(general);
      for (const h of small) expect([h.payload?.user_id, h.payload?.agent_id]).toEqual(['twins', 'a']);
      expect(small.some((h) => h.keywordScore > 0)).toBe(query !== '' && query !== 'nothing matches this');
      expect(small[0]?.scopeSize).toBe(300);
    }
    // A scope over the threshold: the small statement only counts it (no rows, its size past 500).
    await store.memories.insert(scope, Array.from({ length: 250 }, (_, i) => ({ data: `late ${i}`, vector: randomVector(5000 + i) })));
    const big = await run(true, 'tea', 5);
    expect(big).toHaveLength(1);
    expect(big[0]?.id).toBeNull();
    expect(big[0]?.scopeSize).toBe(SMALL_SCOPE_ROWS + 1);
  });

  it('a query vector sent in binary is its text form to the last float4 step, and finds its own memory', async () => {
    const store = await open();
    const pool = await backend.pool();
    // Values of every size a model returns, including ones with no exact float4 (0.1) and very small ones.
    const vectors = Array.from({ length: 40 }, (_, i) => randomVector(9000 + i).map((x, j) => x * 10 ** -(j % 6)));
    const extremes = [0.1, -0.2, 1e-30, 3e38, -3e38, 1, 0, 0.3333333333333333].slice(0, DIMS);
    let exact = 0;
    for (const v of [...vectors, extremes]) {
      const { rows } = await pool.query<{ binary: number[]; text: number[] }>(
        'SELECT $1::vector::real[] AS binary, $2::vector::real[] AS text', [vectorBinary(v), vectorLiteral(v)],
      );
      const { binary, text } = rows[0]!;
      // A double exactly halfway between two float4s (common in 32-bit random numbers like these) may round to
      // either neighbour: ties to even in the binary form, the side its decimal text lies on in the server's parse.
      for (const [j, b] of binary.entries()) expect(float4Steps(b, text[j]!), `${v[j]}: ${b} vs ${text[j]}`).toBeLessThanOrEqual(1);
      exact += binary.every((b, j) => b === text[j]) ? 1 : 0;
    }
    expect(exact).toBeGreaterThan(30);
    const scope = { userId: 'binary' };
    const ids = await store.memories.insert(scope, vectors.map((v, i) => ({ data: `vector ${i}`, vector: v })));
    for (const [i, v] of vectors.entries()) {
      const [top] = await store.memories.search(scope, { vector: v, topK: 1 });
      expect(top?.id).toBe(ids[i]?.id);
      expect(top?.vectorScore).toBeCloseTo(1, 6);
    }
    await expect(store.memories.search(scope, { vector: vec(0).map((x, j) => (j === 0 ? 1e39 : x)), topK: 1 }))
      .rejects.toThrow(/1e\+39 is out of range for a vector \(float4\)/);
    await expect(store.memories.search(scope, { vector: vec(0).map(() => Number.NaN), topK: 1 })).rejects.toThrow(/non-finite/);
  });

  it('returns nothing for top_k 0 and for a scope with no memories', async () => {
    const store = await open();
    expect(await store.memories.search({ userId: 'nobody' }, { vector: vec(0), query: 'x', topK: 5 })).toEqual([]);
    expect(await store.memories.search({ userId: 'nobody' }, { vector: vec(0), topK: 0 })).toEqual([]);
  });

  describe('top_k completeness on a big table with a selective filter', () => {
    const ROWS = 5000;
    let store: Store;
    const scope = { userId: 'big' };

    beforeAll(async () => {
      store = await open();
      for (let start = 0; start < ROWS; start += 1000) {
        await store.memories.insert(scope, Array.from({ length: 1000 }, (_, k) => {
          const i = start + k;
          // 1% of rows carry the rare tag; they are spread evenly over the vector space.
          return { data: `row ${i}`, vector: randomVector(i), metadata: { bucket: i % 100 === 7 ? 'rare' : 'common', i } };
        }));
      }
      await (await backend.pool()).query(`ANALYZE ${store.tables.memories}`);
    }, 240_000);

    it('the HNSW index alone (ef_search 40, no iterative scan) comes back short: the case being guarded', async () => {
      const pool = await backend.pool();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query("SELECT set_config('enable_seqscan', 'off', true)");
        await client.query("SELECT set_config('hnsw.ef_search', '40', true)");
        // The store's connections scan iteratively (pool.ts sets it per connection; PGlite shares its one client).
        await client.query("SELECT set_config('hnsw.iterative_scan', 'off', true)");
        const q = `[${randomVector(999_999).join(',')}]`;
        const res = await client.query(
          `SELECT id FROM ${store.tables.memories} WHERE payload->>'bucket' = 'rare' ORDER BY vector <=> $1::vector LIMIT 10`,
          [q],
        );
        expect(res.rows.length).toBeLessThan(10);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    });

    it.each([10, 25, 50])('returns top_k=%i when at least that many rows match', async (topK) => {
      for (const seed of [999_999, 424_242, 7]) {
        const started = performance.now();
        const hits = await store.memories.search(scope, {
          vector: randomVector(seed), query: 'row', topK, filters: { bucket: 'rare' },
        });
        const ms = performance.now() - started;
        expect(hits).toHaveLength(topK);
        for (const h of hits) expect(h.metadata.bucket).toBe('rare');
        expect(new Set(hits.map((h) => h.id)).size).toBe(topK);
        if (seed === 7) console.info(`[${backend.name}] top_k=${topK} rare-filter search: ${ms.toFixed(1)} ms`, store.memories.lastSearch);
      }
    });

    it('falls back to an exact scan when the index cannot scan iteratively (pgvector < 0.8)', async () => {
      const pool = await backend.pool();
      const client = await pool.connect();
      try {
        // Such a server has no iterative scan on its connections (PGlite's one client has it: turn it off here).
        await client.query("SELECT set_config('hnsw.iterative_scan', 'off', false)");
        const onClient = { query: client.query.bind(client), connect: async () => ({ query: client.query.bind(client), release: () => {} }) };
        const old = new MemoryStore(onClient as unknown as typeof pool, store.tables, DIMS, { iterativeScan: false });
        const hits = await old.search(scope, { vector: randomVector(999_999), topK: 10, filters: { bucket: 'rare' } });
        expect(hits).toHaveLength(10);
        expect(old.lastSearch?.exactFallback).toBe(true);
      } finally {
        await client.query(SESSION_SETTINGS_SQL);
        client.release();
      }
    });

    it('returns every match when fewer than top_k rows match', async () => {
      const hits = await store.memories.search(scope, {
        vector: randomVector(1), topK: 80, filters: { AND: [{ bucket: 'rare' }, { i: { lt: 2000 } }] },
      });
      expect(hits).toHaveLength(20);
    });

    it('vector order is exact among the returned hits without keywords', async () => {
      const q = randomVector(31337);
      const hits = await store.memories.search(scope, { vector: q, topK: 10, filters: { bucket: 'rare' } });
      const all = await store.memories.list(scope, { limit: 100, filters: { bucket: 'rare' } });
      const pool = await backend.pool();
      const exact = await pool.query<{ id: string }>(
        `SELECT id::text AS id FROM ${store.tables.memories} WHERE payload->>'bucket' = 'rare'
          ORDER BY (vector <=> $1::vector) + 0 LIMIT 10`,
        [`[${q.join(',')}]`],
      );
      expect(all).toHaveLength(50);
      expect(hits.map((h) => h.id)).toEqual(exact.rows.map((r) => r.id));
      expect(DIMS).toBe(8);
    });
  });
});

/** How many float4 values apart two float4s are (0 when equal). */
function float4Steps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  return Math.abs(bits[0]! - bits[1]!);
}
