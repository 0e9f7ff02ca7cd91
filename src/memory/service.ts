/**
 * The memory service the tools call: add (with or without inference), search, list, get, update, delete,
 * delete-all, history and the credential round trip. Results come in the shapes of the original plugin
 * (snake_case keys). Parameter problems throw `EngineError('invalid_params')` (params.ts), missing memories
 * `not_found`. The add path (extraction, reconciliation, the write with the graph) is add.ts.
 * @module
 */
import type { Logger } from 'pino';
import { parseFilterInput } from '../store/filters.js';
import type { Scope } from '../store/queries.js';
import { clamp01 } from '../store/ranking.js';
import { EngineError, notFound } from '../shared/errors.js';
import type { CallOptions, Providers } from './providers.js';
import type { MemoryRecord, MemoryRepository, SearchHit } from './repository.js';
import type { GraphHistoryItem, GraphMemory, SearchRelation } from './graph/graph-memory.js';
import { MemoryAdder, graphInTransaction } from './add.js';
import type { AddEvent, AddInput, AddOutcome } from './add.js';
import { count, fraction, memoryId, notCancelled, parseMetadata, requiredText, scopeOf } from './params.js';
import type { ScopeInput } from './params.js';

// The add path's shapes are defined beside it (add.ts); the service's callers see them here with the rest.
export type { AddEvent, AddInput, AddOutcome } from './add.js';
export type { ScopeInput } from './params.js';

/** Ids listed per page when a filtered delete_all must tell a graph written apart which memories went. */
const ID_PAGE = 1000;

export interface SearchInput extends ScopeInput {
  query: string;
  topK?: number | undefined;
  filters?: unknown;
  /** Results scoring below this (0–1) are left out. */
  threshold?: number | undefined;
}

/** What the tools answer for a memory (Mem0's field names); the MemoryApi (api.ts) returns these. */
export interface SearchItem {
  id: string;
  memory: string;
  /** The 0–1 relevance results are ordered by: the reranker's score when one reranked them, else `vector_score` and
   * `keyword_score` fused (store/ranking.ts). */
  score: number;
  /** 0–1 similarity of the memory's embedding to the query's. */
  vector_score: number;
  /** 0–1 IDF-weighted share of the query's words found in the memory. */
  keyword_score: number;
  /** Present when a reranker ordered the results. */
  rerank_score?: number;
  metadata: Record<string, unknown>;
  /** The later of created_at and updated_at. */
  timestamp: string | null;
}

/** Something the search did differently from what the configuration asked for. */
export interface SearchWarning {
  kind: 'reranker_failed';
  provider: string;
  /** Why, written to be shown (provider errors are redacted of secrets by the call guard). */
  detail: string;
}

export interface SearchAnswer {
  results: SearchItem[];
  /** Empty when all went as configured. */
  warnings: SearchWarning[];
  /** With a graph store: the relations around the query's entities, best first by their own 0–1 `score`, at most top_k. */
  relations?: SearchRelation[];
}

/** A page of get_all: the memories, and with a graph store the scope's relations (Mem0's `{source, relationship, target}`). */
export interface ListAnswer {
  results: MemoryItem[];
  relations?: Array<{ source: string; relationship: string; target: string }>;
}

export interface MemoryItem {
  id: string;
  memory: string;
  metadata: Record<string, unknown>;
  created_at: string | null;
  updated_at: string | null;
}

export interface HistoryItem {
  memory_id: string;
  old_memory: string | null;
  new_memory: string | null;
  event: string;
  created_at: string | null;
  updated_at: string | null;
  is_deleted: boolean;
}

/** A memory's history, and with a graph store what its writes changed in the graph. */
export interface HistoryAnswer {
  results: HistoryItem[];
  relations?: GraphHistoryItem[];
}

export interface MemoryServiceDeps {
  repository: MemoryRepository;
  providers: Providers;
  /** The graph memory beside the memories, when a graph store is configured. */
  graph?: GraphMemory | null | undefined;
  logger?: Logger | undefined;
  now?: () => Date;
}

export class MemoryService {
  private readonly repo: MemoryRepository;
  private readonly providers: Providers;
  private readonly graph: GraphMemory | null;
  private readonly log: Logger | undefined;
  private readonly adder: MemoryAdder;

  constructor(deps: MemoryServiceDeps) {
    this.repo = deps.repository;
    this.providers = deps.providers;
    this.graph = deps.graph ?? null;
    this.log = deps.logger;
    this.adder = new MemoryAdder({ repo: this.repo, providers: this.providers, graph: this.graph, log: this.log, now: deps.now ?? (() => new Date()) });
  }

  /** Stores what the conversation teaches about the user. Returns what changed (empty when nothing did). */
  async add(input: AddInput): Promise<AddEvent[]> {
    return (await this.addWithGraph(input)).events;
  }

  /**
   * {@link add}, and what it changed in the graph (`relations`, Mem0's shape) when a graph store is configured. The
   * graph is planned beside the memories (its own LLM calls, started at once) and written with them: in the same
   * transaction on the PostgreSQL graph, right after them on Neo4j. `infer` false touches no graph (no LLM call).
   */
  addWithGraph(input: AddInput): Promise<AddOutcome> {
    return this.adder.add(input);
  }

