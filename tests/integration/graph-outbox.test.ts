// Relations are never lost when the graph lives apart from the memories (a real Neo4j), through the BUILT plugin:
// the graph store goes away after an add has planned its relations and before they are written (a loopback relay
// in front of Neo4j is cut at that moment). The sync add answers SUCCESS with its memory and `relations.pending`, a
// queued add completes the same way, the process is then killed while the graph store is still away, and the next
// process writes both adds' relations once it is back: each once, in order, with one graph-history entry each.
// Before the outbox those relations were dropped (the sync add answered ERROR with its memory already stored, the
// queued job completed without them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hold } from '../helpers/hold.js';
import type { Hold } from '../helpers/hold.js';
import { neo4jAvailability, skipNeo4j, startNeo4j } from '../helpers/neo4j.js';
import type { RunningNeo4j } from '../helpers/neo4j.js';
import { PluginProcess } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { credentials, DIMS, pgliteFolder } from './app.js';
import { callBundle } from './bundle-call.js';
import type { SeenAnswer } from './bundle-call.js';
import { graphAnswer, isGraphPrompt } from './graph-model.js';
import { NEO4J_PASSWORD } from './graph-targets.js';

const availability = neo4jAvailability();
const ENV = {
  LOG_LEVEL: 'warn',
  // The graph store's deadline (its driver's retries included) and the outbox's first retry, kept short.
  MEM0_MODEL_TIMEOUT_SECONDS: '4',
  MEM0_GRAPH_RETRY_SECONDS: '1',
  MEM0_JOB_POLL_MS: '100',
};
const RECONCILE = "You keep a user's knowledge graph true";

interface Relation { source: string; relationship: string; target: string }

describe.skipIf(skipNeo4j(availability))('graph changes wait in the outbox while the graph store is away (built plugin, Neo4j)', () => {
  const fake = useFakeModel({ dims: DIMS });
  let neo4j: RunningNeo4j;
  let relay: TcpProxy;
  /** The memory prompt of the add whose text contains `key` waits for `gate`; `planned` settles once its graph plan is done. */
  let held: { key: string; gate: Hold; planned: Hold } | null = null;
  const spawned: PluginProcess[] = [];

  beforeAll(async () => {
    neo4j = await startNeo4j(availability);
    const { hostname, port } = new URL(neo4j.url.replace(/^bolt:/, 'http:'));
    relay = await TcpProxy.start({ host: hostname, port: Number(port) });
    fake.onChat((body) => {
      const system = body.messages[0]?.content ?? '';
      const user = body.messages[1]?.content ?? '';
      const mine = held !== null && user.includes(held.key);
      // The graph's contradiction check is the last step of its plan (a stored relation is always around here).
      if (mine && system.startsWith(RECONCILE)) {
        const h = held!;
        setTimeout(() => h.planned.release(), 300);
        return graphAnswer(body);
      }
      if (mine && !isGraphPrompt(body)) return { after: held!.gate.released, then: graphAnswer(body) };
      return graphAnswer(body);
    });
  }, 300_000);

  afterAll(async () => {
    held?.gate.release();
    for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await relay?.close();
    await neo4j?.stop();
  });

  it('a sync and a queued add keep their relations through an outage and a kill; the next process writes them once', async () => {
    const storage = new FakePluginStorage();
    const graph = JSON.stringify({ provider: 'neo4j', config: { url: `bolt://127.0.0.1:${relay.port}`, username: 'neo4j', password: NEO4J_PASSWORD } });
    const creds = credentials(fake, { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } }, { local_graph_db_json_secret: graph });
    const queued = { ...creds, async_mode: 'true' };
    const spawn = (): PluginProcess => {
      const proc = new PluginProcess({ env: ENV, storage });
      spawned.push(proc);
      return proc;
    };
    const call = (proc: PluginProcess, tool: string, parameters: Record<string, unknown>, withCreds = creds): Promise<SeenAnswer> =>
      callBundle(proc, withCreds, tool, parameters);
    /** Runs `add` with the graph store cut between its graph plan and its write. */
    const addAcrossCut = async (key: string, add: () => Promise<SeenAnswer>): Promise<SeenAnswer> => {
      held = { key, gate: hold(), planned: hold() };
      const answer = add();
      await held.planned.released;
      relay.cut();
      held.gate.release();
      return answer;
    };
    const user = 'outbox-user';
    const first = spawn();

    // The graph store answers: the relation is written at once.
    const tea = await call(first, 'add_memory', { user: 'anna likes tea.', user_id: user });
    expect(tea.json.relations).toEqual({ added_entities: [{ source: 'anna', relationship: 'likes', target: 'tea' }], deleted_entities: [] });

    // Cut between plan and write: the memory is stored, the relation waits, and the answer says so.
    const paris = await addAcrossCut('paris', () => call(first, 'add_memory', { user: 'anna lives_in paris.', user_id: user, timeout: 60 }));
    expect(paris.json.status, paris.json.messages).toBe('SUCCESS');
    expect((paris.json.results as Array<{ event: string; memory: string }>).map((e) => [e.event, e.memory])).toEqual([['ADD', 'anna lives_in paris.']]);
    expect(paris.json.relations).toEqual({ added_entities: [], deleted_entities: [], pending: true });
    expect((paris.json as unknown as { warnings: string[] }).warnings.join(' ')).toContain("the graph store has not taken this add's relations yet");
    expect(paris.text).toContain('get_all_memories shows them then');

    // A queued add across the same cut: its job completes (the memory is committed with its outbox row).
    relay.mend();
    const accepted = await addAcrossCut('rome', () => call(first, 'add_memory', { user: 'anna visits rome.', user_id: user }, queued));
    const jobId = (accepted.json.results as Array<{ job_id: string }>)[0]!.job_id;
    let job: { state: string } = { state: 'queued' };
    for (let i = 0; i < 240 && ['queued', 'running'].includes(job.state); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      job = (await call(first, 'get_job_status', { job_id: jobId }, queued)).json.results as typeof job;
    }
    expect(job.state).toBe('completed');

    // Killed while the graph store is still away; it comes back; the next process writes what waited.
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    relay.mend();
    const second = spawn();
    const wanted: Relation[] = [
      { source: 'anna', relationship: 'likes', target: 'tea' },
      { source: 'anna', relationship: 'lives_in', target: 'paris' },
      { source: 'anna', relationship: 'visits', target: 'rome' },
    ];
    let listed = await call(second, 'get_all_memories', { user_id: user });
    for (let i = 0; i < 120 && (listed.json.relations as Relation[] | undefined)?.length !== 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      listed = await call(second, 'get_all_memories', { user_id: user });
    }
    const sorted = (list: Relation[]) => [...list].sort((a, b) => a.target.localeCompare(b.target));
    expect(sorted(listed.json.relations as Relation[])).toEqual(sorted(wanted));

    // Each add's relation is in its memory's history exactly once.
    const memories = listed.json.results as Array<{ id: string; memory: string }>;
    for (const [text, relation] of [['anna lives_in paris.', wanted[1]], ['anna visits rome.', wanted[2]]] as const) {
      const memory = memories.find((m) => m.memory === text)!;
      const history = await call(second, 'get_memory_history', { memory_id: memory.id });
      expect((history.json.relations as Array<{ added_entities: Relation[] }>).map((r) => r.added_entities)).toEqual([[relation]]);
    }
    second.closeStdin();
    expect((await second.stop(15_000)).signal).toBeNull();
  }, 300_000);
});
