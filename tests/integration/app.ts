// Drives the real plugin app (createPluginApp over the real tools/*.yaml) against the loopback fake OpenAI and a
// real store: embedded PGlite always, PostgreSQL when TEST_DATABASE_URL is set (one fresh schema per backend use).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import type { PluginHandlers, SessionContext, ToolMessage } from '../../src/runtime/contract.js';
import { createApp } from '../../src/app/app.js';
import type { PluginAppOptions } from '../../src/tools/index.js';
import type { FakeOpenAI, ChatRequestBody } from '../helpers/fake-openai.js';
import { freshSchema, testDatabaseUrl } from '../helpers/postgres.js';
import { session } from '../helpers/session.js';
import type { TestSchema } from '../helpers/postgres.js';

/** Small vectors keep the tests fast; the fake embeds with any size. */
export const DIMS = 32;
export const LLM_KEY = 'sk-test-llm-SECRET-4242';
export const EMBEDDER_KEY = 'sk-test-emb-SECRET-4343';
export const DB_PASSWORD = 'pw-SECRET-db-4444';

export interface Answer {
  status: string;
  messages: string;
  results: unknown;
  /** Present only when the answer has warnings. */
  warnings?: string[];
  /** Present only with a graph store (add, search, get_all). */
  relations?: unknown;
  text: string;
  raw: ToolMessage[];
}

export function credentials(fake: FakeOpenAI, store: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    async_mode: 'false',
    local_llm_json_secret: JSON.stringify({ provider: 'openai', config: { api_key: LLM_KEY, openai_base_url: fake.baseURL, model: 'gpt-4o-mini' } }),
    local_embedder_json_secret: JSON.stringify({
      provider: 'openai',
      config: { api_key: EMBEDDER_KEY, openai_base_url: fake.baseURL, model: 'text-embedding-3-small', embedding_dims: DIMS },
    }),
    local_vector_db_json_secret: JSON.stringify(store),
    ...extra,
  };
}

export class AppDriver {
  readonly app: PluginHandlers;

  constructor(
    public creds: Record<string, unknown>,
    options: Partial<PluginAppOptions> = {},
  ) {
    this.app = createApp(loadDeclarations(), { language: () => 'en_US', ...options });
  }

  async call(tool: string, parameters: Record<string, unknown>, context: SessionContext = session(), creds = this.creds): Promise<Answer> {
    const raw: ToolMessage[] = [];
    for await (const message of this.app.invokeTool({ provider: 'mem0ai', tool, toolParameters: parameters, credentials: creds }, context)) raw.push(message);
    const json = raw.find((m) => m.type === 'json');
    const text = raw.find((m) => m.type === 'text');
    if (json?.type !== 'json' || text?.type !== 'text') throw new Error(`${tool} did not answer with json and text`);
    const body = json.message.json_object as { status: string; messages: string; results: unknown; warnings?: string[]; relations?: unknown };
    return { ...body, text: text.message.text, raw };
  }

  /** Calls and insists on SUCCESS (the message is shown when it is not). */
  async ok<T = unknown>(tool: string, parameters: Record<string, unknown>): Promise<T> {
    const answer = await this.call(tool, parameters);
    if (answer.status !== 'SUCCESS') throw new Error(`${tool} answered ${answer.status}: ${answer.messages}`);
    return answer.results as T;
  }

  validate(creds: Record<string, unknown> = this.creds, logger?: Logger): Promise<void> {
    return this.app.validateCredentials({ provider: 'mem0ai', credentials: creds }, session(logger ? { logger } : {}));
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/**
 * The fake LLM as a plain, predictable model: extraction returns each sentence of the user's message as a fact;
 * reconciliation adds every new fact. Tests that need UPDATE/DELETE queue their own answers with `fake.reply`.
 */
export function plainModel(fake: FakeOpenAI): void {
  fake.onChat((body: ChatRequestBody) => plainAnswer(body.messages[0]?.content ?? '', body.messages[1]?.content ?? ''));
}

/** {@link plainModel}'s answer to a system + user prompt, for the fakes of other providers' APIs. */
export function plainAnswer(system: string, user: string): string {
  if (system.includes('long-term notes')) {
    const said = user
      .split('\n')
      .filter((line) => line.startsWith('user: '))
      .map((line) => line.slice('user: '.length));
    const facts = said.flatMap((s) => s.split(/(?<=[.!?。])\s*/)).map((s) => s.trim()).filter((s) => s !== '');
    return JSON.stringify({ facts });
  }
  const facts = JSON.parse(user.slice(user.indexOf('New facts:\n') + 'New facts:\n'.length)) as string[];
  return JSON.stringify({ actions: facts.map((text) => ({ event: 'ADD', text })) });
}

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A vector-DB block for a fresh, empty collection. */
  store(): Promise<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

/** Embedded PGlite in a folder made with mkdtemp under the OS temp dir (never removed by these tests). */
export function pgliteFolder(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'mem0-it-')), 'db');
}

/** Embedded PGlite in a fresh folder per store, so a second engine in this process can open the same database. */
export function pgliteFolderBackend(): Backend {
  return {
    name: 'pglite',
    store: () => Promise.resolve({ provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } }),
    cleanup: () => Promise.resolve(),
  };
}

export function pgliteBackend(): Backend {
  return {
    name: 'pglite',
    store: () => Promise.resolve({ provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }),
    cleanup: () => Promise.resolve(),
  };
}

export function postgresBackend(url: string): Backend {
  const admin = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 });
  const schemas: TestSchema[] = [];
  return {
    name: 'postgres',
    async store() {
      const schema = await freshSchema(admin);
      schemas.push(schema);
      return { provider: 'pgvector', config: { connection_string: url, schema_name: schema.name, embedding_model_dims: DIMS, maxconn: 4 } };
    },
    async cleanup() {
      for (const schema of schemas) await schema.drop();
      await admin.end();
    },
  };
}

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL is set. */
export function backends(): Array<() => Backend> {
  const url = testDatabaseUrl();
  return url ? [pgliteBackend, () => postgresBackend(url)] : [pgliteBackend];
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
