/**
 * The graph on PostgreSQL / PGlite: the tables of migration 10 beside the memories. Every statement names the scope
 * (user, and agent when given) in its WHERE clause, also where an entity id would already imply it, so no query can
 * reach another user's graph. Multi-hop reads are one recursive CTE. Writes run in one transaction; inside a queued
 * job they run on the job's client, so the graph commits (or rolls back) with the job.
 * @module
 */
import type pg from 'pg';
import { EngineError } from '../../shared/errors.js';
import { withTransaction } from '../pool.js';
import type { Queryable } from '../pool.js';
import { FLOAT4_MAX, vectorBinary, vectorLiteral } from '../sql.js';
import type { Tables } from '../sql.js';
import { graphTablesFor } from './tables.js';
import type { GraphTables } from './tables.js';
import type {
  AppliedGraphChanges, EntityHit, GraphBackend, GraphChanges, GraphScope, NearRelation, Triple,
} from './types.js';

/** The scope of a read: the user's graphs, or one agent's. `$1` user, `$2` agent or null. */
const READ_SCOPE = (alias: string) => `${alias}.user_id = $1::text AND ($2::text IS NULL OR ${alias}.agent_id = $2::text)`;
/** The relations at entity `at` (either end) within the read scope, as (rel, other end). */
const TOUCHING = (relations: string, at: string) =>
  `SELECT r.id AS rel, r.destination_id AS other FROM ${relations} r WHERE r.source_id = ${at} AND ${READ_SCOPE('r')}
   UNION ALL
   SELECT r.id, r.source_id FROM ${relations} r WHERE r.destination_id = ${at} AND ${READ_SCOPE('r')}`;
/** The scope of a write: exactly one graph. `$1` user, `$2` agent ('' for none). */
const WRITE_SCOPE = (alias: string) => `${alias}.user_id = $1::text AND ${alias}.agent_id = $2::text`;

export class PostgresGraph implements GraphBackend {
  readonly provider = 'postgres' as const;
  private readonly g: GraphTables;

  /** `pool` is the store's pool, or a job's transaction pool (then every write joins the job's transaction). */
  constructor(
    private readonly pool: pg.Pool,
    tables: Tables,
    private readonly dims: number,
  ) {
    this.g = graphTablesFor(tables);
  }

  /** The same graph over another pool (a queued job's transaction). */
  on(pool: pg.Pool, tables: Tables): PostgresGraph {
    return new PostgresGraph(pool, tables, this.dims);
  }

  async similarEntities(scope: GraphScope, vector: readonly number[], limit: number): Promise<EntityHit[]> {
    if (vector.length === this.dims && vector.every((x) => x === 0)) return []; // nothing is near no direction
    this.checkVector(vector);
    const res = await this.pool.query<{ name: string; type: string; similarity: number }>(
      `SELECT e.name, e.entity_type AS type, 1 - (e.embedding <=> $3::vector) AS similarity
         FROM ${this.g.entities} e WHERE ${READ_SCOPE('e')}
        ORDER BY e.embedding <=> $3::vector LIMIT $4`,
      [...readScope(scope), vectorBinary(vector), limit],
    );
    return res.rows.map((r) => ({ name: r.name, type: r.type, similarity: Number(r.similarity) }));
  }

  async mentionedEntities(scope: GraphScope, textKey: string, limit: number): Promise<EntityHit[]> {
    const res = await this.pool.query<{ name: string; type: string }>(
      `SELECT DISTINCT ON (length(e.name), e.name) e.name, e.entity_type AS type
         FROM ${this.g.entities} e WHERE ${READ_SCOPE('e')} AND strpos($3::text, e.match_key) > 0
        ORDER BY length(e.name) DESC, e.name LIMIT $4`,
      [...readScope(scope), textKey, limit],
    );
    return res.rows.map((r) => ({ name: r.name, type: r.type, similarity: 1 }));
  }

