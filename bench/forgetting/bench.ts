/**
 * Forgetting benchmark (issue 6), in process over the real store: embedded PGlite always, PostgreSQL too with
 * BENCH_DATABASE_URL / TEST_DATABASE_URL.
 * - search latency as the caller of MemoryService.search sees it, with and without the access log (same store, same
 *   queries; blocks of searches alternate between the two so machine load hits both alike). Sequential, and on
 *   PostgreSQL also with 8 callers at once. The embedder is an instant in-process hash, so the figures are the
 *   service + store's own time, and the difference is what logging costs the caller (target: < 1 ms at p95).
 * - forget_memories (ForgettingService, as the tool calls it) over one user's 100 000 memories: dry run, real run,
 *   and a second real run with nothing left to delete.
 * Settings: BENCH_MEMORIES (5000 for search), BENCH_SEARCHES (per mode, 1000), BENCH_FORGET_N (100000),
 * BENCH_BACKEND=pglite|postgres (default: both when a URL is set), BENCH_WRITE=0 to only print.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { AccessLogger } from '../../src/memory/access-log.js';
import { openForgetting } from '../../src/jobs/forgetting/index.js';
import { extractionCleaners } from '../../src/jobs/extraction/service.js';
import { accessLogTable } from '../../src/store/access-log.js';
import type { Providers } from '../../src/memory/providers.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
// @ts-expect-error plain ESM helper without types (bench/report.mjs)
import { writeSection } from '../report.mjs';

const env = process.env;
const MEMORIES = Number(env.BENCH_MEMORIES ?? 5000);
const SEARCHES = Number(env.BENCH_SEARCHES ?? 1000);
const BLOCK = 100;
const FORGET_N = Number(env.BENCH_FORGET_N ?? 100_000);
const DIMS = 128;
const url = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || '';
const say = (text: string) => process.stderr.write(`[bench:forgetting] ${text}\n`);
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const WORDS = ['apple', 'river', 'garden', 'piano', 'coffee', 'mountain', 'letter', 'window', 'bicycle', 'winter', 'doctor',
  'planet', 'candle', 'market', 'silver', 'forest', 'engine', 'harbor', 'violin', 'basket', 'thunder', 'pencil', 'island',
  'rocket', 'lantern', 'meadow', 'castle', 'puzzle', 'feather', 'compass', 'orchard', 'glacier'];

/** Memory i's text: six words picked by i (deterministic), so queries made of four of them find it well. */
function text(i: number): string {
  const h = createHash('md5').update(String(i)).digest();
  return Array.from({ length: 6 }, (_, k) => WORDS[h[k]! % WORDS.length]).join(' ') + ` note ${i}`;
}

