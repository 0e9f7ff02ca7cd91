// Fixture declarations for the tool tests: the 12 tools with the parameters the seed documents, built in code so the
// tests do not depend on the YAML files (a separate test binds the real ones).
import type { ToolDeclaration, ToolParameterDeclaration } from '../../src/runtime/declarations.js';

type Extra = Partial<Omit<ToolParameterDeclaration, 'name' | 'type'>>;

export function param(name: string, type: ToolParameterDeclaration['type'], extra: Extra = {}): ToolParameterDeclaration {
  return { name, type, form: 'llm', label: { en_US: name }, human_description: { en_US: name }, ...extra };
}

export function tool(name: string, parameters: ToolParameterDeclaration[]): ToolDeclaration {
  return { identity: { name, author: 'test', label: { en_US: name } }, description: { human: { en_US: name }, llm: name }, parameters };
}

const required = { required: true };
const timeout = param('timeout', 'number', { form: 'form', min: 0, max: 60 });
const runId = param('run_id', 'string');
const scope = [param('user_id', 'string', required), param('agent_id', 'string'), runId];
const memoryId = param('memory_id', 'string', required);

export const FIXTURE_TOOLS: ToolDeclaration[] = [
  tool('add_memory', [param('user', 'string', required), param('assistant', 'string'), ...scope, param('metadata', 'string'), param('infer', 'boolean', { form: 'form', default: true }), timeout, param('llm_model', 'model-selector', { form: 'form' })]),
  tool('search_memory', [param('query', 'string', required), ...scope, param('filters', 'string'), param('top_k', 'number', { default: 5, min: 1, max: 100 }), param('threshold', 'number', { min: 0, max: 1 }), timeout, param('rerank_model', 'model-selector', { form: 'form' })]),
  tool('get_all_memories', [...scope, param('limit', 'number', { default: 100, min: 1, max: 1000 }), param('offset', 'number', { default: 0, min: 0, max: 1_000_000_000 }), param('filters', 'string'), timeout]),
  tool('get_memory', [memoryId, runId, timeout]),
  tool('update_memory', [memoryId, param('text', 'string', required), runId, timeout]),
  tool('delete_memory', [memoryId, runId, timeout]),
  tool('delete_all_memories', [...scope, param('filters', 'string'), param('dry_run', 'boolean', { form: 'form', default: false }), timeout]),
  tool('get_memory_history', [memoryId, runId, timeout]),
  tool('extract_long_term_memory', [
    param('user_ids', 'string', required),
    param('app_id', 'string', required),
    runId,
    param('days_back', 'number', { form: 'form', default: 1, min: 1, max: 7 }),
    param('conversations_limit', 'number', { form: 'form', default: 20, min: 10, max: 500 }),
    param('max_tokens_per_conversation', 'number', { form: 'form', default: 64, min: 1, max: 200 }),
    param('time_budget', 'number', { form: 'form', default: 60, min: 5, max: 1440 }),
    param('dify_base_url', 'string', { form: 'form', required: true }),
    param('dify_api_key', 'secret-input', { form: 'form', required: true }),
    param('llm_model', 'model-selector', { form: 'form' }),
  ]),
  tool('check_extraction_status', [param('task_id', 'string', required)]),
  tool('get_user_checkpoint', [param('user_id', 'string', required), param('app_id', 'string')]),
  tool('forget_memories', [param('user_id', 'string', required), param('app_id', 'string'), param('dry_run', 'boolean', { form: 'form', default: false })]),
  tool('export_memories', [
    param('user_id', 'string', required), param('app_id', 'string'), param('filters', 'string'),
    param('include_history', 'boolean', { form: 'form', default: false }), param('offset', 'number', { default: 0, min: 0, max: 1000000000 }),
  ]),
  tool('import_memories', [param('file', 'file'), param('url', 'string', { form: 'form' }), param('user_id', 'string')]),
  tool('get_job_status', [param('job_id', 'string', required), runId, timeout]),
];

export function fixture(name: string): ToolDeclaration {
  const found = FIXTURE_TOOLS.find((declaration) => declaration.identity.name === name);
  if (!found) throw new Error(`no fixture for ${name}`);
  return found;
}

/** A credential set that parses (no network is touched: this version makes no round trip). */
export const CREDENTIALS = {
  local_llm_json_secret: '{"provider": "openai", "config": {"model": "gpt-4o-mini", "api_key": "sk-test-llm"}}',
  local_embedder_json_secret: '{"provider": "openai", "config": {"model": "text-embedding-3-small", "api_key": "sk-test-emb"}}',
};

export const UUID = '0b6f2a4e-3c1d-4e5f-8a9b-1c2d3e4f5a6b';

/** A complete valid call of each tool: its required parameters only (values the probes of other tests differ from). */
export const VALID_CALLS: Record<string, Record<string, unknown>> = {
  add_memory: { user: 'I love Italian food', user_id: 'alex' },
  search_memory: { query: 'food', user_id: 'alex' },
  get_all_memories: { user_id: 'alex' },
  get_memory: { memory_id: UUID },
  update_memory: { memory_id: UUID, text: 'likes pasta' },
  delete_memory: { memory_id: UUID },
  delete_all_memories: { user_id: 'alex' },
  get_memory_history: { memory_id: UUID },
  extract_long_term_memory: { user_ids: 'alex,bo', app_id: 'app-1', dify_base_url: 'https://api.dify.ai/v1', dify_api_key: 'app-SECRET-value' },
  check_extraction_status: { task_id: 'extract_0123456789ab' },
  get_user_checkpoint: { user_id: 'alex' },
  forget_memories: { user_id: 'alex' },
  export_memories: { user_id: 'alex' },
  import_memories: { url: 'https://example.com/memories.jsonl' },
  get_job_status: { job_id: '7d3c1b2a-9e8f-4a6b-8c5d-4e3f2a1b0c9d' },
};
