/**
 * The memory service's {@link MemoryRepository} over a `mem0ai` vector store (qdrant, chroma, …), with the history in
 * the state database (a normal {@link Store} whose memories table stays empty).
 *
 * - Payloads are Mem0's: `data`, `hash`, `user_id`, `agent_id`, `run_id`, `role`, `created_at`, `updated_at` (Python
 *   `isoformat()`), plus the user's metadata at the top level, so Mem0 (Python) reads the same collection.
 * - Scope: the store is asked for `{user_id, agent_id?}` and every result is checked again here, so a filter (or a
 *   store that ignores filters) can never widen it. Our filter JSON is evaluated here (vector-store-filters.ts); when
 *   it drops results the store is asked again for more (×4, up to {@link MAX_FETCH}), so a search or list is short
 *   only when fewer memories match.
 * - Scores: the store's 0–1 similarity (`ExternalStore.score`, by the store's metric) is the vector score; the
 *   keyword score and the fused `score` are computed here over the store's candidates (store/ranking.ts), so results
 *   are ranked as the SQL store ranks them (its keyword side can also find memories outside the vector candidates).
 * - Writes are planned first ({@link planChanges}: ids, payloads, history rows), then applied to the store
 *   ({@link executePlan}), then the history rows are written ({@link recordPlan}). The external write and the SQL
 *   write cannot share a transaction: a crash between them leaves the memory changed without its history row. Queued
 *   jobs close that gap with a write-ahead plan (src/jobs/queue/handlers.ts).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../../store/pool.js';
import type { Queryable } from '../../store/pool.js';
import { insertHistory, selectChangeHistory, selectHistory } from '../../store/queries.js';
import type { HistoryRow } from '../../store/queries.js';
import { md5, newMemoryPayload, pythonIso } from '../../store/payload.js';
import { recordOfPayload, stringOrNull } from '../../store/memory-records.js';
import type { Store } from '../../store/index.js';
import { fuseScores, keywordScores } from '../../store/ranking.js';
import type { Tables } from '../../store/sql.js';
import { queryTerms, wordTokens } from '../../store/tokens.js';
import { deleteAccessRows } from '../../store/access-log.js';
import { insertPendingGraph } from '../../store/graph/outbox.js';
import type { GraphChanges, GraphScope } from '../../store/graph/types.js';
import { EngineError } from '../../shared/errors.js';
import type { AppliedChanges, ChangeSet, MemoryRecord, MemoryRepository, MemoryUpdate, SearchHit } from '../repository.js';
import type { Scope } from '../../store/queries.js';
import type { ExternalStore, VectorStoreResult } from './stores.js';
import { checkFilter, matchesFilter } from './filters.js';
import type { Filter } from './filters.js';

/** The most results one search or list asks the store for. */
export const MAX_FETCH = 10_000;
/** Hits whose owner a repository remembers for the access log. */
const MAX_OWNERS = 10_000;
/** Payload keys `mem0ai` itself adds that are not user metadata. */
const INTERNAL_KEYS = new Set(['textLemmatized', 'text_lemmatized']);

// ── planning and applying writes ────────────────────────────────────────────────────────────────────────────────────

export interface PlannedWrite {
  id: string;
  vector: number[];
  payload: Record<string, unknown>;
}

export interface PlannedDelete {
  id: string;
  payload: Record<string, unknown>;
}

/** Everything one write will do, fixed before anything is written (JSON: it is stored for queued jobs). */
export interface WritePlan {
  inserts: PlannedWrite[];
  updates: PlannedWrite[];
  deletes: PlannedDelete[];
  history: HistoryRow[];
  /** Graph changes learnt with this write, for the graph outbox (recorded with the history rows). */
  graph?: { scope: GraphScope; changes: GraphChanges } | undefined;
}

const emptyPlan = (): WritePlan => ({ inserts: [], updates: [], deletes: [], history: [] });

/**
 * Plans a change set in `scope`: new ids and payloads for inserts, the merged payloads of updates and the current
 * payloads of deletes (read now; a memory gone or outside the scope is skipped, as the SQL store does). An insert
 * whose exact text the scope holds (deletes of this set aside) is left out, as the SQL store does; a vector store
 * cannot check that atomically, so two identical adds racing each other may both land there.
 */
