/**
 * The vector-DB JSON block (`{"provider": ..., "config": {...}}`), parsed with zod.
 *
 * `pgvector` takes exactly the keys Mem0's Python `PGVectorConfig` reads (same defaults: dbname `postgres`,
 * collection_name `mem0`, embedding_model_dims 1536, hnsw true, diskann false, minconn 1, maxconn 5), so a block
 * written for the Python plugin works unchanged. `pglite` is the embedded default: `path` (a data directory, or
 * `memory://` for a throwaway database) plus the same collection keys.
 * @module
 */
import { z } from 'zod';
import { EngineError } from '../shared/errors.js';
import { resolveEmbeddedLocation } from './embedded-home.js';

/** PostgreSQL identifiers we accept from config; they are also quoted wherever they are used. */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const identifier = (what: string) =>
  z
    .string()
    .regex(IDENTIFIER_PATTERN, `${what} must match ${IDENTIFIER_PATTERN.source} (letters, digits, underscore; max 63)`);

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const collectionKeys = {
  collection_name: identifier('collection_name').default('mem0'),
  embedding_model_dims: z.number().int().min(1).max(16_000).default(1536),
  hnsw: z.boolean().default(true),
  diskann: z.boolean().default(false),
  /** Not in upstream Mem0 but read by some forks: the schema holding the table (default public). */
  schema_name: identifier('schema_name').nullish().transform((v) => v ?? 'public'),
};

const pgvectorConfigSchema = z
  .object({
    ...collectionKeys,
    dbname: z.string().min(1).default('postgres'),
    user: z.string().nullish(),
    password: z.string().nullish(),
    host: z.string().nullish(),
    port: z.number().int().min(1).max(65_535).nullish(),
    minconn: z.number().int().min(0).max(100).default(1),
    maxconn: z.number().int().min(1).max(100).default(5),
    sslmode: z.enum(SSL_MODES).nullish(),
    connection_string: z.string().min(1).nullish(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Mem0 asks for credentials and an address only when there is no connection string.
    if (c.connection_string) return;
    if (!c.user && !c.password) {
      ctx.addIssue({ code: 'custom', message: "'user' and 'password' are required without connection_string" });
    }
    if (!c.host && !c.port) {
      ctx.addIssue({ code: 'custom', message: "'host' and 'port' are required without connection_string" });
    }
  })
  .refine((c) => c.minconn <= c.maxconn, { message: 'minconn must not exceed maxconn' });

const pgliteConfigSchema = z
  .object({
    ...collectionKeys,
    path: z.string().min(1).optional(),
  })
  .strict();

const blockSchema = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('pgvector'), config: pgvectorConfigSchema }).strict(),
  z.object({ provider: z.literal('pglite'), config: pgliteConfigSchema.prefault({}) }).strict(),
]);

/** What every backend shares: where the memories live and how they are indexed. */
export interface CollectionConfig {
  schemaName: string;
  collectionName: string;
  dims: number;
  hnsw: boolean;
}

/** Connection settings for node-postgres, already resolved from Mem0's keys. Holds secrets: never log it. */
export interface PostgresConnection {
  connectionString?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  ssl?: false | { rejectUnauthorized: boolean };
}

export type StoreConfig =
  | ({ kind: 'postgres'; connection: PostgresConnection; minConnections: number; maxConnections: number } & CollectionConfig)
  | ({ kind: 'pglite'; dataDir: string; legacy?: LegacyLocation | undefined } & CollectionConfig);

/** Where older versions kept this embedded data: `path` relative to their working folder, `cwd` being ours. */
export interface LegacyLocation {
  path: string;
  cwd: string;
}

/**
 * Parses the vector-DB block. Accepts an object or JSON text (optionally wrapped in a Markdown code fence, as the
 * settings page sometimes delivers it). Throws {@link EngineError} `config` naming the offending key; the message
 * never repeats a value, so a password cannot leak through it.
 */
