import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../src/shared/log.js';
import { parseCredentials, stripCodeFence, validateCredentials } from '../../../src/memory/config/credentials.js';
import { canonicalJson, describeSettings } from '../../../src/memory/config/settings.js';
import { PluginError } from '../../../src/runtime/contract.js';
import { wireError } from '../../../src/tools/result.js';

const SECRET = 'sk-VERY-SECRET-0042';
const LLM = `{"provider": "openai", "config": {"model": "gpt-4o-mini", "api_key": "${SECRET}"}}`;
const EMBEDDER = `{"provider": "openai", "config": {"model": "text-embedding-3-small", "api_key": "${SECRET}", "embedding_dims": 1536}}`;
const PGVECTOR = { provider: 'pgvector', config: { dbname: 'mem0', user: 'mem0', password: SECRET, host: 'db', port: 5432, embedding_model_dims: 1536 } };

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { local_llm_json_secret: LLM, local_embedder_json_secret: EMBEDDER, ...extra };
}

function vector(config: Record<string, unknown>, provider = 'pgvector'): Record<string, unknown> {
  return base({ local_vector_db_json_secret: JSON.stringify({ provider, config: { ...PGVECTOR.config, ...config } }) });
}

/** The error message; also asserts it is a credential error and never contains the secret. */
function rejection(credentials: Record<string, unknown>): string {
  try {
    parseCredentials(credentials);
  } catch (thrown) {
    // What the daemon is told: the engine's credentials error, mapped by the tools.
    const error = wireError(thrown);
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).errorType).toBe('ToolProviderCredentialValidationError');
    expect((error as PluginError).message).not.toContain(SECRET);
    expect(JSON.stringify((error as PluginError).args)).not.toContain(SECRET);
    return (error as PluginError).message;
  }
  throw new Error('expected the credentials to be rejected');
}

