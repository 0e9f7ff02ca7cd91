/**
 * Where the node process spends its CPU on an `infer=false` add and on a search, ours beside the raw side, in ONE
 * process (run: `node bench/store/run.mjs cpu`). Absolute times move with the machine's load; read the ratios.
 *
 * 1. Parts (no database): µs per call of each piece of parameter building the add and the search do (vector text,
 *    payload JSON, md5, keyword tokens, query terms, statement text, pg's serialisation of the values, reading the
 *    rows back), in alternating blocks.
 * 2. Above the wire (no database): the whole of `MemoryService.add` / `.search` down to `pool.query`, over a pool
 *    whose `query` does what node-postgres does with the values (prepareValue) and answers rows of the right shape,
 *    against the raw side's share of the same work (prepareValue of the statement built beforehand).
 * 3. Through the database (needs TEST_DATABASE_URL or BENCH_DATABASE_URL): node CPU (process.cpuUsage) and wall time
 *    per call of ours and raw on a small collection (BENCH_CPU_SIZE memories, default 2 000) with BENCH_CPU_CALLERS
 *    concurrent callers (default `1,8`), alternating blocks. ours' pool settings (pipelining, query_timeout) were
 *    checked the same way and cost nothing measurable (notes in docs/benchmarks.md, issue 16).
 * Settings: BENCH_CPU_ROUNDS (blocks per side, default 6), BENCH_CPU_N (calls per block, default 300),
 * BENCH_CPU_SKIP: a comma list of `parts`, `whole`, `db` to leave out (e.g. to profile one part alone with
 * `node --cpu-prof bench/store/run.mjs cpu`).
 * @module
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import type { Providers } from '../../src/memory/providers.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
import type { Store } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memories.js';
import { newMemoryPayload, md5, pythonIso } from '../../src/store/payload.js';
import { addMemoriesWithHistory, searchMemories, TOKEN_SEPARATOR } from '../../src/store/queries.js';
import { vectorBinary, vectorLiteral } from '../../src/store/sql.js';
import type { SqlQuery } from '../../src/store/sql.js';
import { tablesFor } from '../../src/store/tables.js';
import { lexemeQuery, queryTerms, wordTokens } from '../../src/store/tokens.js';
import { Dataset } from './data.js';
import type { Memory, Query } from './data.js';
import { openOurs, openRaw, VectorBook } from './sides.js';

const env = process.env;
const DIMS = 384;
const ROUNDS = Number(env.BENCH_CPU_ROUNDS ?? 6);
const N = Number(env.BENCH_CPU_N ?? 300);
const SIZE = Number(env.BENCH_CPU_SIZE ?? 2000);
const CALLERS = (env.BENCH_CPU_CALLERS ?? '1,8').split(',').map(Number);
const USERS = 100;
const skip = new Set((env.BENCH_CPU_SKIP ?? '').split(','));
/** node-postgres' own value serialisation (what every query's values go through before the wire; not in its types). */
const prepareValue = (pg as unknown as { utils: { prepareValue: (v: unknown) => unknown } }).utils.prepareValue;

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const out: string[] = [];
const say = (line: string) => {
  out.push(line);
  process.stderr.write(`${line}\n`);
};

/** µs per call of each named function, run in alternating blocks of N calls; the median block per name. */
function parts(fns: Record<string, (i: number) => unknown>, rounds = ROUNDS, n = N): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  let sink = 0;
  for (let r = 0; r < rounds + 1; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const v = fn(r * n + i);
        if (v) sink++;
      }
      if (r > 0) times[name]!.push(((performance.now() - t0) * 1000) / n);
    }
  }
  if (sink < 0) say('unreachable');
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

function table(title: string, rows: Record<string, number>, base?: string): void {
  say(`\n${title} (load ${load()})`);
  for (const [k, v] of Object.entries(rows)) {
    const ratio = base && rows[base] ? `  ${(v / rows[base]!).toFixed(2)}×` : '';
    say(`  ${k.padEnd(48)} ${v.toFixed(1).padStart(8)} µs${ratio}`);
  }
}

const serialise = (q: SqlQuery) => q.values.map((v) => prepareValue(v));

