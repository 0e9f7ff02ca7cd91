/**
 * What the graph memory asks of a graph backend, whichever database holds the graph (the PostgreSQL/PGlite tables
 * beside the memories, or Neo4j). Backends store and traverse; they never decide: names arrive already normalised
 * (memory/graph/names.ts), and ranking, thresholds and the LLM's choices live in the memory layer, so both backends
 * behave the same by construction.
 * @module
 */

/** Whose graph: a user's, or one agent's graph of that user. Reads without `agentId` see all of the user's graphs. */
export interface GraphScope {
  userId: string;
  agentId?: string | null | undefined;
}

/** One relation as the tools show it (Mem0's keys). */
export interface Triple {
  source: string;
  relationship: string;
  destination: string;
}

/** Just the three keys (a row or record may carry more). */
export function plainTriple(t: Triple): Triple {
  return { source: t.source, relationship: t.relationship, destination: t.destination };
}

export interface NewEntity {
  /** Normalised name (the entity's key within its graph). */
  name: string;
  /** The name with spaces around every word and CJK character, for "is this entity mentioned in that text". */
  matchKey: string;
  type: string;
  embedding: readonly number[];
}

export interface EntityHit {
  name: string;
  type: string;
  /** Cosine similarity, −1..1 (1 for an entity found by mention rather than by vector). */
  similarity: number;
}

/** A relation near the seeds: `hop` 1 touches a seed, 2 touches a neighbour of one. */
export interface NearRelation extends Triple {
  hop: 1 | 2;
  /** The seed the walk started from. */
  seed: string;
}

export interface GraphChanges {
  /** Entities to create, or to refresh (type, embedding) when they exist; every relation's endpoints must be here. */
  entities: NewEntity[];
  /** Relations to add; one that already exists is kept once (its provenance grows). */
  add: Triple[];
  /** Relations to remove (no-op for one already gone). */
  delete: Triple[];
}

export interface AppliedGraphChanges {
  /** Relations that did not exist before. */
  added: Triple[];
  /** Relations that existed and were removed. */
  deleted: Triple[];
}

export interface GraphBackend {
  readonly provider: 'postgres' | 'neo4j';
  /** The `limit` entities nearest to `vector` (cosine), best first. */
  similarEntities(scope: GraphScope, vector: readonly number[], limit: number): Promise<EntityHit[]>;
  /** Entities whose match key occurs in `textKey` (a text's match key), longest names first. */
  mentionedEntities(scope: GraphScope, textKey: string, limit: number): Promise<EntityHit[]>;
  /** Relations within `hops` (1 or 2) of the named seeds, nearest first, at most `limit`. */
  relationsAround(scope: GraphScope, seeds: readonly string[], hops: 1 | 2, limit: number): Promise<NearRelation[]>;
  /** The scope's relations, newest first. */
  listRelations(scope: GraphScope, limit: number): Promise<Triple[]>;
  /**
   * Applies the changes in the scope's own graph (agent's when `agentId` is set), all or nothing. `memoryIds` are the
   * memories the changes were learnt with (added to each added relation's provenance).
   */
  apply(scope: GraphScope, changes: GraphChanges, memoryIds: readonly string[]): Promise<AppliedGraphChanges>;
  /**
   * How many relations of the scope (all of the user's graphs without `agentId`) {@link deleteAll} would remove, or,
   * with `learntOnlyFrom`, {@link forgetMemories} of those memories would (a destructive tool's dry run).
   */
  countRelations(scope: GraphScope, learntOnlyFrom?: readonly string[]): Promise<number>;
  /** Removes every entity and relation of the scope (all of the user's graphs without `agentId`). */
  deleteAll(scope: GraphScope): Promise<number>;
  /**
   * The memories were removed: they leave every relation's provenance, and relations learnt only from them are
   * removed (with entities left without relations). Returns the relations removed.
   */
  forgetMemories(scope: GraphScope, memoryIds: readonly string[]): Promise<Triple[]>;
  /** A real round trip to the graph database. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Longest names and relationships a backend accepts (the memory layer cuts to these). */
export const MAX_NAME_LENGTH = 200;
export const MAX_RELATIONSHIP_LENGTH = 100;
