/**
 * Durable write queue benchmark (issue 4), in process over the real store (PostgreSQL with BENCH_DATABASE_URL /
 * TEST_DATABASE_URL, else embedded PGlite) with an in-process fake LLM of fixed latency and a hashing embedder:
 * - accept latency of an async add (tool service → committed job row), p50/p95/p99: with no worker running; while
 *   `BENCH_CONCURRENCY` workers drain a backlog of `BENCH_BACKLOG` jobs (the overload limit lifted for the bench);
 *   and with unbounded workers, where every accepted job starts at once (~50 jobs running at 100 ms per LLM call);
 * - queue throughput: N queued adds (one user each, so one LLM call per job) drained by `max_concurrent` workers,
 *   against the ideal max_concurrent ÷ LLM latency;
 * - recovery after every backend of the pool is terminated (pg_terminate_backend; PostgreSQL only): time until a
 *   read succeeds again and until the workers complete jobs again, without any restart.
 * Run: `node bench/queue/run.mjs` (settings: BENCH_ACCEPTS, BENCH_BACKLOG, BENCH_JOBS, BENCH_LLM_MS, BENCH_CONCURRENCY,
 * BENCH_BACKEND=pglite).
 * @module
 */
import os from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { openMemoryJobs } from '../../src/jobs/queue/index.js';
import { memoryWrites } from '../../src/jobs/queue/writes.js';
import { memoryReads } from '../../src/memory/reads.js';
import type { ChatMessage, Providers } from '../../src/memory/providers.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';