export async function planChanges(external: ExternalStore, scope: Scope, changes: ChangeSet, now = new Date()): Promise<WritePlan> {
  const plan: WritePlan = { ...emptyPlan(), ...(changes.pendingGraph ? { graph: changes.pendingGraph } : {}) };
  const stamp = pythonIso(now);
  const deleting = new Set(changes.deletes);
  for (const item of changes.inserts) {
    const stored = await storedWithHash(external, scope, md5(item.data));
    if (stored && !deleting.has(stored.id)) continue;
    const id = randomUUID();
    const payload = newMemoryPayload(scope, item, stamp);
    plan.inserts.push({ id, vector: [...item.vector], payload });
    plan.history.push(historyRow(id, null, item.data, 'ADD', payload, now));
  }
  for (const change of changes.updates) {
    const current = await external.store.get(change.id);
    if (!current || !inScope(current.payload, scope)) continue;
    addUpdate(plan, current, change, now);
  }
  for (const id of changes.deletes) {
    const current = await external.store.get(id);
    if (!current || !inScope(current.payload, scope)) continue;
    addDelete(plan, current, now);
  }
  return plan;
}

function addUpdate(plan: WritePlan, current: VectorStoreResult, change: MemoryUpdate, now: Date): void {
  const old = current.payload;
  const payload: Record<string, unknown> = { ...old };
  for (const [k, v] of Object.entries(change.metadata ?? {})) {
    if (v === null) delete payload[k];
    else payload[k] = v;
  }
  payload.data = change.data;
  payload.hash = md5(change.data);
  payload.created_at ??= pythonIso(now);
  payload.updated_at = pythonIso(now);
  plan.updates.push({ id: current.id, vector: [...change.vector], payload });
  plan.history.push(historyRow(current.id, stringOrNull(old.data), change.data, 'UPDATE', payload, now));
}

function addDelete(plan: WritePlan, current: VectorStoreResult, now: Date): void {
  plan.deletes.push({ id: current.id, payload: current.payload });
  plan.history.push({ ...historyRow(current.id, stringOrNull(current.payload.data), null, 'DELETE', current.payload, now), isDeleted: true });
}

function historyRow(id: string, oldMemory: string | null, newMemory: string | null, event: HistoryRow['event'], payload: Record<string, unknown>, now: Date): HistoryRow {
  return {
    memoryId: id, oldMemory, newMemory, event,
    createdAt: isoOf(payload.created_at) ?? now.toISOString(), updatedAt: now.toISOString(), isDeleted: false,
    actorId: stringOrNull(payload.actor_id), role: stringOrNull(payload.role),
    userId: stringOrNull(payload.user_id), agentId: stringOrNull(payload.agent_id),
  };
}

/** Writes a plan to the store, for the first time. */
export async function executePlan(external: ExternalStore, plan: WritePlan): Promise<void> {
  const store = external.store;
  if (plan.inserts.length > 0) {
    await store.insert(plan.inserts.map((i) => i.vector), plan.inserts.map((i) => i.id), plan.inserts.map((i) => i.payload));
  }
  for (const item of plan.updates) await store.update(item.id, item.vector, item.payload);
  for (const item of plan.deletes) await store.delete(item.id);
}

/** What history already says about a plan's memories (see {@link replayPlan}); written by others only. */
export interface RecordedChanges {
  /** Ids with a DELETE row. */
  deleted: ReadonlySet<string>;
  /** `${id} ${old_memory}` of every UPDATE/DELETE row: the texts each memory was changed away from. */
  changedFrom: ReadonlySet<string>;
}

/**
 * Applies a stored plan again: its first attempt may have written all, part or none of it, and other writers (jobs
 * of other scopes, sync calls, forget_memories) may have changed the store since. A replay completes what is
 * missing and never undoes a later change. `recorded` comes from history, where this plan's own rows appear only
 * when it completes, so whatever is there was written by someone else.
 * - insert: present → already written, left as it is; absent and deleted since → not resurrected (its ADD row
 *   stays); absent otherwise → inserted.
 * - update: the memory holds the text the plan started from → updated; holds the planned text → already written;
 *   gone or holding another text → changed since: not written, and its UPDATE row is kept only if history shows
 *   the memory was changed away from the planned text (the first attempt's update did land).
 * - delete: present → deleted; absent and deleted by someone else → its DELETE row is dropped (that one is recorded).
 * Returns the plan as applied (what to record and report).
 */
