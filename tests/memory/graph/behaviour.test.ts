/**
 * ONE behaviour suite for every graph backend: the PostgreSQL graph on embedded PGlite, on the real PostgreSQL of
 * TEST_DATABASE_URL, and the Neo4j graph on a real Neo4j 5 (tests/helpers/neo4j.ts). The backend contract first
 * (dedup, removal, hops, scope, injection), then the graph memory over it with real mem0ai OpenAI providers against
 * the scripted loopback LLM (extraction, contradiction removal, multi-hop search, names that meet, Chinese).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addResult, GraphMemory } from '../../../src/memory/graph/graph-memory.js';
import { matchKey } from '../../../src/memory/graph/names.js';
import type { Providers } from '../../../src/memory/providers.js';
import { openNeo4jGraph } from '../../../src/store/graph/neo4j.js';
import { PostgresGraph } from '../../../src/store/graph/postgres.js';
import type { GraphBackend, GraphChanges, NewEntity, Triple } from '../../../src/store/graph/types.js';
import type { Store } from '../../../src/store/index.js';
import { embedText } from '../../helpers/fake-openai.js';
import { seededRandom } from '../../helpers/random.js';
import { providersOn } from '../../helpers/providers-on-fake.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import type { ChatRequestBody } from '../../helpers/fake-openai.js';
import { neo4jAvailability, skipNeo4j, startNeo4j } from '../../helpers/neo4j.js';
import type { RunningNeo4j } from '../../helpers/neo4j.js';
import { backends } from '../../store/backends.js';

const DIMS = 32;

interface Target {
  name: string;
  skip?: string;
  open(): Promise<GraphBackend>;
  close(): Promise<void>;
}

function sqlTargets(): Target[] {
  return backends().map((backend) => {
    const stores: Store[] = [];
    return {
      name: backend.name,
      async open() {
        const store = await backend.open(await backend.freshConfig({ embedding_model_dims: DIMS }));
        stores.push(store);
        return new PostgresGraph(store.database.pool, store.tables, DIMS);
      },
      async close() {
        for (const s of stores) await s.close();
        await backend.close();
      },
    };
  });
}

function neo4jTarget(): Target {
  const availability = neo4jAvailability();
  let server: RunningNeo4j | undefined;
  const graphs: GraphBackend[] = [];
  return {
    name: 'neo4j',
    ...(skipNeo4j(availability) ? { skip: availability.reason! } : {}),
    async open() {
      server ??= await startNeo4j(availability);
      const graph = await openNeo4jGraph({ url: server.url, username: 'neo4j', password: 'unused-by-the-harness' }, { dims: DIMS });
      graphs.push(graph);
      return graph;
    },
    async close() {
      for (const g of graphs) await g.close();
      await server?.stop();
    },
  };
}

const TARGETS: Target[] = [...sqlTargets(), neo4jTarget()];

function user(): string {
  return `u-${randomBytes(5).toString('hex')}`;
}

function entity(name: string, type = ''): NewEntity {
  return { name, matchKey: matchKey(name), type, embedding: embedText(name, DIMS) };
}

/** Changes adding `triples` (their ends as entities). */
function adding(...triples: Array<[string, string, string]>): GraphChanges {
  const names = [...new Set(triples.flatMap(([s, , d]) => [s, d]))];
  return { entities: names.map((n) => entity(n)), add: triples.map(t), delete: [] };
}

function t([source, relationship, destination]: [string, string, string]): Triple {
  return { source, relationship, destination };
}

function sorted(list: Triple[]): string[] {
  return list.map((x) => `${x.source} -${x.relationship}-> ${x.destination}`).sort();
}