const env = process.env;
const ACCEPTS = Number(env.BENCH_ACCEPTS ?? 2000);
const BACKLOG = Number(env.BENCH_BACKLOG ?? 3000);
const JOBS = Number(env.BENCH_JOBS ?? 2000);
const LLM_MS = Number(env.BENCH_LLM_MS ?? 100);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 20);
const DIMS = 16;
const url = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || '';
const onPostgres = url !== '' && env.BENCH_BACKEND !== 'pglite';
const say = (text: string) => process.stderr.write(`[bench:queue] ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function providers(): Providers {
  const embed = (text: string) => {
    const v = Array.from({ length: DIMS }, () => 0);
    for (const w of text.toLowerCase().split(/\W+/).filter(Boolean)) v[createHash('md5').update(w).digest()[0]! % DIMS]! += 1;
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  return {
    llm: {
      provider: 'bench',
      async completeJson(messages: ChatMessage[]) {
        await sleep(LLM_MS);
        const last = messages.at(-1)?.content ?? '';
        if (last.includes('New facts:\n')) {
          const facts = JSON.parse(last.split('New facts:\n')[1] ?? '[]') as string[];
          return JSON.stringify({ actions: facts.map((text) => ({ event: 'ADD', text })) });
        }
        return JSON.stringify({ facts: last.split('\n').filter((l) => l.startsWith('user: ')).map((l) => l.slice(6)) });
      },
    },
    embedder: { provider: 'bench', dims: DIMS, embed: async (t) => embed(t), embedBatch: async (ts) => ts.map(embed) },
    reranker: null,
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const schema = `bench_queue_${randomBytes(4).toString('hex')}`;
  const config = onPostgres
    ? parseStoreConfig({ provider: 'pgvector', config: { connection_string: url, schema_name: schema, embedding_model_dims: DIMS, maxconn: 10 } })
    : parseStoreConfig({ provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } });
  const store = await openStore(config);
  const admin = onPostgres ? new pg.Pool({ connectionString: url, max: 2 }) : null;
  const result: Record<string, unknown> = {
    backend: onPostgres ? 'postgres' : 'pglite', node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => round(x)),
    llmMs: LLM_MS, concurrency: CONCURRENCY,
  };
  try {
    const call = () => ({ timeoutSeconds: 15, signal: new AbortController().signal });
    const jobsTable = `${store.tables.schema}.${JSON.stringify(`${store.tables.collection}_jobs`)}`;
    const summary = (xs: number[]) => {
      xs.sort((a, b) => a - b);
      return { n: xs.length, p50: round(pct(xs, 50)), p95: round(pct(xs, 95)), p99: round(pct(xs, 99)), max: round(xs.at(-1)!) };
    };
    // 1. Accept latency with unbounded workers: every accepted job starts at once (each job one LLM call of LLM_MS).
    let jobs = openMemoryJobs({ store, providers: providers() }, { asyncMode: true, maxConcurrent: 100_000, worker: { pollIntervalMs: 200 } });
    const lat: number[] = [];
    for (let i = 0; i < ACCEPTS; i++) {
      const t0 = performance.now();
      await jobs.writes.add({ scope: { userId: `a${i}` }, user: `accept latency item ${i}` }, call());
      lat.push(performance.now() - t0);
    }
    result.accept = summary(lat);
    say(`accept latency ms (unbounded workers, every job starts at once): ${JSON.stringify(result.accept)}`);
    await jobs.close(60_000);
    // The same with no worker competing for the pool and the CPU: the accept path alone.
    const idle: number[] = [];
    for (let i = 0; i < ACCEPTS; i++) {
      const t1 = performance.now();
      await jobs.writes.add({ scope: { userId: `b${i}` }, user: `accept latency item ${i}` }, call());
      idle.push(performance.now() - t1);
    }
    result.acceptIdle = summary(idle);
    say(`accept latency ms (no workers): ${JSON.stringify(result.acceptIdle)}`);
    await store.database.pool.query(`DELETE FROM ${jobsTable}`);

    // The same while CONCURRENCY workers drain a backlog (as many as max_concurrent allows; the accepts go through a
    // second tool service without the overload limit, so the bench is not refused).
    for (let i = 0; i < BACKLOG; i++) {
      await jobs.queue.enqueue({ id: crypto.randomUUID(), kind: 'add', scope: { userId: `c${i}` }, payload: { userId: `c${i}`, user: `backlog item ${i}` } }, 1_000_000);
    }
    jobs = openMemoryJobs({ store, providers: providers() }, { asyncMode: true, maxConcurrent: CONCURRENCY, worker: { pollIntervalMs: 200 } });
    const unlimited = memoryWrites({
      store, providers: providers(), queue: jobs.queue, asyncMode: true, maxConcurrent: 1_000_000, onAccepted: () => jobs.worker.notify(),
    });
    await sleep(300);
    const busy: number[] = [];
    for (let i = 0; i < ACCEPTS; i++) {
      const t2 = performance.now();
      await unlimited.add({ scope: { userId: `d${i}` }, user: `accept latency item ${i}` }, call());
      busy.push(performance.now() - t2);
    }
    const stillQueued = await jobs.queue.pending();
    result.acceptBusy = { ...summary(busy), workers: CONCURRENCY, running: jobs.worker.active, backlogLeft: stillQueued };
    say(`accept latency ms (${CONCURRENCY} workers draining a backlog): ${JSON.stringify(result.acceptBusy)}`);
    await jobs.close(0);
    await store.database.pool.query(`DELETE FROM ${jobsTable}`);

    // 2. Throughput: queue JOBS first, then let CONCURRENCY workers drain them.
    jobs = openMemoryJobs({ store, providers: providers() }, { asyncMode: true, maxConcurrent: CONCURRENCY, worker: { pollIntervalMs: 50 } });
    await jobs.close(0);
    for (let i = 0; i < JOBS; i++) {
      await jobs.queue.enqueue({ id: crypto.randomUUID(), kind: 'add', scope: { userId: `t${i}` }, payload: { userId: `t${i}`, user: `throughput item ${i}` } }, 1_000_000);
    }
    const t0 = performance.now();
    jobs = openMemoryJobs({ store, providers: providers() }, { asyncMode: true, maxConcurrent: CONCURRENCY, worker: { pollIntervalMs: 50 } });
    while ((await jobs.queue.pending()) > 0) await sleep(20);
    const seconds = (performance.now() - t0) / 1000;
    const ideal = CONCURRENCY / (LLM_MS / 1000);
    result.throughput = { jobs: JOBS, seconds: round(seconds), perSecond: round(JOBS / seconds, 1), ideal: round(ideal, 1), ofIdeal: round(JOBS / seconds / ideal, 3) };
    say(`throughput: ${JSON.stringify(result.throughput)}`);

    // 3. Recovery after all backends are terminated (PostgreSQL only), under load.
    if (admin) {
      // A producer keeps the queue full (waiting on OVERLOAD) before, during and after the cut.
      let producing = true;
      let sent = 0;
      const producer = (async () => {
        while (producing) {
          try {
            await jobs.writes.add({ scope: { userId: `r${sent}` }, user: `recovery item ${sent}` }, call());
            sent += 1;
          } catch {
            await sleep(20);
          }
        }
      })();
      await sleep(1000);
      const doneBefore = jobs.worker.processed;
      const killedAt = performance.now();
      const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mem0-dify-plugin' AND datname = current_database()");
      let readOk = -1;
      let jobOk = -1;
      while (readOk < 0 || jobOk < 0) {
        if (readOk < 0) {
          try {
            await memoryReads({ store, providers: providers(), maxConcurrent: CONCURRENCY }).getAll({ scope: { userId: 'r1' }, limit: 1 }, { timeoutSeconds: 2, signal: new AbortController().signal });
            readOk = performance.now() - killedAt;
          } catch { /* still recovering */ }
        }
        if (jobOk < 0 && jobs.worker.processed > doneBefore) jobOk = performance.now() - killedAt;
        if (performance.now() - killedAt > 60_000) break;
        await sleep(10);
      }
      producing = false;
      await producer;
      while ((await jobs.queue.pending()) > 0) await sleep(50);
      const drainedMs = performance.now() - killedAt;
      const failed = (await jobs.queue.counts()).failed;
      result.recovery = {
        terminated: killed.rowCount, accepted: sent, firstReadMs: round(readOk, 0), firstJobDoneMs: round(jobOk, 0),
        allDoneMs: round(drainedMs, 0), failedJobs: failed,
      };
      say(`recovery: ${JSON.stringify(result.recovery)}`);
    }
    await jobs.close(10_000);
  } finally {
    await store.close();
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
