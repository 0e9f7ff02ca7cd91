// Property test: many users (with look-alike ids: case, LIKE wildcards, quotes, backslashes, other scripts) and
// random operations through the app; after every step, what each user sees equals a simple model of what that user
// (in that agent scope) owns. Nothing ever crosses users. Seeded, so a failure replays exactly (SEED=… to vary).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { AppDriver, credentials, DIMS, pgliteBackend, plainModel, postgresBackend } from './app.js';
import type { Backend } from './app.js';
import { seededRandom } from '../helpers/random.js';

const USERS = ['alex', 'Alex', 'alex%', 'alex_', 'al', 'ålex', '用户一', "o'brien", 'a"b', 'x\\y', 'alex/1', '%'];
const AGENTS = [undefined, 'app-A', 'app-B'];
const STEPS = Number(process.env.ISOLATION_STEPS ?? 160);
const SEED = Number(process.env.SEED ?? 20261121);

interface Owned { id: string; user: string; agent: string | undefined; memory: string }
interface Item { id: string; memory: string }

const url = testDatabaseUrl();
const BACKENDS: Array<[string, () => Backend]> = [['pglite', pgliteBackend]];
if (url) BACKENDS.push(['postgres', () => postgresBackend(url)]);

describe.each(BACKENDS)('isolation across users on %s', (_name, makeBackend) => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let backend: Backend;
  let driver: AppDriver;
  beforeAll(async () => {
    backend = makeBackend();
    driver = new AppDriver(credentials(fake, await backend.store()));
  });
  afterAll(async () => {
    await driver.close();
    await backend.cleanup();
  });

  it(`${STEPS} random operations over ${USERS.length} users never cross users (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const model = new Map<string, Owned>();
    const ownedBy = (user: string, agent?: string): Owned[] =>
      [...model.values()].filter((m) => m.user === user && (agent === undefined || m.agent === agent));
    const counts: Record<string, number> = {};

    for (let step = 0; step < STEPS; step++) {
      const user = pick(USERS);
      const agent = pick(AGENTS);
      const mine = ownedBy(user);
      const roll = random();
      const op = roll < 0.35 ? 'add' : roll < 0.55 ? 'search' : roll < 0.68 ? 'get_all' : roll < 0.78 ? 'update' : roll < 0.88 ? 'delete' : roll < 0.93 ? 'delete_all' : 'get_other';
      counts[op] = (counts[op] ?? 0) + 1;
      const where = `step ${step} (${op} by ${JSON.stringify(user)}${agent ? ` in ${agent}` : ''})`;

      if (op === 'add') {
        const memory = `Fact ${step} of ${user} is about topic ${Math.floor(random() * 5)}.`;
        const events = await driver.ok<Array<{ id: string; memory: string; event: string }>>('add_memory', { user: memory, user_id: user, agent_id: agent ?? '' });
        expect(events, where).toEqual([{ id: expect.any(String), memory, event: 'ADD' }]);
        model.set(events[0]!.id, { id: events[0]!.id, user, agent, memory });
      } else if (op === 'search') {
        const hits = await driver.ok<Item[]>('search_memory', { query: `topic ${Math.floor(random() * 5)} of ${pick(USERS)}`, user_id: user, agent_id: agent ?? '', top_k: 50 });
        const allowed = new Set(ownedBy(user, agent).map((m) => m.id));
        for (const hit of hits) expect(allowed.has(hit.id), `${where}: found ${hit.memory}`).toBe(true);
        expect(hits.length, where).toBe(allowed.size);
      } else if (op === 'get_all') {
        const items = await driver.ok<Item[]>('get_all_memories', { user_id: user, agent_id: agent ?? '' });
        expect(items.map((i) => i.id).sort(), where).toEqual(ownedBy(user, agent).map((m) => m.id).sort());
      } else if (op === 'update' && mine.length > 0) {
        const target = pick(mine);
        const memory = `Updated ${step}: ${target.memory}`;
        await driver.ok('update_memory', { memory_id: target.id, text: memory });
        target.memory = memory;
      } else if (op === 'delete' && mine.length > 0) {
        const target = pick(mine);
        await driver.ok('delete_memory', { memory_id: target.id });
        model.delete(target.id);
        expect((await driver.call('get_memory', { memory_id: target.id })).status, where).toBe('NOT_FOUND');
      } else if (op === 'delete_all') {
        const gone = ownedBy(user, agent);
        const result = await driver.ok<{ deleted_count: number }>('delete_all_memories', { user_id: user, agent_id: agent ?? '' });
        expect(result.deleted_count, where).toBe(gone.length);
        for (const m of gone) model.delete(m.id);
      } else if (op === 'get_other' && model.size > 0) {
        // Reading a memory by id returns exactly its owner's text (ids are global; the tool takes no user).
        const target = pick([...model.values()]);
        expect(await driver.ok('get_memory', { memory_id: target.id }), where).toMatchObject({ id: target.id, memory: target.memory });
      }
    }

    // Final sweep: every user, every scope, exactly the model.
    for (const user of USERS) {
      for (const agent of AGENTS) {
        const items = await driver.ok<Item[]>('get_all_memories', { user_id: user, agent_id: agent ?? '', limit: 1000 });
        expect(items.map((i) => [i.id, i.memory]).sort(), `${user}/${agent}`).toEqual(ownedBy(user, agent).map((m) => [m.id, m.memory]).sort());
      }
    }
    expect(counts.add).toBeGreaterThan(STEPS / 5);
  }, 300_000);
});