  async relationsAround(scope: GraphScope, seeds: readonly string[], hops: 1 | 2, limit: number): Promise<NearRelation[]> {
    if (seeds.length === 0 || limit === 0) return [];
    // walk: the seeds (depth 0) and, for two hops, their neighbours (depth 1); every relation touching a walked
    // entity is then at hop depth + 1. The seed kept for a relation is the earliest in `seeds` (the best match).
    const res = await this.pool.query<{ source: string; relationship: string; destination: string; hop: number; seed: string }>(
      // touching(id): the relations at an entity, either end, each through its own index (an OR join would scan).
      `WITH RECURSIVE walk (id, depth, seed) AS (
         SELECT e.id, 0, e.name FROM ${this.g.entities} e WHERE ${READ_SCOPE('e')} AND e.name = ANY($3::text[])
         UNION
         SELECT t.other, w.depth + 1, w.seed
           FROM walk w CROSS JOIN LATERAL (${TOUCHING(this.g.relations, 'w.id')}) t
          WHERE w.depth + 1 < $4
       ), near AS (
         SELECT DISTINCT ON (t.rel) t.rel, w.depth + 1 AS hop, w.seed
           FROM walk w CROSS JOIN LATERAL (${TOUCHING(this.g.relations, 'w.id')}) t
          ORDER BY t.rel, w.depth, array_position($3::text[], w.seed)
       )
       SELECT s.name AS source, r.relationship, d.name AS destination, n.hop, n.seed
         FROM near n
         JOIN ${this.g.relations} r ON r.id = n.rel AND ${READ_SCOPE('r')}
         JOIN ${this.g.entities} s ON s.id = r.source_id AND ${READ_SCOPE('s')}
         JOIN ${this.g.entities} d ON d.id = r.destination_id AND ${READ_SCOPE('d')}
        ORDER BY n.hop, array_position($3::text[], n.seed), r.id DESC
        LIMIT $5`,
      [...readScope(scope), [...seeds], hops, limit],
    );
    return res.rows.map((r) => ({
      source: r.source, relationship: r.relationship, destination: r.destination, hop: r.hop === 1 ? 1 : 2, seed: r.seed,
    }));
  }

  async listRelations(scope: GraphScope, limit: number): Promise<Triple[]> {
    const res = await this.pool.query<Triple>(
      `SELECT s.name AS source, r.relationship, d.name AS destination
         FROM ${this.g.relations} r
         JOIN ${this.g.entities} s ON s.id = r.source_id AND ${READ_SCOPE('s')}
         JOIN ${this.g.entities} d ON d.id = r.destination_id AND ${READ_SCOPE('d')}
        WHERE ${READ_SCOPE('r')}
        ORDER BY r.updated_at DESC, r.id DESC LIMIT $3`,
      [...readScope(scope), limit],
    );
    return res.rows;
  }

  apply(scope: GraphScope, changes: GraphChanges, memoryIds: readonly string[]): Promise<AppliedGraphChanges> {
    return withTransaction(this.pool, (client) => this.applyWithin(client, scope, changes, memoryIds));
  }

