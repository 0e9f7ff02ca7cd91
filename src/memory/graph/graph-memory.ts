/**
 * The graph memory beside the memories: what an add teaches becomes entities and relations in the user's graph, and a
 * search also returns the relations around the query's entities. Works the same over any {@link GraphBackend}.
 *
 * An add is planned first (LLM calls and reads, no writes) and applied after, so the caller decides where the write
 * goes: the PostgreSQL graph joins the memories' transaction (a queued job commits both or neither).
 *
 * How names meet: an extracted name is normalised (names.ts), then matched to an entity already in the graph when
 * their embeddings are close (cosine ≥ `threshold`), or when one name contains the other word for word and both have
 * the same type ("my sister anna" and "anna", both persons). Search starts from the entities the query names and the
 * ones whose name embeddings are nearest to the query's, and walks one or two hops.
 * @module
 */
import type { Logger } from 'pino';
import { PostgresGraph } from '../../store/graph/postgres.js';
import type { Queryable } from '../../store/pool.js';
import type { Tables } from '../../store/sql.js';
import { selectGraphHistory } from '../../store/graph/history.js';
import { dropPendingGraph, forgetPendingGraph } from '../../store/graph/outbox.js';
import type { GraphOutbox } from './outbox.js';
import type { AppliedGraphChanges, GraphBackend, GraphChanges, GraphScope, NewEntity, Triple } from '../../store/graph/types.js';
import { DEFAULT_THRESHOLD } from '../config/graph-config.js';
import type { ConversationTurn } from '../prompts.js';
import type { CallOptions, Embedder, Llm } from '../providers.js';
import { askJson } from '../reconcile.js';
import { matchKey, normaliseName, normaliseRelationship } from './names.js';
import { parseGraphDeletions, parseGraphExtraction } from './parse.js';
import { graphExtractionMessages, graphReconcileMessages } from './prompts.js';
import { rankRelations } from './ranking.js';
import type { RankedRelation } from './ranking.js';

export interface GraphMemoryOptions {
  /** Cosine at or above which two entity names are the same entity (Mem0's graph `threshold`, default 0.7). */
  threshold?: number | undefined;
  /** Added to the extraction prompt (Mem0's graph `custom_prompt`). */
  customPrompt?: string | undefined;
  logger?: Logger | undefined;
  /**
   * The SQL database of the memories' history (the store's pool and tables): a graph written apart from the memories
   * logs its changes there when its outbox row is settled (store/graph/outbox.ts); reads of a memory's history too.
   */
  changeLog?: { db: Queryable; tables: Tables } | undefined;
  /** For a graph written apart from the memories: the outbox an add's changes wait in until the graph has them. */
  outbox?: GraphOutbox | undefined;
}

/** What an add will change in the graph; empty when the conversation states no relation. */
export interface GraphPlan {
  changes: GraphChanges;
}

/** Mem0's shape of what an add changed: `{added_entities, deleted_entities}`, each a list of relations. */
export interface GraphAddResult {
  added_entities: Array<{ source: string; relationship: string; target: string }>;
  deleted_entities: Array<{ source: string; relationship: string; target: string }>;
  /**
   * True when the changes are stored but not yet in the graph (the graph store did not answer, or another process is
   * writing this user's graph): they are written as soon as it can be done, in order, and show in the history then.
   */
  pending?: true;
}

export type SearchRelation = RankedRelation;

/** One write's change to the graph in a memory's history: when, and Mem0's add shape of what it changed. */
export interface GraphHistoryItem extends GraphAddResult {
  created_at: string;
}

/** Cosine of a whole query and an entity name from which the entity starts a walk (names the query spells out always do). */
const SEED_FLOOR = 0.3;
const SEEDS = 8;
/** Seeds taken by vector alone when the query names no entity. */
const NEAREST_SEEDS = 3;
/** Relations fetched around the seeds before ranking. */
const CANDIDATES = 300;
/** Existing entities looked at per new name when matching. */
const MATCH_CANDIDATES = 5;
/** Stored relations shown to the LLM for contradiction checks. */
const RECONCILE_LIMIT = 60;

export class GraphMemory {
  private readonly threshold: number;

  constructor(
    readonly backend: GraphBackend,
    private readonly llm: Llm,
    private readonly embedder: Embedder,
    private readonly options: GraphMemoryOptions = {},
  ) {
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
  }