for (const target of TARGETS) {
  describe.skipIf(target.skip !== undefined)(`graph on ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, () => {
    let graph: GraphBackend;
    beforeAll(async () => {
      graph = await target.open();
    }, 300_000);
    afterAll(() => target.close(), 60_000);

    describe('backend', () => {
      it('stores a relation once, reports only what is new, and keeps every provenance', async () => {
        const u = { userId: user() };
        const first = await graph.apply(u, adding(['anna', 'lives_in', 'shanghai'], ['anna', 'likes', 'tea']), ['00000000-0000-4000-8000-000000000001']);
        expect(sorted(first.added)).toEqual(['anna -likes-> tea', 'anna -lives_in-> shanghai']);
        const again = await graph.apply(u, adding(['anna', 'lives_in', 'shanghai']), ['00000000-0000-4000-8000-000000000002']);
        expect(again).toEqual({ added: [], deleted: [] });
        expect(sorted(await graph.listRelations(u, 10))).toEqual(['anna -likes-> tea', 'anna -lives_in-> shanghai']);
        // Forgetting the first memory leaves the relation the second memory also taught; "likes tea" goes.
        const forgotten = await graph.forgetMemories(u, ['00000000-0000-4000-8000-000000000001']);
        expect(sorted(forgotten)).toEqual(['anna -likes-> tea']);
        expect(sorted(await graph.listRelations(u, 10))).toEqual(['anna -lives_in-> shanghai']);
        expect((await graph.mentionedEntities(u, matchKey('tea time'), 5)).map((e) => e.name)).toEqual([]);
      });

      it('removes a relation (and an entity left without any) and says what it removed', async () => {
        const u = { userId: user() };
        await graph.apply(u, adding(['anna', 'lives_in', 'shanghai'], ['anna', 'works_at', 'acme']), []);
        const removed = await graph.apply(u, { entities: [], add: [], delete: [t(['anna', 'lives_in', 'shanghai']), t(['anna', 'lives_in', 'nowhere'])] }, []);
        expect(removed).toEqual({ added: [], deleted: [t(['anna', 'lives_in', 'shanghai'])] });
        expect(sorted(await graph.listRelations(u, 10))).toEqual(['anna -works_at-> acme']);
        expect(await graph.mentionedEntities(u, matchKey('shanghai'), 5)).toEqual([]);
        expect((await graph.mentionedEntities(u, matchKey('anna'), 5)).map((e) => e.name)).toEqual(['anna']);
      });

      it('walks one or two hops from the seeds, nearest first', async () => {
        const u = { userId: user() };
        await graph.apply(u, adding(['me', 'sister_of', 'anna'], ['anna', 'lives_in', 'shanghai'], ['shanghai', 'located_in', 'china'], ['bob', 'knows', 'carl']), []);
        const one = await graph.relationsAround(u, ['me'], 1, 10);
        expect(one.map((r) => [r.source, r.relationship, r.destination, r.hop, r.seed])).toEqual([['me', 'sister_of', 'anna', 1, 'me']]);
        const two = await graph.relationsAround(u, ['me'], 2, 10);
        expect(two.map((r) => `${r.hop} ${r.source} ${r.relationship} ${r.destination}`).sort()).toEqual([
          '1 me sister_of anna', '2 anna lives_in shanghai',
        ]);
        const fromTwo = await graph.relationsAround(u, ['shanghai', 'me'], 1, 10);
        expect(fromTwo.map((r) => `${r.seed}: ${r.source} ${r.relationship} ${r.destination}`).sort()).toEqual([
          'me: me sister_of anna', 'shanghai: anna lives_in shanghai', 'shanghai: shanghai located_in china',
        ]);
        expect(await graph.relationsAround(u, ['me'], 2, 1)).toHaveLength(1);
      });

      it('finds entities by vector and by mention, in English and Chinese', async () => {
        const u = { userId: user() };
        await graph.apply(u, adding(['安娜', '住在', '上海'], ['my sister anna', 'likes', 'green tea']), []);
        const named = await graph.mentionedEntities(u, matchKey('我的妹妹安娜住在哪里?'), 5);
        expect(named.map((e) => e.name)).toEqual(['安娜']);
        const english = await graph.mentionedEntities(u, matchKey('What does my sister Anna like?'), 5);
        expect(english.map((e) => e.name)).toEqual(['my sister anna']);
        // A part of a word is not a mention.
        expect(await graph.mentionedEntities(u, matchKey('my sister annabel'), 5)).toEqual([]);
        const near = await graph.similarEntities(u, embedText('green tea', DIMS), 2);
        expect(near[0]).toMatchObject({ name: 'green tea' });
        expect(near[0]!.similarity).toBeCloseTo(1, 5);
        expect(near[1]!.similarity).toBeLessThan(near[0]!.similarity);
        // A zero vector has no direction: nothing is near it, and no entity may carry one.
        expect(await graph.similarEntities(u, new Array<number>(DIMS).fill(0), 2)).toEqual([]);
        const flat = { name: 'flat', matchKey: matchKey('flat'), type: '', embedding: new Array<number>(DIMS).fill(0) };
        await expect(graph.apply(u, { entities: [flat, entity('x')], add: [t(['flat', 'is', 'x'])], delete: [] }, [])).rejects.toThrow(/all zeros/);
        expect(await graph.similarEntities(u, embedText('green tea', DIMS), 5)).toHaveLength(4);
      });

      it("keeps an agent's graph apart, and shows all of the user's graphs to a read without agent", async () => {
        const userId = user();
        await graph.apply({ userId }, adding(['anna', 'likes', 'tea']), []);
        await graph.apply({ userId, agentId: 'travel' }, adding(['anna', 'visits', 'paris']), []);
        expect(sorted(await graph.listRelations({ userId, agentId: 'travel' }, 10))).toEqual(['anna -visits-> paris']);
        expect(sorted(await graph.listRelations({ userId }, 10))).toEqual(['anna -likes-> tea', 'anna -visits-> paris']);
        expect((await graph.relationsAround({ userId, agentId: 'travel' }, ['anna'], 2, 10)).map((r) => r.destination)).toEqual(['paris']);
        expect(await graph.deleteAll({ userId, agentId: 'travel' })).toBe(1);
        expect(sorted(await graph.listRelations({ userId }, 10))).toEqual(['anna -likes-> tea']);
        expect(await graph.deleteAll({ userId })).toBe(1);
        expect(await graph.listRelations({ userId }, 10)).toEqual([]);
      });

      it('stores names that look like Cypher or SQL as plain text and touches nothing else', async () => {
        const victim = { userId: user() };
        await graph.apply(victim, adding(['victim', 'owns', 'secret']), []);
        const attacker = { userId: user() };
        const names = [
          "x'}) MATCH (n) DETACH DELETE n //",
          'a"}]->(b) WITH 1 AS x MATCH (n) DETACH DELETE n RETURN 1 //',
          "'); DROP TABLE entities; --",
          '$user } OR 1=1 //',
          '`__Entity__` {user_id: "*"}',
        ];
        const triples = names.map((n, i): [string, string, string] => [n, `rel_${i}`, `target ${i}`]);
        const applied = await graph.apply(attacker, adding(...triples), []);
        expect(applied.added).toHaveLength(names.length);
        expect(sorted(await graph.listRelations(attacker, 20))).toEqual(sorted(triples.map(t)));
        const around = await graph.relationsAround(attacker, [names[0]!], 2, 10);
        expect(around.map((r) => r.source)).toEqual([names[0]]);
        await graph.apply(attacker, { entities: [], add: [], delete: [t(triples[0]!)] }, []);
        expect(sorted(await graph.listRelations(victim, 10))).toEqual(['victim -owns-> secret']);
        expect(await graph.listRelations({ userId: "' OR '1'='1" }, 10)).toEqual([]);
        expect(await graph.listRelations({ userId: names[0]! }, 10)).toEqual([]);
      });

      it('property: random writes of several users and agents never show up in another scope', async () => {
        // Reproducible pseudo-random operations; a model of every graph says what each read must show.
        const rand = seededRandom(20_261_203);
        const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
        const users = [user(), user(), user()];
        const agents = [null, 'a1', 'a2'];
        const words = ['anna', 'bob', 'tea', 'paris', '上海', '咖啡', 'acme'];
        const rels = ['likes', 'lives_in', 'knows'];
        const model = new Map<string, Set<string>>(); // "user|agent" → triples
        const graphKey = (u: string, ag: string | null) => `${u}|${ag ?? ''}`;
        for (let step = 0; step < 40; step++) {
          const u = pick(users);
          const ag = pick(agents);
          const scope = ag ? { userId: u, agentId: ag } : { userId: u };
          const set = model.get(graphKey(u, ag)) ?? new Set<string>();
          model.set(graphKey(u, ag), set);
          const roll = rand();
          if (roll < 0.7) {
            const s = pick(words);
            const d = pick(words.filter((w) => w !== s));
            const r = pick(rels);
            await graph.apply(scope, adding([s, r, d]), []);
            set.add(`${s} -${r}-> ${d}`);
          } else if (roll < 0.9 && set.size > 0) {
            const [s, rest] = pick([...set]).split(' -');
            const [r, d] = rest!.split('-> ');
            await graph.apply(scope, { entities: [], add: [], delete: [{ source: s!, relationship: r!, destination: d! }] }, []);
            set.delete(`${s} -${r}-> ${d}`);
          } else {
            await graph.deleteAll(scope);
            if (ag) set.clear();
            else for (const [k, v] of model) if (k.startsWith(`${u}|`)) v.clear();
          }
          // Every read of every scope shows exactly that scope's triples.
          for (const checkUser of users) {
            for (const checkAgent of agents) {
              const expected = checkAgent
                ? [...(model.get(graphKey(checkUser, checkAgent)) ?? [])]
                : agents.flatMap((x) => [...(model.get(graphKey(checkUser, x)) ?? [])]);
              const readScope = checkAgent ? { userId: checkUser, agentId: checkAgent } : { userId: checkUser };
              const listed = sorted(await graph.listRelations(readScope, 500));
              expect(listed).toEqual([...expected].sort()); // one line per graph that holds the triple
              const around = await graph.relationsAround(readScope, words, 2, 500);
              expect(new Set(sorted(around))).toEqual(new Set(expected));
            }
          }
        }
      }, 240_000);
    });

    describe('graph memory', () => {
      let extraction: unknown;
      let deletions: unknown;
      const fake = useFakeModel({
        dims: DIMS,
        resetEach: true,
        script: (model) => model.onChat((body: ChatRequestBody) => {
          const system = body.messages[0]?.content ?? '';
          if (system.startsWith('You build a knowledge graph')) return JSON.stringify(extraction);
          if (system.startsWith("You keep a user's knowledge graph true")) return JSON.stringify(deletions);
          return { status: 500, error: 'unexpected prompt' };
        }),
      });
      let providers: Providers;
      let memory: GraphMemory;

      beforeAll(async () => {
        providers = await providersOn(fake, 10_000);
        memory = new GraphMemory(graph, providers.llm, providers.embedder);
      });

      function graphPrompts(kind: 'extract' | 'reconcile'): ChatRequestBody[] {
        const start = kind === 'extract' ? 'You build a knowledge graph' : "You keep a user's knowledge graph true";
        return fake.chatCalls().filter((c) => c.messages[0]?.content.startsWith(start));
      }

      async function learn(userId: string, text: string, agentId?: string) {
        const scope = agentId ? { userId, agentId } : { userId };
        const plan = await memory.plan(scope, [{ role: 'user', content: text }]);
        // Written as an add's outbox writer writes it: to the scope's own graph (the agent's, else the user's).
        return addResult(await graph.apply({ userId, agentId: agentId ?? '' }, plan.changes, []));
      }

      it('extracts entities and relations, normalised, and answers in Mem0 shapes', async () => {
        const u = user();
        extraction = {
          entities: [{ name: ' Anna ', type: 'Person' }, { name: 'SHANGHAI', type: 'city' }],
          relations: [{ source: ' Anna ', relationship: 'Lives In', destination: 'SHANGHAI' }, { source: 'x', relationship: '', destination: 'y' }],
        };
        const result = await learn(u, 'Anna lives in Shanghai.');
        expect(result).toEqual({ added_entities: [{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }], deleted_entities: [] });
        expect(graphPrompts('extract')[0]!.messages[0]!.content).toContain(JSON.stringify(u));
        expect(graphPrompts('reconcile')).toHaveLength(0); // nothing stored around: no second call
        expect(await memory.list({ userId: u }, 10)).toEqual([{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }]);
        // The same statement again: no duplicate, nothing reported.
        deletions = { delete: [] };
        expect(await learn(u, 'Anna lives in Shanghai!')).toEqual({ added_entities: [], deleted_entities: [] });
        expect(await memory.list({ userId: u }, 10)).toHaveLength(1);
      });

      it('removes the stored relation the LLM finds contradicted, shown to it under an integer id', async () => {
        const u = user();
        extraction = { entities: [], relations: [{ source: 'anna', relationship: 'lives_in', destination: 'shanghai' }, { source: 'anna', relationship: 'likes', destination: 'tea' }] };
        await learn(u, 'Anna lives in Shanghai and likes tea.');
        extraction = { entities: [], relations: [{ source: 'Anna', relationship: 'lives_in', destination: 'Beijing' }] };
        deletions = { delete: [] };
        fake.reset();
        fake.onChat((body) => {
          const system = body.messages[0]?.content ?? '';
          if (system.startsWith('You build a knowledge graph')) return JSON.stringify(extraction);
          const stored = body.messages[1]!.content;
          const id = /(\d+): anna -- lives_in --> shanghai/.exec(stored)?.[1];
          return JSON.stringify({ delete: id === undefined ? [] : [Number(id)] });
        });
        const result = await learn(u, 'Anna moved to Beijing.');
        expect(result).toEqual({
          added_entities: [{ source: 'anna', relationship: 'lives_in', target: 'beijing' }],
          deleted_entities: [{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }],
        });
        const prompt = graphPrompts('reconcile')[0]!.messages[1]!.content;
        expect(prompt).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/); // no internal ids, only small handles
        expect((await memory.list({ userId: u }, 10)).map((r) => r.target).sort()).toEqual(['beijing', 'tea']);
      });

      it('refuses an id the LLM was not shown (asks once more, then fails without writing)', async () => {
        const u = user();
        extraction = { entities: [], relations: [{ source: 'bob', relationship: 'owns', destination: 'car' }] };
        await learn(u, 'Bob owns a car.');
        extraction = { entities: [], relations: [{ source: 'bob', relationship: 'owns', destination: 'bike' }] };
        deletions = { delete: [7] };
        await expect(learn(u, 'Bob owns a bike.')).rejects.toThrow(/graph reconciliation.*id 7 is not in the stored list/);
        expect(graphPrompts('reconcile')).toHaveLength(2);
        expect(await memory.list({ userId: u }, 10)).toEqual([{ source: 'bob', relationship: 'owns', target: 'car' }]);
      });

      it('search returns the relations within two hops of the query entities, ranked, with scores, limited by top_k', async () => {
        const u = user();
        extraction = {
          entities: [],
          relations: [
            { source: u, relationship: 'sister', destination: 'anna' },
            { source: 'anna', relationship: 'lives_in', destination: 'shanghai' },
            { source: 'shanghai', relationship: 'located_in', destination: 'china' },
            { source: 'bob', relationship: 'plays', destination: 'chess' },
          ],
        };
        await learn(u, 'My sister Anna lives in Shanghai, in China. Bob plays chess.');
        const query = 'Where does Anna live?';
        const vector = await providers.embedder.embed(query, 'search');
        const found = await memory.search({ userId: u }, query, vector, 5);
        const text = found.map((r) => `${r.source} ${r.relationship} ${r.destination}`);
        expect(text[0]).toBe('anna lives_in shanghai');
        expect(text).toContain(`${u} sister anna`);
        expect(text).toContain('shanghai located_in china'); // two hops from anna
        expect(text).not.toContain('bob plays chess');
        for (const r of found) expect(r.score).toBeGreaterThan(0);
        for (const r of found) expect(r.score).toBeLessThanOrEqual(1);
        expect(found.map((r) => r.score)).toEqual([...found.map((r) => r.score)].sort((a, b) => b - a));
        expect(await memory.search({ userId: u }, query, vector, 1)).toHaveLength(1);
        expect(await memory.search({ userId: user() }, query, vector, 5)).toEqual([]); // another user sees nothing
      });

      it('"my sister Anna" and "Anna" meet: same type and the words of one inside the other', async () => {
        const u = user();
        extraction = { entities: [{ name: 'My sister Anna', type: 'person' }, { name: 'tea', type: 'drink' }], relations: [{ source: 'My sister Anna', relationship: 'likes', destination: 'tea' }] };
        await learn(u, 'My sister Anna likes tea.');
        extraction = { entities: [{ name: 'Anna', type: 'person' }, { name: 'Shanghai', type: 'city' }], relations: [{ source: 'Anna', relationship: 'lives_in', destination: 'Shanghai' }] };
        deletions = { delete: [] };
        const result = await learn(u, 'Anna lives in Shanghai.');
        expect(result.added_entities).toEqual([{ source: 'my sister anna', relationship: 'lives_in', target: 'shanghai' }]);
        const query = 'What does Anna like?';
        const found = await memory.search({ userId: u }, query, await providers.embedder.embed(query, 'search'), 5);
        expect(found.map((r) => `${r.source} ${r.relationship} ${r.destination}`)).toContain('my sister anna likes tea');
      });

      it('works with Chinese names end to end', async () => {
        const u = user();
        extraction = { entities: [{ name: '安娜', type: '人' }, { name: '上海', type: '城市' }], relations: [{ source: '安娜', relationship: '住在', destination: '上海' }] };
        await learn(u, '我的妹妹安娜住在上海。');
        const query = '安娜住在哪里?';
        const found = await memory.search({ userId: u }, query, await providers.embedder.embed(query, 'search'), 5);
        expect(found.map((r) => [r.source, r.relationship, r.destination])).toEqual([['安娜', '住在', '上海']]);
      });

      it('an agent-scoped add lands in the agent graph only', async () => {
        const u = user();
        extraction = { entities: [], relations: [{ source: 'anna', relationship: 'booked', destination: 'hotel' }] };
        await learn(u, 'Anna booked a hotel.', 'travel');
        expect(await memory.list({ userId: u, agentId: 'other' }, 10)).toEqual([]);
        expect(await memory.list({ userId: u, agentId: 'travel' }, 10)).toHaveLength(1);
        expect(await memory.list({ userId: u }, 10)).toHaveLength(1);
      });
    });
  });
}
