/**
 * What the memory service needs from storage. The store (src/store) provides it through an adapter; the unit tests
 * of the engine logic use an in-memory implementation. Ids are UUID strings; times are ISO-8601 UTC strings.
 * @module
 */
import type { MemoryRecord as StoredMemory } from '../store/memories.js';
import type { HistoryRecord, Scope } from '../store/queries.js';
import type { AppliedGraphChanges, GraphChanges, GraphScope } from '../store/graph/types.js';

/** A memory as the service sees it: the store's record without the raw payload (external stores build it too). */
export type MemoryRecord = Omit<StoredMemory, 'payload'>;

export interface SearchHit extends MemoryRecord {
  /** The 0–1 relevance hits are ordered by (store/ranking.ts: vector and keyword scores fused). */
  score: number;
  /** 0–1 similarity of the embeddings. */
  vectorScore: number;
  /** 0–1 IDF-weighted keyword score. */
  keywordScore: number;
}

export type { HistoryRecord } from '../store/queries.js';

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
  /** Graph changes learnt with these memories (only for a repository that {@link MemoryRepository.carriesGraph}). */
  graph?: { scope: GraphScope; changes: GraphChanges } | undefined;
  /**
   * Graph changes for a graph written apart from the memories (Neo4j, or any graph beside a mem0ai vector store):
   * stored in the graph outbox in the same SQL transaction as the memories' write (or history), written to the graph
   * after it (store/graph/outbox.ts). `scope` is the write scope.
   */
  pendingGraph?: { scope: GraphScope; changes: GraphChanges } | undefined;
}

export interface AppliedChanges {
  inserted: MemoryRecord[];
  updated: MemoryRecord[];
  /** Ids actually deleted (a memory already gone is skipped, not an error). */
  deleted: string[];
  /** What the ChangeSet's graph changes did (present when it had some). */
  graph?: AppliedGraphChanges | undefined;
  /** The outbox row that holds the ChangeSet's `pendingGraph` (present when it had one). */
  pendingGraph?: string | undefined;
}

export interface MemoryRepository {
  /**
   * True when the graph beside the memories (the PostgreSQL graph) is written in the memories' own transaction:
   * `apply` writes `ChangeSet.graph`, and `deleteAll` with a graph scope clears that graph. Otherwise the graph memory
   * writes after the memories.
   */
  readonly carriesGraph?: boolean;
  /** Hybrid (vector + keyword) search within the scope, best first by `score`. */
  search(scope: Scope, options: { vector: readonly number[]; query: string; topK: number; filters?: unknown }): Promise<SearchHit[]>;
  /** Most recently updated first; `offset` skips that many of them (pages of get_all_memories). */
  list(scope: Scope, options: { limit: number; offset?: number | undefined; filters?: unknown }): Promise<MemoryRecord[]>;
  /** By id alone; null when it does not exist. */
  get(id: string): Promise<MemoryRecord | null>;
  findByHash(scope: Scope, hash: string): Promise<MemoryRecord | null>;
  /** Oldest first; empty when there is none. */
  history(id: string): Promise<HistoryRecord[]>;
  /**
   * Applies all changes and their history rows in ONE transaction: all or nothing. An insert whose exact text (hash)
   * the scope already holds, deletes of this same set aside, is skipped and left out of `inserted` (Mem0's
   * exact-duplicate rule, checked here so that it holds for writers racing each other).
   */
  apply(scope: Scope, changes: ChangeSet): Promise<AppliedChanges>;
  /** Changes one memory's text (and metadata) with history; null when it does not exist. */
  update(change: MemoryUpdate): Promise<MemoryRecord | null>;
  /** Deletes one memory with history; false when it does not exist. */
  delete(id: string): Promise<boolean>;
  /**
   * Deletes the scope's memories matching `filters` (all of them without), with history; how many. With `graph`
   * (repositories that carry the graph), the graph of that scope too: all of it without filters, else the relations
   * learnt only from the deleted memories.
   */
  deleteAll(scope: Scope, filters?: unknown, graph?: GraphScope | null): Promise<number>;
  /** How many memories of the scope match `filters` (delete_all's dry run). */
  count(scope: Scope, filters?: unknown): Promise<number>;
  /** A real round trip: the database answers and pgvector is installed. */
  ping(): Promise<{ pgvectorVersion: string; dims: number }>;
  /**
   * Optional: notes what one search returned to its caller (forgetting's access log). Must return at once; the
   * writing happens in the background and never fails the search.
   */
  recordRecalls?(scope: Scope, results: ReadonlyArray<{ id: string; score: number }>): void;
}
