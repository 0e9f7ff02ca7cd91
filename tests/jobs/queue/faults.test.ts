// Fault tests against the BUILT plugin (dist/plugin.js) driven over stdio, on real PostgreSQL:
// - async adds while the plugin is `kill -9`ed at a random moment; restarted (as two processes sharing the
//   database): every accepted write is applied exactly once, none twice;
// - all the plugin's backends terminated (pg_terminate_backend) under load: reads still answer, the plugin
//   recovers by itself, no accepted write is lost;
// - load far above capacity: the excess is refused with OVERLOAD at once, the accepted rest completes.
// Every child process here is spawned by this file and is the only one it kills.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsTable } from '../../../src/store/jobs.js';
import { tablesFor } from '../../../src/store/tables.js';
import type { FakeOpenAI } from '../../helpers/fake-openai.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { invokeFrame, PluginProcess } from '../../helpers/plugin-process.js';
import type { Frame } from '../../helpers/plugin-process.js';
import { freshSchema, testDatabaseUrl } from '../../helpers/postgres.js';
import type { TestSchema } from '../../helpers/postgres.js';
import { credentials, DIMS, plainModel } from '../../integration/app.js';

const url = testDatabaseUrl();
/** How many async adds the kill -9 run sends (the 1 000 by default; lower it on a slow machine). */
const ADDS = Number(process.env.MEM0_FAULT_ADDS ?? 1000);
const MAX_CONCURRENT = 10;


interface ToolAnswer {
  status: string;
  results: unknown;
  messages: string;
}

const JOB_ENV = {
  MEM0_JOB_LEASE_MS: '3000',
  MEM0_JOB_POLL_MS: '100',
  MEM0_JOB_SUPERVISE_MS: '500',
  MEM0_JOB_RETRY_DELAY_MS: '200',
  MEM0_JOB_RETRY_DELAY_MAX_MS: '2000',
  MEM0_JOB_GRACE_MS: '5000',
  LOG_LEVEL: 'warn',
};

/** The fake LLM of tests/integration (facts = the user's sentences, every new fact ADDed), answering after `ms`. */
function slowModel(fake: FakeOpenAI, ms: number): void {
  plainModel(fake);
  if (ms === 0) return;
  fake.onChat((body) => {
    const system = body.messages[0]?.content ?? '';
    const user = body.messages[1]?.content ?? '';
    const answer = system.includes('long-term notes')
      ? JSON.stringify({ facts: user.split('\n').filter((l) => l.startsWith('user: ')).map((l) => l.slice('user: '.length)) })
      : JSON.stringify({ actions: (JSON.parse(user.slice(user.indexOf('New facts:\n') + 'New facts:\n'.length)) as string[]).map((text) => ({ event: 'ADD', text })) });
    return { delayMs: ms, then: answer };
  });
}

class Driver {
  private n = 0;
  constructor(
    readonly proc: PluginProcess,
    private readonly creds: Record<string, unknown>,
  ) {}

  /** Calls a tool; resolves with its JSON answer, or null when the process died first. */
  async call(tool: string, parameters: Record<string, unknown>, timeoutMs = 60_000): Promise<ToolAnswer | null> {
    const id = `s${this.n++}-${randomUUID().slice(0, 8)}`;
    const frame: Frame = invokeFrame(id, tool, parameters);
    (frame.data as Record<string, unknown>).credentials = this.creds;
    this.proc.send(frame);
    const died = this.proc.exited.then(() => null);
    const done = this.proc.frames.session(id, timeoutMs).then((r) => {
      const json = r.streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: ToolAnswer } } | undefined;
      return json?.message.json_object ?? null;
    });
    return Promise.race([done, died]);
  }
}

