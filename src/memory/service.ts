/**
 * The memory service the tools call: add (with or without inference), search, list, get, update, delete,
 * delete-all, history and the credential round trip. Results come in the shapes of the original plugin
 * (snake_case keys). Parameter problems throw `EngineError('invalid_params')`, missing memories `not_found`.
 * @module
 */
import type { Logger } from 'pino';
import { FILTER_KEY_PATTERN, parseFilterInput } from '../store/filters.js';
import { EngineError, notFound } from '../shared/errors.js';
import { factExtractionMessages, reconcileMessages } from './prompts.js';
import type { ConversationTurn } from './prompts.js';
import type { CallOptions, Providers } from './providers.js';
import { askJson, dedupeTexts, hashText, parseActions, parseFacts, planChanges } from './reconcile.js';
import type { Candidate } from './reconcile.js';
import type { AppliedChanges, ChangeSet, MemoryRecord, MemoryRepository, NewMemory, SearchHit } from './repository.js';
import type { Scope } from '../store/queries.js';
import { UUID } from '../shared/ids.js';
import { addResult, isEmpty } from './graph/graph-memory.js';
import type { GraphAddResult, GraphHistoryItem, GraphMemory, GraphPlan, SearchRelation } from './graph/graph-memory.js';

/** Payload keys Mem0 writes itself; user metadata may not set them. */
export const RESERVED_METADATA_KEYS: ReadonlySet<string> = new Set([
  'data', 'hash', 'user_id', 'agent_id', 'run_id', 'actor_id', 'role', 'created_at', 'updated_at',
]);

/** Existing memories looked up per new fact before reconciliation. */
const CANDIDATES_PER_FACT = 5;
/** Cap on what the reconciliation prompt shows. */
const MAX_CANDIDATES = 40;
/** Ids listed per page when a filtered delete_all must tell a graph written apart which memories went. */
const ID_PAGE = 1000;

export interface ScopeInput {
  userId: string;
  agentId?: string | null | undefined;
  /** Trace id: logged, never used to scope. */
  runId?: string | null | undefined;
  signal?: AbortSignal | undefined;
}

export interface AddInput extends ScopeInput {
  messages?: ConversationTurn[] | undefined;
  user?: string | null | undefined;
  assistant?: string | null | undefined;
  /** Object or JSON text of an object. */
  metadata?: Record<string, unknown> | string | null | undefined;
  /** Default true: extract facts and reconcile. false: store the messages as they are. */
  infer?: boolean | undefined;
  /** Extra extraction guidance (long-term extraction passes a subtype focus). */
  focus?: string | undefined;
}

export interface AddEvent {
  id: string;
  memory: string;
  event: 'ADD' | 'UPDATE' | 'DELETE';
  previous_memory?: string;
}

/** What an add did: the memory events, and with a graph store what changed in the graph (Mem0's `relations`). */
export interface AddOutcome {
  events: AddEvent[];
  relations?: GraphAddResult;
}