  /**
   * The memories most relevant to the query, best first by `score`. Memories with nothing in common with the query
   * (score 0) and those under `threshold` are left out, so fewer than `topK` may come back. A reranker that fails
   * leaves the results in the store's order, with a warning saying so.
   */
  async search(input: SearchInput): Promise<SearchAnswer> {
    const scope = scopeOf(input);
    const query = requiredText(input.query, 'query');
    const topK = count(input.topK, 5, 'top_k');
    const threshold = fraction(input.threshold, 'threshold');
    if (topK === 0) return this.graph ? { results: [], warnings: [], relations: [] } : { results: [], warnings: [] };
    const call: CallOptions = { signal: input.signal };
    const vector = await this.providers.embedder.embed(query, 'search', call);
    // The relations are searched beside the memories; a failure fails the search (never an answer quietly without them).
    const relating = this.graph?.search(scope, query, vector, topK) ?? null;
    relating?.catch(() => {});
    const reranker = this.providers.reranker;
    const fetch = reranker ? Math.min(Math.max(topK * 3, 10), 100) : topK;
    const hits = (await this.repo.search(scope, { vector, query, topK: fetch, filters: input.filters })).filter((h) => h.score > 0);
    let scored: Array<{ hit: SearchHit; score: number; rerank?: number }> = hits.map((hit) => ({ hit, score: clamp01(hit.score) }));
    const warnings: SearchWarning[] = [];
    if (reranker && hits.length > 0) {
      try {
        const ranked = await reranker.rerank(query, hits.map((h) => h.data), topK, call);
        scored = ranked.map((r) => ({ hit: hits[r.index]!, score: r.score, rerank: r.score }));
        scored.sort((a, b) => b.score - a.score);
      } catch (error) {
        if (input.signal?.aborted) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        this.log?.warn({ provider: reranker.provider, err: reason }, 'reranker failed; results keep the un-reranked order');
        warnings.push({ kind: 'reranker_failed', provider: reranker.provider, detail: reason });
      }
    }
    const results = scored
      .filter(({ score }) => score > 0 && score >= threshold)
      .slice(0, topK)
      .map(({ hit, score, rerank }): SearchItem => ({
        id: hit.id,
        memory: hit.data,
        score,
        vector_score: clamp01(hit.vectorScore),
        keyword_score: clamp01(hit.keywordScore),
        ...(rerank === undefined ? {} : { rerank_score: rerank }),
        metadata: hit.metadata,
        timestamp: hit.updatedAt > hit.createdAt ? hit.updatedAt : hit.createdAt,
      }));
    this.noteRecalls(scope, results);
    if (!relating) return { results, warnings };
    // The same threshold as the memories' (each list is ordered by its own score).
    const relations = (await relating).filter((r) => r.score > 0 && r.score >= threshold);
    return { results, warnings, relations };
  }

  /**
   * Every search door (sync tool, async-mode reads, anything later) ends in {@link search}, so recalls are noted
   * here, once, with the scores the caller got. Not awaited: the access log writes in the background, and nothing
   * it does can fail or slow the search beyond handing the ids over.
   */
  private noteRecalls(scope: Scope, results: SearchItem[]): void {
    if (results.length === 0 || !this.repo.recordRecalls) return;
    try {
      this.repo.recordRecalls(scope, results);
    } catch (error) {
      this.log?.warn({ err: (error as Error).message }, 'noting recalls failed');
    }
  }

  async getAll(input: ScopeInput & { limit?: number | undefined; offset?: number | undefined; filters?: unknown }): Promise<MemoryItem[]> {
    return (await this.getAllWithGraph(input)).results;
  }

  /**
   * {@link getAll}, and with a graph store the scope's relations, newest first, at most `limit`, on the first page
   * only (offset 0; later pages answer `relations: []` so that pages joined together list each relation once).
   */
  async getAllWithGraph(input: ScopeInput & { limit?: number | undefined; offset?: number | undefined; filters?: unknown }): Promise<ListAnswer> {
    const scope = scopeOf(input);
    const limit = count(input.limit, 100, 'limit');
    const records = await this.repo.list(scope, { limit, offset: input.offset, filters: input.filters });
    const results = records.map(item);
    if (!this.graph) return { results };
    const relations = (input.offset ?? 0) === 0 && limit > 0 ? await this.graph.list(scope, limit) : [];
    return { results, relations };
  }

  async get(input: { memoryId: string }): Promise<MemoryItem> {
    const id = memoryId(input.memoryId);
    const record = await this.repo.get(id);
    if (!record) throw notFound('memory', id);
    return item(record);
  }

