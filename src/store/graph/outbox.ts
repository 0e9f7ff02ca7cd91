/**
 * The graph outbox (migration 14): graph changes committed with their memories but not yet written to a graph that
 * lives outside the memories' transaction (Neo4j, or any graph beside a mem0ai vector store).
 *
 * A row is inserted in the SQL transaction that writes its memories (or completes their queued job), so the changes
 * are durable exactly when the memories are. Then a holder claims the scope's rows, writes them to the graph in
 * insertion order and settles each (the row deleted and the graph history recorded, one transaction). A row whose
 * write failed is released with a backoff and claimed again later, by this process or another.
 *
 * Claims are leases (`claimed_by`, `claimed_until`): a holder that dies leaves rows that become claimable when the
 * lease runs out. A scope is claimed whole or not at all while another holder's lease on it runs, so one scope's
 * rows are written in order across processes (the claim itself is serialised per scope by an advisory lock).
 * @module
 */
import type { Queryable } from '../pool.js';
import { withTransaction } from '../pool.js';
import type pg from 'pg';
import type { Tables } from '../sql.js';
import { recordGraphChanges } from './history.js';
import { graphTablesFor } from './tables.js';
import type { AppliedGraphChanges, GraphChanges, GraphScope } from './types.js';

/** One pending write of graph changes (the scope is a write scope: `agentId` '' for the user's own graph). */
export interface PendingGraphWrite {
  id: string;
  scope: { userId: string; agentId: string };
  changes: GraphChanges;
  memoryIds: string[];
  attempts: number;
}

interface OutboxRow {
  id: string;
  user_id: string;
  agent_id: string;
  changes: GraphChanges;
  memory_ids: string[];
  attempts: number;
}

/** Stores `changes` (learnt with `memoryIds`) for the graph of `scope`, inside the caller's transaction on `db`. */
export async function insertPendingGraph(
  db: Queryable, tables: Tables, scope: GraphScope, changes: GraphChanges, memoryIds: readonly string[],
): Promise<string> {
  const res = await db.query<{ id: string }>(
    `INSERT INTO ${graphTablesFor(tables).outbox} (user_id, agent_id, changes, memory_ids)
     VALUES ($1, $2, $3::jsonb, $4::uuid[]) RETURNING id::text AS id`,
    [scope.userId, scope.agentId ?? '', JSON.stringify(changes), [...new Set(memoryIds)]],
  );
  return res.rows[0]!.id;
}

/**
 * Claims the rows of one write scope for `holder` (lease `leaseMs`), oldest first; none while any row of the scope is
 * leased or waiting for its retry, so a newer write never overtakes an older one. `minAgeMs` leaves rows younger than
 * that to the writer that stored them.
 */