describe('JSON blocks', () => {
  it('parses plain, fenced and padded blocks the same way', () => {
    const plain = parseCredentials(base());
    for (const wrapped of ['```json\n' + LLM + '\n```', '```\n' + LLM + '\n```', '\n\n  ' + LLM + '  \n', '```JSON ' + LLM + '```']) {
      expect(parseCredentials(base({ local_llm_json_secret: wrapped })).hash).toBe(plain.hash);
    }
    expect(stripCodeFence('```json\n{"a":1}\n```')).toBe('{"a":1}');
  });

  it('accepts a block that arrives already parsed', () => {
    expect(parseCredentials(base({ local_llm_json_secret: JSON.parse(LLM) })).llm.provider).toBe('openai');
  });

  it('names a missing required block', () => {
    expect(rejection({ local_embedder_json_secret: EMBEDDER })).toBe('local_llm_json_secret is required (or pick a model in "LLM")');
    expect(rejection(base({ local_embedder_json_secret: '  ' }))).toBe('local_embedder_json_secret is required (or pick a model in "Embedding model")');
    expect(rejection(base({ local_embedder_json_secret: '```json\n```' }))).toBe('local_embedder_json_secret is required (or pick a model in "Embedding model")');
  });

  it.each([
    [`{"provider": "openai", "config": {"api_key": "${SECRET}",}}`, /^local_llm_json_secret: not valid JSON \(syntax error at line 1, column \d+\)$/],
    [`{"provider": "openai", "config": {"api_key": "${SECRET}"`, /^local_llm_json_secret: not valid JSON \(it ends too early/],
    [`{'provider': 'openai', 'config': {'api_key': '${SECRET}'}}`, /^local_llm_json_secret: not valid JSON \(it uses single quotes/],
    [`${SECRET}`, /^local_llm_json_secret: not valid JSON/],
    [`provider=openai api_key=${SECRET}`, /^local_llm_json_secret: not valid JSON/],
  ])('reports bad JSON without quoting it: %#', (text, message) => {
    expect(rejection(base({ local_llm_json_secret: text }))).toMatch(message);
  });

  it('reports the line of a syntax error in a multi-line block', () => {
    const text = `{\n  "provider": "openai",\n  "config": {\n    "api_key": "${SECRET}"\n    "model": "x"\n  }\n}`;
    expect(rejection(base({ local_llm_json_secret: text }))).toMatch(/line 5, column \d+/);
  });

  it.each([
    ['[1, 2]', 'local_llm_json_secret must be a JSON object like {"provider": "...", "config": {...}}'],
    ['"openai"', 'local_llm_json_secret must be a JSON object like {"provider": "...", "config": {...}}'],
    ['{"config": {}}', 'local_llm_json_secret.provider is required and must be a non-empty string (e.g. "openai")'],
    ['{"provider": "  "}', 'local_llm_json_secret.provider is required and must be a non-empty string (e.g. "openai")'],
    ['{"provider": 7}', 'local_llm_json_secret.provider is required and must be a non-empty string (e.g. "openai")'],
    ['{"provider": "openai", "config": "gpt-4o"}', 'local_llm_json_secret.config must be a JSON object'],
  ])('%s', (text, message) => {
    expect(rejection(base({ local_llm_json_secret: text }))).toBe(message);
  });

  it('names keys put beside "provider" instead of inside "config"', () => {
    const text = `{"provider": "openai", "api_key": "${SECRET}"}`;
    expect(rejection(base({ local_llm_json_secret: text }))).toBe(
      'local_llm_json_secret has unknown top-level key(s) "api_key": only "provider" and "config" belong there; put provider settings inside "config"',
    );
  });

  it('config is optional and unknown config keys are kept', () => {
    const settings = parseCredentials(base({ local_llm_json_secret: '{"provider": "Ollama"}', local_reranker_json_secret: '{"provider": "cohere", "config": {"model": "rerank-v3.5", "custom_thing": [1]}}' }));
    expect(settings.llm).toEqual({ provider: 'ollama', config: {} });
    expect(settings.reranker).toEqual({ provider: 'cohere', config: { model: 'rerank-v3.5', custom_thing: [1] } });
    expect(settings.graphStore).toBeNull();
  });
});

describe('known config keys', () => {
  it.each([
    [{ temperature: 3 }, 'local_llm_json_secret.config.temperature must be a number between 0 and 2'],
    [{ max_tokens: 0 }, 'local_llm_json_secret.config.max_tokens must be an integer between 1 and 1000000'],
    [{ model: '' }, 'local_llm_json_secret.config.model must not be empty'],
    [{ api_key: 12345 }, 'local_llm_json_secret.config.api_key must be a string'],
    [{ openai_base_url: 'localhost:11434' }, 'local_llm_json_secret.config.openai_base_url must be an http(s) URL'],
    [{ ollama_base_url: `ftp://${SECRET}` }, 'local_llm_json_secret.config.ollama_base_url must be an http(s) URL'],
  ])('LLM %j', (config, message) => {
    expect(rejection(base({ local_llm_json_secret: JSON.stringify({ provider: 'openai', config }) }))).toBe(message);
  });

  it('accepts numbers given as text, as Mem0 does', () => {
    const settings = parseCredentials(base({ local_llm_json_secret: JSON.stringify({ provider: 'openai', config: { temperature: '0.2', max_tokens: '2000' } }) }));
    expect(settings.llm.config).toEqual({ temperature: 0.2, max_tokens: 2000 });
  });

  it('embedder dimensions must be a positive integer', () => {
    const text = JSON.stringify({ provider: 'openai', config: { embedding_dims: -5 } });
    expect(rejection(base({ local_embedder_json_secret: text }))).toBe('local_embedder_json_secret.config.embedding_dims must be an integer between 1 and 16000');
  });
});

describe('vector DB block', () => {
  it('missing → the embedded PGlite database', () => {
    // The vector size is the embedder's embedding_dims (1536 in these credentials).
    expect(parseCredentials(base()).vectorStore).toEqual({ provider: 'pglite', config: { embedding_model_dims: 1536 }, isDefault: true });
    expect(parseCredentials(base({ local_vector_db_json_secret: '' })).vectorStore).toEqual({ provider: 'pglite', config: { embedding_model_dims: 1536 }, isDefault: true });
  });

  it('pglite with an optional path', () => {
    const settings = parseCredentials(base({ local_vector_db_json_secret: '{"provider": "pglite", "config": {"path": "/data/mem0"}}' }));
    expect(settings.vectorStore).toEqual({ provider: 'pglite', config: { path: '/data/mem0', embedding_model_dims: 1536 }, isDefault: false });
    expect(rejection(base({ local_vector_db_json_secret: '{"provider": "pglite", "config": {"path": 5}}' }))).toBe('local_vector_db_json_secret.config.path must be a string');
  });

  it('pgvector with typed fields; port and booleans may be text', () => {
    const settings = parseCredentials(vector({ port: '5433', hnsw: 'true', minconn: 2, maxconn: 10, sslmode: 'require' }));
    expect(settings.vectorStore).toMatchObject({ provider: 'pgvector', config: { port: 5433, hnsw: true, minconn: 2, maxconn: 10, sslmode: 'require', host: 'db' } });
  });

  it.each([
    [{ port: 70000 }, 'local_vector_db_json_secret.config.port must be an integer between 1 and 65535'],
    [{ port: 'five' }, 'local_vector_db_json_secret.config.port must be an integer between 1 and 65535'],
    [{ port: 54.5 }, 'local_vector_db_json_secret.config.port must be an integer between 1 and 65535'],
    [{ embedding_model_dims: 0 }, 'local_vector_db_json_secret.config.embedding_model_dims must be an integer between 1 and 16000'],
    [{ minconn: 8, maxconn: 4 }, 'local_vector_db_json_secret.config.minconn must not be greater than maxconn'],
    [{ sslmode: 'sometimes' }, 'local_vector_db_json_secret.config.sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full'],
    [{ hnsw: 'maybe' }, 'local_vector_db_json_secret.config.hnsw must be true or false'],
    [{ collection_name: 'mem0; drop table x' }, 'local_vector_db_json_secret.config.collection_name must be a plain SQL name: letters, digits and underscores, not starting with a digit, at most 63 characters'],
    [{ password: 42 }, 'local_vector_db_json_secret.config.password must be a string'],
    [{ connection_string: `mysql://u:${SECRET}@h/db` }, 'local_vector_db_json_secret.config.connection_string must start with postgresql:// (or be a key=value connection string)'],
  ])('%j', (config, message) => {
    expect(rejection(vector(config))).toBe(message);
  });

  it('needs a way to connect (the store\'s rule, as Mem0: connection_string, or user/password and host/port)', () => {
    const text = JSON.stringify({ provider: 'pgvector', config: { dbname: 'mem0', embedding_model_dims: 1536 } });
    expect(rejection(base({ local_vector_db_json_secret: text }))).toMatch(/^local_vector_db_json_secret: invalid vector store config: .*'user' and 'password' are required without connection_string/);
    const withUrl = JSON.stringify({ provider: 'pgvector', config: { connection_string: `postgresql://mem0:${SECRET}@db:5432/mem0` } });
    expect(parseCredentials(base({ local_vector_db_json_secret: withUrl })).vectorStore.provider).toBe('pgvector');
  });

  it('the store parser has the last word: keys Mem0\'s pgvector does not know are refused, by name only', () => {
    expect(rejection(vector({ connection_pool: SECRET }))).toMatch(/^local_vector_db_json_secret: invalid vector store config: .*connection_pool/);
  });

  it('a vector size the vector store does not name is the embedder\'s, not the default 1536', () => {
    const embedder = JSON.stringify({ provider: 'ollama', config: { model: 'bge-m3', embedding_dims: 1024 } });
    const dimsOf = (store: unknown) =>
      parseCredentials(base({ local_embedder_json_secret: embedder, ...(store === undefined ? {} : { local_vector_db_json_secret: JSON.stringify(store) }) }))
        .vectorStore.config.embedding_model_dims;
    expect(dimsOf(undefined)).toBe(1024); // no block: the embedded store
    expect(dimsOf({ provider: 'pglite', config: { path: 'memory://' } })).toBe(1024);
    expect(dimsOf({ provider: 'pgvector', config: { dbname: 'mem0', host: 'db', user: 'u', password: 'p' } })).toBe(1024);
    expect(dimsOf({ provider: 'qdrant', config: { url: 'http://qdrant:6333' } })).toBe(1024);
    // A size the block names still has to match.
    expect(rejection(base({ local_embedder_json_secret: embedder, local_vector_db_json_secret: JSON.stringify({ provider: 'pglite', config: { embedding_model_dims: 1536 } }) }))).toBe(
      'local_vector_db_json_secret.config.embedding_model_dims (1536) must equal local_embedder_json_secret.config.embedding_dims (1024)',
    );
    // No size anywhere: Mem0's default.
    expect(parseCredentials(base({ local_embedder_json_secret: JSON.stringify({ provider: 'openai', config: { api_key: SECRET } }) })).vectorStore.config.embedding_model_dims).toBeUndefined();
  });

  it('refuses vector stores mem0ai does not have, naming the ones it does', () => {
    const text = JSON.stringify({ provider: 'faiss', config: { path: '/tmp/x', api_key: SECRET } });
    expect(rejection(base({ local_vector_db_json_secret: text }))).toMatch(/^local_vector_db_json_secret.provider "faiss" is not supported: .*use "pgvector".*"pglite".*qdrant, chroma, redis/);
  });

  it("accepts mem0ai's vector stores, with the state tables in embedded PGlite unless state_store says otherwise", () => {
    const qdrant = { provider: 'qdrant', config: { url: 'http://qdrant:6333', api_key: SECRET, embedding_model_dims: 1536 } };
    const plain = parseCredentials(base({ local_vector_db_json_secret: JSON.stringify(qdrant) })).vectorStore;
    expect(plain).toMatchObject({ provider: 'qdrant', config: { url: 'http://qdrant:6333' }, external: { stateStore: { provider: 'pglite', isDefault: true } } });
    const withState = parseCredentials(base({ local_vector_db_json_secret: JSON.stringify({ ...qdrant, state_store: PGVECTOR }) })).vectorStore;
    expect(withState.external?.stateStore).toMatchObject({ provider: 'pgvector', isDefault: false, config: { host: PGVECTOR.config.host } });
    expect(rejection(base({ local_vector_db_json_secret: JSON.stringify({ ...qdrant, state_store: { provider: 'redis', config: {} } }) })))
      .toBe('local_vector_db_json_secret.state_store.provider must be "pgvector" or "pglite"');
    expect(rejection(base({ local_vector_db_json_secret: JSON.stringify({ ...qdrant, state_store: { provider: 'pgvector', config: { port: 'x' } } }) })))
      .toMatch(/^local_vector_db_json_secret.state_store.config.port must be an integer/);
    expect(rejection(base({ local_vector_db_json_secret: JSON.stringify({ ...qdrant, config: { ...qdrant.config, embedding_model_dims: 768 } }) })))
      .toMatch(/embedding_model_dims \(768\) must equal local_embedder_json_secret.config.embedding_dims \(1536\)/);
    // state_store belongs only to external stores; other top-level keys stay refused.
    expect(rejection(base({ local_vector_db_json_secret: JSON.stringify({ ...PGVECTOR, state_store: { provider: 'pglite' } }) }))).toMatch(/state_store belongs only to other vector stores/);
    expect(rejection(base({ local_vector_db_json_secret: JSON.stringify({ ...qdrant, extra: 1 }) }))).toMatch(/unknown top-level key\(s\) "extra"/);
  });

  it('embedder and vector dimensions must agree', () => {
    expect(rejection(vector({ embedding_model_dims: 768 }))).toBe(
      'local_vector_db_json_secret.config.embedding_model_dims (768) must equal local_embedder_json_secret.config.embedding_dims (1536)',
    );
  });
});

describe('plain settings', () => {
  it('defaults', () => {
    const settings = parseCredentials(base());
    expect(settings).toMatchObject({
      asyncMode: true,
      maxConcurrentMemoryOperations: 20,
      heartbeatIntervalSeconds: 120,
      memoryTtlDays: null,
      checkpointTtlDays: 90,
      logLevel: 'INFO',
    });
  });

  it.each([
    [true, true], [false, false], ['true', true], ['false', false], ['0', false], [1, true], ['', true], [null, true],
  ])('async_mode %j → %j', (given, expected) => {
    expect(parseCredentials(base({ async_mode: given })).asyncMode).toBe(expected);
  });

  it('async_mode nonsense is refused', () => {
    expect(rejection(base({ async_mode: 'sometimes' }))).toBe('async_mode must be true or false');
  });

  it('max_concurrent_memory_operations: whole number ≥ 1', () => {
    expect(parseCredentials(base({ max_concurrent_memory_operations: ' 8 ' })).maxConcurrentMemoryOperations).toBe(8);
    for (const bad of ['0', '-1', '2.5', 'many']) {
      expect(rejection(base({ max_concurrent_memory_operations: bad }))).toBe('max_concurrent_memory_operations must be a whole number from 1 to 1000 (default 20)');
    }
  });

  it('heartbeat_interval below 30 is refused, not silently raised', () => {
    expect(parseCredentials(base({ heartbeat_interval: '30' })).heartbeatIntervalSeconds).toBe(30);
    expect(rejection(base({ heartbeat_interval: '10' }))).toBe('heartbeat_interval must be at least 30 seconds (got 10)');
    expect(rejection(base({ heartbeat_interval: 'often' }))).toBe('heartbeat_interval must be a whole number from 1 to 86400 (default 120)');
  });

  it.each([
    ['', null], ['0', null], ['-3', null], ['soon', null], ['30', 30], [7, 7], ['1.5', 1.5],
  ])('memory_ttl_days %j → %j', (given, expected) => {
    expect(parseCredentials(base({ memory_ttl_days: given })).memoryTtlDays).toBe(expected);
  });

  it.each([
    ['', 90], ['abc', 90], ['0', 90], ['-1', 90], ['0.5', 1], ['30', 30],
  ])('checkpoint_ttl_days %j → %j', (given, expected) => {
    expect(parseCredentials(base({ checkpoint_ttl_days: given })).checkpointTtlDays).toBe(expected);
  });

  it('log_level: the four levels, any case, WARN as WARNING; others refused', () => {
    expect(parseCredentials(base({ log_level: 'debug' })).logLevel).toBe('DEBUG');
    expect(parseCredentials(base({ log_level: 'WARN' })).logLevel).toBe('WARNING');
    expect(rejection(base({ log_level: 'TRACE' }))).toBe('log_level must be one of INFO, DEBUG, WARNING, ERROR');
  });
});

describe('validateCredentials', () => {
  afterEach(() => {
    logger.level = 'info';
  });

  it('applies the log level', () => {
    validateCredentials(base({ log_level: 'ERROR' }));
    expect(logger.level).toBe('error');
    validateCredentials(base({ log_level: 'DEBUG' }));
    expect(logger.level).toBe('debug');
  });
});

describe('hash', () => {
  it('is stable across key order, fences and spacing, and changes with any setting', () => {
    const a = parseCredentials(base());
    const reordered = parseCredentials({
      local_embedder_json_secret: '```json\n' + JSON.stringify({ config: { embedding_dims: 1536, api_key: SECRET, model: 'text-embedding-3-small' }, provider: 'openai' }, null, 2) + '\n```',
      local_llm_json_secret: LLM,
    });
    expect(reordered.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(parseCredentials(base({ async_mode: 'false' })).hash).not.toBe(a.hash);
    expect(parseCredentials(base({ local_llm_json_secret: LLM.replace('gpt-4o-mini', 'gpt-4o') })).hash).not.toBe(a.hash);
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null }, skip: undefined })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('describeSettings shows providers and numbers, never config values', () => {
    const described = JSON.stringify(describeSettings(parseCredentials(vector({}))));
    expect(described).not.toContain(SECRET);
    expect(described).toContain('pgvector');
  });
});

describe('model pickers (the workspace\'s own models)', () => {
  const LLM_PICK = { provider: 'langgenius/openai/openai', model: 'gpt-4o-mini', model_type: 'llm', mode: 'chat', completion_params: { temperature: 0.2 }, type: 'model-selector' };
  const EMB_PICK = { provider: 'langgenius/openai/openai', model: 'text-embedding-3-small', model_type: 'text-embedding', type: 'model-selector' };
  const RR_PICK = { provider: 'langgenius/jina/jina', model: 'jina-reranker-v2', model_type: 'rerank' };

  it('a picker stands in for its JSON block, which may then be empty', () => {
    const settings = parseCredentials({ llm_model: LLM_PICK, embedding_model: EMB_PICK, rerank_model: RR_PICK });
    expect(settings.llm).toEqual({ provider: 'dify_workspace', config: { provider: LLM_PICK.provider, model: 'gpt-4o-mini', model_type: 'llm', mode: 'chat', completion_params: { temperature: 0.2 } } });
    expect(settings.embedder).toEqual({ provider: 'dify_workspace', config: { provider: EMB_PICK.provider, model: 'text-embedding-3-small', model_type: 'text-embedding' } });
    expect(settings.reranker).toEqual({ provider: 'dify_workspace', config: { provider: RR_PICK.provider, model: 'jina-reranker-v2', model_type: 'rerank' } });
    // No size to read from a picked embedder: the store's is left for the engine to measure.
    expect(settings.vectorStore.config.embedding_model_dims).toBeUndefined();
  });

  it('the picker wins over a JSON block given beside it', () => {
    const settings = parseCredentials(base({ llm_model: LLM_PICK }));
    expect(settings.llm.provider).toBe('dify_workspace');
    expect(settings.embedder.provider).toBe('openai');
  });

  it('writes needing a workspace model run in the call: async mode is off with a picked LLM or embedder, not with only a reranker', () => {
    expect(parseCredentials(base({ async_mode: true, llm_model: LLM_PICK })).asyncMode).toBe(false);
    expect(parseCredentials(base({ async_mode: true, embedding_model: EMB_PICK })).asyncMode).toBe(false);
    expect(parseCredentials(base({ async_mode: true, rerank_model: RR_PICK })).asyncMode).toBe(true);
  });

  it('reads a picker saved as a JSON string, and treats an empty one as not set', () => {
    expect(parseCredentials(base({ llm_model: JSON.stringify(LLM_PICK) })).llm.provider).toBe('dify_workspace');
    for (const empty of [null, '', '  ', {}, { type: 'model-selector' }]) expect(parseCredentials(base({ llm_model: empty })).llm.provider).toBe('openai');
  });

  it('names the picker when its value is not a usable model of its kind', () => {
    expect(rejection(base({ embedding_model: LLM_PICK }))).toBe('embedding_model: holds a llm model; pick a text-embedding model');
    expect(rejection(base({ llm_model: { provider: 'langgenius/openai/openai' } }))).toBe('llm_model: has no model; choose the model again');
    expect(rejection(base({ rerank_model: 'jina please' }))).toMatch(/^rerank_model: must be a model chosen with the picker/);
  });

  it('refuses the pickers\' provider name in a JSON block', () => {
    expect(rejection(base({ local_llm_json_secret: '{"provider": "dify_workspace", "config": {"model": "x"}}' }))).toMatch(/^local_llm_json_secret\.provider "dify_workspace" is not a provider block/);
  });
});