/** A stand-in for pg.Pool above the wire: serialises the values as node-postgres does and answers canned rows. */
function fakePool(rowsFor: (q: SqlQuery) => unknown[]): pg.Pool {
  return {
    query: (q: SqlQuery) => {
      serialise(q);
      return Promise.resolve({ rows: rowsFor(q), rowCount: 1 });
    },
  } as unknown as pg.Pool;
}

function searchRows(ds: Dataset, n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => {
    const m = ds.memory(i);
    const now = new Date();
    return {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      payload: newMemoryPayload({ userId: m.userId }, { data: m.text, metadata: m.metadata }, pythonIso(now)),
      createdAt: now, updatedAt: now, distance: 0.3, keywordScore: 0.2, vectorScore: 0.7, score: 0.73,
      vectorHits: 20, scopeRows: null,
    };
  });
}

async function aboveTheWire(ds: Dataset): Promise<void> {
  const tables = tablesFor({ schemaName: 'public', collectionName: 'cpu_bench' });
  const memories = ds.memory.bind(ds);
  const book = new VectorBook(ds.memory(0).vector);
  const adds: Memory[] = Array.from({ length: 4000 }, (_, i) => memories(100_000 + i));
  const queries: Query[] = ds.queries(2000, 77);
  for (const m of adds) book.set(m.text, m.vector);
  for (const q of queries) book.set(q.text, q.vector);
  const hits = searchRows(ds, 5);
  const store = new MemoryStore(
    fakePool((q) => (q.text.includes('ORDER BY m.vector <=>') ? hits : [{ ...(hits[0] as object) }])),
    tables, DIMS, { iterativeScan: true },
  );
  const providers: Providers = {
    llm: { provider: 'none', completeJson: () => Promise.reject(new Error('no LLM')) },
    embedder: {
      provider: 'precomputed', dims: DIMS,
      embed: (text) => Promise.resolve(book.get(text)),
      embedBatch: (texts) => Promise.resolve(texts.map((t) => book.get(t))),
    },
    reranker: null,
  };
  const service = new MemoryService({ repository: storeRepository({ memories: store } as unknown as Store), providers });

  // The pieces, one at a time (the add's data; the search's query).
  const m = (i: number) => adds[i % adds.length]!;
  const qq = (i: number) => queries[i % queries.length]!;
  const stamp = pythonIso(new Date());
  const rawAdd = (i: number) => {
    const x = m(i);
    const now = new Date();
    const data = x.text;
    const id = crypto.randomUUID();
    return addMemoriesWithHistory(tables, { userId: x.userId }, [{
      id, vector: vectorLiteral(x.vector), payload: JSON.stringify(newMemoryPayload({ userId: x.userId }, { data, metadata: x.metadata, role: 'user' }, stamp)),
      createdAt: now.toISOString(), updatedAt: now.toISOString(), tokens: wordTokens(data).join(TOKEN_SEPARATOR),
    }], [{
      memoryId: id, oldMemory: null, newMemory: data, event: 'ADD', createdAt: now.toISOString(), updatedAt: now.toISOString(),
      isDeleted: false, actorId: null, role: 'user', userId: x.userId, agentId: null,
    }]);
  };
  const builtAdds = Array.from({ length: 1000 }, (_, i) => rawAdd(i));
  const addRows = builtAdds.map((b) => {
    const [ids, vectors, payloads, created, updated, tokens] = b.values as string[][];
    return {
      rows: ids!.map((id, j) => ({ id, vector: vectors![j]!, payload: payloads![j]!, createdAt: created![j]!, updatedAt: updated![j]!, tokens: tokens![j]! })),
      history: ids!.map((id, j) => ({ memoryId: id, oldMemory: null, newMemory: 'x', event: 'ADD' as const, createdAt: created![j]!, updatedAt: updated![j]!,
        isDeleted: false, actorId: null, role: 'user', userId: 'u', agentId: null })),
    };
  });
  const rawSearch = (i: number) => {
    const x = qq(i);
    return searchMemories(tables, { userId: x.userId }, {
      vector: vectorBinary(x.vector), terms: queryTerms(x.text, 64).map(lexemeQuery), topK: 5, candidates: 20,
    });
  };
  const builtSearches = Array.from({ length: 1000 }, (_, i) => rawSearch(i));
  const searchArgs = Array.from({ length: 1000 }, (_, i) => ({
    vector: vectorBinary(qq(i).vector), terms: queryTerms(qq(i).text, 64).map(lexemeQuery), topK: 5, candidates: 20,
  }));

  if (!skip.has('parts')) table('add: parts (µs per call, median block)', parts({
    'vector text: join(",") (before)': (i) => `[${m(i).vector.join(',')}]`,
    'vector text: vectorLiteral (store)': (i) => vectorLiteral(m(i).vector),
    'payload object + JSON.stringify': (i) => JSON.stringify(newMemoryPayload({ userId: m(i).userId }, { data: m(i).text, metadata: m(i).metadata, role: 'user' }, stamp)),
    'md5 of the text': (i) => md5(m(i).text),
    'keyword tokens (wordTokens)': (i) => wordTokens(m(i).text).join(TOKEN_SEPARATOR),
    'randomUUID + 4 × toISOString': () => [crypto.randomUUID(), new Date().toISOString(), new Date().toISOString(), pythonIso(new Date())],
    'the whole statement (as raw builds it)': (i) => rawAdd(i),
    'its text alone (rows built before)': (i) => addMemoriesWithHistory(tables, { userId: m(i).userId }, addRows[i % addRows.length]!.rows, addRows[i % addRows.length]!.history),
    'sha1 of its text (the prepared name)': (i) => createHash('sha1').update(builtAdds[i % builtAdds.length]!.text).digest('hex'),
    'pg prepareValue of its values': (i) => serialise(builtAdds[i % builtAdds.length]!),
  }));
  if (!skip.has('parts')) table('search: parts (µs per call, median block)', parts({
    'vector binary: vectorBinary (store)': (i) => vectorBinary(qq(i).vector),
    'vector text (what searches sent before)': (i) => vectorLiteral(qq(i).vector),
    'query terms (queryTerms + lexemeQuery)': (i) => queryTerms(qq(i).text, 64).map(lexemeQuery),
    'the whole statement (as raw builds it)': (i) => rawSearch(i),
    'its text alone (vector and terms built before)': (i) => searchMemories(tables, { userId: qq(i).userId }, searchArgs[i % searchArgs.length]!),
    'pg prepareValue of its values': (i) => serialise(builtSearches[i % builtSearches.length]!),
  }));

  // Whole calls down to pool.query (async, so timed per block of awaited calls).
  if (skip.has('whole')) return;
  const whole: Record<string, (i: number) => Promise<unknown>> = {
    'ours: MemoryService.add': (i) => service.add({ userId: m(i).userId, messages: [{ role: 'user', content: m(i).text }], infer: false, metadata: m(i).metadata }),
    'raw: prepareValue of a built add': (i) => Promise.resolve(serialise(builtAdds[i % builtAdds.length]!)),
    'ours: MemoryService.search': (i) => service.search({ userId: qq(i).userId, query: qq(i).text, topK: 5 }),
    'raw: prepareValue of a built search': (i) => Promise.resolve(serialise(builtSearches[i % builtSearches.length]!)),
  };
  const blocks = new Blocks();
  let k = 0;
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const [name, fn] of Object.entries(whole)) {
      const x = await perCall(N, 1, () => fn(k++));
      if (r > 0) blocks.add(name, x);
    }
  }
  say(`\nabove the wire: whole call down to pool.query, µs per call, median block (load ${load()})`);
  for (const name of Object.keys(whole)) {
    const x = blocks.get(name);
    say(`  ${name.padEnd(48)} node CPU ${x.cpu.toFixed(1).padStart(7)}; wall ${x.wall.toFixed(1).padStart(7)}`);
  }
}