function embed(t: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  for (const w of t.toLowerCase().split(/\W+/).filter(Boolean)) {
    const d = createHash('md5').update(w).digest();
    v[d.readUInt16BE(0) % DIMS]! += d[2]! & 1 ? 1 : -1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

function providers(): Providers {
  return {
    llm: { provider: 'bench', completeJson: () => Promise.reject(new Error('no LLM in this benchmark')) },
    embedder: { provider: 'bench', dims: DIMS, embed: async (t) => embed(t), embedBatch: async (ts) => ts.map(embed) },
    reranker: null,
  };
}

function stats(samples: number[]): { n: number; p50: number; p95: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { n: s.length, p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

interface Backend { name: 'pglite' | 'postgres'; open(): Promise<Store>; drop(): Promise<void> }

function backend(name: 'pglite' | 'postgres'): Backend {
  if (name === 'pglite') {
    return {
      name,
      open: () => openStore(parseStoreConfig({ provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } })),
      drop: () => Promise.resolve(),
    };
  }
  const schemas: string[] = [];
  return {
    name,
    open: () => {
      const schema = `bench_forget_${randomBytes(4).toString('hex')}`;
      schemas.push(schema);
      return openStore(parseStoreConfig({ provider: 'pgvector', config: { connection_string: url, schema_name: schema, embedding_model_dims: DIMS, maxconn: 10 } }));
    },
    async drop() {
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      try {
        for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

async function searchLatency(b: Backend): Promise<Record<string, unknown>> {
  const store = await b.open();
  try {
    const scope = { userId: 'searcher' };
    say(`${b.name}: seeding ${MEMORIES} memories for search`);
    for (let i = 0; i < MEMORIES; i += 500) {
      const items = Array.from({ length: Math.min(500, MEMORIES - i) }, (_, k) => ({ data: text(i + k), vector: embed(text(i + k)) }));
      await store.memories.insert(scope, items);
    }
    await store.database.pool.query(`ANALYZE ${store.tables.memories}`);
    let writes = 0;
    const counting = {
      query: ((...args: Parameters<pg.Pool['query']>) => {
        writes += 1;
        return (store.database.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
      }) as pg.Pool['query'],
    };
    const accessLog = new AccessLogger(counting, store.tables);
    const off = new MemoryService({ repository: storeRepository(store), providers: providers() });
    const on = new MemoryService({ repository: storeRepository({ ...store, accessLog }), providers: providers() });
    const query = (n: number) => text((n * 7919) % MEMORIES).split(' ').slice(0, 4).join(' ');
    const result: Record<string, unknown> = {};
    for (const callers of b.name === 'postgres' ? [1, 8] : [1]) {
      const samples = { off: [] as number[], on: [] as number[] };
      let recorded = 0;
      let counted = 0;
      writes = 0;
      for (let n = 0; n < 20; n++) await off.search({ userId: scope.userId, query: query(n) }); // warm-up
      for (let block = 0; block < (2 * SEARCHES) / BLOCK; block++) {
        const mode = block % 2 === 0 ? 'on' : 'off';
        const service = mode === 'on' ? on : off;
        let next = block * BLOCK;
        const end = next + BLOCK;
        await Promise.all(Array.from({ length: callers }, async () => {
          while (next < end) {
            const n = next++;
            const t0 = performance.now();
            const hits = (await service.search({ userId: scope.userId, query: query(n), topK: 5 })).results;
            samples[mode].push(performance.now() - t0);
            if (mode === 'on') {
              recorded += 1;
              counted += hits.filter((h) => h.score >= 0.5).length;
            }
            // Untimed: a server gets its next request through I/O, so timers (the log's linger) run between calls.
            await new Promise((resolve) => setImmediate(resolve));
          }
        }));
        // Untimed: the next block starts with no write of this one still pending.
        await accessLog.flush();
      }
      const rows = await store.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${accessLogTable(store.tables)}`);
      const a = stats(samples.on);
      const z = stats(samples.off);
      result[`callers${callers}`] = {
        off: z, on: a, addedP50: round(a.p50 - z.p50), addedP95: round(a.p95 - z.p95),
        searchesLogged: recorded, countedRecallsPerSearch: round(counted / Math.max(1, recorded), 2), logRows: rows.rows[0]?.n,
        searchesPerWrite: round(recorded / Math.max(1, writes), 2),
      };
      say(`${b.name} ${callers} caller(s): off p50 ${z.p50} p95 ${z.p95} | on p50 ${a.p50} p95 ${a.p95} ms`);
    }
    // What record() itself costs on the caller's turn (it only copies the ids and schedules the write).
    const hits = (await on.search({ userId: scope.userId, query: query(1), topK: 5 })).results;
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) accessLog.record(scope, hits);
    result.recordCallUs = round(((performance.now() - t0) / 10_000) * 1000, 2);
    await accessLog.close();
    return result;
  } finally {
    await store.close();
  }
}

async function forgetAtScale(b: Backend): Promise<Record<string, unknown>> {
  const store = await b.open();
  try {
    const pool = store.database.pool;
    const t = store.tables;
    const now = new Date();
    say(`${b.name}: seeding ${FORGET_N} memories for forgetting`);
    // Memory i is (i % 200) days old; every tenth was recalled a day ago (quality 0.9, 6 recalls). With s0 = 30, a
    // memory never recalled is forgotten from 89.9 days: 99 of every 200 go.
    await pool.query(
      `INSERT INTO ${t.memories} (id, payload, created_at, updated_at)
       SELECT gen_random_uuid(), jsonb_build_object(
                'data', 'memory number ' || i || ' with a sentence of text to carry', 'user_id', 'big', 'n', i,
                'created_at', to_char(($2::timestamptz - (i % 200) * interval '1 day') AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
              $2::timestamptz - (i % 200) * interval '1 day', $2::timestamptz
         FROM generate_series(1, $1::int) AS i`,
      [FORGET_N, now.toISOString()],
    );
    await pool.query(
      `INSERT INTO ${accessLogTable(t)} (memory_id, user_id, recall_count, quality_ema, last_recalled_at)
       SELECT id, 'big', 6, 0.9, $1::timestamptz - interval '1 day' FROM ${t.memories}
        WHERE user_id = 'big' AND (payload->>'n')::int % 10 = 0`,
      [now.toISOString()],
    );
    await pool.query(`ANALYZE ${t.memories}`);
    await pool.query(`ANALYZE ${accessLogTable(t)}`);
    const service = openForgetting({ store }, { memoryTtlDays: null, checkpointTtlDays: 90 }, extractionCleaners(store.database.pool, store.tables));
    const signal = new AbortController().signal;
    const run = async (dryRun: boolean) => {
      const t0 = performance.now();
      const r = await service.forget({ userId: 'big', dryRun }, signal);
      return { ms: Math.round(performance.now() - t0), deleted: r.deleted_count, retained: r.retained_count, listed: r.would_delete?.length };
    };
    const dry = await run(true);
    say(`${b.name}: dry run ${JSON.stringify(dry)}`);
    const real = await run(false);
    say(`${b.name}: real run ${JSON.stringify(real)}`);
    const again = await run(false);
    say(`${b.name}: second real run ${JSON.stringify(again)}`);
    return { memories: FORGET_N, dry, real, again };
  } finally {
    await store.close();
  }
}

function markdown(results: Record<string, Record<string, unknown>>, meta: Record<string, unknown>): string {
  const lines: string[] = [];
  lines.push('## Forgetting (issue 6)', '');
  lines.push(`Measured ${String(meta.date)} with \`npm run bench:forgetting\` (bench/forgetting): ${String(meta.cpus)} CPUs (${String(meta.cpu)}), ` +
    `${String(meta.memGb)} GB, Node ${String(meta.node)}, load average at start ${String(meta.load)} (the machine was shared with other work).`, '');
  lines.push(`### Search latency with and without access logging`, '');
  lines.push(`MemoryService.search as its caller sees it (await to result), top_k 5 over ${MEMORIES} memories of one user (${DIMS}-dim vectors, ` +
    `instant in-process embedder, no reranker), ${SEARCHES} searches per mode in alternating blocks of ${BLOCK}. ` +
    'Logging on: every search hands its results to the AccessLogger (write-behind: 20 ms linger, 2 writers, searches queued meanwhile ' +
    'folded into one upsert per scope). The event loop turns once between a caller\'s searches (untimed), as it does between ' +
    'requests in the plugin. Target: logging adds under 1 ms at p95.', '');
  lines.push('| database | callers | logging | p50 ms | p95 ms | p99 ms | added p50 ms | added p95 ms | counted recalls per search | searches per upsert |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const search = r.search as Record<string, unknown>;
    for (const key of Object.keys(search).filter((k) => k.startsWith('callers'))) {
      const c = search[key] as {
        off: ReturnType<typeof stats>; on: ReturnType<typeof stats>; addedP50: number; addedP95: number; countedRecallsPerSearch: number; searchesPerWrite: number;
      };
      const callers = key.slice('callers'.length);
      lines.push(`| ${name} | ${callers} | off | ${c.off.p50} | ${c.off.p95} | ${c.off.p99} | | | | |`);
      lines.push(`| ${name} | ${callers} | on | ${c.on.p50} | ${c.on.p95} | ${c.on.p99} | ${c.addedP50} | ${c.addedP95} | ${c.countedRecallsPerSearch} | ${c.searchesPerWrite} |`);
    }
  }
  const us = Object.entries(results).map(([name, r]) => `${name} ${String((r.search as Record<string, unknown>).recordCallUs)} µs`).join(', ');
  lines.push('', `\`record()\` itself on the caller's turn (copy the ids, schedule the write): ${us} per call.`, '');
  lines.push(`### forget_memories over ${FORGET_N.toLocaleString('en-US')} memories of one user`, '');
  lines.push('ForgettingService.forget as the tool calls it (pages of 1 000 in id order, re-check under lock, deletes with history rows ' +
    'and log rows, orphan sweep, extraction checkpoint/lease/task cleaners). Ages 0–199 days, every tenth memory recalled a day ago: ' +
    '49.5 % are forgotten.', '');
  lines.push('| database | run | seconds | deleted | retained |');
  lines.push('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const f = r.forget as Record<string, { ms: number; deleted: number; retained: number }>;
    for (const [label, key] of [['dry run', 'dry'], ['real run', 'real'], ['second real run (nothing to delete)', 'again']] as const) {
      lines.push(`| ${name} | ${label} | ${(f[key]!.ms / 1000).toFixed(1)} | ${f[key]!.deleted} | ${f[key]!.retained} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const names: Array<'pglite' | 'postgres'> = env.BENCH_BACKEND === 'pglite' || !url ? ['pglite'] : env.BENCH_BACKEND === 'postgres' ? ['postgres'] : ['pglite', 'postgres'];
  const meta = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', cpus: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, load: os.loadavg().map((x) => x.toFixed(1)).join(' / '),
  };
  const results: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    const b = backend(name);
    try {
      results[name === 'pglite' ? 'PGlite' : 'PostgreSQL'] = { search: await searchLatency(b), forget: await forgetAtScale(b) };
    } finally {
      await b.drop();
    }
  }
  process.stdout.write(`${JSON.stringify({ meta, results }, null, 2)}\n`);
  const md = markdown(results, meta);
  process.stdout.write(`\n${md}\n`);
  if (env.BENCH_WRITE !== '0') writeSection(env.BENCH_REPO_ROOT ?? process.cwd(), 'forgetting', md);
}

await main();
