/**
 * zod schemas for the config part of each provider block, for the keys we know (Mem0's Python names). Every
 * message is written to follow the key's path (`… .config.port must be …`) and never includes the value.
 * Numbers and booleans may arrive as strings ("5432", "true"), as Mem0's pydantic models accept them.
 * @module
 */
import { z } from 'zod';

/** "5432" → 5432 (whole numbers only); anything else is returned unchanged for the real check to judge. */
export function intLike(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.normalize('NFKC').trim();
  return /^[+-]?\d+$/.test(text) ? Number(text) : value;
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

/** true/false, 1/0 and "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off" (any case) → boolean; anything else unchanged. */
export function boolLike(value: unknown): unknown {
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return value;
  return BOOLEAN_WORDS[value.trim().toLowerCase()] ?? value;
}

function integer(min: number, max: number) {
  const error = `must be an integer between ${min} and ${max}`;
  return z.preprocess(intLike, z.number({ error }).int({ error }).min(min, { error }).max(max, { error })).optional();
}

function decimal(min: number, max: number) {
  const error = `must be a number between ${min} and ${max}`;
  const toNumber = (value: unknown) => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value);
  return z.preprocess(toNumber, z.number({ error }).min(min, { error }).max(max, { error })).optional();
}

const bool = () => z.preprocess(boolLike, z.boolean({ error: 'must be true or false' })).optional();
const nonEmpty = () => z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).optional();
const anyString = () => z.string({ error: 'must be a string' }).optional();

/** A name used as a SQL identifier (table, schema): the store quotes it, but only plain names are accepted. */
const sqlName = () =>
  z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, { error: 'must be a plain SQL name: letters, digits and underscores, not starting with a digit, at most 63 characters' })
    .optional();

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Every `*_base_url` key (openai_base_url, ollama_base_url, …) must be an http(s) URL; unknown keys pass through. */
function withBaseUrls<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.looseObject(shape).superRefine((config, context) => {
    for (const [key, value] of Object.entries(config)) {
      if (key.endsWith('_base_url') && value !== undefined && value !== null && !isHttpUrl(value)) {
        context.addIssue({ code: 'custom', path: [key], message: 'must be an http(s) URL' });
      }
    }
  });
}

const common = { model: nonEmpty(), api_key: anyString() };

export const llmConfig = withBaseUrls({
  ...common,
  temperature: decimal(0, 2),
  max_tokens: integer(1, 1_000_000),
  top_p: decimal(0, 1),
  top_k: integer(1, 1000),
});

/** pgvector's limit for a `vector` column. */
const MAX_DIMS = 16_000;

export const embedderConfig = withBaseUrls({ ...common, embedding_dims: integer(1, MAX_DIMS) });
export const rerankerConfig = withBaseUrls({ ...common, top_k: integer(1, 1000) });

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export const pgvectorConfig = z
  .looseObject({
    dbname: nonEmpty(),
    collection_name: sqlName(),
    schema_name: sqlName(),
    embedding_model_dims: integer(1, MAX_DIMS),
    user: nonEmpty(),
    password: anyString(),
    host: nonEmpty(),
    port: integer(1, 65_535),
    sslmode: z.enum(SSL_MODES, { error: `must be one of ${SSL_MODES.join(', ')}` }).optional(),
    connection_string: z
      .string({ error: 'must be a string' })
      .trim()
      .refine((value) => !value.includes('://') || /^postgres(ql)?:\/\//i.test(value), { error: 'must start with postgresql:// (or be a key=value connection string)' })
      .optional(),
    hnsw: bool(),
    diskann: bool(),
    // The store's pool limits (src/store/config.ts).
    minconn: integer(0, 100),
    maxconn: integer(1, 100),
  })
  .refine((config) => config.minconn === undefined || config.maxconn === undefined || config.minconn <= config.maxconn, {
    path: ['minconn'],
    error: 'must not be greater than maxconn',
  });

export const pgliteConfig = z.looseObject({
  path: anyString(),
  collection_name: sqlName(),
  embedding_model_dims: integer(1, MAX_DIMS),
  hnsw: bool(),
});

/** A `mem0ai` vector store's block (qdrant, chroma, …): its own keys pass through; the collection keys are checked. */
export const externalVectorConfig = z.looseObject({
  collection_name: nonEmpty(),
  embedding_model_dims: integer(1, MAX_DIMS),
});

/**
 * Describes a JSON.parse failure without quoting the text: Node's messages can include a slice of the input, and
 * the input is a secret. Gives a line/column when the parser reports a position, and a hint for Python-style quotes.
 */
export function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/^\{\s*'/.test(text) || /'\s*:/.test(text)) return 'it uses single quotes; JSON needs double quotes around keys and strings';
  if (/end of (JSON|data)/i.test(message)) return 'it ends too early: is a closing } or " missing?';
  const position = /position (\d+)/.exec(message);
  if (position && Number(position[1]) >= text.length) return 'it ends too early: is a closing } or " missing?';
  if (position) {
    const lines = text.slice(0, Number(position[1])).split('\n');
    return `syntax error at line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1}`;
  }
  return 'syntax error: check quotes, commas and braces';
}
