/**
 * The graph on Neo4j, through the official `neo4j-driver`. Every query is a constant Cypher text with parameters:
 * names, relationships and scope travel as values, never as query text, so no entity name can change a query.
 *
 * Shape (close to Mem0's own Neo4j graph): nodes `:__Entity__ {user_id, agent_id, name, match_key, type, embedding}`
 * (agent_id '' for the user's own graph), unique per (user_id, agent_id, name); relations `[:RELATES {relationship,
 * memory_ids}]` between two nodes of one graph. The relationship is a property rather than the relation's type
 * because a type cannot be a parameter in Cypher.
 *
 * Entity similarity uses the server's vector index (Neo4j ≥ 5.11) when it finds enough nodes of the scope among the
 * index's nearest, and otherwise computes cosine in Cypher over the scope's nodes (`vector.similarity.cosine` from
 * 5.18, arithmetic before), which is exact.
 * @module
 */
import neo4j from 'neo4j-driver';
import type { Driver, ManagedTransaction, QueryResult, RecordShape } from 'neo4j-driver';
import { EngineError } from '../../shared/errors.js';
import { plainTriple } from './types.js';
import type {
  AppliedGraphChanges, EntityHit, GraphBackend, GraphChanges, GraphScope, NearRelation, Triple,
} from './types.js';

export interface Neo4jConnection {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Default: the server's default database. */
  database?: string | undefined;
}

export interface Neo4jOptions {
  /** Size of entity embeddings (the embedder's). */
  dims: number;
  /** Deadline of one query or connection attempt. */
  timeoutMs?: number;
}

const INDEX_NAME = 'mem0_entity_embedding';
const READ_SCOPE = (n: string) => `${n}.user_id = $user AND ($agent IS NULL OR ${n}.agent_id = $agent)`;
const WRITE_SCOPE = (n: string) => `${n}.user_id = $user AND ${n}.agent_id = $agent`;

/** Opens the driver, checks the server answers, and creates the constraint and indexes the graph relies on. */
export async function openNeo4jGraph(connection: Neo4jConnection, options: Neo4jOptions): Promise<Neo4jGraph> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let driver: Driver;
  try {
    const auth = connection.username || connection.password
      ? neo4j.auth.basic(connection.username ?? '', connection.password ?? '')
      : undefined;
    driver = neo4j.driver(connection.url, auth, {
      disableLosslessIntegers: true,
      connectionTimeout: timeoutMs,
      connectionAcquisitionTimeout: timeoutMs,
      maxTransactionRetryTime: timeoutMs,
      logging: { level: 'error', logger: () => {} },
    });
  } catch (error) {
    throw new EngineError('store_config', `graph store: cannot use url for Neo4j: ${message(error)}`, { cause: error });
  }
  try {
    await driver.verifyConnectivity(connection.database ? { database: connection.database } : {});
    const graph = new Neo4jGraph(driver, connection.database, options.dims, timeoutMs);
    await graph.prepare();
    return graph;
  } catch (error) {
    await driver.close().catch(() => {});
    if (error instanceof EngineError) throw error;
    throw new EngineError('unavailable', `graph store: Neo4j at the configured url did not answer: ${message(error)}`, { cause: error });
  }
}

export class Neo4jGraph implements GraphBackend {
  readonly provider = 'neo4j' as const;
  private vectorIndex = false;
  private cosineFunction = false;

  constructor(
    private readonly driver: Driver,
    private readonly database: string | undefined,
    private readonly dims: number,
    private readonly timeoutMs: number,
  ) {}

  /** Constraint, scope index and (where the server has them) the vector index; all idempotent. */
  async prepare(): Promise<void> {
    const components = await this.read((tx) => tx.run('CALL dbms.components() YIELD name, versions RETURN versions[0] AS version'));
    const version = String(components.records[0]?.get('version') ?? '0');
    this.cosineFunction = versionAtLeast(version, 5, 18);
    await this.write((tx) => tx.run(
      'CREATE CONSTRAINT mem0_entity_key IF NOT EXISTS FOR (e:__Entity__) REQUIRE (e.user_id, e.agent_id, e.name) IS UNIQUE',
    ));
    await this.write((tx) => tx.run('CREATE INDEX mem0_entity_user IF NOT EXISTS FOR (e:__Entity__) ON (e.user_id)'));
    if (versionAtLeast(version, 5, 11)) {
      try {
        await this.write((tx) => tx.run(
          `CREATE VECTOR INDEX ${INDEX_NAME} IF NOT EXISTS FOR (e:__Entity__) ON e.embedding OPTIONS $options`,
          { options: { indexConfig: { 'vector.dimensions': neo4j.int(this.dims), 'vector.similarity_function': 'cosine' } } },
        ));
        const found = await this.read((tx) => tx.run(
          "SHOW VECTOR INDEXES YIELD name, options WHERE name = $name RETURN options.indexConfig['vector.dimensions'] AS dims",
          { name: INDEX_NAME },
        ));
        // An index made earlier for another embedding size cannot answer this one's queries: scan instead.
        this.vectorIndex = Number(found.records[0]?.get('dims')) === this.dims;
      } catch {
        this.vectorIndex = false;
      }
    }
  }