export function parseStoreConfig(input: unknown, options: { baseDir?: string | undefined; env?: NodeJS.ProcessEnv } = {}): StoreConfig {
  const raw = typeof input === 'string' ? parseJsonText(input) : input;
  const parsed = blockSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new EngineError('store_config', `invalid vector store config: ${issues}`);
  }
  const block = parsed.data;
  const collection: CollectionConfig = {
    schemaName: block.config.schema_name,
    collectionName: block.config.collection_name,
    dims: block.config.embedding_model_dims,
    // DiskANN needs the vectorscale extension, which neither PGlite nor our test server has: HNSW stands in for it.
    hnsw: block.config.hnsw || block.config.diskann,
  };
  if (block.provider === 'pglite') {
    const given = block.config.path;
    if (given?.startsWith('memory://')) return { kind: 'pglite', dataDir: given, ...collection };
    // Relative paths resolve outside the daemon's versioned working folder, so an upgrade finds the data (embedded-home.ts).
    const cwd = options.baseDir ?? process.cwd();
    const location = resolveEmbeddedLocation(given, cwd, options.env);
    const legacy = location.legacyPath !== undefined ? { path: location.legacyPath, cwd } : undefined;
    return { kind: 'pglite', dataDir: location.dataDir, legacy, ...collection };
  }
  const c = block.config;
  return {
    kind: 'postgres',
    connection: resolveConnection(c),
    minConnections: c.minconn,
    maxConnections: c.maxconn,
    ...collection,
  };
}

/** The block used when nothing is configured: embedded PGlite in its default folder (embedded-home.ts). */
export function defaultStoreConfig(options: { baseDir?: string; env?: NodeJS.ProcessEnv } = {}): StoreConfig {
  return parseStoreConfig({ provider: 'pglite', config: {} }, options);
}

function parseJsonText(text: string): unknown {
  const trimmed = text.trim().replace(/^```[a-zA-Z]*\s*\n?/, '').replace(/\n?```\s*$/, '');
  try {
    return JSON.parse(trimmed);
  } catch {
    throw new EngineError('store_config', 'invalid vector store config: not valid JSON');
  }
}

type PgvectorBlock = z.infer<typeof pgvectorConfigSchema>;

const URL_FORM = /^postgres(ql)?:\/\//i;

function resolveConnection(c: PgvectorBlock): PostgresConnection {
  if (c.connection_string) {
    const cs = c.connection_string.trim();
    const conn: PostgresConnection = URL_FORM.test(cs) ? fromUrl(cs, c.sslmode) : fromKeyValue(cs);
    if (c.sslmode) conn.ssl = sslFor(c.sslmode);
    return conn;
  }
  const conn: PostgresConnection = {
    host: c.host ?? 'localhost',
    port: c.port ?? 5432,
    database: c.dbname,
  };
  if (c.user) conn.user = c.user;
  if (c.password) conn.password = c.password;
  conn.ssl = sslFor(c.sslmode ?? 'disable');
  return conn;
}

/** URL form: node-postgres reads it itself; an explicit `sslmode` key replaces the one in the URL, as Mem0 does. */
function fromUrl(cs: string, sslmode: SslMode | null | undefined): PostgresConnection {
  if (!sslmode) return { connectionString: cs };
  let url: URL;
  try {
    url = new URL(cs);
  } catch {
    throw new EngineError('store_config', 'invalid vector store config: connection_string is not a valid URL');
  }
  url.searchParams.delete('sslmode');
  return { connectionString: url.toString() };
}

/** libpq key=value form (`host=... dbname=... sslmode=...`), which psycopg accepts and node-postgres does not. */
function fromKeyValue(cs: string): PostgresConnection {
  const conn: PostgresConnection = {};
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < cs.length && (m = re.exec(cs)) !== null) {
    const key = m[1]!.toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (key === 'host' || key === 'hostaddr') conn.host = value;
    else if (key === 'port') conn.port = Number(value);
    else if (key === 'dbname') conn.database = value;
    else if (key === 'user') conn.user = value;
    else if (key === 'password') conn.password = value;
    else if (key === 'sslmode') {
      if (!(SSL_MODES as readonly string[]).includes(value)) {
        throw new EngineError('store_config', 'invalid vector store config: unknown sslmode in connection_string');
      }
      conn.ssl = sslFor(value as SslMode);
    }
  }
  if (cs.slice(re.lastIndex).trim() !== '' || (conn.port !== undefined && !Number.isInteger(conn.port))) {
    throw new EngineError('store_config', 'invalid vector store config: connection_string is neither a URL nor key=value pairs');
  }
  conn.ssl ??= false;
  return conn;
}

/**
 * libpq's modes mapped onto Node's TLS. node-postgres cannot fall back from TLS to plain text, so `allow` and
 * `prefer` connect without TLS; `require` encrypts without checking the certificate (as libpq does without a root
 * certificate); the verify modes check it.
 */
function sslFor(mode: SslMode): false | { rejectUnauthorized: boolean } {
  switch (mode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/** Double-quotes an identifier that already passed {@link IDENTIFIER_PATTERN}. */
export function quoteIdent(name: string): string {
  if (!IDENTIFIER_PATTERN.test(name)) throw new EngineError('validation', `not a safe identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
