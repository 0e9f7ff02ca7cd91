/**
 * Memories and their history over one collection. Payloads stay exactly what Mem0's Python store writes
 * (`data`, `hash` = md5 hex of data, `user_id`, `agent_id`, `run_id`, `actor_id`, `role`, `created_at`,
 * `updated_at` as Python `isoformat()` strings, user metadata at the top level), so either side can read the other's
 * rows. Every change and its history row are written in one transaction (often one statement).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { deleteAccessRows } from './access-log.js';
import { EngineError, notFound } from '../shared/errors.js';
import { clamp01 } from './ranking.js';
import { PostgresGraph } from './graph/postgres.js';
import { recordGraphChanges } from './graph/history.js';
import { insertPendingGraph } from './graph/outbox.js';
import type { AppliedGraphChanges, GraphChanges, GraphScope } from './graph/types.js';
import { withClient, withTransaction } from './pool.js';
import { transactionPool } from './scoped-pools.js';
import { sendTogether } from './pipeline.js';
import { parseFilterInput } from './filters.js';
import type { Queryable } from './pool.js';
import * as q from './queries.js';
import type { MemoryRow, Scope } from './queries.js';
import { FLOAT4_MAX, prepared, vectorBinary, vectorLiteral } from './sql.js';
import type { SqlQuery, Tables } from './sql.js';
import { lexemeQuery, queryTerms, wordTokens } from './tokens.js';
import { checkCount, checkMetadata, checkScope, checkUuid, md5, newMemoryPayload, pythonIso } from './payload.js';

export type { Scope } from './queries.js';

export * from './memory-records.js';
import { importedHistory, MAX_LIST_LIMIT, MAX_TOP_K, recordOfPayload, stringOrNull } from './memory-records.js';
import type { HistoryEntry, ImportHistory, ImportRecord, MemoryChange, MemoryRecord, NewMemory, SearchCapabilities, SearchHit, SearchOptions, SearchTrace } from './memory-records.js';

const MAX_QUERY_TOKENS = 64;

export class MemoryStore {
  lastSearch: SearchTrace | null = null;
  /**
   * Scopes a search found bigger than SMALL_SCOPE_ROWS (this process only): they skip the small-scope statement,
   * which would only count them. A wrong entry costs a round trip, never an answer.
   */
  private readonly bigScopes = new BoundedSet(REMEMBERED_SCOPES);

  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
    private readonly dims: number,
    private readonly capabilities: SearchCapabilities,
  ) {}

  /** This store inside the caller's transaction on `client` (its own BEGIN/COMMIT become no-ops). */
  private on(client: pg.PoolClient): MemoryStore {
    return new MemoryStore(transactionPool(client), this.tables, this.dims, this.capabilities);
  }

  /**
   * Inserts memories for one scope with an ADD history row each, all in one statement (one round trip; a single
   * statement is its own transaction, so no BEGIN/COMMIT).
   */
  async insert(scope: Scope, items: readonly NewMemory[]): Promise<MemoryRecord[]> {
    checkScope(scope);
    const prepared = this.prepareInserts(scope, items);
    if (prepared.rows.length === 0) return [];
    return this.insertWith(this.pool, prepared);
  }

  /**
   * Changes a memory's text/vector and/or metadata with an UPDATE history row: one statement, so one round trip
   * and its own transaction. `scope` null addresses the memory by id alone. Throws `not_found` when it does not
   * exist in that scope.
   */
  async update(scope: Scope | null, id: string, change: MemoryChange): Promise<MemoryRecord> {
    if (scope) checkScope(scope);
    const vector = this.checkChange(id, change);
    const updated = await this.updateWith(this.pool, scope, id, change, vector);
    if (!updated) throw notFound('memory', id);
    return updated;
  }

  /**
   * Deletes one memory with a DELETE history row (one statement) and its access-log rows (a second one: it must
   * see the log rows recalls in flight wrote, deleteAccessRows), in one transaction sent in one round trip where
   * the connection pipelines. Throws `not_found` when not in scope.
   */
  async delete(scope: Scope | null, id: string): Promise<void> {
    if (scope) checkScope(scope);
    checkUuid(id);
    const [, gone] = await withClient(this.pool, (client) =>
      sendTogether(client, ['BEGIN', q.deleteMemory(this.tables, id, scope), deleteAccessRows(this.tables, [id]), 'COMMIT']));
    if (gone!.rows.length === 0) throw notFound('memory', id);
  }

  /**
   * Applies a reconciliation result — inserts, updates and deletes within one scope — and their history rows in ONE
   * statement (plus the access-log cleanup of the deletes, in the same transaction): all or nothing. An update or
   * delete whose memory is not in the scope (already gone, or someone else's) is skipped and left out of the result
   * rather than failing the whole set; an insert whose exact text the scope holds (deletes of this set aside) too.
   */
  async apply(
    scope: Scope,
    changes: {
      inserts?: readonly NewMemory[]; updates?: readonly (MemoryChange & { id: string })[]; deletes?: readonly string[];
      /** Graph changes learnt with these memories: written in the same transaction, provenance = the written ids. */
      graph?: { scope: GraphScope; changes: GraphChanges } | undefined;
      /** Graph changes for a graph written apart: stored in the graph outbox in the same transaction (outbox.ts). */
      pendingGraph?: { scope: GraphScope; changes: GraphChanges } | undefined;
    },
  ): Promise<{ inserted: MemoryRecord[]; updated: MemoryRecord[]; deleted: string[]; graph?: AppliedGraphChanges; pendingGraph?: string }> {
    checkScope(scope);
    const prepared = this.prepareInserts(scope, changes.inserts ?? []);
    const updates = (changes.updates ?? []).map((u) => ({ change: u, vector: this.checkChange(u.id, u) }));
    const deletes = changes.deletes ?? [];
    deletes.forEach(checkUuid);
    const pending = changes.pendingGraph;
    if (pending) {
      // Relations learnt while no memory changed: the outbox row alone.
      if (prepared.rows.length + updates.length + deletes.length === 0) {
        return { inserted: [], updated: [], deleted: [], pendingGraph: await insertPendingGraph(this.pool, this.tables, pending.scope, pending.changes, []) };
      }
      const { pendingGraph: _, ...memoriesOnly } = changes;
      return withTransaction(this.pool, async (client) => {
        const applied = await this.on(client).apply(scope, memoriesOnly);
        const written = [...applied.inserted, ...applied.updated].map((r) => r.id);
        return { ...applied, pendingGraph: await insertPendingGraph(client, this.tables, pending.scope, pending.changes, written) };
      });
    }
    // Inserts only (the common add): one statement, no explicit transaction.
    if (updates.length === 0 && deletes.length === 0 && !changes.graph) {
      const inserted = prepared.rows.length ? await this.addWith(this.pool, scope, prepared) : [];
      return { inserted, updated: [], deleted: [] };
    }
    // The whole set in one statement (queries.ts applyChangeSet), then the access-log rows of what it deleted.
    const statement = q.applyChangeSet(this.tables, scope, {
      ...prepared, updates: updates.map(({ change, vector }) => updateRow(change.id, change, vector)), deletes, at: updateTime(),
    });
    const unlog = deletes.length > 0 ? [deleteAccessRows(this.tables, deletes)] : [];
    const order = { ins: prepared.rows.map((r) => r.id), upd: updates.map((u) => u.change.id) };
    const graphChanges = changes.graph;
    if (!graphChanges) {
      // One transaction, sent in one round trip where the connection pipelines.
      const [, res] = await withClient(this.pool, (client) => sendTogether(client, ['BEGIN', statement, ...unlog, 'COMMIT']));
      return splitApplied((res as pg.QueryResult<q.AppliedRow>).rows, order, deletes);
    }
    return withTransaction(this.pool, async (client) => {
      const res = await client.query<q.AppliedRow>(statement);
      for (const u of unlog) await client.query(u);
      const { inserted, updated, deleted } = splitApplied(res.rows, order, deletes);
      const written = [...inserted, ...updated].map((r) => r.id);
      const graph = await new PostgresGraph(this.pool, this.tables, this.dims)
        .applyWithin(client, graphChanges.scope, graphChanges.changes, written);
      await recordGraphChanges(client, this.tables, graphChanges.scope, written, graph);
      return { inserted, updated, deleted, graph };
    });
  }

  private prepareInserts(scope: Scope, items: readonly NewMemory[]): { rows: q.InsertRow[]; history: q.HistoryRow[] } {
    const rows: q.InsertRow[] = [];
    const history: q.HistoryRow[] = [];
    for (const item of items) {
      if (typeof item.data !== 'string') throw new EngineError('validation', 'memory text must be a string');
      checkMetadata(item.metadata);
      const id = item.id ?? randomUUID();
      checkUuid(id);
      const created = item.createdAt ?? new Date();
      const stamp = pythonIso(created);
      const payload = newMemoryPayload(scope, item, stamp);
      rows.push({
        id,
        vector: vectorLiteral(this.checkedVector(item.vector)),
        payload: JSON.stringify(payload),
        createdAt: created.toISOString(),
        updatedAt: created.toISOString(),
        tokens: tokenText(item.data),
      });
      history.push({
        memoryId: id, oldMemory: null, newMemory: item.data, event: 'ADD',
        createdAt: created.toISOString(), updatedAt: created.toISOString(), isDeleted: false,
        actorId: item.actorId ?? null, role: item.role ?? null, userId: scope.userId, agentId: scope.agentId ?? null,
      });
    }
    return { rows, history };
  }

  /**
   * The memories not already stored in the scope (exact text) and their ADD history rows, in one prepared statement
   * (atomic on its own, or part of the caller's transaction).
   */
  private async addWith(db: Queryable, scope: Scope, prepared: { rows: q.InsertRow[]; history: q.HistoryRow[] }): Promise<MemoryRecord[]> {
    const inserted = await db.query<MemoryRow>(q.addMemoriesWithHistory(this.tables, scope, prepared.rows, prepared.history));
    return inserted.rows.map(toRecord);
  }

  /** The memories and their ADD history rows in one statement (atomic on its own, or part of the caller's transaction). */
  private async insertWith(
    db: Queryable,
    prepared: { rows: q.InsertRow[]; history: q.HistoryRow[] },
  ): Promise<MemoryRecord[]> {
    const inserted = await db.query<MemoryRow>(q.insertMemoriesWithHistory(this.tables, prepared.rows, prepared.history));
    return inserted.rows.map(toRecord);
  }

  /** Validates a change; returns the vector's SQL text (null when the vector is not changing). */
  private checkChange(id: string, change: MemoryChange): string | null {
    checkUuid(id);
    if (change.data !== undefined && typeof change.data !== 'string') {
      throw new EngineError('validation', 'memory text must be a string');
    }
    if (change.data !== undefined && change.vector === undefined) {
      throw new EngineError('validation', 'changing the text needs the new embedding vector too');
    }
    checkMetadata(change.metadata);
    return change.vector === undefined ? null : vectorLiteral(this.checkedVector(change.vector));
  }

  /**
   * The update and its history row in one statement (on its own, or inside the caller's transaction); null when the
   * memory is not in scope. The payload is merged in SQL on the row as locked (queries.ts updateMemoryWithHistory).
   */
  private async updateWith(
    db: Queryable,
    scope: Scope | null,
    id: string,
    change: MemoryChange,
    vector: string | null,
  ): Promise<MemoryRecord | null> {
    const updated = await db.query<MemoryRow>(q.updateMemoriesWithHistory(this.tables, scope, [updateRow(id, change, vector)], updateTime()));
    const row = updated.rows[0];
    return row ? toRecord(row) : null;
  }

  /** Deletes the scope's memories matching `filters` (all without), with history and their access-log rows; how many. */
  async deleteAll(scope: Scope, filters?: unknown): Promise<number> {
    return (await this.deleteAllWithGraph(scope, filters, null)).deleted;
  }

  /**
   * {@link deleteAll}, and in the same transaction the graph beside the memories (`graph`: its scope): without
   * filters the scope's whole graph goes; with filters only the relations learnt from nothing but the deleted memories.
   */
  async deleteAllWithGraph(scope: Scope, filters: unknown, graph: GraphScope | null): Promise<{ deleted: number; relations: number }> {
    checkScope(scope);
    return withTransaction(this.pool, async (client) => {
      const res = await client.query<{ id: string }>(q.deleteAllInScope(this.tables, scope, filters));
      const ids = res.rows.map((r) => r.id);
      if (ids.length > 0) await client.query(deleteAccessRows(this.tables, ids));
      if (!graph) return { deleted: ids.length, relations: 0 };
      const g = new PostgresGraph(this.pool, this.tables, this.dims);
      const relations = parseFilterInput(filters) !== null ? (await g.forgetWithin(client, graph, ids)).length : await g.deleteAllWithin(client, graph);
      return { deleted: ids.length, relations };
    });
  }

  /** One memory, or null when it does not exist in `scope` (null scope: by id alone). */
  async get(scope: Scope | null, id: string): Promise<MemoryRecord | null> {
    if (scope) checkScope(scope);
    checkUuid(id);
    const res = await this.pool.query<MemoryRow>(q.selectMemory(this.tables, id, scope));
    return res.rows[0] ? toRecord(res.rows[0]) : null;
  }

  /** Memories of the scope matching `filters`, most recently updated first; `offset` skips that many first. */
  async list(scope: Scope, options: { limit?: number; offset?: number; filters?: unknown } = {}): Promise<MemoryRecord[]> {
    checkScope(scope);
    const limit = checkCount(options.limit ?? 100, MAX_LIST_LIMIT, 'limit');
    const offset = checkCount(options.offset ?? 0, Number.MAX_SAFE_INTEGER, 'offset');
    const res = await this.pool.query<MemoryRow>(q.listMemories(this.tables, scope, { limit, offset, filters: options.filters }));
    return res.rows.map(toRecord);
  }

  /**
   * One page of an export, oldest first (created_at, id); pass the last record of a page as `after` for the next.
   * `offset` skips that many rows first (only for the first page of an export resumed by number).
   */
  async exportPage(
    scope: Scope,
    options: { limit: number; filters?: unknown; after?: { createdAt: string; id: string } | undefined; offset?: number },
  ): Promise<MemoryRecord[]> {
    checkScope(scope);
    const limit = checkCount(options.limit, MAX_LIST_LIMIT, 'limit');
    const res = await this.pool.query<MemoryRow>(q.exportMemoriesPage(this.tables, scope, { ...options, limit }));
    return res.rows.map(toRecord);
  }

  /** History of several memories, grouped by memory id, oldest first. */
  async historyOf(memoryIds: string[]): Promise<Map<string, ImportHistory[]>> {
    const out = new Map<string, ImportHistory[]>();
    if (memoryIds.length === 0) return out;
    for (const id of memoryIds) checkUuid(id);
    const res = await this.pool.query<Omit<ImportHistory, 'createdAt' | 'updatedAt'> & { memoryId: string; createdAt: Date | null; updatedAt: Date | null }>(
      q.selectHistoryOf(this.tables, memoryIds),
    );
    for (const row of res.rows) {
      const { memoryId, ...rest } = row;
      const list = out.get(memoryId) ?? [];
      list.push({ ...rest, createdAt: row.createdAt ? row.createdAt.toISOString() : null, updatedAt: row.updatedAt ? row.updatedAt.toISOString() : null });
      out.set(memoryId, list);
    }
    return out;
  }

  /**
   * Writes imported memories under their own ids, payload and times as given; ids that exist already are skipped.
   * A memory without history gets one ADD row. Returns the ids inserted (the others were skipped).
   */
  async importRecords(records: readonly ImportRecord[]): Promise<string[]> {
    if (records.length === 0) return [];
    const rows: q.InsertRow[] = [];
    const history: q.HistoryRow[] = [];
    for (const record of records) {
      checkUuid(record.id);
      checkScope({ userId: stringOrNull(record.payload.user_id) ?? '', agentId: stringOrNull(record.payload.agent_id) });
      const data = record.payload.data;
      if (typeof data !== 'string') throw new EngineError('validation', `memory ${record.id} has no text`);
      rows.push({
        id: record.id, vector: vectorLiteral(this.checkedVector(record.vector)), payload: JSON.stringify(record.payload),
        createdAt: record.createdAt, updatedAt: record.updatedAt, tokens: tokenText(data),
      });
      history.push(...importedHistory(record));
    }
    const res = await this.pool.query<{ id: string }>(q.importMemories(this.tables, rows, history));
    return res.rows.map((r) => r.id);
  }

  /** How many memories of the scope match `filters`. */
  async count(scope: Scope, filters?: unknown): Promise<number> {
    checkScope(scope);
    const res = await this.pool.query<{ n: number }>(q.countMemories(this.tables, scope, filters));
    return res.rows[0]?.n ?? 0;
  }

  /** A memory of the scope with exactly this text's hash (Mem0's dedup key), or null. */
  async findByHash(scope: Scope, hash: string): Promise<MemoryRecord | null> {
    checkScope(scope);
    const res = await this.pool.query<MemoryRow>(q.findByHash(this.tables, scope, hash));
    return res.rows[0] ? toRecord(res.rows[0]) : null;
  }

  /** The history of one memory, oldest first; empty when there is none in `scope`. */
  async history(scope: Scope | null, memoryId: string): Promise<HistoryEntry[]> {
    if (scope) checkScope(scope);
    checkUuid(memoryId);
    const res = await this.pool.query<Omit<HistoryEntry, 'createdAt' | 'updatedAt' | 'recordedAt'> & {
      createdAt: Date | null; updatedAt: Date | null; recordedAt: Date;
    }>(q.selectHistory(this.tables, memoryId, scope));
    return res.rows.map((r) => ({
      ...r,
      createdAt: r.createdAt ? r.createdAt.toISOString() : null,
      updatedAt: r.updatedAt ? r.updatedAt.toISOString() : null,
      recordedAt: r.recordedAt.toISOString(),
    }));
  }

  /**
   * Hybrid search. Returns `topK` hits whenever at least `topK` memories with a vector match the scope and filters.
   * A scope of at most SMALL_SCOPE_ROWS rows is answered by the small-scope statement (exact vector order). A bigger
   * one by the general statement: with pgvector ≥ 0.8 the HNSW scan is iterative (it keeps going past `ef_search`
   * until enough rows pass the filter); and if the vector side still comes back short of both the candidate count
   * and the number of matching rows, the query is run again as an exact scan (no vector index).
   */
  async search(scope: Scope, options: SearchOptions): Promise<SearchHit[]> {
    checkScope(scope);
    const topK = checkCount(options.topK, MAX_TOP_K, 'top_k');
    if (topK === 0) return [];
    const vector = vectorBinary(this.checkedVector(options.vector));
    const terms = options.query ? queryTerms(options.query, MAX_QUERY_TOKENS) : [];
    const candidates = Math.min(Math.max(topK * 2, 20), MAX_TOP_K);
    const scopeKey = keyOfScope(scope);
    const args = { vector, terms: terms.map(lexemeQuery), topK, candidates, filters: options.filters };
    if (!this.bigScopes.has(scopeKey)) {
      const res = await this.pool.query<HitRow>(this.smallScopeStatement(scope, args));
      const size = res.rows[0]?.scopeSize ?? 0;
      if (size <= q.SMALL_SCOPE_ROWS) {
        this.lastSearch = { exactFallback: false, vectorHits: res.rows[0]?.vectorHits ?? 0, smallScope: true };
        return hitsOf(res.rows);
      }
      // Too big for it: it only counted. Asked again below, and the general statement first from now on.
      this.bigScopes.add(scopeKey);
    }
    const sql = q.searchMemories(this.tables, scope, args);
    // Fast path, one round trip: the connection's own settings (pool.ts applies `hnsw.iterative_scan` when a
    // connection opens) and the default ef_search, which is enough up to 40 candidates.
    if (candidates <= DEFAULT_EF_SEARCH) {
      const res = await this.pool.query<HitRow>(sql);
      const stats = res.rows[0];
      this.forgetIfSmall(scopeKey, stats?.scopeSize);
      const vectorHits = stats?.vectorHits ?? 0;
      // Short only when the vector side found fewer than the candidates AND fewer than the rows that match.
      if (!(vectorHits < candidates && (stats?.scopeRows ?? 0) > vectorHits)) {
        this.lastSearch = { exactFallback: false, vectorHits, smallScope: false };
        return hitsOf(res.rows);
      }
    }
    // The index scan came back short (or the caller wants more candidates than the default ef_search): settings
    // for this transaction only, then an exact scan if the index scan is still short.
    return withTransaction(this.pool, async (client) => {
      if (this.capabilities.iterativeScan) {
        await client.query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)");
        await client.query("SELECT set_config('hnsw.ef_search', $1, true)", [String(Math.min(1000, Math.max(40, candidates)))]);
      }
      let res = await client.query<HitRow>(sql);
      let vectorHits = res.rows[0]?.vectorHits ?? 0;
      let exactFallback = false;
      if (vectorHits < candidates && (res.rows[0]?.scopeRows ?? 0) > vectorHits) {
        await client.query("SELECT set_config('enable_indexscan', 'off', true)");
        res = await client.query<HitRow>(sql);
        vectorHits = res.rows[0]?.vectorHits ?? 0;
        exactFallback = true;
      }
      this.forgetIfSmall(scopeKey, res.rows[0]?.scopeSize);
      this.lastSearch = { exactFallback, vectorHits, smallScope: false };
      return hitsOf(res.rows);
    });
  }

  /**
   * The statement a search sends first for a scope not known to be big (the bench's raw side sends the very same).
   * Its plan is the same for every small scope, so without a filter it is prepared once per connection and never
   * planned again: parsing and planning were over half of such a search's database time. A filter changes its
   * text, so a filtered search stays unprepared (prepared statements last as long as their connection).
   */
  smallScopeStatement(scope: Scope, args: Omit<q.SearchSqlOptions, 'smallScope'>): SqlQuery {
    const sql = q.searchMemories(this.tables, scope, { ...args, smallScope: true });
    return args.filters === undefined ? prepared(sql) : sql;
  }

  /** A scope remembered as big that a search has counted small again goes back to the small-scope statement. */
  private forgetIfSmall(scopeKey: string, size: number | undefined): void {
    if (size !== undefined && size <= q.SMALL_SCOPE_ROWS) this.bigScopes.delete(scopeKey);
  }

  /** The embedding as given, once it has the collection's dimensions and only numbers pgvector can store. */
  private checkedVector(vector: readonly number[] | undefined): readonly number[] {
    if (!Array.isArray(vector) || vector.length !== this.dims) {
      throw new EngineError(
        'validation',
        `embedding has ${Array.isArray(vector) ? vector.length : 'no'} dimensions; the collection expects ${this.dims}`,
      );
    }
    for (const x of vector) {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new EngineError('validation', 'embedding contains a non-finite number');
      if (Math.abs(x) > FLOAT4_MAX) throw new EngineError('validation', `embedding value ${x} is out of range for a vector (float4)`);
    }
    return vector;
  }
}