describe.skipIf(!url)('the plugin process under faults (PostgreSQL)', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let admin: pg.Pool;
  let schema: TestSchema;
  let creds: Record<string, unknown>;
  const spawned: PluginProcess[] = [];
  // A database of this file's own: terminating "every backend of the plugin" must not hit the other test files'
  // pools, which run at the same time on the shared server under the same application_name.
  const database = `mem0_faults_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const dbUrl = (() => {
    const u = new URL(url ?? 'postgres://unused/x');
    u.pathname = `/${database}`;
    return u.toString();
  })();

  beforeAll(async () => {
    const bootstrap = new pg.Client({ connectionString: url });
    await bootstrap.connect();
    await bootstrap.query(`CREATE DATABASE ${database}`);
    await bootstrap.end();
    admin = new pg.Pool({ connectionString: dbUrl, max: 3 });
    await admin.query('CREATE EXTENSION IF NOT EXISTS vector');
    schema = await freshSchema(admin, 'queue faults');
    creds = credentials(fake, { provider: 'pgvector', config: { connection_string: dbUrl, schema_name: schema.name, embedding_model_dims: DIMS, maxconn: 6 } }, {
      async_mode: 'true',
      max_concurrent_memory_operations: String(MAX_CONCURRENT),
    });
  });
  afterAll(async () => {
    for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await schema.drop();
    await admin.end();
    const bootstrap = new pg.Client({ connectionString: url });
    await bootstrap.connect();
    await bootstrap.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await bootstrap.end();
  });

  const spawn = (): Driver => {
    const proc = new PluginProcess({ env: JOB_ENV });
    spawned.push(proc);
    return new Driver(proc, creds);
  };
  const t = () => tablesFor({ schemaName: schema.name, collectionName: 'mem0' });
  const unfinished = async () => Number((await admin.query(`SELECT count(*) AS n FROM ${jobsTable(t())} WHERE state < 'completed'`)).rows[0].n);
  async function drained(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await unfinished()) > 0) {
      if (Date.now() > until) throw new Error(`jobs still unfinished after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Sends adds with `window` in flight; a refused (OVERLOAD) add is sent again a little later. */
  async function sendAdds(driver: Driver, texts: string[], accepted: Map<string, string>, window: number, stopAfter = Infinity): Promise<number> {
    let next = 0;
    let answered = 0;
    const worker = async (): Promise<void> => {
      while (next < texts.length && answered < stopAfter) {
        const i = next++;
        const text = texts[i]!;
        for (;;) {
          const answer = await driver.call('add_memory', { user: text, user_id: `user-${i % 50}` });
          if (answer === null) return; // the process died
          // Not accepted (refused, or the database was unreachable for this call): the caller may send it again.
          if (answer.status === 'OVERLOAD' || answer.status === 'ERROR') {
            await new Promise((resolve) => setTimeout(resolve, 50));
            continue;
          }
          expect(answer.status).toBe('SUCCESS');
          const [event] = answer.results as Array<{ id: string; event: string }>;
          expect(event?.event).toBe('ACCEPT');
          accepted.set(text, event!.id);
          answered += 1;
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    return next;
  }

  it(`kill -9 during ${ADDS} async adds, restart as two processes, backends terminated under load: every accepted write applied exactly once`, async () => {
    const texts = Array.from({ length: ADDS }, (_x, i) => `Fact number ${i}: the user owns item ${randomUUID().slice(0, 8)}.`);
    const accepted = new Map<string, string>();

    // 1. One process takes adds; it is killed (SIGKILL) at a random moment, mid-stream. The LLM answers after
    //    50 ms, so accepted work piles up in the queue faster than it is done.
    slowModel(fake, 50);
    const first = spawn();
    expect((await first.call('get_all_memories', { user_id: 'warm-up' }))?.status).toBe('SUCCESS');
    const killAt = Math.floor(ADDS * (0.2 + Math.random() * 0.3));
    const sending = sendAdds(first, texts, accepted, 20);
    while (accepted.size < killAt) await new Promise((resolve) => setTimeout(resolve, 5));
    first.proc.child.kill('SIGKILL');
    const sentBeforeKill = await sending;
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    const acceptedBeforeKill = accepted.size;
    expect(await unfinished()).toBeGreaterThan(0); // work was really left behind

    // 2. Two processes on the same database take the rest (and the dead one's jobs, once its leases ran out).
    const second = spawn();
    const third = spawn();
    for (const d of [second, third]) expect((await d.call('get_all_memories', { user_id: 'warm-up' }))?.status).toBe('SUCCESS');
    const rest = texts.slice(sentBeforeKill);
    const half = Math.ceil(rest.length / 2);
    const load = Promise.all([sendAdds(second, rest.slice(0, half), accepted, 10), sendAdds(third, rest.slice(half), accepted, 10)]);

    // 3. Under that load, every backend of the plugins is terminated. Reads still answer (a known status, from the
    //    plugin that lost its connections); how fast is the benchmarks' business, not this machine's clock.
    const before = accepted.size;
    while (accepted.size < before + rest.length / 4) await new Promise((resolve) => setTimeout(resolve, 5));
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mem0-dify-plugin' AND datname = current_database()",
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    // A read stuck behind the terminated connections would never answer: the session wait (60 s) fails the test.
    const read = await second.call('search_memory', { query: 'item', user_id: 'user-1', timeout: 2 });
    if (read === null) throw new Error(`the plugin died: ${second.proc.stderr.slice(-3000)}`);
    expect(['SUCCESS', 'TIMEOUT', 'ERROR']).toContain(read.status);
    await load;

    // 4. Everything drains without a restart; then the books must balance.
    slowModel(fake, 0);
    await drained(150_000);
    const rows = await admin.query<{ data: string; n: number; history: number }>(
      `SELECT m.payload->>'data' AS data, count(*)::int AS n,
              (SELECT count(*)::int FROM ${t().history} h WHERE h.memory_id = ANY(array_agg(m.id))) AS history
         FROM ${t().memories} m GROUP BY m.payload->>'data'`,
    );
    const stored = new Map(rows.rows.map((r) => [r.data, r]));
    const missing = [...accepted.keys()].filter((text) => !stored.has(text));
    expect(missing).toEqual([]);
    const twice = rows.rows.filter((r) => r.n !== 1 || r.history !== 1);
    expect(twice).toEqual([]);
    // Nothing stored that nobody sent; at most the adds in flight at the kill are stored without an ACCEPT seen.
    expect(rows.rows.every((r) => texts.includes(r.data))).toBe(true);
    expect(rows.rowCount! - accepted.size).toBeLessThanOrEqual(20);
    const states = await admin.query<{ state: string; n: number }>(`SELECT state::text AS state, count(*)::int AS n FROM ${jobsTable(t())} GROUP BY state`);
    expect(states.rows.filter((r) => r.state !== 'completed')).toEqual([]);
    expect(acceptedBeforeKill).toBeGreaterThanOrEqual(killAt);

    // 5. Graceful exit on stdin EOF.
    second.proc.closeStdin();
    third.proc.closeStdin();
    expect((await second.proc.stop(15_000)).signal).toBeNull();
    expect((await third.proc.stop(15_000)).signal).toBeNull();
  }, 300_000);

  it('10x capacity: the excess answers OVERLOAD at once, nothing of it is queued; SIGTERM mid-work loses nothing; accepted adds complete', async () => {
    fake.reset();
    plainModel(fake);
    const driver = spawn();
    expect((await driver.call('get_all_memories', { user_id: 'warm-up' }))?.status).toBe('SUCCESS');
    await drained(60_000);
    // Then an LLM that holds every call for two minutes: no accepted add can finish while the burst is answered.
    slowModel(fake, 120_000);
    const burst = 10 * 2 * MAX_CONCURRENT;
    const answers = await Promise.all(
      Array.from({ length: burst }, (_x, i) => driver.call('add_memory', { user: `burst item ${i}`, user_id: `burst-${i}` })),
    );
    const refused = answers.filter((a) => a?.status === 'OVERLOAD');
    const ok = answers.filter((a) => a?.status === 'SUCCESS');
    expect(refused.length + ok.length).toBe(burst);
    expect(refused.length).toBeGreaterThan(burst / 2);
    // "At once": every refusal was answered while none of the accepted work could have finished, so no refusal
    // waited for queued work (a refusal that did would still be waiting for the held LLM, and this test would time out).
    const done = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t().memories} WHERE payload->>'data' LIKE 'burst item %'`);
    expect(done.rows[0]!.n).toBe(0);
    // SIGTERM while jobs run: running ones finish (or are handed back) within the grace period, the rest stay queued.
    driver.proc.child.kill('SIGTERM');
    const exit = await driver.proc.stop(15_000);
    expect(exit.signal).toBeNull();
    const active = await admin.query(`SELECT count(*)::int AS n FROM ${jobsTable(t())} WHERE state = 'active'`);
    expect(active.rows[0].n).toBe(0);
    // The next start, with the LLM answering again, finishes what was accepted.
    slowModel(fake, 0);
    const next = spawn();
    expect((await next.call('get_all_memories', { user_id: 'warm-up' }))?.status).toBe('SUCCESS');
    await drained(120_000);
    const stored = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t().memories} WHERE payload->>'data' LIKE 'burst item %'`);
    expect(stored.rows[0]!.n).toBe(ok.length);
    next.proc.closeStdin();
    await next.proc.stop(15_000);
  }, 240_000);
});