export async function replayPlan(external: ExternalStore, plan: WritePlan, recorded: RecordedChanges): Promise<WritePlan> {
  const store = external.store;
  const dropped = new Set<string>();
  const out: WritePlan = { inserts: plan.inserts, updates: [], deletes: [], history: [], ...(plan.graph ? { graph: plan.graph } : {}) };
  for (const item of plan.inserts) {
    if (recorded.deleted.has(item.id) || (await store.get(item.id))) continue;
    await store.insert([item.vector], [item.id], [item.payload]);
  }
  for (const item of plan.updates) {
    const current = await store.get(item.id);
    const before = plan.history.find((h) => h.memoryId === item.id && h.event === 'UPDATE')?.oldMemory ?? null;
    const planned = item.payload.data;
    if (current && current.payload.data === planned) {
      out.updates.push(item);
    } else if (current && current.payload.data === before) {
      await store.update(item.id, item.vector, item.payload);
      out.updates.push(item);
    } else if (!recorded.changedFrom.has(`${item.id} ${String(planned)}`)) {
      dropped.add(`UPDATE ${item.id}`);
    }
  }
  for (const item of plan.deletes) {
    if (await store.get(item.id)) {
      await store.delete(item.id);
      out.deletes.push(item);
    } else if (recorded.deleted.has(item.id)) {
      dropped.add(`DELETE ${item.id}`);
    } else {
      out.deletes.push(item);
    }
  }
  out.history = plan.history.filter((h) => !dropped.has(`${h.event} ${h.memoryId}`));
  return out;
}

/** What history says about the plan's memories ({@link RecordedChanges}). */
export async function recordedChanges(db: Queryable, tables: Tables, plan: WritePlan): Promise<RecordedChanges> {
  const ids = [...new Set([...plan.inserts, ...plan.updates, ...plan.deletes].map((i) => i.id))];
  const deleted = new Set<string>();
  const changedFrom = new Set<string>();
  if (ids.length === 0) return { deleted, changedFrom };
  const res = await db.query<{ id: string; event: string; old: string | null }>(selectChangeHistory(tables, ids));
  for (const row of res.rows) {
    if (row.event === 'DELETE') deleted.add(row.id);
    if (row.old !== null) changedFrom.add(`${row.id} ${row.old}`);
  }
  return { deleted, changedFrom };
}

/**
 * The SQL side of a plan: its history rows, the access-log rows of what it deleted, and its graph changes into the
 * graph outbox (their id returned), all on `db` in the caller's transaction.
 */
export async function recordPlan(db: Queryable, tables: Tables, plan: WritePlan): Promise<string | undefined> {
  if (plan.history.length > 0) await db.query(insertHistory(tables, plan.history));
  if (plan.deletes.length > 0) await db.query(deleteAccessRows(tables, plan.deletes.map((d) => d.id)));
  if (!plan.graph) return undefined;
  const written = [...plan.inserts, ...plan.updates].map((w) => w.id);
  return insertPendingGraph(db, tables, plan.graph.scope, plan.graph.changes, written);
}

/** What a plan did, as the repository reports it (`pendingGraph`: the outbox row {@link recordPlan} wrote). */
export function planResult(plan: WritePlan, pendingGraph?: string): AppliedChanges {
  return {
    inserted: plan.inserts.map((i) => toRecord(i.id, i.payload)),
    updated: plan.updates.map((u) => toRecord(u.id, u.payload)),
    deleted: plan.deletes.map((d) => d.id),
    ...(pendingGraph !== undefined ? { pendingGraph } : {}),
  };
}

// ── the repository ──────────────────────────────────────────────────────────────────────────────────────────────────

/** The planning side of the repository, shared with queued jobs (which apply plans their own way). */
export interface PlanningRepository {
  planApply(scope: Scope, changes: ChangeSet): Promise<WritePlan>;
  /** Null when the memory does not exist. */
  planUpdate(change: MemoryUpdate): Promise<WritePlan | null>;
  /** Null when the memory does not exist. */
  planDelete(id: string): Promise<WritePlan | null>;
  planDeleteAll(scope: Scope, filters?: unknown): Promise<WritePlan>;
}

export function planningRepository(external: ExternalStore): PlanningRepository {
  return {
    planApply: (scope, changes) => planChanges(external, scope, changes),
    planUpdate: async (change) => {
      const current = await external.store.get(change.id);
      if (!current) return null;
      const plan = emptyPlan();
      addUpdate(plan, current, change, new Date());
      return plan;
    },
    planDelete: async (id) => {
      const current = await external.store.get(id);
      if (!current) return null;
      const plan = emptyPlan();
      addDelete(plan, current, new Date());
      return plan;
    },
    planDeleteAll: async (scope, filters) => {
      const plan = emptyPlan();
      const now = new Date();
      for (const r of await wholeScope(external, scope, checkFilter(filters), 'delete_all_memories')) {
        addDelete(plan, r, now);
      }
      return plan;
    },
  };
}