  async update(input: { memoryId: string; text: string; metadata?: Record<string, unknown> | string | null | undefined; signal?: AbortSignal | undefined }): Promise<AddEvent> {
    const id = memoryId(input.memoryId);
    const text = requiredText(input.text, 'text');
    const metadata = parseMetadata(input.metadata);
    const before = await this.repo.get(id);
    if (!before) throw notFound('memory', id);
    notCancelled(input.signal);
    const vector = await this.providers.embedder.embed(text, 'update', { signal: input.signal });
    notCancelled(input.signal);
    const after = await this.repo.update({ id, data: text, vector, metadata });
    if (!after) throw notFound('memory', id);
    return { id, memory: after.data, event: 'UPDATE', previous_memory: before.data };
  }

  async delete(input: { memoryId: string; signal?: AbortSignal | undefined }): Promise<AddEvent> {
    const id = memoryId(input.memoryId);
    const before = await this.repo.get(id);
    if (!before) throw notFound('memory', id);
    notCancelled(input.signal);
    if (!(await this.repo.delete(id))) throw notFound('memory', id);
    return { id, memory: before.data, event: 'DELETE' };
  }

  /** Deletes the scope's memories matching `filters` (all without). */
  async deleteAll(input: ScopeInput & { filters?: unknown }): Promise<{ deleted_count: number }> {
    const scope = scopeOf(input);
    notCancelled(input.signal);
    if (!this.graph) return { deleted_count: await this.repo.deleteAll(scope, input.filters) };
    // The graph goes with the memories: all of the scope's without filters, else what only the deleted ones taught.
    if (graphInTransaction(this.graph, this.repo)) return { deleted_count: await this.repo.deleteAll(scope, input.filters, scope) };
    const filtered = parseFilterInput(input.filters) !== null;
    const ids = filtered ? await this.matchingIds(scope, input.filters) : [];
    const deleted = await this.repo.deleteAll(scope, input.filters);
    if (filtered) await this.graph.forget(scope, ids);
    else await this.graph.deleteAll(scope);
    return { deleted_count: deleted };
  }

  /** Ids of the scope's memories matching `filters`, every page (a delete_all over a graph written apart). */
  private async matchingIds(scope: Scope, filters: unknown): Promise<string[]> {
    const ids: string[] = [];
    for (;;) {
      const page = await this.repo.list(scope, { limit: ID_PAGE, offset: ids.length, filters });
      ids.push(...page.map((r) => r.id));
      if (page.length < ID_PAGE) return ids;
    }
  }

  /** What {@link deleteAll} would delete, deleting nothing. */
  async countMatching(input: ScopeInput & { filters?: unknown }): Promise<number> {
    return this.repo.count(scopeOf(input), input.filters);
  }

  /**
   * What {@link deleteAll} would remove, removing nothing: the memories, and with a graph store the relations (the
   * scope's all without filters, else those learnt only from the matching memories).
   */
  async previewDeleteAll(input: ScopeInput & { filters?: unknown }): Promise<{ memories: number; relations?: number }> {
    const scope = scopeOf(input);
    const memories = await this.repo.count(scope, input.filters);
    if (!this.graph) return { memories };
    const filtered = parseFilterInput(input.filters) !== null;
    const relations = filtered
      ? await this.graph.countRelations(scope, memories === 0 ? [] : await this.matchingIds(scope, input.filters))
      : await this.graph.countRelations(scope);
    return { memories, relations };
  }

  /**
   * {@link history}, and with a graph store what the writes of this memory changed in the graph (`relations`, oldest
   * first, Mem0's add shape with the time of the write). Without one no graph table is read.
   */
  async historyWithGraph(input: { memoryId: string }): Promise<HistoryAnswer> {
    const results = await this.history(input);
    if (!this.graph) return { results };
    return { results, relations: await this.graph.history(memoryId(input.memoryId)) };
  }

  async history(input: { memoryId: string }): Promise<HistoryItem[]> {
    const id = memoryId(input.memoryId);
    const entries = await this.repo.history(id);
    if (entries.length === 0 && !(await this.repo.get(id))) throw notFound('memory', id);
    return entries.map((e) => ({
      memory_id: e.memoryId,
      old_memory: e.oldMemory,
      new_memory: e.newMemory,
      event: e.event,
      created_at: e.createdAt,
      updated_at: e.updatedAt,
      is_deleted: e.isDeleted,
    }));
  }

  /**
   * The credential check: the database answers with pgvector installed, and the embedder answers with the
   * dimension the vector store expects. Spends no LLM tokens.
   */
  async checkConnection(signal?: AbortSignal): Promise<{ pgvectorVersion: string; dims: number }> {
    const db = await this.repo.ping();
    const vector = await this.providers.embedder.embed('connection check', 'search', { signal });
    if (vector.length !== db.dims) {
      throw new EngineError('config', `the embedder returned ${vector.length} dimensions but the vector store expects ${db.dims} (embedding_model_dims)`, { role: 'embedder' });
    }
    const configured = this.providers.embedder.dims;
    if (configured !== undefined && configured !== vector.length) {
      throw new EngineError('config', `the embedder returned ${vector.length} dimensions but embedding_dims is ${configured}`, { role: 'embedder' });
    }
    return db;
  }
}

function item(record: MemoryRecord): MemoryItem {
  return { id: record.id, memory: record.data, metadata: record.metadata, created_at: record.createdAt, updated_at: record.updatedAt };
}
