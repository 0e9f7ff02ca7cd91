/**
 * The graph-store block (`local_graph_db_json_secret`, Mem0's `graph_store`) → where the graph lives.
 * - `{}` or `{"provider": "postgres"}`: the graph tables beside the memories (PostgreSQL or embedded PGlite, or the
 *   state store of an external vector store); nothing else to run.
 * - `{"provider": "neo4j", "config": {"url", "username", "password", "database"}}`: a Neo4j server (Mem0's keys).
 * Top-level `threshold` (0–1, default 0.7) and `custom_prompt` are Mem0's graph options and are honoured. Mem0's other
 * graph providers are refused, naming what this build supports. Messages name keys, never values.
 * @module
 */
import { z } from 'zod';
import type { Neo4jConnection } from '../../store/graph/neo4j.js';
import { EngineError } from '../../shared/errors.js';

/** Mem0's default: how close (cosine) two entity names' embeddings must be to be one entity. */
export const DEFAULT_THRESHOLD = 0.7;

export const GRAPH_PROVIDERS = ['postgres', 'neo4j'] as const;
/** Graph stores Mem0 has that this build does not run. */
const MEM0_ONLY = ['memgraph', 'neptune', 'neptunedb', 'kuzu', 'apache_age'];

export interface GraphStoreConfig {
  provider: (typeof GRAPH_PROVIDERS)[number];
  /** Neo4j only. Holds a secret: never log it. */
  connection?: Neo4jConnection;
  threshold: number;
  customPrompt?: string | undefined;
}

const neo4jConfig = z.object({
  url: z.string({ error: 'must be a string' }).trim().regex(/^(bolt|neo4j)(\+s|\+ssc)?:\/\/\S+$/i, { error: 'must be a bolt:// or neo4j:// URL (optionally +s or +ssc)' }),
  username: z.string({ error: 'must be a string' }).optional(),
  password: z.string({ error: 'must be a string' }).optional(),
  database: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).optional(),
  base_label: z.unknown().optional(),
}).strict();

const block = z.object({
  provider: z.string({ error: 'must be a string' }).trim().toLowerCase().optional(),
  config: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).optional(),
  threshold: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number({ error: 'must be a number between 0 and 1' }).min(0, { error: 'must be a number between 0 and 1' }).max(1, { error: 'must be a number between 0 and 1' })).optional(),
  custom_prompt: z.string({ error: 'must be a string' }).optional(),
  llm: z.unknown().optional(),
}).strict();


/** Parses the block (already JSON). `field` names the setting in messages. @throws EngineError `credentials` */
export function parseGraphStore(value: unknown, field: string): GraphStoreConfig {
  const fail: (message: string) => never = (message) => {
    throw new EngineError('credentials', message, { field });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${field} must be a JSON object like {"provider": "neo4j", "config": {...}} or {} for the built-in graph`);
  }
  const parsed = block.safeParse(value);
  if (!parsed.success) fail(describe(field, parsed.error.issues[0]));
  const b = parsed.data;
  if (b.llm !== undefined) {
    fail(`${field}.llm is not supported: the graph uses the LLM of local_llm_json_secret`);
  }
  const provider = b.provider || 'postgres';
  const common = { threshold: b.threshold ?? DEFAULT_THRESHOLD, customPrompt: b.custom_prompt?.trim() || undefined };
  if (provider === 'postgres') {
    if (b.config && Object.keys(b.config).length > 0) {
      fail(`${field}.config must be empty with "postgres": the graph lives in the memories' database`);
    }
    return { provider, ...common };
  }
  if (provider === 'neo4j') {
    const c = neo4jConfig.safeParse(b.config ?? {});
    if (!c.success) fail(describe(`${field}.config`, c.error.issues[0]));
    const connection: Neo4jConnection = { url: c.data.url };
    if (c.data.username) connection.username = c.data.username;
    if (c.data.password) connection.password = c.data.password;
    if (c.data.database) connection.database = c.data.database;
    return { provider, connection, ...common };
  }
  const shown = JSON.stringify(provider.slice(0, 40));
  const mem0 = MEM0_ONLY.includes(provider) ? ' (a Mem0 graph store this build does not include)' : '';
  fail(`${field}.provider ${shown} is not supported${mem0}: use "postgres" (the default: graph tables beside the memories) or "neo4j"`);
}

function describe(where: string, issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return `${where} is invalid`;
  if (issue.code === 'unrecognized_keys') return `${where} has unknown key(s) ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`;
  const path = issue.path.map(String).join('.');
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  return `${where}${path ? `.${path}` : ''} ${message}`;
}