/**
 * The repository over `external` with its state in `state` (history, access log). Writes are applied at once:
 * store first, then history (see the module comment for what a crash in between leaves).
 */
export function vectorStoreRepository(external: ExternalStore, state: Pick<Store, 'database' | 'tables' | 'ping' | 'accessLog'>): MemoryRepository {
  const planner = planningRepository(external);
  const pool: pg.Pool = state.database.pool;
  /**
   * Owners (agent_id) of recent searches' hits, for the access log's app_id. Kept across searches (a memory's owner
   * never changes) and bounded: concurrent searches may each note their recalls after another search ran.
   */
  const owners = new Map<string, string | null>();

  const run = async (plan: WritePlan): Promise<AppliedChanges> => {
    await executePlan(external, plan);
    return planResult(plan, await withTransaction(pool, (client) => recordPlan(client, state.tables, plan)));
  };

  return {
    async search(scope, options) {
      const filter = checkFilter(options.filters);
      if (options.topK <= 0) return [];
      // As many candidates as the SQL store's vector side takes, then ranked as it ranks (store/ranking.ts).
      const candidates = Math.min(Math.max(options.topK * 2, 20), MAX_FETCH);
      const rows = await scopeResults(external, scope, filter, candidates, (n) => external.store.search([...options.vector], n, scopeFilter(scope)));
      const records = rows.map((r) => toRecord(r.id, r.payload));
      const keyword = keywordScores(queryTerms(options.query ?? ''), records.map((r) => new Set(wordTokens(r.data))));
      const hits: SearchHit[] = records.map((record, i) => {
        const vectorScore = external.score(rows[i]!.score);
        const keywordScore = keyword[i]!;
        return { ...record, score: fuseScores(vectorScore, keywordScore), vectorScore, keywordScore };
      });
      hits.sort((a, b) => b.score - a.score || b.vectorScore - a.vectorScore || (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
      hits.splice(options.topK);
      for (const h of hits) {
        owners.delete(h.id);
        owners.set(h.id, h.agentId);
      }
      for (const oldest of owners.keys()) {
        if (owners.size <= MAX_OWNERS) break;
        owners.delete(oldest);
      }
      return hits;
    },
    async list(scope, options) {
      const filter = checkFilter(options.filters);
      const offset = options.offset ?? 0;
      if (options.limit <= 0) return [];
      // A store lists in its own order, not by update time: read the scope's memories (up to MAX_FETCH), order them
      // as the SQL store does, then cut the page (taking the store's first `limit` would give arbitrary ones).
      const rows = await scopeResults(external, scope, filter, MAX_FETCH, (n) => external.store.list(scopeFilter(scope), n).then(([r]) => r));
      return rows.map((r) => toRecord(r.id, r.payload))
        .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.id < b.id ? -1 : 1))
        .slice(offset, offset + options.limit);
    },
    async get(id) {
      const found = await external.store.get(id);
      return found ? toRecord(found.id, found.payload) : null;
    },
    async findByHash(scope, hash) {
      const row = await storedWithHash(external, scope, hash);
      return row ? toRecord(row.id, row.payload) : null;
    },
    async history(id) {
      const res = await pool.query<{ memoryId: string; oldMemory: string | null; newMemory: string | null; event: 'ADD' | 'UPDATE' | 'DELETE'; createdAt: Date | null; updatedAt: Date | null; isDeleted: boolean }>(selectHistory(state.tables, id, null));
      return res.rows.map((h) => ({
        memoryId: h.memoryId, oldMemory: h.oldMemory, newMemory: h.newMemory, event: h.event,
        createdAt: h.createdAt ? new Date(h.createdAt).toISOString() : null,
        updatedAt: h.updatedAt ? new Date(h.updatedAt).toISOString() : null, isDeleted: h.isDeleted,
      }));
    },
    apply: async (scope, changes) => run(await planner.planApply(scope, changes)),
    async update(change) {
      const plan = await planner.planUpdate(change);
      return plan ? (await run(plan)).updated[0] ?? null : null;
    },
    async delete(id) {
      const plan = await planner.planDelete(id);
      if (!plan) return false;
      await run(plan);
      return true;
    },
    deleteAll: async (scope, filters) => (await run(await planner.planDeleteAll(scope, filters))).deleted.length,
    count: async (scope, filters) => (await wholeScope(external, scope, checkFilter(filters), 'counting them')).length,
    async ping() {
      const db = await state.ping();
      await external.store.list(undefined, 1);
      return { pgvectorVersion: db.pgvectorVersion, dims: external.dims };
    },
    recordRecalls(scope, results) {
      state.accessLog?.record(scope, results.map((r) => ({ ...r, agentId: owners.has(r.id) ? owners.get(r.id) : (scope.agentId ?? null) })));
    },
  };
}

