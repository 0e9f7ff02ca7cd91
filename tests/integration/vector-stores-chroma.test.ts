// The tools over a REAL Chroma server (PyPI's chromadb `chroma run`, installed by scripts/chroma-server.sh) on a free
// loopback port, through mem0ai's Chroma store and the npm `chromadb` client, with the state tables in embedded
// PGlite: credential round trip, sync and async writes, scope, filters, scores, history, forgetting, and the payload
// Mem0 (Python) would read. Skipped, saying why, when the server program is not installed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepAlive, ProviderActivity } from '../../src/jobs/keepalive/index.js';
import { parseCredentials } from '../../src/memory/config/credentials.js';
import { openEngine } from '../../src/memory/engine.js';
import { loadMem0 } from '../../src/memory/mem0.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { AppDriver, credentials, DIMS, plainModel } from './app.js';
import { freePort } from '../helpers/ports.js';
import { CHROMA_MISSING, CHROMA_PROGRAM, ChromaServer } from '../helpers/chroma.js';

const CHROMA = CHROMA_PROGRAM;
const REASON = CHROMA_MISSING;

interface Hit { id: string; memory: string; score: number; metadata: Record<string, unknown> }
interface Item { id: string; memory: string; metadata: Record<string, unknown> }
interface Event { id: string; memory: string; event: string }