  async similarEntities(scope: GraphScope, vector: readonly number[], limit: number): Promise<EntityHit[]> {
    if (vector.length === this.dims && vector.every((x) => x === 0)) return []; // nothing is near no direction
    this.checkVector(vector);
    if (limit === 0) return [];
    const params = { ...readScope(scope), vector: [...vector], limit: neo4j.int(limit) };
    if (this.vectorIndex) {
      // The index ranks every user's entities together: ask for many, keep the scope's, and scan when too few remain.
      const res = await this.read((tx) => tx.run(
        `CALL db.index.vector.queryNodes($index, $fetch, $vector) YIELD node AS e, score
          WHERE ${READ_SCOPE('e')}
         RETURN e.name AS name, e.type AS type, 2 * score - 1 AS similarity ORDER BY score DESC LIMIT $limit`,
        { ...params, index: INDEX_NAME, fetch: neo4j.int(Math.min(Math.max(limit * 20, 100), 1000)) },
      ));
      if (res.records.length >= limit) return hits(res);
    }
    const similarity = this.cosineFunction
      ? '2 * vector.similarity.cosine(e.embedding, $vector) - 1'
      : `reduce(d = 0.0, i IN range(0, size($vector) - 1) | d + e.embedding[i] * $vector[i])
           / (sqrt(reduce(a = 0.0, x IN e.embedding | a + x * x)) * sqrt(reduce(b = 0.0, y IN $vector | b + y * y)) + 1e-12)`;
    const res = await this.read((tx) => tx.run(
      `MATCH (e:__Entity__) WHERE ${READ_SCOPE('e')}
       WITH e, ${similarity} AS similarity
       RETURN e.name AS name, e.type AS type, similarity ORDER BY similarity DESC, name LIMIT $limit`,
      params,
    ));
    return hits(res);
  }

  async mentionedEntities(scope: GraphScope, textKey: string, limit: number): Promise<EntityHit[]> {
    const res = await this.read((tx) => tx.run(
      `MATCH (e:__Entity__) WHERE ${READ_SCOPE('e')} AND $text CONTAINS e.match_key
       WITH DISTINCT e.name AS name, e.type AS type
       RETURN name, type, 1.0 AS similarity ORDER BY size(name) DESC, name LIMIT $limit`,
      { ...readScope(scope), text: textKey, limit: neo4j.int(limit) },
    ));
    return hits(res);
  }

  async relationsAround(scope: GraphScope, seeds: readonly string[], hops: 1 | 2, limit: number): Promise<NearRelation[]> {
    if (seeds.length === 0 || limit === 0) return [];
    const params = { ...readScope(scope), seeds: [...seeds], limit: neo4j.int(limit) };
    // One hop and two hops as separate walks: each step is bounded by a node's degree, where a variable-length
    // pattern would enumerate every path through a busy node.
    const near = await this.read((tx) => tx.run(
      `MATCH (s:__Entity__) WHERE ${READ_SCOPE('s')} AND s.name IN $seeds
       MATCH (s)-[r:RELATES]-(o:__Entity__) WHERE ${READ_SCOPE('o')} AND o.agent_id = s.agent_id
       WITH r, s.name AS seed
       MATCH (a)-[r]->(b)
       RETURN elementId(r) AS id, a.name AS source, r.relationship AS relationship, b.name AS destination, seed,
              r.created_at AS created`,
      params,
    ));
    const rows: Array<{ rec: (typeof near.records)[number]; hop: 1 | 2 }> = near.records.map((rec) => ({ rec, hop: 1 }));
    if (hops === 2) {
      const far = await this.read((tx) => tx.run(
        `MATCH (s:__Entity__) WHERE ${READ_SCOPE('s')} AND s.name IN $seeds
         MATCH (s)-[:RELATES]-(n:__Entity__) WHERE n.agent_id = s.agent_id
         WITH DISTINCT n, s.name AS seed
         MATCH (n)-[r:RELATES]-(o:__Entity__) WHERE ${READ_SCOPE('o')} AND o.agent_id = n.agent_id
         WITH DISTINCT r, seed
         MATCH (a)-[r]->(b)
         RETURN elementId(r) AS id, a.name AS source, r.relationship AS relationship, b.name AS destination, seed,
                r.created_at AS created`,
        params,
      ));
      rows.push(...far.records.map((rec) => ({ rec, hop: 2 as const })));
    }
    // Same order as the PostgreSQL walk: nearest hop, best seed, newest relation.
    const rank = new Map(seeds.map((s, i) => [s, i]));
    const best = new Map<string, NearRelation & { created: number }>();
    for (const { rec, hop } of rows) {
      const candidate = {
        source: String(rec.get('source')), relationship: String(rec.get('relationship')),
        destination: String(rec.get('destination')), hop, seed: String(rec.get('seed')), created: Number(rec.get('created') ?? 0),
      };
      const id = String(rec.get('id'));
      const known = best.get(id);
      if (!known || order(candidate, known, rank) < 0) best.set(id, candidate);
    }
    return [...best.values()]
      .sort((a, b) => order(a, b, rank))
      .slice(0, limit)
      .map(({ source, relationship, destination, hop, seed }) => ({ source, relationship, destination, hop, seed }));
  }

