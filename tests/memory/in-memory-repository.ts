/**
 * A MemoryRepository in process memory, ONLY for the unit tests of the engine's logic (service.ts). The real store
 * (src/store, PostgreSQL/PGlite) has its own tests. `apply` is all-or-nothing like a transaction: it checks every
 * change before touching anything.
 */
import { randomUUID } from 'node:crypto';
import type {
  AppliedChanges, ChangeSet, HistoryRecord, MemoryRecord, MemoryRepository, MemoryUpdate, SearchHit,
} from '../../src/memory/repository.js';
import type { Scope } from '../../src/store/queries.js';
import { hashText } from '../../src/memory/reconcile.js';

interface Row {
  record: MemoryRecord;
  vector: number[];
}

export class InMemoryRepository implements MemoryRepository {
  readonly rows = new Map<string, Row>();
  readonly historyRows: HistoryRecord[] = [];
  applyCalls = 0;
  /** Set to make the next apply fail after validation (simulates a database error mid-transaction). */
  failNextApply: Error | null = null;
  private tick = 0;

  constructor(readonly dims: number) {}

  private stamp(): string {
    // Strictly increasing times so ordering tests are deterministic.
    this.tick += 1;
    return new Date(Date.UTC(2026, 0, 1, 0, 0, this.tick)).toISOString();
  }

  private inScope(record: MemoryRecord, scope: Scope): boolean {
    return record.userId === scope.userId && (!scope.agentId || record.agentId === scope.agentId);
  }

  async search(scope: Scope, options: { vector: readonly number[]; query: string; topK: number }): Promise<SearchHit[]> {
    const hits = [...this.rows.values()]
      .filter((r) => this.inScope(r.record, scope))
      .map((r) => {
        const score = Math.max(0, cosine(r.vector, options.vector));
        return { ...r.record, score, vectorScore: score, keywordScore: 0 };
      })
      .sort((a, b) => b.score - a.score);
    return hits.slice(0, options.topK);
  }

  async list(scope: Scope, options: { limit: number }): Promise<MemoryRecord[]> {
    return [...this.rows.values()]
      .map((r) => r.record)
      .filter((r) => this.inScope(r, scope))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, options.limit);
  }

  async get(id: string): Promise<MemoryRecord | null> {
    return this.rows.get(id)?.record ?? null;
  }

  async findByHash(scope: Scope, hash: string): Promise<MemoryRecord | null> {
    return [...this.rows.values()].map((r) => r.record).find((r) => this.inScope(r, scope) && r.hash === hash) ?? null;
  }

  async history(id: string): Promise<HistoryRecord[]> {
    return this.historyRows.filter((h) => h.memoryId === id);
  }

  async apply(scope: Scope, changes: ChangeSet): Promise<AppliedChanges> {
    this.applyCalls += 1;
    for (const insert of changes.inserts) this.checkVector(insert.vector);
    for (const update of changes.updates) this.checkVector(update.vector);
    if (this.failNextApply) {
      const error = this.failNextApply;
      this.failNextApply = null;
      throw error;
    }
    const applied: AppliedChanges = { inserted: [], updated: [], deleted: [] };
    for (const insert of changes.inserts) {
      // The repository contract: an exact text the scope holds (deletes of this set aside) is not stored twice.
      const stored = await this.findByHash(scope, hashText(insert.data));
      if (stored && !changes.deletes.includes(stored.id)) continue;
      const now = this.stamp();
      const record: MemoryRecord = {
        id: randomUUID(), data: insert.data, hash: hashText(insert.data), userId: scope.userId, agentId: scope.agentId ?? null,
        runId: insert.runId ?? null, metadata: { ...(insert.metadata ?? {}), ...(insert.role ? { role: insert.role } : {}) },
        createdAt: now, updatedAt: now,
      };
      this.rows.set(record.id, { record, vector: [...insert.vector] });
      this.historyRows.push({ memoryId: record.id, oldMemory: null, newMemory: record.data, event: 'ADD', createdAt: now, updatedAt: now, isDeleted: false });
      applied.inserted.push(record);
    }
    for (const update of changes.updates) {
      const record = await this.update(update);
      if (record) applied.updated.push(record);
    }
    for (const id of changes.deletes) if (await this.delete(id)) applied.deleted.push(id);
    return applied;
  }

  async update(change: MemoryUpdate): Promise<MemoryRecord | null> {
    const row = this.rows.get(change.id);
    if (!row) return null;
    this.checkVector(change.vector);
    const now = this.stamp();
    const record: MemoryRecord = {
      ...row.record, data: change.data, hash: hashText(change.data), metadata: { ...row.record.metadata, ...(change.metadata ?? {}) }, updatedAt: now,
    };
    this.rows.set(change.id, { record, vector: [...change.vector] });
    this.historyRows.push({ memoryId: change.id, oldMemory: row.record.data, newMemory: change.data, event: 'UPDATE', createdAt: row.record.createdAt, updatedAt: now, isDeleted: false });
    return record;
  }

  async delete(id: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row) return false;
    this.rows.delete(id);
    const now = this.stamp();
    this.historyRows.push({ memoryId: id, oldMemory: row.record.data, newMemory: null, event: 'DELETE', createdAt: row.record.createdAt, updatedAt: now, isDeleted: true });
    return true;
  }

  async count(scope: Scope, filters?: unknown): Promise<number> {
    if (filters !== undefined) throw new Error('the in-memory repository has no filters');
    return [...this.rows.values()].filter((r) => this.inScope(r.record, scope)).length;
  }

  async deleteAll(scope: Scope, filters?: unknown): Promise<number> {
    if (filters !== undefined) throw new Error('the in-memory repository has no filters');
    const ids = [...this.rows.values()].filter((r) => this.inScope(r.record, scope)).map((r) => r.record.id);
    for (const id of ids) await this.delete(id);
    return ids.length;
  }

  async ping(): Promise<{ pgvectorVersion: string; dims: number }> {
    return { pgvectorVersion: 'in-memory', dims: this.dims };
  }

  texts(): string[] {
    return [...this.rows.values()].map((r) => r.record.data).sort();
  }

  private checkVector(vector: readonly number[]): void {
    if (vector.length !== this.dims) throw new Error(`vector has ${vector.length} dims, expected ${this.dims}`);
  }
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