  /** {@link apply} on a client already inside a transaction (the memories' own, so both commit or neither does). */
  async applyWithin(client: Queryable, scope: GraphScope, changes: GraphChanges, memoryIds: readonly string[]): Promise<AppliedGraphChanges> {
    for (const e of changes.entities) this.checkVector(e.embedding);
    const ws = writeScope(scope);
    const deleted = changes.delete.length === 0 ? [] : (await client.query<Triple>(
      `WITH x AS (SELECT DISTINCT * FROM unnest($3::text[], $4::text[], $5::text[]) AS x (src, rel, dst)),
       gone AS (
         DELETE FROM ${this.g.relations} r
          USING x, ${this.g.entities} s, ${this.g.entities} d
          WHERE ${WRITE_SCOPE('r')} AND ${WRITE_SCOPE('s')} AND ${WRITE_SCOPE('d')}
            AND s.id = r.source_id AND d.id = r.destination_id
            AND s.name = x.src AND r.relationship = x.rel AND d.name = x.dst
         RETURNING s.name AS source, r.relationship, d.name AS destination)
       SELECT * FROM gone`,
      [...ws, ...columns(changes.delete)],
    )).rows;
    if (changes.entities.length > 0) {
      const unique = new Map(changes.entities.map((e) => [e.name, e]));
      const list = [...unique.values()];
      // A known entity keeps its type unless the new one names one; its embedding follows the latest name text.
      await client.query(
        `INSERT INTO ${this.g.entities} AS e (user_id, agent_id, name, match_key, entity_type, embedding)
         SELECT $1, $2, x.name, x.key, x.type, x.emb::vector
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x (name, key, type, emb)
         ON CONFLICT (user_id, agent_id, name) DO UPDATE
            SET entity_type = CASE WHEN excluded.entity_type <> '' THEN excluded.entity_type ELSE e.entity_type END,
                match_key = excluded.match_key, embedding = excluded.embedding, updated_at = now()`,
        [...ws, list.map((e) => e.name), list.map((e) => e.matchKey), list.map((e) => e.type), list.map((e) => vectorLiteral(e.embedding))],
      );
    }
    const added = changes.add.length === 0 ? [] : (await client.query<Triple>(
      `WITH x AS (SELECT DISTINCT * FROM unnest($3::text[], $4::text[], $5::text[]) AS x (src, rel, dst)),
       ins AS (
         INSERT INTO ${this.g.relations} AS r (user_id, agent_id, source_id, relationship, destination_id, memory_ids)
         SELECT $1, $2, s.id, x.rel, d.id, $6::uuid[]
           FROM x
           JOIN ${this.g.entities} s ON ${WRITE_SCOPE('s')} AND s.name = x.src
           JOIN ${this.g.entities} d ON ${WRITE_SCOPE('d')} AND d.name = x.dst
         ON CONFLICT (source_id, relationship, destination_id) DO UPDATE
            SET memory_ids = ARRAY(SELECT DISTINCT m FROM unnest(r.memory_ids || excluded.memory_ids) AS m ORDER BY m),
                updated_at = now()
         RETURNING (xmax = 0) AS fresh, source_id, relationship, destination_id)
       SELECT s.name AS source, ins.relationship, d.name AS destination
         FROM ins JOIN ${this.g.entities} s ON s.id = ins.source_id JOIN ${this.g.entities} d ON d.id = ins.destination_id
        WHERE ins.fresh`,
      [...ws, ...columns(changes.add), [...memoryIds]],
    )).rows;
    if (deleted.length > 0) await this.dropOrphans(client, ws);
    return { added, deleted };
  }