/**
 * Every memory of the scope matching `filter`, as delete_all, its dry run and export see them. A store lists at most
 * {@link MAX_FETCH} memories of a scope, and the filter is applied after the listing: when the listing was full,
 * matches may be missing, so this refuses (naming `what` and how to split it) rather than answer for a part.
 */
export async function wholeScope(external: ExternalStore, scope: Scope, filter: Filter | null, what: string): Promise<VectorStoreResult[]> {
  let listed = 0;
  const rows = await scopeResults(external, scope, filter, MAX_FETCH, async (n) => {
    const [page] = await external.store.list(scopeFilter(scope), n);
    listed = Math.max(listed, page.length);
    return page;
  });
  if (listed >= MAX_FETCH) {
    throw new EngineError(
      'validation',
      `this user has ${MAX_FETCH} or more memories in the ${external.provider} collection "${external.collectionName}", more than ` +
        `it can list at once, so ${what} could not see them all; run it in parts (by app_id)`,
    );
  }
  return rows;
}

/** A memory of the scope with this text hash, or null. */
async function storedWithHash(external: ExternalStore, scope: Scope, hash: string): Promise<VectorStoreResult | null> {
  const filter = { ...scopeFilter(scope), hash };
  const rows = await scopeResults(external, scope, { hash }, 1, (n) => external.store.list(filter, n).then(([r]) => r));
  return rows[0] ?? null;
}

/**
 * Results of `fetch(n)` in the scope and matching `filter`, at most `want`; asks again with a larger `n` while the
 * store returned all it was asked for and too few of them matched.
 */
export async function scopeResults(
  external: ExternalStore,
  scope: Scope,
  filter: Filter | null,
  want: number,
  fetch: (n: number) => Promise<VectorStoreResult[]>,
): Promise<VectorStoreResult[]> {
  checkScope(scope);
  let n = Math.min(filter ? Math.max(want * 4, 20) : want, MAX_FETCH);
  for (;;) {
    const rows = await fetch(n);
    const kept = rows.filter((r) => r && typeof r.id === 'string' && inScope(r.payload ?? {}, scope) && matchesFilter(r.payload ?? {}, filter));
    if (kept.length >= want || rows.length < n || n >= MAX_FETCH) return kept.slice(0, want);
    n = Math.min(n * 4, MAX_FETCH);
  }
}

/** What the store is asked to filter on: the scope (every `mem0ai` store supports equality on these keys). */
export function scopeFilter(scope: Scope): Record<string, unknown> {
  return scope.agentId ? { user_id: scope.userId, agent_id: scope.agentId } : { user_id: scope.userId };
}

function inScope(payload: Record<string, unknown>, scope: Scope): boolean {
  if (payload.user_id !== scope.userId) return false;
  return !scope.agentId || payload.agent_id === scope.agentId;
}

function checkScope(scope: Scope): void {
  if (typeof scope?.userId !== 'string' || scope.userId.trim() === '') throw new EngineError('invalid_params', 'user_id is required');
}

/** A stored payload as a {@link MemoryRecord}. */
export function toRecord(id: string, payload: Record<string, unknown>): MemoryRecord {
  const createdAt = isoOf(payload.created_at) ?? new Date(0).toISOString();
  return recordOfPayload(id, payload, { createdAt, updatedAt: isoOf(payload.updated_at) ?? createdAt }, INTERNAL_KEYS);
}

/** Python `isoformat()` (or any date text, or epoch seconds) → ISO-8601 UTC; null when not a time. */
function isoOf(value: unknown): string | null {
  let date: Date | null = null;
  if (typeof value === 'string' && value.trim() !== '') date = new Date(value.replace(/(\.\d{3})\d+/, '$1'));
  else if (typeof value === 'number' && Number.isFinite(value)) date = new Date(value * 1000);
  return date && Number.isFinite(date.getTime()) ? date.toISOString() : null;
}
