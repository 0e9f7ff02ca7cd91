/**
 * Extraction orchestration benchmark (issue 5): USERS users × CONVERSATIONS conversations × MESSAGES messages in the
 * loopback fake Dify, extracted by the real orchestrator (pool of 5, leases, CAS checkpoint saves, task record) into
 * the real MemoryService on embedded PGlite (or PostgreSQL with BENCH_DATABASE_URL / TEST_DATABASE_URL), with a fake
 * LLM of fixed latency (LLM_MS per call) and an instant hashing embedder, both in process.
 *
 * Reported: wall time against the ideal `users ÷ 5 × per-user LLM time` (per-user LLM time = that user's LLM calls ×
 * LLM_MS, i.e. what a perfect pool with zero overhead would take), the overhead per user, Dify API calls per
 * processed message, and the same for a repeat run (nothing new). Run with `npm run bench:extraction`.
 * @module
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DifyClient } from '../../src/jobs/extraction/dify-client.js';
import { ExtractionOrchestrator } from '../../src/jobs/extraction/orchestrator.js';
import { loadTokenizer } from '../../src/jobs/extraction/tokens.js';
import type { ChatMessage, Embedder, Llm, Providers } from '../../src/memory/providers.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import { FakeDify } from '../../tests/helpers/fake-dify.js';

const env = process.env;
const USERS = Number(env.BENCH_USERS ?? 100);
const CONVERSATIONS = Number(env.BENCH_CONVERSATIONS ?? 20);
const MESSAGES = Number(env.BENCH_MESSAGES ?? 50);
const LLM_MS = Number(env.BENCH_LLM_MS ?? 50);
/** Facts the fake model pulls out of one conversation. */
const FACTS = Number(env.BENCH_FACTS ?? 3);
/**
 * `engine`: the real MemoryService (fact extraction + reconciliation through the fixed-latency model, embeddings,
 * store writes). `latency`: a writer that only waits for the engine's two model calls (2 × LLM_MS) and writes
 * nothing, which leaves the orchestration's own cost (Dify reads, tokenizer, leases, checkpoint and task writes).
 */