  /** Asks the LLM what the conversation states and what it contradicts; reads the graph, writes nothing. */
  async plan(scope: GraphScope, turns: ConversationTurn[], call: CallOptions = {}): Promise<GraphPlan> {
    const empty: GraphPlan = { changes: { entities: [], add: [], delete: [] } };
    if (turns.length === 0) return empty;
    const userName = normaliseName(scope.userId) || 'user';
    const extracted = await askJson(
      (m) => this.llm.completeJson(m, call),
      graphExtractionMessages(turns, userName, this.options.customPrompt),
      parseGraphExtraction,
      'graph extraction',
    );
    const types = new Map<string, string>();
    for (const e of extracted.entities) {
      const name = normaliseName(e.name);
      if (name) types.set(name, normaliseName(e.type).replace(/ /g, '_'));
    }
    const learned = new Map<string, Triple>();
    for (const r of extracted.relations) {
      const t = { source: normaliseName(r.source), relationship: normaliseRelationship(r.relationship), destination: normaliseName(r.destination) };
      if (!t.source || !t.relationship || !t.destination || t.source === t.destination) continue;
      learned.set(key(t), t);
    }
    if (learned.size === 0) return empty;

    const names = [...new Set([...learned.values()].flatMap((t) => [t.source, t.destination]))];
    const vectors = await this.embedder.embedBatch(names, 'add', call);
    const canonical = new Map<string, NewEntity>();
    for (const [i, name] of names.entries()) {
      const vector = vectors[i]!;
      const type = types.get(name) ?? '';
      const same = await this.existingEntity(scope, name, type, vector);
      canonical.set(name, same
        ? { name: same.name, matchKey: matchKey(same.name), type: type || same.type, embedding: vector }
        : { name, matchKey: matchKey(name), type, embedding: vector });
    }
    const add = new Map<string, Triple>();
    for (const t of learned.values()) {
      const r = { source: canonical.get(t.source)!.name, relationship: t.relationship, destination: canonical.get(t.destination)!.name };
      if (r.source !== r.destination) add.set(key(r), r);
    }
    const entities = [...new Map([...canonical.values()].map((e) => [e.name, e])).values()];
    const deletions = await this.contradicted(scope, entities.map((e) => e.name), [...add.values()], call);
    this.options.logger?.debug({ entities: entities.length, relations: add.size, contradicted: deletions.length }, 'graph planned');
    return { changes: { entities, add: [...add.values()], delete: deletions } };
  }

  /** The same graph asking other models (a queued job's, with their longer deadline). */
  withModels(llm: Llm, embedder: Embedder): GraphMemory {
    return new GraphMemory(this.backend, llm, embedder, this.options);
  }

  /**
   * Writes the outbox row `id` (stored with the add's memories) to the graph, after any older row of the same graph;
   * Mem0's shape of what it changed, with `pending` when it could not be written now.
   */
  async writePending(scope: GraphScope, id: string): Promise<GraphAddResult> {
    const outbox = this.options.outbox;
    if (!outbox) throw new Error('this graph memory has no outbox (it is written in the memories\' transaction)');
    const graph = writeScope(scope);
    const applied = await outbox.write({ userId: graph.userId, agentId: graph.agentId ?? '' }, id);
    return applied ? addResult(applied) : { added_entities: [], deleted_entities: [], pending: true };
  }

  /** The outbox of a graph written apart from the memories (none for one written in their transaction). */
  get outbox(): GraphOutbox | undefined {
    return this.options.outbox;
  }

  /** What the writes of one memory changed in the graph, oldest first (empty without a change log). */
  async history(memoryId: string): Promise<GraphHistoryItem[]> {
    const log = this.options.changeLog;
    if (!log) return [];
    return (await selectGraphHistory(log.db, log.tables, memoryId)).map((e) => ({
      created_at: e.createdAt, ...addResult({ added: e.added, deleted: e.deleted }),
    }));
  }

