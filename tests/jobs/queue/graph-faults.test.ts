// A queued add with a graph store, its process killed (SIGKILL) mid-job, against the BUILT plugin over stdio: the job
// is run again by the next process and its memory, its relation and the relation's history entry are there exactly
// once (none doubled, none lost), beside adds that completed before the kill. On embedded PGlite (a folder, taken
// over from the dead process) and on PostgreSQL when TEST_DATABASE_URL is set. The held job is provably mid-job: its
// graph prompt is held unanswered by the fake model until the process is dead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { hold } from '../../helpers/hold.js';
import type { Hold } from '../../helpers/hold.js';
import { PluginProcess } from '../../helpers/plugin-process.js';
import { FakePluginStorage } from '../../helpers/plugin-storage.js';
import { testDatabaseUrl } from '../../helpers/postgres.js';
import { credentials, DIMS, pgliteFolder, postgresBackend } from '../../integration/app.js';
import { callBundle } from '../../integration/bundle-call.js';
import { graphAnswer, isGraphPrompt } from '../../integration/graph-model.js';

const JOB_ENV = {
  MEM0_JOB_LEASE_MS: '3000',
  MEM0_JOB_POLL_MS: '100',
  MEM0_JOB_SUPERVISE_MS: '500',
  MEM0_JOB_RETRY_DELAY_MS: '200',
  LOG_LEVEL: 'warn',
};
const ADDS = 8;

interface Job { state: string; attempts: number }

const url = testDatabaseUrl();
const stores: Array<{ name: string; open(): Promise<Record<string, unknown>>; close(): Promise<void> }> = [
  { name: 'pglite (folder)', open: () => Promise.resolve({ provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } }), close: () => Promise.resolve() },
];
if (url) {
  const backend = postgresBackend(url);
  stores.push({ name: 'postgresql', open: () => backend.store(), close: () => backend.cleanup() });
}

describe.each(stores)('a queued add with a graph, killed mid-job, on $name', (store) => {
  const fake = useFakeModel({ dims: DIMS });
  let held: Hold;
  const spawned: PluginProcess[] = [];
  beforeAll(() => {
    held = hold();
    // The first add's first graph prompt waits for the hold; everything else (its retry too) answers at once.
    let holding = true;
    fake.onChat((body) => {
      const user = body.messages[1]?.content ?? '';
      if (!holding || !isGraphPrompt(body) || !user.includes('p0 likes t0')) return graphAnswer(body);
      holding = false;
      return { after: held.released, then: graphAnswer(body) };
    });
  });
  afterAll(async () => {
    held.release();
    for (const p of spawned) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await store.close();
  });

  it('the job runs again after the kill; every memory, relation and graph history entry is there exactly once', async () => {
    const storage = new FakePluginStorage();
    const creds = credentials(fake, await store.open(), { local_graph_db_json_secret: '{}', async_mode: 'true', max_concurrent_memory_operations: '5' });
    const spawn = (): PluginProcess => {
      // One workspace across the restart: the embedded store's namespace lives in the daemon's plugin storage.
      const proc = new PluginProcess({ env: JOB_ENV, storage });
      spawned.push(proc);
      return proc;
    };
    const first = spawn();
    const call = (proc: PluginProcess, tool: string, parameters: Record<string, unknown>) => callBundle(proc, creds, tool, parameters);
    const jobOf = async (proc: PluginProcess, jobId: string): Promise<Job> => {
      const answer = await call(proc, 'get_job_status', { job_id: jobId });
      return { ...(answer.json.results as Job), ...(answer.json.status === 'SUCCESS' ? {} : { state: answer.json.messages }) };
    };

    const jobs: string[] = [];
    for (let i = 0; i < ADDS; i++) {
      const accepted = await call(first, 'add_memory', { user: `p${i} likes t${i}.`, user_id: `gf-${i}` });
      expect(accepted.json.status, accepted.json.messages).toBe('SUCCESS');
      jobs.push((accepted.json.results as Array<{ job_id: string }>)[0]!.job_id);
    }
    // Every add but the held one completes; the held one is running, waiting on its graph prompt.
    const settled = async (proc: PluginProcess, ids: string[]): Promise<Job[]> => {
      let seen: Job[] = [];
      for (let i = 0; i < 240; i++) {
        seen = await Promise.all(ids.map((id) => jobOf(proc, id)));
        if (seen.every((j) => j.state === 'completed')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return seen;
    };
    expect((await settled(first, jobs.slice(1))).map((j) => j.state)).toEqual(Array(ADDS - 1).fill('completed'));
    expect(await jobOf(first, jobs[0]!)).toMatchObject({ state: 'running', attempts: 1 });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // The next process takes the job over once its lease ran out; its graph prompt is answered now.
    held.release();
    const second = spawn();
    const after = await settled(second, jobs);
    expect(after.map((j) => j.state)).toEqual(Array(ADDS).fill('completed'));
    expect(after[0]!.attempts).toBe(2);

    for (let i = 0; i < ADDS; i++) {
      const listed = await call(second, 'get_all_memories', { user_id: `gf-${i}` });
      const memories = listed.json.results as Array<{ id: string; memory: string }>;
      expect(memories.map((m) => m.memory)).toEqual([`p${i} likes t${i}.`]);
      expect(listed.json.relations).toEqual([{ source: `p${i}`, relationship: 'likes', target: `t${i}` }]);
      const history = await call(second, 'get_memory_history', { memory_id: memories[0]!.id });
      expect((history.json.results as Array<{ event: string }>).map((e) => e.event)).toEqual(['ADD']);
      expect((history.json.relations as Array<{ added_entities: unknown[] }>).map((r) => r.added_entities)).toEqual([
        [{ source: `p${i}`, relationship: 'likes', target: `t${i}` }],
      ]);
    }
    second.closeStdin();
    expect((await second.stop(15_000)).signal).toBeNull();
  }, 240_000);
});