  async listRelations(scope: GraphScope, limit: number): Promise<Triple[]> {
    const res = await this.read((tx) => tx.run(
      `MATCH (a:__Entity__)-[r:RELATES]->(b:__Entity__)
        WHERE ${READ_SCOPE('a')} AND ${READ_SCOPE('b')} AND a.agent_id = b.agent_id
       RETURN a.name AS source, r.relationship AS relationship, b.name AS destination
        ORDER BY r.updated_at DESC, r.seq DESC LIMIT $limit`,
      { ...readScope(scope), limit: neo4j.int(limit) },
    ));
    return triples(res);
  }

  async apply(scope: GraphScope, changes: GraphChanges, memoryIds: readonly string[]): Promise<AppliedGraphChanges> {
    for (const e of changes.entities) this.checkVector(e.embedding);
    const params = writeScope(scope);
    return this.write(async (tx) => {
      let deleted: Triple[] = [];
      if (changes.delete.length > 0) {
        deleted = triples(await tx.run(
          `UNWIND $rows AS x
           MATCH (a:__Entity__ {name: x.source})-[r:RELATES {relationship: x.relationship}]->(b:__Entity__ {name: x.destination})
            WHERE ${WRITE_SCOPE('a')} AND ${WRITE_SCOPE('b')}
           WITH DISTINCT r, a.name AS source, r.relationship AS relationship, b.name AS destination
           DELETE r
           RETURN source, relationship, destination`,
          { ...params, rows: changes.delete.map(plainTriple) },
        ));
      }
      if (changes.entities.length > 0) {
        const unique = new Map(changes.entities.map((e) => [e.name, e]));
        await tx.run(
          `UNWIND $rows AS x
           MERGE (e:__Entity__ {user_id: $user, agent_id: $agent, name: x.name})
             ON CREATE SET e.created_at = timestamp(), e.type = x.type
           SET e.type = CASE WHEN x.type <> '' THEN x.type ELSE coalesce(e.type, '') END,
               e.match_key = x.matchKey, e.embedding = x.embedding, e.updated_at = timestamp()`,
          { ...params, rows: [...unique.values()].map((e) => ({ name: e.name, matchKey: e.matchKey, type: e.type, embedding: [...e.embedding] })) },
        );
      }
      let added: Triple[] = [];
      if (changes.add.length > 0) {
        const unique = new Map(changes.add.map((t) => [`${t.source}\u0000${t.relationship}\u0000${t.destination}`, plainTriple(t)]));
        added = triples(await tx.run(
          `UNWIND $rows AS x
           MATCH (a:__Entity__ {name: x.source}) WHERE ${WRITE_SCOPE('a')}
           MATCH (b:__Entity__ {name: x.destination}) WHERE ${WRITE_SCOPE('b')}
           OPTIONAL MATCH (a)-[old:RELATES {relationship: x.relationship}]->(b)
           WITH a, b, x, old IS NULL AS fresh
           MERGE (a)-[r:RELATES {relationship: x.relationship}]->(b)
             ON CREATE SET r.created_at = timestamp(), r.memory_ids = []
           SET r.memory_ids = [m IN r.memory_ids WHERE NOT m IN $memoryIds] + $memoryIds, r.updated_at = timestamp(),
               r.seq = coalesce(r.seq, 0) + 1
           WITH x, fresh WHERE fresh
           RETURN x.source AS source, x.relationship AS relationship, x.destination AS destination`,
          { ...params, rows: [...unique.values()], memoryIds: [...memoryIds] },
        ));
      }
      if (deleted.length > 0) {
        await tx.run(`MATCH (e:__Entity__) WHERE ${WRITE_SCOPE('e')} AND NOT (e)--() DELETE e`, params);
      }
      return { added, deleted };
    });
  }