const WRITER = env.BENCH_WRITER === 'latency' ? 'latency' : 'engine';
const POOL = 5;
const DIMS = 16;
const url = env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || '';
const onPostgres = url !== '' && env.BENCH_BACKEND !== 'pglite';
const say = (text: string) => process.stderr.write(`[bench:extraction] ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A model that takes LLM_MS per call and answers each prompt plausibly. */
class FixedLatencyLlm implements Llm {
  readonly provider = 'bench';
  calls = 0;
  async completeJson(messages: ChatMessage[]): Promise<string> {
    this.calls += 1;
    const system = messages[0]?.content ?? '';
    const last = messages.at(-1)?.content ?? '';
    await sleep(LLM_MS);
    if (system.startsWith('You sort a conversation')) return '{"type":"SEMANTIC","reason":"facts"}';
    if (system.startsWith('You keep long-term notes')) {
      const lines = last.split('\n').filter((l) => l.startsWith('user: ')).slice(0, FACTS);
      return JSON.stringify({ facts: lines.map((l) => l.slice(6)) });
    }
    const facts = JSON.parse(last.split('New facts:\n')[1] ?? '[]') as string[];
    return JSON.stringify({ actions: facts.map((text) => ({ event: 'ADD', text })) });
  }
}

/** Bag-of-words hashing into DIMS dimensions: instant and deterministic. */
class HashEmbedder implements Embedder {
  readonly provider = 'bench';
  readonly dims = DIMS;
  async embed(text: string): Promise<number[]> {
    const v = new Array<number>(DIMS).fill(0);
    for (const word of text.split(/\s+/)) {
      let h = 0;
      for (const ch of word) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      v[h % DIMS]! += 1;
    }
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  }
  async embedBatch(texts: string[]): Promise<number[][]> {
    return Promise.all(texts.map((t) => this.embed(t)));
  }
}

async function main(): Promise<void> {
  const dify = await FakeDify.start();
  const app = 'bench-app';
  const key = `app-${randomBytes(8).toString('hex')}`;
  dify.addApp(app, key);
  const midnight = Math.floor(Date.UTC(2026, 9, 20) / 1000);
  const now = () => new Date('2026-10-20T10:00:00Z');
  for (let u = 0; u < USERS; u++) {
    for (let c = 0; c < CONVERSATIONS; c++) {
      dify.addConversation(app, `u${u}`, {
        start: midnight - 86_400 + 60 + c * 3600,
        step: 30,
        turns: Array.from({ length: MESSAGES }, (_, m) => ({ query: `u${u} says thing ${c}-${m} about topic${(c * 7 + m) % 13}`, answer: `ok ${m}` })),
      });
    }
  }
  const schema = `bench_extraction_${randomBytes(4).toString('hex')}`;
  const config = onPostgres
    ? parseStoreConfig({ provider: 'pgvector', config: { connection_string: url, schema_name: schema, collection_name: 'bench', embedding_model_dims: DIMS, maxconn: 10 } })
    : parseStoreConfig({ provider: 'pglite', config: { path: 'memory://', collection_name: 'bench', embedding_model_dims: DIMS } });
  const store = await openStore(config);
  const llm = new FixedLatencyLlm();
  const providers: Providers = { llm, embedder: new HashEmbedder(), reranker: null };
  const engineWriter = new MemoryService({ repository: storeRepository(store), providers });
  const latencyWriter = {
    async add() {
      llm.calls += 2;
      await sleep(2 * LLM_MS);
      return [{ event: 'ADD' }];
    },
  };
  const service = WRITER === 'engine' ? engineWriter : latencyWriter;
  const orchestrator = new ExtractionOrchestrator({
    pool: store.database.pool, tables: store.tables, databaseKind: store.database.kind, memory: service, llm,
    concurrency: POOL, timeZone: 'UTC', now,
    difyClient: (o) => new DifyClient({ ...o, retries: 1, backoffBaseMs: 5 }),
  });
  const request = {
    userIds: Array.from({ length: USERS }, (_, u) => `u${u}`), appId: app, daysBack: 1, conversationsLimit: 500,
    maxTokensPerConversationK: 64, timeBudgetMinutes: 600, difyBaseUrl: dify.baseUrl, difyApiKey: key,
  };
  try {
    say(`${USERS} users × ${CONVERSATIONS} conversations × ${MESSAGES} messages, LLM ${LLM_MS} ms/call, pool ${POOL}, ${store.kind}, writer ${WRITER}`);
    // The cl100k tables load once per process (about a megabyte of JavaScript); timed apart from the run.
    const tl = performance.now();
    await loadTokenizer();
    const tokenizerMs = performance.now() - tl;
    const t0 = performance.now();
    const first = await orchestrator.start(request, { wait: true });
    const wall = performance.now() - t0;
    const meanCalls = llm.calls / USERS;
    const ideal = (USERS / POOL) * meanCalls * LLM_MS;
    const llmCallsFirst = llm.calls;
    const t1 = performance.now();
    const repeat = await orchestrator.start(request, { wait: true });
    const wallRepeat = performance.now() - t1;
    const n = (x: unknown) => Number(x);
    const result = {
      machine: `${os.cpus().length} CPUs, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}`,
      database: store.kind,
      writer: WRITER,
      users: USERS, conversations: CONVERSATIONS, messages: MESSAGES, llm_ms: LLM_MS, facts_per_conversation: FACTS,
      first: {
        status: first.task_status,
        wall_s: +(wall / 1000).toFixed(2),
        ideal_s: +(ideal / 1000).toFixed(2),
        ratio: +(wall / ideal).toFixed(3),
        // Extra time per pool round (one user per slot), beyond the model's own time.
        overhead_ms_per_user: +((wall - ideal) / (USERS / POOL)).toFixed(1),
        tokenizer_load_ms: Math.round(tokenizerMs),
        llm_calls: llmCallsFirst,
        llm_calls_per_user: +meanCalls.toFixed(1),
        processed_messages: n(first.processed_messages),
        written_memories: n(first.written_memories),
        dify_calls: n(first.dify_calls),
        dify_calls_per_processed_message: +(n(first.dify_calls) / Math.max(1, n(first.processed_messages))).toFixed(4),
      },
      repeat: {
        status: repeat.task_status,
        wall_s: +(wallRepeat / 1000).toFixed(2),
        llm_calls: llm.calls - llmCallsFirst,
        processed_messages: n(repeat.processed_messages),
        dify_calls: n(repeat.dify_calls),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await orchestrator.close();
    await store.close();
    if (onPostgres) {
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
    await dify.close();
  }
}

await main();