async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read().catch(() => undefined as T);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!CHROMA)(`tools over a real Chroma server${CHROMA ? '' : ` (skipped: ${REASON})`}`, () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let server: ChromaServer | undefined;
  let port: number;
  const drivers: AppDriver[] = [];

  beforeAll(async () => {
    server = await ChromaServer.start();
    port = server.port;
  }, 60_000);

  afterAll(async () => {
    for (const d of drivers) await d.close();
    await server?.stop();
  });

  const stateDirs = new Map<string, string>();
  function store(collection: string): Record<string, unknown> {
    if (!stateDirs.has(collection)) stateDirs.set(collection, path.join(mkdtempSync(path.join(tmpdir(), 'mem0-chroma-state-')), 'db'));
    return {
      provider: 'chroma',
      config: { collection_name: collection, host: '127.0.0.1', port, ssl: false, embedding_model_dims: DIMS },
      state_store: { provider: 'pglite', config: { path: stateDirs.get(collection)! } },
    };
  }

  function driver(collection: string, extra: Record<string, unknown> = {}): AppDriver {
    const d = new AppDriver(credentials(fake, store(collection), extra));
    drivers.push(d);
    return d;
  }

  it('validates credentials with a round trip to Chroma and the state database, and names a dead Chroma', async () => {
    await expect(driver('validate_ok').validate()).resolves.toBeUndefined();
    const dead = { ...store('validate_dead'), config: { collection_name: 'validate_dead', host: '127.0.0.1', port: await freePort(), ssl: false, embedding_model_dims: DIMS } };
    const d = new AppDriver(credentials(fake, dead));
    drivers.push(d);
    await expect(d.validate()).rejects.toThrow(/local_vector_db_json_secret: .*chroma/i);
  });

  it('sync mode: add, search (0-1 scores, top_k, filters, scope), get, update, history, delete, delete_all', async () => {
    const d = driver('sync_tools');
    const added = await d.ok<Event[]>('add_memory', { user: 'I love Italian food. My dog is called Rex.', user_id: 'alex', agent_id: 'app-1', metadata: '{"topic": "life", "n": 1}' });
    expect(added.map((e) => e.event)).toEqual(['ADD', 'ADD']);
    await d.ok('add_memory', { user: 'I love Italian food.', user_id: 'sam', agent_id: 'app-1' });
    await d.ok('add_memory', { user: 'I play chess on Sundays.', user_id: 'alex', agent_id: 'app-2', metadata: '{"topic": "games", "n": 5}' });

    const hits = await d.ok<Hit[]>('search_memory', { query: 'I love Italian food.', user_id: 'alex', top_k: 2 });
    // alex's other memories share nothing with the query (score 0), and a score-0 memory never fills top_k.
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ memory: 'I love Italian food.' });
    // Exact text: Chroma's distance is 0, so the score is 1; every score is a 0-1 similarity, best first.
    expect(hits[0]!.score).toBeCloseTo(1, 5);
    for (const h of hits) expect(h.score).toBeGreaterThanOrEqual(0);
    // Scope: another user's identical memory never shows; agent_id narrows; a filter cannot widen.
    expect(hits.every((h) => added.some((a) => a.id === h.id) || h.memory.includes('chess'))).toBe(true);
    expect((await d.ok<Hit[]>('search_memory', { query: 'chess', user_id: 'alex', agent_id: 'app-2' })).map((h) => h.memory)).toEqual(['I play chess on Sundays.']);
    expect(await d.ok<Hit[]>('search_memory', { query: 'Italian food', user_id: 'alex', agent_id: 'app-2' })).toEqual([]);
    expect(await d.ok<Hit[]>('search_memory', { query: 'food', user_id: 'alex', filters: '{"user_id": "sam"}' })).toEqual([]);
    // Filters the Chroma store cannot express itself (contains, NOT) are evaluated by the plugin.
    expect((await d.ok<Item[]>('get_all_memories', { user_id: 'alex', filters: '{"topic": {"icontains": "GAM"}}' })).map((m) => m.memory)).toEqual(['I play chess on Sundays.']);
    expect((await d.ok<Item[]>('get_all_memories', { user_id: 'alex', filters: '{"NOT": {"n": {"gte": 5}}}' })).map((m) => m.memory).sort()).toEqual(['I love Italian food.', 'My dog is called Rex.']);
    const bad = await d.call('search_memory', { query: 'food', user_id: 'alex', filters: '{"n": {"near": 1}}' });
    expect(bad.status).toBe('ERROR');
    expect(bad.messages).toMatch(/unknown filter operator "near"/);

    const rex = added.find((e) => e.memory.includes('Rex'))!;
    expect(await d.ok<Item>('get_memory', { memory_id: rex.id })).toMatchObject({ memory: 'My dog is called Rex.', metadata: { topic: 'life', n: 1 } });
    await d.ok('update_memory', { memory_id: rex.id, text: 'My dog is called Max.' });
    expect(await d.ok<Item>('get_memory', { memory_id: rex.id })).toMatchObject({ memory: 'My dog is called Max.', metadata: { topic: 'life' } });
    expect((await d.ok<Hit[]>('search_memory', { query: 'My dog is called Max.', user_id: 'alex', top_k: 1 }))[0]).toMatchObject({ id: rex.id });
    await d.ok('delete_memory', { memory_id: rex.id });
    expect(await d.call('get_memory', { memory_id: rex.id })).toMatchObject({ status: 'NOT_FOUND' });
    const history = await d.ok<Array<{ event: string }>>('get_memory_history', { memory_id: rex.id });
    expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    expect(await d.ok('delete_all_memories', { user_id: 'alex' })).toMatchObject({ deleted_count: 2 });
    expect(await d.ok('get_all_memories', { user_id: 'alex' })).toEqual([]);
    expect(await d.ok<Item[]>('get_all_memories', { user_id: 'sam' })).toHaveLength(1);
  });

  it("writes Mem0's payload keys, so Mem0 (Python) reads the same collection", async () => {
    const d = driver('payload_keys');
    const [event] = await d.ok<Event[]>('add_memory', { user: 'I drink green tea.', user_id: 'pat', agent_id: 'app-9', metadata: '{"mood": "calm"}' });
    const mem0 = await loadMem0();
    const direct = mem0.VectorStoreFactory.create('chroma', { collectionName: 'payload_keys', host: '127.0.0.1', port, ssl: false, dimension: DIMS } as never);
    const got = await direct.get(event!.id);
    expect(Object.keys(got!.payload).sort()).toEqual(['agent_id', 'created_at', 'data', 'hash', 'mood', 'updated_at', 'user_id']);
    expect(got!.payload).toMatchObject({ data: 'I drink green tea.', user_id: 'pat', agent_id: 'app-9', mood: 'calm' });
    expect(got!.payload.created_at).toMatch(/\+00:00$/);
  });

  it('async mode: writes are accepted, applied once through the queue, and visible to reads', async () => {
    const d = driver('async_tools', { async_mode: 'true' });
    // A queued write is done when its job says completed: the vector store shows a change a moment before the job
    // commits the change's history rows (two systems, no shared transaction), so reads wait for the job.
    const completed = (accepted: { event: string; job_id?: string }, what: string) => {
      expect(accepted.event).toBe('ACCEPT');
      return waitFor(() => d.ok<{ state: string }>('get_job_status', { job_id: accepted.job_id }), (j) => j.state === 'completed', what);
    };
    const [accepted] = await d.ok<Array<Event & { job_id: string }>>('add_memory', { user: 'I live in Porto. I cycle to work.', user_id: 'ana' });
    await completed(accepted!, 'the queued add');
    const items = await d.ok<Item[]>('get_all_memories', { user_id: 'ana' });
    expect(items).toHaveLength(2);
    for (const m of items) expect((await d.ok<Array<{ event: string }>>('get_memory_history', { memory_id: m.id })).map((h) => h.event)).toEqual(['ADD']);
    const target = items.find((m) => m.memory.includes('Porto'))!;
    await completed(await d.ok('update_memory', { memory_id: target.id, text: 'I live in Braga.' }), 'the queued update');
    expect((await d.ok<Item>('get_memory', { memory_id: target.id })).memory).toBe('I live in Braga.');
    await completed(await d.ok('delete_memory', { memory_id: target.id }), 'the queued delete');
    expect((await d.call('get_memory', { memory_id: target.id })).status).toBe('NOT_FOUND');
    expect((await d.ok<Array<{ event: string }>>('get_memory_history', { memory_id: target.id })).map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'DELETE']);
  });

  it('forget_memories over Chroma: fresh memories are retained, the hard TTL deletes them through the repository', async () => {
    const d = driver('forget_tools');
    await d.ok('add_memory', { user: 'I collect stamps.', user_id: 'lee', agent_id: 'app' });
    const dry = await d.ok<{ deleted_count: number; retained_count: number; dry_run: boolean }>('forget_memories', { user_id: 'lee', app_id: 'app', dry_run: true });
    expect(dry).toMatchObject({ deleted_count: 0, retained_count: 1, dry_run: true });
    const ttl = driver('forget_tools', { memory_ttl_days: '0.000001' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const real = await ttl.ok<{ deleted_count: number; retained_count: number }>('forget_memories', { user_id: 'lee', app_id: 'app', dry_run: false });
    expect(real).toMatchObject({ deleted_count: 1, retained_count: 0 });
    expect(await d.ok('get_all_memories', { user_id: 'lee' })).toEqual([]);
  });

  // Last: it stops the server.
  it('the keep-alive makes a round trip to Chroma as well as the state database, and notices Chroma going away', async () => {
    const settings = parseCredentials(credentials(fake, store('keepalive')));
    const engine = await openEngine(settings);
    try {
      const keepAlive = new KeepAlive({
        database: engine.store.database, external: engine.store.external, llm: settings.llm, embedder: settings.embedder, activity: new ProviderActivity(), intervalSeconds: 30,
      });
      expect((await keepAlive.tick()).database).toBe('up');
      await server!.stop();
      expect((await keepAlive.tick()).database).toBe('down');
    } finally {
      await engine.close();
    }
  });
});