  async countRelations(scope: GraphScope, learntOnlyFrom?: readonly string[]): Promise<number> {
    if (learntOnlyFrom?.length === 0) return 0;
    // The same matches as deleteAll (relations out of the scope's entities) and forgetMemories.
    const only = learntOnlyFrom ? 'AND any(m IN r.memory_ids WHERE m IN $ids) AND all(m IN r.memory_ids WHERE m IN $ids)' : '';
    const res = await this.read((tx) => tx.run(
      `MATCH (a:__Entity__)-[r:RELATES]->(b:__Entity__)
        WHERE ${READ_SCOPE('a')} AND b.agent_id = a.agent_id AND b.user_id = a.user_id ${only}
       RETURN count(r) AS n`,
      { ...readScope(scope), ids: [...(learntOnlyFrom ?? [])] },
    ));
    return Number(res.records[0]?.get('n') ?? 0);
  }

  async deleteAll(scope: GraphScope): Promise<number> {
    return this.write(async (tx) => {
      const res = await tx.run(
        `MATCH (e:__Entity__) WHERE ${READ_SCOPE('e')}
         OPTIONAL MATCH (e)-[r:RELATES]->()
         WITH e, count(r) AS n
         DETACH DELETE e
         RETURN sum(n) AS removed`,
        readScope(scope),
      );
      return Number(res.records[0]?.get('removed') ?? 0);
    });
  }

  async forgetMemories(scope: GraphScope, memoryIds: readonly string[]): Promise<Triple[]> {
    if (memoryIds.length === 0) return [];
    const params = { ...readScope(scope), ids: [...memoryIds] };
    return this.write(async (tx) => {
      const gone = triples(await tx.run(
        `MATCH (a:__Entity__)-[r:RELATES]->(b:__Entity__)
          WHERE ${READ_SCOPE('a')} AND b.agent_id = a.agent_id AND b.user_id = a.user_id
            AND any(m IN r.memory_ids WHERE m IN $ids) AND all(m IN r.memory_ids WHERE m IN $ids)
         WITH r, a.name AS source, r.relationship AS relationship, b.name AS destination
         DELETE r
         RETURN source, relationship, destination`,
        params,
      ));
      await tx.run(
        `MATCH (a:__Entity__)-[r:RELATES]->(b:__Entity__)
          WHERE ${READ_SCOPE('a')} AND b.agent_id = a.agent_id AND any(m IN r.memory_ids WHERE m IN $ids)
         SET r.memory_ids = [m IN r.memory_ids WHERE NOT m IN $ids]`,
        params,
      );
      if (gone.length > 0) await tx.run(`MATCH (e:__Entity__) WHERE ${READ_SCOPE('e')} AND NOT (e)--() DELETE e`, params);
      return gone;
    });
  }

  async ping(): Promise<void> {
    await this.read((tx) => tx.run('RETURN 1'));
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  private read<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    return this.session((s) => s.executeRead(work, { timeout: this.timeoutMs }));
  }

  private write<T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    return this.session((s) => s.executeWrite(work, { timeout: this.timeoutMs }));
  }

  private async session<T>(work: (s: ReturnType<Driver['session']>) => Promise<T>): Promise<T> {
    const s = this.driver.session(this.database ? { database: this.database } : {});
    try {
      return await work(s);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError('unavailable', `graph store (Neo4j): ${message(error)}`, { cause: error });
    } finally {
      await s.close();
    }
  }

  private checkVector(vector: readonly number[]): void {
    if (vector.length !== this.dims) {
      throw new EngineError('validation', `an entity embedding has ${vector.length} dimensions but the graph stores ${this.dims}`);
    }
    // Cosine is undefined for a zero vector (NaN in pgvector, an error in Neo4j for the whole query).
    if (vector.every((x) => x === 0)) throw new EngineError('validation', 'an entity embedding is all zeros');
  }
}

function readScope(scope: GraphScope): { user: string; agent: string | null } {
  return { user: scope.userId, agent: scope.agentId ?? null };
}

function writeScope(scope: GraphScope): { user: string; agent: string } {
  return { user: scope.userId, agent: scope.agentId ?? '' };
}

function triples(res: QueryResult<RecordShape>): Triple[] {
  return res.records.map((r) => ({
    source: String(r.get('source')), relationship: String(r.get('relationship')), destination: String(r.get('destination')),
  }));
}

function hits(res: QueryResult<RecordShape>): EntityHit[] {
  return res.records.map((r) => ({ name: String(r.get('name')), type: String(r.get('type') ?? ''), similarity: Number(r.get('similarity')) }));
}

function order(a: NearRelation & { created: number }, b: NearRelation & { created: number }, rank: Map<string, number>): number {
  return a.hop - b.hop || (rank.get(a.seed) ?? 0) - (rank.get(b.seed) ?? 0) || b.created - a.created;
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return a > major || (a === major && b >= minor);
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}
