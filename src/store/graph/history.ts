/**
 * The graph's change log (migration 12): what one write added to and removed from a user's graph, recorded once per
 * memory that write created or changed, so get_memory_history can show it beside the memory's own history. On the
 * PostgreSQL graph it is written in the transaction of the graph change itself (store/memories.ts); beside a Neo4j
 * graph right after the Neo4j write.
 * @module
 */
import type { Queryable } from '../pool.js';
import type { Tables } from '../sql.js';
import { graphTablesFor } from './tables.js';
import { plainTriple } from './types.js';
import type { AppliedGraphChanges, GraphScope, Triple } from './types.js';

/** One write's change to the graph, as logged for one of the memories it wrote. */
export interface GraphHistoryEntry {
  /** When the write happened (ISO 8601). */
  createdAt: string;
  added: Triple[];
  deleted: Triple[];
}

/** Logs `applied` for each of `memoryIds`; nothing when the write changed no relation or wrote no memory. */
export async function recordGraphChanges(
  db: Queryable, tables: Tables, scope: GraphScope, memoryIds: readonly string[], applied: AppliedGraphChanges,
): Promise<void> {
  if (memoryIds.length === 0 || (applied.added.length === 0 && applied.deleted.length === 0)) return;
  await db.query(
    `INSERT INTO ${graphTablesFor(tables).history} (memory_id, user_id, agent_id, added, deleted)
     SELECT m, $2, $3, $4::jsonb, $5::jsonb FROM unnest($1::uuid[]) AS m`,
    [[...new Set(memoryIds)], scope.userId, scope.agentId ?? '', JSON.stringify(applied.added.map(plainTriple)), JSON.stringify(applied.deleted.map(plainTriple))],
  );
}

/** The graph changes logged for one memory, oldest first. */
export async function selectGraphHistory(db: Queryable, tables: Tables, memoryId: string): Promise<GraphHistoryEntry[]> {
  const res = await db.query<{ created_at: Date; added: Triple[]; deleted: Triple[] }>(
    `SELECT created_at, added, deleted FROM ${graphTablesFor(tables).history} WHERE memory_id = $1::uuid ORDER BY id`,
    [memoryId],
  );
  return res.rows.map((r) => ({ createdAt: r.created_at.toISOString(), added: r.added.map(plainTriple), deleted: r.deleted.map(plainTriple) }));
}
