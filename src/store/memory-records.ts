/**
 * The shapes the memory store takes and gives back (records, changes, imports, search hits) and its limits; the store
 * itself is memories.ts, which re-exports all of this.
 * @module
 */
import { RESERVED_PAYLOAD_KEYS } from './payload.js';
import type * as q from './queries.js';

export interface MemoryRecord {
  id: string;
  data: string;
  hash: string | null;
  userId: string | null;
  agentId: string | null;
  runId: string | null;
  /** Payload keys other than the reserved ones. */
  metadata: Record<string, unknown>;
  /** The raw payload, as stored. */
  payload: Record<string, unknown>;
  /** ISO-8601 UTC. */
  createdAt: string;
  updatedAt: string;
}

export interface NewMemory {
  data: string;
  vector: readonly number[];
  metadata?: Record<string, unknown> | null | undefined;
  runId?: string | null | undefined;
  actorId?: string | null | undefined;
  role?: string | null | undefined;
  /** Defaults to a random UUID. */
  id?: string | undefined;
  /** Defaults to now (import tools may keep the original time). */
  createdAt?: Date | undefined;
}

export interface MemoryChange {
  /** New text; needs `vector` with it (the embedding of the new text). */
  data?: string | undefined;
  vector?: readonly number[] | undefined;
  /** Merged into the existing metadata (a key set to null is removed). */
  metadata?: Record<string, unknown> | null | undefined;
}

/** A history row as the store reads it back. */
export interface HistoryEntry extends q.HistoryRecord {
  id: string;
  actorId: string | null;
  role: string | null;
  recordedAt: string;
}

/** A history row as exported and imported (no row id, no recording time). */
export interface ImportHistory extends Omit<q.HistoryRecord, 'memoryId'> {
  actorId: string | null;
  role: string | null;
}

/** A memory to import as it was: Mem0's payload (with `data`, `user_id`, …), its vector, times and history. */
export interface ImportRecord {
  id: string;
  payload: Record<string, unknown>;
  vector: readonly number[];
  createdAt: string;
  updatedAt: string;
  history?: ImportHistory[] | undefined;
}

/** The history rows an imported memory brings: its own, or one ADD row when it has none. */
export function importedHistory(record: ImportRecord): q.HistoryRow[] {
  const data = stringOrNull(record.payload.data);
  const entries = record.history && record.history.length > 0
    ? record.history
    : [{ oldMemory: null, newMemory: data, event: 'ADD' as const, createdAt: record.createdAt, updatedAt: null, isDeleted: false, actorId: null, role: null }];
  return entries.map((h) => ({
    memoryId: record.id, oldMemory: h.oldMemory, newMemory: h.newMemory, event: h.event, createdAt: h.createdAt,
    updatedAt: h.updatedAt, isDeleted: h.isDeleted, actorId: h.actorId, role: h.role,
    userId: stringOrNull(record.payload.user_id), agentId: stringOrNull(record.payload.agent_id),
  }));
}

export interface SearchOptions {
  vector: readonly number[];
  /** The query text, for the keyword side; omit for vector-only search. */
  query?: string | null | undefined;
  topK: number;
  filters?: unknown;
}

export interface SearchHit extends MemoryRecord {
  /** The 0–1 relevance hits are ordered by: vector and keyword scores fused (ranking.ts). */
  score: number;
  /** 0–1 similarity: max(0, 1 − cosine distance). */
  vectorScore: number;
  /** 0–1 IDF-weighted keyword score (0 when no query term is in the memory). */
  keywordScore: number;
  distance: number;
}

export interface SearchCapabilities {
  /** pgvector ≥ 0.8: `hnsw.iterative_scan` keeps scanning until enough rows pass the WHERE clause. */
  iterativeScan: boolean;
}

export const MAX_TOP_K = 1000;
export const MAX_LIST_LIMIT = 10_000;

/** Search statistics of the last call, for tests and logs. */
export interface SearchTrace {
  exactFallback: boolean;
  vectorHits: number;
  /** The small-scope statement answered (queries.ts `smallScope`): the scope was not known to be big and held at most 500 rows. */
  smallScope: boolean;
}

/** The text of a payload value when it is a string, else null. */
export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * A stored payload read as a record (without the payload itself): Mem0's fields, and every other key as metadata but
 * those in `hidden` (keys a store keeps for itself).
 */
export function recordOfPayload(
  id: string,
  payload: Record<string, unknown>,
  times: Pick<MemoryRecord, 'createdAt' | 'updatedAt'>,
  hidden: ReadonlySet<string> = NOTHING_HIDDEN,
): Omit<MemoryRecord, 'payload'> {
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) if (!RESERVED_PAYLOAD_KEYS.has(k) && !hidden.has(k)) metadata[k] = v;
  return {
    id,
    data: typeof payload.data === 'string' ? payload.data : '',
    hash: stringOrNull(payload.hash),
    userId: stringOrNull(payload.user_id),
    agentId: stringOrNull(payload.agent_id),
    runId: stringOrNull(payload.run_id),
    metadata,
    createdAt: times.createdAt,
    updatedAt: times.updatedAt,
  };
}

const NOTHING_HIDDEN: ReadonlySet<string> = new Set();