  async countRelations(scope: GraphScope, learntOnlyFrom?: readonly string[]): Promise<number> {
    if (learntOnlyFrom?.length === 0) return 0;
    // The same conditions as deleteAllWithin and forgetWithin's DELETE.
    const only = learntOnlyFrom ? 'AND r.memory_ids && $3::uuid[] AND r.memory_ids <@ $3::uuid[]' : '';
    const res = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.g.relations} r WHERE ${READ_SCOPE('r')} ${only}`,
      learntOnlyFrom ? [...readScope(scope), [...learntOnlyFrom]] : readScope(scope),
    );
    return res.rows[0]?.n ?? 0;
  }

  deleteAll(scope: GraphScope): Promise<number> {
    return withTransaction(this.pool, (client) => this.deleteAllWithin(client, scope));
  }

  /** {@link deleteAll} on a client inside the caller's transaction (a delete_all of the memories). */
  async deleteAllWithin(client: Queryable, scope: GraphScope): Promise<number> {
    const gone = await client.query(`DELETE FROM ${this.g.relations} r WHERE ${READ_SCOPE('r')}`, readScope(scope));
    await client.query(`DELETE FROM ${this.g.entities} e WHERE ${READ_SCOPE('e')}`, readScope(scope));
    return gone.rowCount ?? 0;
  }

  forgetMemories(scope: GraphScope, memoryIds: readonly string[]): Promise<Triple[]> {
    if (memoryIds.length === 0) return Promise.resolve([]);
    return withTransaction(this.pool, (client) => this.forgetWithin(client, scope, memoryIds));
  }

  /** {@link forgetMemories} on a client inside the caller's transaction (the one deleting those memories). */
  async forgetWithin(client: Queryable, scope: GraphScope, memoryIds: readonly string[]): Promise<Triple[]> {
    if (memoryIds.length === 0) return [];
    const ids = [...memoryIds];
    // Learnt only from forgotten memories: removed. Learnt also from others: those stay its provenance.
    const gone = await client.query<Triple>(
      `WITH gone AS (
         DELETE FROM ${this.g.relations} r WHERE ${READ_SCOPE('r')} AND r.memory_ids && $3::uuid[] AND r.memory_ids <@ $3::uuid[]
         RETURNING r.source_id, r.relationship, r.destination_id)
       SELECT s.name AS source, gone.relationship, d.name AS destination
         FROM gone JOIN ${this.g.entities} s ON s.id = gone.source_id JOIN ${this.g.entities} d ON d.id = gone.destination_id`,
      [...readScope(scope), ids],
    );
    await client.query(
      `UPDATE ${this.g.relations} r
          SET memory_ids = ARRAY(SELECT m FROM unnest(r.memory_ids) AS m WHERE m <> ALL ($3::uuid[]) ORDER BY m)
        WHERE ${READ_SCOPE('r')} AND r.memory_ids && $3::uuid[]`,
      [...readScope(scope), ids],
    );
    if (gone.rows.length > 0) {
      await client.query(
        `DELETE FROM ${this.g.entities} e WHERE ${READ_SCOPE('e')}
            AND NOT EXISTS (SELECT 1 FROM ${this.g.relations} r WHERE r.source_id = e.id OR r.destination_id = e.id)`,
        readScope(scope),
      );
    }
    return gone.rows;
  }

  async ping(): Promise<void> {
    await this.pool.query(`SELECT 1 FROM ${this.g.entities} LIMIT 1`);
  }

  /** The store owns the pool. */
  async close(): Promise<void> {}

  /** Entities of this graph that no relation touches any more (after a removal). */
  private async dropOrphans(client: Queryable, ws: [string, string]): Promise<void> {
    await client.query(
      `DELETE FROM ${this.g.entities} e WHERE ${WRITE_SCOPE('e')}
          AND NOT EXISTS (SELECT 1 FROM ${this.g.relations} r WHERE r.source_id = e.id OR r.destination_id = e.id)`,
      ws,
    );
  }

  private checkVector(vector: readonly number[]): void {
    if (vector.length !== this.dims) {
      throw new EngineError('validation', `an entity embedding has ${vector.length} dimensions but the collection stores ${this.dims}`);
    }
    // Cosine is undefined for a zero vector (NaN in pgvector, an error in Neo4j for the whole query).
    if (vector.every((x) => x === 0)) throw new EngineError('validation', 'an entity embedding is all zeros');
    if (!vector.every((x) => Number.isFinite(x) && Math.abs(x) <= FLOAT4_MAX)) {
      throw new EngineError('validation', 'an entity embedding holds a value that is not a finite float4');
    }
  }
}

function readScope(scope: GraphScope): [string, string | null] {
  return [scope.userId, scope.agentId ?? null];
}

function writeScope(scope: GraphScope): [string, string] {
  return [scope.userId, scope.agentId ?? ''];
}

function columns(triples: readonly Triple[]): [string[], string[], string[]] {
  return [triples.map((t) => t.source), triples.map((t) => t.relationship), triples.map((t) => t.destination)];
}