/** Node CPU (process.cpuUsage) and wall time per call, µs, of `calls` calls of `fn` made by `callers` concurrent callers. */
async function perCall(calls: number, callers: number, fn: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  let left = calls;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: callers }, async () => {
    while (left-- > 0) await fn();
  }));
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / calls, wall: ((performance.now() - t0) * 1000) / calls };
}

/** Collects per-block figures under a name; the median block is reported. */
class Blocks {
  readonly cpu = new Map<string, number[]>();
  readonly wall = new Map<string, number[]>();

  add(name: string, x: { cpu: number; wall: number }): void {
    this.cpu.set(name, [...(this.cpu.get(name) ?? []), x.cpu]);
    this.wall.set(name, [...(this.wall.get(name) ?? []), x.wall]);
  }

  get(name: string): { cpu: number; wall: number } {
    return { cpu: median(this.cpu.get(name) ?? []), wall: median(this.wall.get(name) ?? []) };
  }
}

async function throughTheDatabase(ds: Dataset, url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const db = 'mem0_cpu_bench';
  await admin.query(`DROP DATABASE IF EXISTS ${db}`);
  await admin.query(`CREATE DATABASE ${db}`);
  const u = new URL(url);
  u.pathname = `/${db}`;
  const book = new VectorBook(ds.memory(0).vector);
  const ours = await openOurs({ kind: 'postgres', url: u.toString() }, 'cpu_ours', DIMS, book);
  const raw = openRaw(u.toString(), ours);
  try {
    await ours.load(Array.from({ length: SIZE }, (_, i) => ds.memory(i)));
    await ours.store.database.pool.query(`ANALYZE ${ours.table}`);
    const perSide = (ROUNDS + 1) * N * CALLERS.length;
    const adds = Array.from({ length: perSide * 2 }, (_, i) => ds.memory(SIZE + i));
    const queries = ds.queries(perSide * 2, 91);
    for (const m of adds) book.set(m.text, m.vector);
    for (const q of queries) book.set(q.text, q.vector);
    raw.prepare?.(queries, adds);
    const blocks = new Blocks();
    let a = 0;
    let s = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      for (const callers of CALLERS) {
        const order = r % 2 === 0 ? [ours, raw] : [raw, ours];
        const second = order[1];
        for (const side of order) {
          // BENCH_CPU_SAME_VECTORS=1: the second side of a round adds the vectors the first just added (as bench.ts does).
          if (env.BENCH_CPU_SAME_VECTORS === '1' && side === second) a -= N;
          const add = await perCall(N, callers, () => { const m = adds[a++]!; return side.add(m.userId, m.text, m.metadata); });
          const search = await perCall(N, callers, () => side.search(queries[s++]!));
          if (r === 0) continue;
          blocks.add(`${side.name} add ${callers}`, add);
          blocks.add(`${side.name} search ${callers}`, search);
        }
      }
    }
    say(`\nthrough the database, ${SIZE} memories, ${ROUNDS} blocks of ${N} calls per side, alternating (load ${load()})`);
    say('  call     callers  node CPU µs/call: ours  raw  ours − raw   wall µs/call: ours  raw  ours ÷ raw');
    for (const what of ['add', 'search']) {
      for (const callers of CALLERS) {
        const o = blocks.get(`ours ${what} ${callers}`);
        const w = blocks.get(`raw ${what} ${callers}`);
        say(`  ${what.padEnd(8)} ${String(callers).padStart(7)}  ${o.cpu.toFixed(0).padStart(22)} ${w.cpu.toFixed(0).padStart(4)} ${(o.cpu - w.cpu).toFixed(0).padStart(10)}` +
          `   ${o.wall.toFixed(0).padStart(18)} ${w.wall.toFixed(0).padStart(4)} ${(o.wall / w.wall).toFixed(2).padStart(9)}×`);
      }
    }
  } finally {
    await raw.close();
    await ours.close();
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.end();
  }
}

export async function main(): Promise<string> {
  say(`bench:store cpu — node ${process.version}, ${os.cpus().length} CPUs, load at start ${load()}`);
  const ds = new Dataset(DIMS, USERS);
  await aboveTheWire(ds);
  const url = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || '';
  if (url && !skip.has('db')) await throughTheDatabase(ds, url);
  say(`\nload at end ${load()}`);
  return '';
}