  /** The relations around the query's entities, best first, at most `topK`. `vector` is the query's embedding. */
  async search(scope: GraphScope, query: string, vector: readonly number[], topK: number): Promise<SearchRelation[]> {
    if (topK === 0) return [];
    const [named, near] = await Promise.all([
      this.backend.mentionedEntities(scope, matchKey(query), SEEDS),
      this.backend.similarEntities(scope, vector, SEEDS),
    ]);
    // Entities the query names start the walk, with those whose names are as close as one entity's (threshold).
    // When the query names none, the few nearest names do. Few seeds keep a two-hop walk from covering a whole graph.
    const strong = near.filter((h) => h.similarity >= this.threshold);
    const from = named.length > 0 ? [...named, ...strong] : near.filter((h) => h.similarity >= SEED_FLOOR).slice(0, NEAREST_SEEDS);
    const seedScores = new Map<string, number>();
    for (const hit of from) {
      seedScores.set(hit.name, Math.max(seedScores.get(hit.name) ?? 0, Math.min(1, hit.similarity)));
    }
    if (seedScores.size === 0) return [];
    const seeds = [...seedScores.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
    const found = await this.backend.relationsAround(scope, seeds, 2, CANDIDATES);
    return rankRelations(query, found, seedScores, topK);
  }

  /** The scope's relations, newest first (Mem0's get_all shape). */
  async list(scope: GraphScope, limit: number): Promise<Array<{ source: string; relationship: string; target: string }>> {
    return (await this.backend.listRelations(scope, limit)).map(mem0Shape);
  }

  /** What {@link deleteAll} (or, with `learntOnlyFrom`, {@link forget} of those memories) would remove; removes nothing. */
  countRelations(scope: GraphScope, learntOnlyFrom?: readonly string[]): Promise<number> {
    return this.backend.countRelations(scope, learntOnlyFrom);
  }

  /** Removes the scope's graph; writes of it still waiting in the outbox are dropped first, so none lands after. */
  async deleteAll(scope: GraphScope): Promise<number> {
    const log = this.options.changeLog;
    if (this.options.outbox && log) await dropPendingGraph(log.db, log.tables, scope);
    return this.backend.deleteAll(scope);
  }

  /**
   * {@link forget} inside the caller's transaction on `db` when the graph is the PostgreSQL one (the memories'
   * database: both commit or neither); a Neo4j graph is written on its own (a failure there rolls the caller back).
   */
  async forgetWithin(db: Queryable, scope: GraphScope, memoryIds: readonly string[]): Promise<GraphAddResult> {
    const log = this.options.changeLog;
    if (this.options.outbox && log) await forgetPendingGraph(db, log.tables, scope, memoryIds);
    if (!(this.backend instanceof PostgresGraph)) return this.forgetApart(scope, memoryIds);
    const gone = await this.backend.forgetWithin(db, scope, memoryIds);
    return { added_entities: [], deleted_entities: gone.map(mem0Shape) };
  }

  /** The memories were forgotten: relations learnt only from them go too (and their writes still waiting). */
  async forget(scope: GraphScope, memoryIds: readonly string[]): Promise<GraphAddResult> {
    const log = this.options.changeLog;
    if (this.options.outbox && log) await forgetPendingGraph(log.db, log.tables, scope, memoryIds);
    return this.forgetApart(scope, memoryIds);
  }

  private async forgetApart(scope: GraphScope, memoryIds: readonly string[]): Promise<GraphAddResult> {
    const gone = await this.backend.forgetMemories(scope, memoryIds);
    return { added_entities: [], deleted_entities: gone.map(mem0Shape) };
  }

  /** The entity of the graph `name` stands for, if any (see the module comment). */
  private async existingEntity(scope: GraphScope, name: string, type: string, vector: readonly number[]): Promise<{ name: string; type: string } | null> {
    const graph = writeScope(scope);
    const key = matchKey(name);
    const [contained, similar] = await Promise.all([
      this.backend.mentionedEntities(graph, key, MATCH_CANDIDATES),
      this.backend.similarEntities(graph, vector, MATCH_CANDIDATES),
    ]);
    const exact = [...contained, ...similar].find((e) => e.name === name);
    if (exact) return exact;
    const close = similar.find((e) => e.similarity >= this.threshold);
    if (close) return close;
    if (!type) return null;
    const wordsMeet = (e: { name: string; type: string }) => e.type === type && (key.includes(matchKey(e.name)) || matchKey(e.name).includes(key));
    return [...contained, ...similar].find(wordsMeet) ?? null;
  }

  /** Stored relations around the new relations' entities that the LLM says the new ones contradict. */
  private async contradicted(scope: GraphScope, names: string[], learned: Triple[], call: CallOptions): Promise<Triple[]> {
    const around = await this.backend.relationsAround(writeScope(scope), names, 1, RECONCILE_LIMIT);
    const fresh = new Set(learned.map(key));
    const stored = around.filter((r) => !fresh.has(key(r)));
    if (stored.length === 0) return [];
    const handled = stored.map((r, handle) => ({ handle, source: r.source, relationship: r.relationship, destination: r.destination }));
    const handles = new Set(handled.map((h) => h.handle));
    const chosen = await askJson(
      (m) => this.llm.completeJson(m, call),
      graphReconcileMessages(handled, learned),
      (raw) => parseGraphDeletions(raw, handles),
      'graph reconciliation',
    );
    return chosen.map((h) => {
      const r = handled[h]!;
      return { source: r.source, relationship: r.relationship, destination: r.destination };
    });
  }
}

export function isEmpty(plan: GraphPlan): boolean {
  return plan.changes.add.length === 0 && plan.changes.delete.length === 0;
}

export function addResult(applied: AppliedGraphChanges): GraphAddResult {
  return { added_entities: applied.added.map(mem0Shape), deleted_entities: applied.deleted.map(mem0Shape) };
}

/** Writes go to exactly one graph: the agent's when one is named, else the user's own. */
function writeScope(scope: GraphScope): GraphScope {
  return scope.agentId ? { userId: scope.userId, agentId: scope.agentId } : { userId: scope.userId, agentId: '' };
}

function key(t: Triple): string {
  return `${t.source}\u0000${t.relationship}\u0000${t.destination}`;
}

function mem0Shape(t: Triple): { source: string; relationship: string; target: string } {
  return { source: t.source, relationship: t.relationship, target: t.destination };
}