/** A search row; `id` is null on the one row that comes back when nothing matched (statistics only). */
interface HitRow extends Omit<MemoryRow, 'id'> {
  id: string | null;
  distance: number | null;
  vectorScore: number;
  keywordScore: number;
  score: number;
  vectorHits: number;
  /** Rows with a vector in scope and filter, counted up to the candidate count; null when not counted. */
  scopeRows: number | null;
  /** The scope's rows (no filter), counted up to SMALL_SCOPE_ROWS + 1. */
  scopeSize: number;
}

/** A set that forgets its oldest entry when it would grow past `limit`. */
class BoundedSet {
  private readonly items = new Set<string>();

  constructor(private readonly limit: number) {}

  has(key: string): boolean {
    return this.items.has(key);
  }

  add(key: string): void {
    this.items.delete(key);
    this.items.add(key);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value!);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}

/** Big scopes remembered per collection: about 100 bytes each. */
const REMEMBERED_SCOPES = 10_000;

function keyOfScope(scope: Scope): string {
  return scope.agentId ? `${scope.userId}\u0000${scope.agentId}` : scope.userId;
}

/** pgvector's default `hnsw.ef_search` (the fast path leaves it alone). */
const DEFAULT_EF_SEARCH = 40;

function hitsOf(rows: HitRow[]): SearchHit[] {
  const hits: SearchHit[] = [];
  for (const row of rows) if (row.id !== null) hits.push(toHit(row as HitRow & { id: string }));
  return hits;
}

