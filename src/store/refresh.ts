/**
 * Fills our derived columns (keyword tokens, created_at / updated_at as timestamps) for rows that lack them or whose
 * payload changed behind our back: rows written or updated by Mem0's Python pgvector store, which only knows
 * `id, vector, payload`. Runs in migration 2 (existing rows) and whenever the store opens.
 * @module
 */
import type { Queryable } from './pool.js';
import { selectStaleDerived, TOKEN_SEPARATOR, updateDerived } from './queries.js';
import type { Tables } from './sql.js';
import { wordTokens } from './tokens.js';

const BATCH = 500;

/** Refreshes every stale row in batches; returns how many rows it rewrote. */
export async function refreshDerivedColumns(db: Queryable, tables: Tables): Promise<number> {
  let total = 0;
  for (;;) {
    const stale = await db.query<{ id: string; data: string | null; createdAt: string | null; updatedAt: string | null }>(
      selectStaleDerived(tables, BATCH),
    );
    if (stale.rows.length === 0) return total;
    const rows = stale.rows.map((r) => ({
      id: r.id,
      tokens: wordTokens(r.data ?? '').join(TOKEN_SEPARATOR),
      createdAt: parseTimestamp(r.createdAt),
      updatedAt: parseTimestamp(r.updatedAt),
    }));
    await db.query(updateDerived(tables, rows));
    total += rows.length;
    if (stale.rows.length < BATCH) return total;
  }
}

/**
 * Mem0 writes ISO-8601 strings (`datetime.isoformat()`: US/Pacific offsets in older releases, UTC in newer ones).
 * A string without an offset is taken as UTC; anything unparseable gives null (the column keeps its value).
 */
export function parseTimestamp(value: string | null): string | null {
  if (!value) return null;
  const hasZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(value.trim());
  const ms = Date.parse(hasZone ? value : `${value.trim()}Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
