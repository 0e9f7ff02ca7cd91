/**
 * What the memory service needs from storage. The store (src/store) provides it through an adapter; the unit tests
 * of the engine logic use an in-memory implementation. Ids are UUID strings; times are ISO-8601 UTC strings.
 * @module
 */
import type { Scope } from '../store/queries.js';

/** Who the memories belong to. `run_id` is a trace id only and never scopes memory. */
export interface MemoryRecord {
  id: string;
  data: string;
  /** md5 hex of `data` (Mem0's dedup key); null on rows written without one. */
  hash: string | null;
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  /** Payload keys other than Mem0's reserved ones. */
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface SearchHit extends MemoryRecord {
  /** 0–1 similarity. */
  score: number;
}

export interface HistoryRecord {
  memoryId: string;
  oldMemory: string | null;
  newMemory: string | null;
  event: 'ADD' | 'UPDATE' | 'DELETE';
  createdAt: string | null;
  updatedAt: string | null;
  isDeleted: boolean;
}

export interface NewMemory {
  data: string;
  vector: readonly number[];
  metadata?: Record<string, unknown> | undefined;
  runId?: string | null | undefined;
  /** The speaker of a stored-as-is message (infer=false). */
  role?: string | null | undefined;
}

export interface MemoryUpdate {
  id: string;
  data: string;
  vector: readonly number[];
  /** Merged into the stored metadata. */
  metadata?: Record<string, unknown> | undefined;
}

export interface ChangeSet {
  inserts: NewMemory[];
  updates: MemoryUpdate[];
  deletes: string[];
}

export interface AppliedChanges {
  inserted: MemoryRecord[];
  updated: MemoryRecord[];
  /** Ids actually deleted (a memory already gone is skipped, not an error). */
  deleted: string[];
}

export interface MemoryRepository {
  /** Vector (+ keyword, if the store does hybrid) search within the scope, best first. */
  search(scope: Scope, options: { vector: readonly number[]; query: string; topK: number; filters?: unknown }): Promise<SearchHit[]>;
  list(scope: Scope, options: { limit: number; filters?: unknown }): Promise<MemoryRecord[]>;
  /** By id alone; null when it does not exist. */
  get(id: string): Promise<MemoryRecord | null>;
  findByHash(scope: Scope, hash: string): Promise<MemoryRecord | null>;
  /** Oldest first; empty when there is none. */
  history(id: string): Promise<HistoryRecord[]>;
  /** Applies all changes and their history rows in ONE transaction: all or nothing. */
  apply(scope: Scope, changes: ChangeSet): Promise<AppliedChanges>;
  /** Changes one memory's text (and metadata) with history; null when it does not exist. */
  update(change: MemoryUpdate): Promise<MemoryRecord | null>;
  /** Deletes one memory with history; false when it does not exist. */
  delete(id: string): Promise<boolean>;
  deleteAll(scope: Scope): Promise<number>;
  /** A real round trip: the database answers and pgvector is installed. */
  ping(): Promise<{ pgvectorVersion: string; dims: number }>;
  /**
   * Optional: notes what one search returned to its caller (forgetting's access log). Must return at once; the
   * writing happens in the background and never fails the search.
   */
  recordRecalls?(scope: Scope, results: ReadonlyArray<{ id: string; score: number }>): void;
}