function toRecord(row: MemoryRow): MemoryRecord {
  const payload = row.payload ?? {};
  // Object.assign onto the one new object rather than spreads into a third: a search reads up to 100 of these.
  return Object.assign(recordOfPayload(row.id, payload, { createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }), { payload });
}

function toHit(row: HitRow & { id: string }): SearchHit {
  const d = row.distance;
  return Object.assign(toRecord(row), {
    score: clamp01(row.score),
    vectorScore: clamp01(row.vectorScore),
    keywordScore: clamp01(row.keywordScore),
    distance: d === null || !Number.isFinite(d) ? 1 : d,
  });
}

/** A change as the update statement takes it: metadata split into keys to set and keys to remove. */
function updateRow(id: string, change: MemoryChange, vector: string | null): q.UpdateRow {
  const set: Record<string, unknown> = {};
  const drop: string[] = [];
  for (const [k, v] of Object.entries(change.metadata ?? {})) {
    if (v === null) drop.push(k);
    else set[k] = v;
  }
  const data = change.data ?? null;
  return {
    id, data, hash: data === null ? null : md5(data), tokens: data === null ? null : tokenText(data), vector,
    set: JSON.stringify(set), drop,
  };
}

function updateTime(now = new Date()): q.UpdateTime {
  return { updatedAt: now.toISOString(), updatedIso: pythonIso(now) };
}

/** The rows of an applied change set by kind, each kind in the order it was asked for. */
function splitApplied(
  rows: q.AppliedRow[], order: { ins: string[]; upd: string[] }, deletes: readonly string[],
): { inserted: MemoryRecord[]; updated: MemoryRecord[]; deleted: string[] } {
  const by = (event: q.AppliedRow['event'], ids: readonly string[]) => {
    const found = new Map(rows.filter((r) => r.event === event).map((r) => [r.id, r]));
    return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
  };
  return {
    inserted: by('ADD', order.ins).map(toRecord),
    updated: by('UPDATE', order.upd).map(toRecord),
    deleted: by('DELETE', deletes).map((r) => r.id),
  };
}

function tokenText(data: string): string {
  return wordTokens(data).join(q.TOKEN_SEPARATOR);
}