/** Nothing changed in the graph (the answer of an add that learnt no relation while a graph store is configured). */
function noGraphChange(): GraphAddResult {
  return { added_entities: [], deleted_entities: [] };
}

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
  private readonly now: () => Date;

  constructor(deps: MemoryServiceDeps) {
    this.repo = deps.repository;
    this.providers = deps.providers;
    this.graph = deps.graph ?? null;
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
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
  async addWithGraph(input: AddInput): Promise<AddOutcome> {
    const scope = scopeOf(input);
    const metadata = parseMetadata(input.metadata);
    const turns = conversation(input);
    if (turns.length === 0) return { events: [] };
    const call: CallOptions = { signal: input.signal };
    const runId = optionalText(input.runId);
    if (input.infer === false) return { events: await this.addVerbatim(scope, turns, metadata, runId, call) };

    const graphPlanning = this.graph?.plan(scope, turns, call) ?? null;
    // Awaited below; a failure of the memories' side first must not leave it unhandled.
    graphPlanning?.catch(() => {});
    const llm = this.providers.llm;
    const extracted = await askJson(
      (m) => llm.completeJson(m, call),
      factExtractionMessages(turns, { today: this.now().toISOString().slice(0, 10), focus: input.focus }),
      parseFacts,
      'fact extraction',
    );
    const facts = await this.unknownTexts(scope, extracted);
    this.log?.debug({ runId, extracted: extracted.length, new: facts.length }, 'facts extracted');
    const planned = facts.length === 0 ? null : await this.reconcileFacts(scope, facts, metadata, runId, call);
    const graphPlan = graphPlanning ? await graphPlanning : null;
    if (!planned && (!graphPlan || isEmpty(graphPlan))) return this.graph ? { events: [], relations: noGraphChange() } : { events: [] };

    notCancelled(input.signal);
    const { applied, relations } = await this.write(scope, planned?.changes ?? { inserts: [], updates: [], deletes: [] }, graphPlan);
    const events = planned ? planned.events(applied) : [];
    this.log?.debug({ runId, add: applied.inserted.length, update: applied.updated.length, delete: applied.deleted.length, relations: relations && { added: relations.added_entities.length, deleted: relations.deleted_entities.length } }, 'memories reconciled');
    return relations ? { events, relations } : { events };
  }

  /** What the new facts change among the stored memories (one LLM call when similar memories exist). */
  private async reconcileFacts(
    scope: Scope, facts: string[], metadata: Record<string, unknown>, runId: string | null, call: CallOptions,
  ): Promise<{ changes: ChangeSet; events: (applied: AppliedChanges) => AddEvent[] }> {
    const llm = this.providers.llm;
    const vectors = await this.providers.embedder.embedBatch(facts, 'add', call);
    const candidates = await this.candidatesFor(scope, facts, vectors);
    let plan;
    if (candidates.length === 0) {
      plan = { adds: facts, updates: [], deletes: [] };
    } else {
      const handles = new Set(candidates.map((c) => c.handle));
      const actions = await askJson(
        (m) => llm.completeJson(m, call),
        reconcileMessages(candidates.map((c) => ({ handle: c.handle, text: c.text })), facts),
        (raw) => parseActions(raw, handles),
        'memory reconciliation',
      );
      plan = planChanges(candidates, actions);
    }
    // Texts stored meanwhile (others may have written during the LLM calls) are skipped by the write itself: `apply`
    // leaves out every insert whose exact text the scope holds, atomically.
    const adds = plan.adds;
    const known = new Map(facts.map((f, i) => [f, vectors[i]!]));
    const toEmbed = [...adds.filter((t) => !known.has(t)), ...plan.updates.map((u) => u.text).filter((t) => !known.has(t))];
    const fresh = await this.providers.embedder.embedBatch(toEmbed, 'add', call);
    toEmbed.forEach((t, i) => known.set(t, fresh[i]!));
    const previous = new Map(plan.updates.map((u) => [u.id, u.previous]));
    const deletedText = new Map(plan.deletes.map((d) => [d.id, d.text]));
    return {
      changes: {
        inserts: adds.map((data) => ({ data, vector: known.get(data)!, metadata, runId })),
        updates: plan.updates.map((u) => ({ id: u.id, data: u.text, vector: known.get(u.text)!, metadata })),
        deletes: plan.deletes.map((d) => d.id),
      },
      events: (applied) => [
        ...applied.inserted.map((r): AddEvent => ({ id: r.id, memory: r.data, event: 'ADD' })),
        ...applied.updated.map((r): AddEvent => ({ id: r.id, memory: r.data, event: 'UPDATE', previous_memory: previous.get(r.id) ?? '' })),
        ...applied.deleted.map((id): AddEvent => ({ id, memory: deletedText.get(id) ?? '', event: 'DELETE' })),
      ],
    };
  }

  /**
   * Writes the memories' changes and the graph plan: in ONE transaction when the repository carries the graph (the
   * PostgreSQL graph; a queued job then commits both or neither), else the graph right after the memories.
   */
  private async write(scope: Scope, changes: ChangeSet, graphPlan: GraphPlan | null): Promise<{ applied: AppliedChanges; relations?: GraphAddResult }> {
    const anyMemory = changes.inserts.length + changes.updates.length + changes.deletes.length > 0;
    const none: AppliedChanges = { inserted: [], updated: [], deleted: [] };
    if (!this.graph || !graphPlan) return { applied: anyMemory ? await this.repo.apply(scope, changes) : none };
    if (!isEmpty(graphPlan) && this.graphInTransaction()) {
      const applied = await this.repo.apply(scope, { ...changes, graph: { scope, changes: graphPlan.changes } });
      return { applied, relations: addResult(applied.graph ?? { added: [], deleted: [] }) };
    }
    const applied = anyMemory ? await this.repo.apply(scope, changes) : none;
    const written = [...applied.inserted, ...applied.updated].map((r) => r.id);
    return { applied, relations: await this.graph.apply(scope, graphPlan, written) };
  }

  /** The graph is written in the memories' own transaction (see {@link MemoryRepository.carriesGraph}). */
  private graphInTransaction(): boolean {
    return this.graph?.backend.provider === 'postgres' && this.repo.carriesGraph === true;
  }

  private async addVerbatim(
    scope: Scope, turns: ConversationTurn[], metadata: Record<string, unknown>, runId: string | null, call: CallOptions,
  ): Promise<AddEvent[]> {
    const seen = new Set<string>();
    const items: Array<{ data: string; role: string }> = [];
    for (const turn of turns) {
      const data = turn.content.trim();
      const h = hashText(data);
      if (seen.has(h)) continue;
      seen.add(h);
      items.push({ data, role: turn.role });
    }
    // No lookup first: the write skips texts the scope already holds (one statement with the store; two identical
    // adds racing each other store one memory). A duplicate costs an embedding instead of a round trip.
    const vectors = await this.providers.embedder.embedBatch(items.map((i) => i.data), 'add', call);
    const inserts: NewMemory[] = items.map((i, n) => ({ data: i.data, vector: vectors[n]!, metadata, runId, role: i.role }));
    notCancelled(call.signal);
    const applied = await this.repo.apply(scope, { inserts, updates: [], deletes: [] });
    return applied.inserted.map((r) => ({ id: r.id, memory: r.data, event: 'ADD' }));
  }

  /** Texts (deduplicated) whose exact hash is not already stored in the scope. */
  private async unknownTexts(scope: Scope, texts: string[]): Promise<string[]> {
    const unique = dedupeTexts(texts);
    const stored = await Promise.all(unique.map((t) => this.repo.findByHash(scope, hashText(t))));
    return unique.filter((_t, i) => stored[i] === null);
  }

  /** Stored memories near any of the new facts, each once, numbered 0..n-1 for the LLM. */
  private async candidatesFor(scope: Scope, facts: string[], vectors: number[][]): Promise<Candidate[]> {
    const results = await Promise.all(
      facts.map((fact, i) => this.repo.search(scope, { vector: vectors[i]!, query: fact, topK: CANDIDATES_PER_FACT })),
    );
    const byId = new Map<string, MemoryRecord>();
    for (let rank = 0; rank < CANDIDATES_PER_FACT; rank++) {
      for (const hits of results) {
        const hit = hits[rank];
        if (hit && !byId.has(hit.id) && byId.size < MAX_CANDIDATES) byId.set(hit.id, hit);
      }
    }
    return [...byId.values()].map((r, handle) => ({ handle, id: r.id, text: r.data, hash: r.hash ?? hashText(r.data) }));
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
    if (this.graphInTransaction()) return { deleted_count: await this.repo.deleteAll(scope, input.filters, scope) };
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

// ── parameter checks ───────────────────────────────────────────────────────────────────────────────────────────────

function scopeOf(input: ScopeInput): Scope {
  const userId = requiredText(input.userId, 'user_id');
  const agentId = optionalText(input.agentId);
  return agentId ? { userId, agentId } : { userId };
}

/** A non-empty string parameter, trimmed (also what the queue checks before it accepts a write). */
export function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new EngineError('invalid_params', `${name} is required`);
  return value.trim();
}

function optionalText(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** A UUID parameter (memory_id, job_id), lower-cased; invalid_params naming it otherwise. */
export function uuidParam(value: unknown, name: string): string {
  const id = requiredText(value, name);
  if (!UUID.test(id)) throw new EngineError('invalid_params', `${name} must be a UUID`);
  return id.toLowerCase();
}

/** A memory id: a UUID, lower-cased. */
export function memoryId(value: unknown): string {
  return uuidParam(value, 'memory_id');
}

/** An optional 0–1 number (0 when not given). */
function fraction(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new EngineError('invalid_params', `${name} must be a number from 0 to 1`);
  }
  return value;
}

function count(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new EngineError('invalid_params', `${name} must be a non-negative integer`);
  }
  return value;
}