export async function claimScope(
  pool: pg.Pool, tables: Tables, scope: { userId: string; agentId: string }, holder: string,
  options: { leaseMs: number; limit: number; minAgeMs?: number },
): Promise<PendingGraphWrite[]> {
  const outbox = graphTablesFor(tables).outbox;
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mem0-graph-outbox:${outbox}:${scope.userId}:${scope.agentId}`]);
    const res = await client.query<OutboxRow>(
      `UPDATE ${outbox} o SET claimed_by = $3, claimed_until = now() + make_interval(secs => $4::float8 / 1000)
        WHERE o.id IN (
          SELECT c.id FROM ${outbox} c
           WHERE c.user_id = $1 AND c.agent_id = $2
             AND (c.claimed_until IS NULL OR c.claimed_until < now())
             AND c.created_at <= now() - make_interval(secs => $6::float8 / 1000)
           ORDER BY c.id LIMIT $5)
          AND NOT EXISTS (
            SELECT 1 FROM ${outbox} h
             WHERE h.user_id = $1 AND h.agent_id = $2 AND h.claimed_until >= now())
        RETURNING o.id::text AS id, o.user_id, o.agent_id, o.changes, o.memory_ids::text[] AS memory_ids, o.attempts`,
      [scope.userId, scope.agentId, holder, options.leaseMs, options.limit, options.minAgeMs ?? 0],
    );
    return res.rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id))).map(pendingOf);
  });
}

/**
 * Write scopes {@link claimScope} would give rows now, counting only rows older than `minAgeMs` (the background
 * drain's work list).
 */
export async function dueScopes(
  db: Queryable, tables: Tables, options: { minAgeMs: number; limit: number },
): Promise<Array<{ userId: string; agentId: string }>> {
  const res = await db.query<{ user_id: string; agent_id: string }>(
    `SELECT DISTINCT o.user_id, o.agent_id FROM ${graphTablesFor(tables).outbox} o
      WHERE (o.claimed_until IS NULL OR o.claimed_until < now()) AND o.created_at <= now() - make_interval(secs => $1::float8 / 1000)
        AND NOT EXISTS (SELECT 1 FROM ${graphTablesFor(tables).outbox} h
                         WHERE h.user_id = o.user_id AND h.agent_id = o.agent_id AND h.claimed_until >= now())
      LIMIT $2`,
    [options.minAgeMs, options.limit],
  );
  return res.rows.map((r) => ({ userId: r.user_id, agentId: r.agent_id }));
}

/**
 * The row was written to the graph: deletes it and records what it changed in the graph history, in one transaction.
 * False (nothing recorded) when the row is no longer this holder's: its lease ran out and another holder took it,
 * or a delete_all of the scope dropped it.
 */
export async function settlePendingGraph(
  pool: pg.Pool, tables: Tables, pending: PendingGraphWrite, holder: string, applied: AppliedGraphChanges,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const res = await client.query(
      `DELETE FROM ${graphTablesFor(tables).outbox} WHERE id = $1::bigint AND claimed_by = $2`, [pending.id, holder],
    );
    if (res.rowCount !== 1) return false;
    await recordGraphChanges(client, tables, pending.scope, pending.memoryIds, applied);
    return true;
  });
}

/**
 * Hands claimed rows back: `failed` (the one whose write failed) counts an attempt and keeps its error; every row is
 * claimable again after `retryInMs`, the failed one first, so the scope's order holds.
 */
export async function releasePendingGraph(
  db: Queryable, tables: Tables, ids: readonly string[], holder: string, failed: { id: string; error: string } | null, retryInMs: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE ${graphTablesFor(tables).outbox}
        SET claimed_by = NULL, claimed_until = now() + make_interval(secs => $3::float8 / 1000),
            attempts = attempts + CASE WHEN id = $4::bigint THEN 1 ELSE 0 END,
            last_error = CASE WHEN id = $4::bigint THEN $5 ELSE last_error END
      WHERE id = ANY($1::bigint[]) AND claimed_by = $2`,
    [ids, holder, retryInMs, failed?.id ?? null, failed?.error.slice(0, 2000) ?? null],
  );
}

/** A delete_all of the graph of `scope` (all of the user's graphs without `agentId`): its pending writes go too. */
export async function dropPendingGraph(db: Queryable, tables: Tables, scope: GraphScope): Promise<number> {
  const res = await db.query(
    `DELETE FROM ${graphTablesFor(tables).outbox} WHERE user_id = $1 AND ($2::text IS NULL OR agent_id = $2)`,
    [scope.userId, scope.agentId ?? null],
  );
  return res.rowCount ?? 0;
}

/**
 * The memories were forgotten: pending writes learnt only from them are dropped, the rest no longer name them (so a
 * later write never gives a relation a provenance that is gone).
 */
export async function forgetPendingGraph(db: Queryable, tables: Tables, scope: GraphScope, memoryIds: readonly string[]): Promise<void> {
  if (memoryIds.length === 0) return;
  const outbox = graphTablesFor(tables).outbox;
  const values = [scope.userId, scope.agentId ?? null, [...memoryIds]];
  const inScope = `user_id = $1 AND ($2::text IS NULL OR agent_id = $2)`;
  await db.query(`DELETE FROM ${outbox} WHERE ${inScope} AND cardinality(memory_ids) > 0 AND memory_ids <@ $3::uuid[]`, values);
  await db.query(
    `UPDATE ${outbox} SET memory_ids = ARRAY(SELECT m FROM unnest(memory_ids) AS m WHERE NOT m = ANY($3::uuid[]))
      WHERE ${inScope} AND memory_ids && $3::uuid[]`,
    values,
  );
}

/** How many graph writes wait, and the oldest one's age in seconds (null when none). */
export async function pendingGraphStats(db: Queryable, tables: Tables): Promise<{ pending: number; oldestSeconds: number | null }> {
  const res = await db.query<{ n: number; oldest: number | null }>(
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest FROM ${graphTablesFor(tables).outbox}`,
  );
  return { pending: res.rows[0]?.n ?? 0, oldestSeconds: res.rows[0]?.oldest ?? null };
}

function pendingOf(r: OutboxRow): PendingGraphWrite {
  return { id: r.id, scope: { userId: r.user_id, agentId: r.agent_id }, changes: r.changes, memoryIds: r.memory_ids, attempts: r.attempts };
}
