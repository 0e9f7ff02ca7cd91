/**
 * The graph backends the graph tool tests run on (PGlite, PostgreSQL when TEST_DATABASE_URL is set, a real Neo4j when
 * its harness is built), their set-up through the tools, and the shapes of the graph answers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { FakeOpenAI } from '../helpers/fake-openai.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { neo4jAvailability, skipNeo4j, startNeo4j } from '../helpers/neo4j.js';
import type { RunningNeo4j } from '../helpers/neo4j.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { CHROMA_MISSING, CHROMA_PROGRAM, ChromaServer } from '../helpers/chroma.js';
import { AppDriver, credentials, DIMS, pgliteFolder, postgresBackend } from './app.js';
import { graphModel } from './graph-model.js';

export const GRAPH_FIELD = 'local_graph_db_json_secret';
export const NEO4J_PASSWORD = 'neo4j-SECRET-pw-5151';
export const memoryStore = { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } };

export interface Relation { source: string; relationship: string; target: string }
export interface Found { source: string; relationship: string; destination: string; score: number }
export interface AddRelations { added_entities: Relation[]; deleted_entities: Relation[] }

export const text = (r: Relation | Found): string => `${r.source} ${r.relationship} ${'target' in r ? r.target : r.destination}`;
export const sortedText = (list: Array<Relation | Found>): string[] => list.map(text).sort();
export const newUser = (): string => `g-${randomBytes(5).toString('hex')}`;

export interface GraphTarget {
  name: string;
  skip?: string;
  /** The vector-store block and the graph-store block (JSON text) of a fresh collection. */
  open(): Promise<{ store: Record<string, unknown>; graph: string }>;
  close(): Promise<void>;
}

export function sqlTargets(): GraphTarget[] {
  const url = testDatabaseUrl();
  const targets: GraphTarget[] = [{
    name: 'pglite ({})',
    open: () => Promise.resolve({ store: memoryStore, graph: '{}' }),
    close: () => Promise.resolve(),
  }];
  if (url) {
    const backend = postgresBackend(url);
    targets.push({
      name: 'postgres ({"provider": "postgres"})',
      open: async () => ({ store: await backend.store(), graph: '{"provider": "postgres"}' }),
      close: () => backend.cleanup(),
    });
  }
  return targets;
}

export function neo4jGraphTarget(): GraphTarget {
  const availability = neo4jAvailability();
  let server: RunningNeo4j | undefined;
  return {
    name: 'neo4j',
    ...(skipNeo4j(availability) ? { skip: availability.reason! } : {}),
    async open() {
      server ??= await startNeo4j(availability);
      return { store: memoryStore, graph: JSON.stringify({ provider: 'neo4j', config: { url: server.url, username: 'neo4j', password: NEO4J_PASSWORD } }) };
    },
    close: async () => server?.stop(),
  };
}

/**
 * The graph beside memories in a mem0ai vector store: a real Chroma server holds the memories, the graph (`{}`) lives
 * in the state database (embedded PGlite in a folder). Skipped where Chroma is not installed.
 */
export function chromaGraphTarget(): GraphTarget {
  let server: ChromaServer | undefined;
  return {
    name: 'chroma (mem0ai store) + graph in the state database',
    ...(CHROMA_PROGRAM ? {} : { skip: CHROMA_MISSING }),
    async open() {
      server ??= await ChromaServer.start();
      const store = {
        provider: 'chroma',
        config: { collection_name: `graph_${randomBytes(4).toString('hex')}`, host: '127.0.0.1', port: server.port, ssl: false, embedding_model_dims: DIMS },
        state_store: { provider: 'pglite', config: { path: pgliteFolder() } },
      };
      return { store, graph: '{}' };
    },
    close: async () => server?.stop(),
  };
}

/** Every backend of the graph tool tests. */
export function graphTargets(): GraphTarget[] {
  return [...sqlTargets(), neo4jGraphTarget()];
}

/**
 * The tools over one target for the enclosing describe block: the scripted graph model, credentials validated and a
 * warm-up add (a cold Neo4j is slow at first) before its tests; everything closed after them.
 */
export function graphToolsOn(target: GraphTarget, extra: Record<string, string> = {}): { readonly driver: AppDriver; readonly fake: FakeOpenAI } {
  const fake = useFakeModel({ dims: DIMS, script: graphModel });
  let driver: AppDriver | undefined;
  beforeAll(async () => {
    const { store, graph } = await target.open();
    driver = new AppDriver(credentials(fake, store, { [GRAPH_FIELD]: graph, ...extra }));
    await driver.validate();
    await driver.call('add_memory', { timeout: 60, user: 'warm up.', user_id: newUser() });
  }, 300_000);
  afterAll(async () => {
    await driver?.close();
    await target.close();
  }, 60_000);
  return { get driver() { return driver!; }, fake };
}

/** add_memory, expected to succeed. */
export async function addThrough(driver: AppDriver, userId: string, user: string, extra: Record<string, unknown> = {}): Promise<{ results: Array<{ id: string; event: string }>; relations: AddRelations; text: string }> {
  const answer = await driver.call('add_memory', { timeout: 60, user, user_id: userId, ...extra });
  expect(answer.status, answer.messages).toBe('SUCCESS');
  return { results: answer.results as Array<{ id: string; event: string }>, relations: answer.relations as AddRelations, text: answer.text };
}
