/**
 * The add path of the memory service: the conversation's facts extracted, reconciled against the similar stored
 * memories (one LLM call when there are any), embedded and written, with the graph planned beside them and written
 * with them; or, with `infer` false, the messages stored as they are. `MemoryService.add`/`addWithGraph` (service.ts)
 * call it.
 * @module
 */
import type { Logger } from 'pino';
import type { Scope } from '../store/queries.js';
import { factExtractionMessages, reconcileMessages } from './prompts.js';
import type { ConversationTurn } from './prompts.js';
import type { CallOptions, Providers } from './providers.js';
import { askJson, dedupeTexts, hashText, parseActions, parseFacts, planChanges } from './reconcile.js';
import type { Candidate } from './reconcile.js';
import type { AppliedChanges, ChangeSet, MemoryRecord, MemoryRepository, NewMemory } from './repository.js';
import { addResult, isEmpty } from './graph/graph-memory.js';
import type { GraphAddResult, GraphMemory, GraphPlan } from './graph/graph-memory.js';
import { EngineError } from '../shared/errors.js';
import { notCancelled, optionalText, parseMetadata, scopeOf } from './params.js';
import type { ScopeInput } from './params.js';

/** Existing memories looked up per new fact before reconciliation. */
const CANDIDATES_PER_FACT = 5;
/** Cap on what the reconciliation prompt shows. */
const MAX_CANDIDATES = 40;

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

/** The graph is written in the memories' own transaction (see {@link MemoryRepository.carriesGraph}). */
export function graphInTransaction(graph: GraphMemory | null, repo: MemoryRepository): boolean {
  return graph?.backend.provider === 'postgres' && repo.carriesGraph === true;
}

export interface MemoryAdderDeps {
  repo: MemoryRepository;
  providers: Providers;
  graph: GraphMemory | null;
  log: Logger | undefined;
  now: () => Date;
}

export class MemoryAdder {
  private readonly repo: MemoryRepository;
  private readonly providers: Providers;
  private readonly graph: GraphMemory | null;
  private readonly log: Logger | undefined;
  private readonly now: () => Date;

  constructor(deps: MemoryAdderDeps) {
    this.repo = deps.repo;
    this.providers = deps.providers;
    this.graph = deps.graph;
    this.log = deps.log;
    this.now = deps.now;
  }

  /**
   * What the conversation teaches, stored: the memory events, and what changed in the graph (`relations`, Mem0's
   * shape) when a graph store is configured. The graph is planned beside the memories (its own LLM calls, started at
   * once) and written with them: in the same transaction on the PostgreSQL graph, right after them on Neo4j. `infer`
   * false touches no graph (no LLM call).
   */
  async add(input: AddInput): Promise<AddOutcome> {
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
   * PostgreSQL graph; a queued job then commits both or neither). A graph written apart (Neo4j, or beside a mem0ai
   * store) gets its changes through the outbox: stored in the memories' SQL transaction, then written to the graph;
   * if that fails or the process dies first, they are written later, never lost (graph/outbox.ts).
   */
  private async write(scope: Scope, changes: ChangeSet, graphPlan: GraphPlan | null): Promise<{ applied: AppliedChanges; relations?: GraphAddResult }> {
    const anyMemory = changes.inserts.length + changes.updates.length + changes.deletes.length > 0;
    const none: AppliedChanges = { inserted: [], updated: [], deleted: [] };
    if (!this.graph || !graphPlan) return { applied: anyMemory ? await this.repo.apply(scope, changes) : none };
    if (isEmpty(graphPlan)) return { applied: anyMemory ? await this.repo.apply(scope, changes) : none, relations: noGraphChange() };
    if (graphInTransaction(this.graph, this.repo)) {
      const applied = await this.repo.apply(scope, { ...changes, graph: { scope, changes: graphPlan.changes } });
      return { applied, relations: addResult(applied.graph ?? { added: [], deleted: [] }) };
    }
    const applied = await this.repo.apply(scope, { ...changes, pendingGraph: { scope, changes: graphPlan.changes } });
    if (applied.pendingGraph === undefined) throw new Error('the repository did not store the graph changes it was given');
    return { applied, relations: await this.graph.writePending(scope, applied.pendingGraph) };
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