/** User metadata: an object (or JSON text of one) whose keys go to the payload's top level, as in Mem0. */
export function parseMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      throw new EngineError('invalid_params', 'metadata must be a JSON object');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EngineError('invalid_params', 'metadata must be a JSON object');
  }
  for (const key of Object.keys(parsed as object)) {
    if (RESERVED_METADATA_KEYS.has(key)) throw new EngineError('invalid_params', `metadata key '${key}' is reserved`);
    // Checked here as well as in the store, so a bad key fails before any LLM tokens are spent.
    if (!FILTER_KEY_PATTERN.test(key)) {
      throw new EngineError('invalid_params', `metadata key ${JSON.stringify(key.slice(0, 40))} is not allowed: use letters, digits, _ or - (at most 64)`);
    }
  }
  return parsed as Record<string, unknown>;
}

function conversation(input: AddInput): ConversationTurn[] {
  let turns: ConversationTurn[];
  if (input.messages !== undefined) {
    if (!Array.isArray(input.messages)) throw new EngineError('invalid_params', 'messages must be a list');
    turns = input.messages.map((m) => {
      if (!m || typeof m.content !== 'string' || typeof m.role !== 'string') {
        throw new EngineError('invalid_params', 'each message needs a role and a text content');
      }
      return { role: m.role, content: m.content };
    });
  } else {
    turns = [
      { role: 'user', content: typeof input.user === 'string' ? input.user : '' },
      { role: 'assistant', content: typeof input.assistant === 'string' ? input.assistant : '' },
    ];
  }
  return turns.filter((t) => t.role !== 'system' && t.content.trim() !== '');
}

/** A deadline that passed while the LLM/embedder worked must not be followed by a write the caller never sees. */
function notCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EngineError('timeout', 'the operation ran out of time before writing; nothing was stored');
}

function item(record: MemoryRecord): MemoryItem {
  return { id: record.id, memory: record.data, metadata: record.metadata, created_at: record.createdAt, updated_at: record.updatedAt };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
