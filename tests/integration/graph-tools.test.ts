/**
 * Graph memory through the tools (issue 12): the graph-store block (`local_graph_db_json_secret`) chosen once per
 * credential set, checked by credential validation, and used by add, search, get_all, delete_all and forget.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { freePort } from '../helpers/ports.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { AppDriver, credentials, DIMS, plainModel, postgresBackend } from './app.js';
import { graphCalls, graphModel } from './graph-model.js';
import {
  addThrough, GRAPH_FIELD, graphTargets, memoryStore, NEO4J_PASSWORD, newUser, graphToolsOn, sortedText, text,
} from './graph-targets.js';
import type { Found, Relation } from './graph-targets.js';

async function refusal(run: () => Promise<unknown>): Promise<{ message: string; args: Record<string, unknown> }> {
  const error = await run().then(
    () => {
      throw new Error('the check passed but should have failed');
    },
    (e: unknown) => e as { message: string; args: Record<string, unknown> },
  );
  expect(JSON.stringify({ m: error.message, a: error.args })).not.toContain(NEO4J_PASSWORD);
  return error;
}

describe('the graph-store block in credential validation', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel, resetEach: true });

  it('{} (the graph beside the memories) validates on embedded PGlite without an LLM call', async () => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{}' }));
    try {
      await driver.validate();
      expect(fake.chatCalls()).toHaveLength(0);
    } finally {
      await driver.close();
    }
  }, 120_000);

  it.each(['memgraph', 'neptune', 'kuzu'])('refuses the Mem0 graph store %s, naming what is supported', async (provider) => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: JSON.stringify({ provider, config: { url: 'bolt://127.0.0.1:7687' } }) }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toContain(`${GRAPH_FIELD}.provider "${provider}" is not supported`);
      expect(error.message).toContain('"postgres"');
      expect(error.message).toContain('"neo4j"');
      // The tools refuse the same block with the same words.
      const answer = await driver.call('search_memory', { timeout: 60, query: 'tea', user_id: 'u' });
      expect(answer.status).toBe('ERROR');
      expect(answer.messages).toContain(`${GRAPH_FIELD}.provider "${provider}" is not supported`);
    } finally {
      await driver.close();
    }
  });

  it('a Neo4j nobody answers at fails validation on the graph field, never echoing the password', async () => {
    const port = await freePort();
    const block = { provider: 'neo4j', config: { url: `bolt://127.0.0.1:${port}`, username: 'neo4j', password: NEO4J_PASSWORD } };
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: JSON.stringify(block) }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toMatch(new RegExp(`^${GRAPH_FIELD}: graph store: Neo4j at the configured url did not answer`));
    } finally {
      await driver.close();
    }
  });

  it('a malformed block names the field and the key', async () => {
    const driver = new AppDriver(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{"provider": "neo4j", "config": {"url": "http://x"}}' }));
    try {
      const error = await refusal(() => driver.validate());
      expect(error.message).toContain(`${GRAPH_FIELD}.config.url must be a bolt:// or neo4j:// URL`);
      const broken = await refusal(() => driver.validate(credentials(fake, memoryStore, { [GRAPH_FIELD]: '{"provider": ' })));
      expect(broken.message).toContain(`${GRAPH_FIELD}: not valid JSON`);
    } finally {
      await driver.close();
    }
  });
});

// ── the graph through the tools, on every backend ──────────────────────────────────────────────────────────────────

for (const target of graphTargets()) {
  // A cold Neo4j on a loaded machine answers its first queries slowly: a warm-up add, and 2 minutes per test.
  describe.skipIf(target.skip !== undefined)(`graph memory through the tools on ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, { timeout: 120_000 }, () => {
    // Every memory is past its hard TTL at once: forget_memories (called by one test only) forgets all it sees.
    const tools = graphToolsOn(target, { memory_ttl_days: '0.000000001' });
    const add = (userId: string, user: string, extra: Record<string, unknown> = {}) => addThrough(tools.driver, userId, user, extra);

    async function relationsOf(userId: string, extra: Record<string, unknown> = {}): Promise<Relation[]> {
      const answer = await tools.driver.call('get_all_memories', { timeout: 60, user_id: userId, ...extra });
      expect(answer.status, answer.messages).toBe('SUCCESS');
      return answer.relations as Relation[];
    }

    it('add answers what changed in the graph (Mem0 shape); a contradicting add removes the old relation', async () => {
      const u = newUser();
      const first = await add(u, 'anna lives_in shanghai. anna likes tea.');
      expect(first.results.map((r) => r.event)).toEqual(['ADD', 'ADD']);
      expect(sortedText(first.relations.added_entities)).toEqual(['anna likes tea', 'anna lives_in shanghai']);
      expect(first.relations.deleted_entities).toEqual([]);
      expect(first.text).toContain('anna —lives_in→ shanghai');
      // Said again: no memory and no relation twice.
      const again = await add(u, 'anna lives_in shanghai.');
      expect(again.results).toEqual([]);
      expect(again.relations).toEqual({ added_entities: [], deleted_entities: [] });
      const moved = await add(u, 'anna lives_in beijing.');
      expect(moved.relations).toEqual({
        added_entities: [{ source: 'anna', relationship: 'lives_in', target: 'beijing' }],
        deleted_entities: [{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }],
      });
      expect(sortedText(await relationsOf(u))).toEqual(['anna likes tea', 'anna lives_in beijing']);
    });

    it('search answers relations beside the memories: best first by score, at most top_k, threshold applied', async () => {
      const u = newUser();
      await add(u, 'anna lives_in shanghai. shanghai located_in china. anna likes tea. bob plays chess.');
      const query = 'Is anna in shanghai?';
      const answer = await tools.driver.call('search_memory', { timeout: 60, query, user_id: u, top_k: 3 });
      expect(answer.status).toBe('SUCCESS');
      const found = answer.relations as Found[];
      expect(found.length).toBeGreaterThan(0);
      expect(found.length).toBeLessThanOrEqual(3);
      expect(text(found[0]!)).toBe('anna lives_in shanghai');
      expect(found.map(text)).not.toContain('bob plays chess');
      for (const r of found) expect(Object.keys(r).sort()).toEqual(['destination', 'relationship', 'score', 'source']);
      const scores = found.map((r) => r.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const score of scores) expect(score).toBeGreaterThan(0);
      expect((answer.results as unknown[]).length).toBeGreaterThan(0);
      const one = await tools.driver.call('search_memory', { timeout: 60, query, user_id: u, top_k: 1 });
      expect(one.relations).toHaveLength(1);
      // A threshold between the best and the worst score keeps exactly the relations at or above it.
      expect(scores[0]).toBeGreaterThan(scores[scores.length - 1]!);
      const cut = (scores[0]! + scores[scores.length - 1]!) / 2;
      const strict = await tools.driver.call('search_memory', { timeout: 60, query, user_id: u, top_k: 3, threshold: cut });
      expect(strict.relations).toEqual(found.filter((r) => r.score >= cut));
      // Another user asks the same: nothing of anna's.
      expect((await tools.driver.call('search_memory', { timeout: 60, query, user_id: newUser() })).relations).toEqual([]);
    });

    it('get_all lists the relations on the first page only; an agent-scoped add lands in that agent graph', async () => {
      const u = newUser();
      await add(u, 'anna likes tea.');
      await add(u, 'anna booked hotel.', { agent_id: 'travel' });
      expect(sortedText(await relationsOf(u))).toEqual(['anna booked hotel', 'anna likes tea']);
      expect(sortedText(await relationsOf(u, { agent_id: 'travel' }))).toEqual(['anna booked hotel']);
      expect(await relationsOf(u, { agent_id: 'other' })).toEqual([]);
      expect(await relationsOf(u, { offset: 1 })).toEqual([]);
      expect(await relationsOf(u, { limit: 1 })).toHaveLength(1);
    });

    it('Chinese names are stored, searched and listed as written', async () => {
      const u = newUser();
      const added = await add(u, '安娜 住在 上海。');
      expect(added.relations.added_entities).toEqual([{ source: '安娜', relationship: '住在', target: '上海' }]);
      const answer = await tools.driver.call('search_memory', { timeout: 60, query: '安娜住在哪里?', user_id: u });
      expect((answer.relations as Found[]).map((r) => [r.source, r.relationship, r.destination])).toEqual([['安娜', '住在', '上海']]);
      expect(await relationsOf(u)).toEqual([{ source: '安娜', relationship: '住在', target: '上海' }]);
    });

    it('delete_memory keeps the graph; delete_all dry_run counts and deletes nothing; delete_all clears the graph', async () => {
      const u = newUser();
      const added = await add(u, 'anna likes tea. anna lives_in oslo.');
      const one = added.results[0]!.id;
      expect((await tools.driver.call('delete_memory', { memory_id: one })).status).toBe('SUCCESS');
      expect(sortedText(await relationsOf(u))).toEqual(['anna likes tea', 'anna lives_in oslo']);
      const dry = await tools.driver.call('delete_all_memories', { user_id: u, dry_run: true });
      // A destructive tool's preview counts everything it would remove: the memory and the scope's two relations.
      expect(dry.results).toMatchObject({ dry_run: true, would_delete_count: 1, would_delete_relations: 2 });
      expect(sortedText(await relationsOf(u))).toEqual(['anna likes tea', 'anna lives_in oslo']);
      const done = await tools.driver.call('delete_all_memories', { user_id: u });
      expect(done.results).toMatchObject({ deleted_count: 1 });
      expect(await relationsOf(u)).toEqual([]);
      expect((await tools.driver.call('search_memory', { timeout: 60, query: 'anna', user_id: u })).relations).toEqual([]);
    });

    it('delete_all with filters removes only the relations learnt from the memories it deletes', async () => {
      const u = newUser();
      await add(u, 'anna likes tea.', { metadata: '{"topic": "drinks"}' });
      await add(u, 'bob plays chess.', { metadata: '{"topic": "games"}' });
      const dry = await tools.driver.call('delete_all_memories', { user_id: u, filters: '{"topic": "drinks"}', dry_run: true });
      expect(dry.results).toMatchObject({ dry_run: true, would_delete_count: 1, would_delete_relations: 1 });
      expect(await relationsOf(u)).toHaveLength(2);
      const done = await tools.driver.call('delete_all_memories', { user_id: u, filters: '{"topic": "drinks"}' });
      expect(done.results).toMatchObject({ deleted_count: 1 });
      expect(sortedText(await relationsOf(u))).toEqual(['bob plays chess']);
    });

    it('forget_memories removes the relations learnt only from the memories it forgets', async () => {
      const u = newUser();
      await add(u, 'anna likes tea.');
      const other = newUser();
      await add(other, 'anna likes tea.');
      const dry = await tools.driver.call('forget_memories', { user_id: u, dry_run: true });
      expect(dry.results).toMatchObject({ deleted_count: 1, dry_run: true, deleted_relations: 1 });
      expect(sortedText(await relationsOf(u))).toEqual(['anna likes tea']);
      const forgot = await tools.driver.call('forget_memories', { user_id: u });
      expect(forgot.results).toMatchObject({ deleted_count: 1, deleted_relations: 1 });
      expect(await relationsOf(u)).toEqual([]);
      expect(sortedText(await relationsOf(other))).toEqual(['anna likes tea']);
    });

    it('property: relations never cross users or agents (random adds, every read checked)', async () => {
      let seed = 12345;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const users = [newUser(), newUser(), newUser()];
      const agents = [undefined, 'a1', 'a2'];
      const names = ['anna', 'bob', 'tea', 'oslo', '上海', 'chess', '安娜'];
      const verbs = ['likes', 'knows', 'visits', '住在'];
      const expected = new Map<string, Set<string>>();
      for (let i = 0; i < 12; i++) {
        const user = users[random(users.length)]!;
        const agent = agents[random(agents.length)];
        const source = names[random(names.length)]!;
        let destination = names[random(names.length)]!;
        if (destination === source) destination = `${destination}2`;
        const triple = `${source} ${verbs[random(verbs.length)]!} ${destination}`;
        await add(user, `${triple}.`, agent ? { agent_id: agent } : {});
        for (const key of [user, `${user}/${agent ?? ''}`]) expected.set(key, (expected.get(key) ?? new Set()).add(triple));
      }
      for (const user of users) {
        const own = [...(expected.get(user) ?? [])].sort();
        expect(sortedText(await relationsOf(user))).toEqual(own);
        for (const agent of ['a1', 'a2']) {
          expect(sortedText(await relationsOf(user, { agent_id: agent }))).toEqual([...(expected.get(`${user}/${agent}`) ?? [])].sort());
        }
        for (const query of names) {
          const found = (await tools.driver.call('search_memory', { timeout: 60, query, user_id: user, top_k: 20 })).relations as Found[];
          for (const r of found) expect(own).toContain(text(r));
        }
      }
    });
  });
}

describe('graph memory in async mode (the queue)', () => {
  const fake = useFakeModel({ dims: DIMS, script: graphModel });
  let driver: AppDriver;
  beforeAll(() => {
    driver = new AppDriver({ ...credentials(fake, memoryStore, { [GRAPH_FIELD]: '{}' }), async_mode: 'true' });
  });
  afterAll(() => driver.close());

  it('a queued add answers ACCEPT without relations; its job writes them', async () => {
    const u = newUser();
    const accepted = await driver.call('add_memory', { timeout: 60, user: 'anna likes tea.', user_id: u });
    expect(accepted.status).toBe('SUCCESS');
    expect((accepted.results as Array<{ event: string }>)[0]!.event).toBe('ACCEPT');
    expect(accepted.relations).toBeUndefined();
    let relations: Relation[] = [];
    for (let i = 0; i < 120 && relations.length === 0; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      relations = (await driver.call('get_all_memories', { timeout: 60, user_id: u })).relations as Relation[];
    }
    expect(relations).toEqual([{ source: 'anna', relationship: 'likes', target: 'tea' }]);
    expect(((await driver.call('get_all_memories', { timeout: 60, user_id: u })).results as unknown[])).toHaveLength(1);
  });
});

describe('without a graph block nothing changes', () => {
  const fake = useFakeModel({ dims: DIMS, script: graphModel, resetEach: true });

  const url = testDatabaseUrl();
  const cases: Array<[string, (() => Promise<{ store: Record<string, unknown>; dropGraphTables?: () => Promise<void>; close(): Promise<void> }>)]> = [
    ['pglite', () => Promise.resolve({ store: memoryStore, close: () => Promise.resolve() })],
  ];
  if (url) {
    cases.push(['postgres, with the graph tables dropped', async () => {
      const backend = postgresBackend(url);
      const store = await backend.store();
      const schema = (store.config as { schema_name: string }).schema_name;
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      return {
        store,
        // Any statement over a graph table would now fail the call.
        dropGraphTables: async () => {
          const tables = await admin.query<{ name: string }>(
            `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE '%graph%'`, [schema],
          );
          expect(tables.rows.length).toBe(4); // entities, relations, history, outbox
          for (const t of tables.rows) await admin.query(`DROP TABLE "${schema}"."${t.name}" CASCADE`);
        },
        close: async () => {
          await admin.end();
          await backend.cleanup();
        },
      };
    }]);
  }

  it.each(cases)('%s: no graph prompt, no relations in any answer, no graph table read or written', async (_name, open) => {
    const opened = await open();
    const driver = new AppDriver(credentials(fake, opened.store, { memory_ttl_days: '0.000000001' }));
    try {
      await driver.validate();
      await opened.dropGraphTables?.();
      const u = newUser();
      const added = await driver.call('add_memory', { timeout: 60, user: 'anna likes tea. bob plays chess.', user_id: u, metadata: '{"topic": "x"}' });
      expect(added.status, added.messages).toBe('SUCCESS');
      expect(added.relations).toBeUndefined();
      const found = await driver.call('search_memory', { timeout: 60, query: 'anna tea', user_id: u });
      expect(found.status, found.messages).toBe('SUCCESS');
      expect((found.results as unknown[]).length).toBeGreaterThan(0);
      expect(found.relations).toBeUndefined();
      const listed = await driver.call('get_all_memories', { timeout: 60, user_id: u });
      expect(listed.relations).toBeUndefined();
      expect(listed.raw.some((m) => m.type === 'variable' && m.message.variable_name === 'relations')).toBe(false);
      const first = (added.results as Array<{ id: string }>)[0]!.id;
      const history = await driver.call('get_memory_history', { memory_id: first });
      expect(history.status, history.messages).toBe('SUCCESS');
      expect(history.relations).toBeUndefined();
      expect((await driver.call('delete_memory', { memory_id: first })).status).toBe('SUCCESS');
      expect((await driver.call('delete_all_memories', { user_id: u, filters: '{"topic": "y"}' })).status).toBe('SUCCESS');
      const forgot = await driver.call('forget_memories', { user_id: u });
      expect(forgot.status, forgot.messages).toBe('SUCCESS');
      expect(forgot.results).not.toHaveProperty('deleted_relations');
      const dryForget = await driver.call('forget_memories', { user_id: u, dry_run: true });
      expect(dryForget.results).not.toHaveProperty('deleted_relations');
      const dry = await driver.call('delete_all_memories', { user_id: u, dry_run: true });
      expect(dry.results).not.toHaveProperty('would_delete_relations');
      expect((await driver.call('delete_all_memories', { user_id: u })).status).toBe('SUCCESS');
      expect(graphCalls(fake)).toBe(0);
      // One LLM call in all: the add's fact extraction (nothing was stored to reconcile with).
      expect(fake.chatCalls()).toHaveLength(1);
    } finally {
      await driver.close();
      await opened.close();
    }
  });
});
