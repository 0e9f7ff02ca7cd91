/**
 * The Dify declarations (manifest.yaml → provider/mem0ai.yaml → tools/*.yaml) against two contracts:
 * - the original plugin's names, parameters, required flags and defaults (docs/seed-plugin.md), and
 * - the rules the plugin daemon enforces when it loads them (langgenius/dify-plugin-daemon, file names in comments).
 * Each rule is a function returning problems, so the last block can prove the rules catch broken declarations.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDeclarations } from '../../src/runtime/declarations.js';
import type { Declarations, I18nText, ToolDeclaration } from '../../src/runtime/declarations.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LANGUAGES = ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR'] as const;

// The original's 12 tools in its order, then the tools this port adds, each with its full parameter list and the required
// ones (plus our additions to the original's tools: get_all_memories `offset`, for answers too big for one protocol line;
// add_memory `infer`, as Mem0's API has; search_memory `threshold`; the node's own workspace models: add_memory and
// extract_long_term_memory `llm_model`, search_memory `rerank_model`, because Dify's current credentials form does not
// render model pickers).
const SEED_TOOLS: Record<string, { params: string[]; required: string[] }> = {
  add_memory: {
    params: ['user', 'assistant', 'user_id', 'agent_id', 'run_id', 'metadata', 'infer', 'timeout', 'llm_model'],
    required: ['user', 'user_id'],
  },
  search_memory: {
    params: ['query', 'user_id', 'agent_id', 'run_id', 'filters', 'top_k', 'threshold', 'timeout', 'rerank_model'],
    required: ['query', 'user_id'],
  },
  get_all_memories: {
    params: ['user_id', 'agent_id', 'run_id', 'limit', 'offset', 'filters', 'timeout'],
    required: ['user_id'],
  },
  get_memory: { params: ['memory_id', 'run_id', 'timeout'], required: ['memory_id'] },
  update_memory: { params: ['memory_id', 'text', 'run_id', 'timeout'], required: ['memory_id', 'text'] },
  delete_memory: { params: ['memory_id', 'run_id', 'timeout'], required: ['memory_id'] },
  delete_all_memories: { params: ['user_id', 'agent_id', 'run_id', 'filters', 'dry_run', 'timeout'], required: ['user_id'] },
  get_memory_history: { params: ['memory_id', 'run_id', 'timeout'], required: ['memory_id'] },
  extract_long_term_memory: {
    params: [
      'user_ids',
      'app_id',
      'run_id',
      'days_back',
      'conversations_limit',
      'max_tokens_per_conversation',
      'time_budget',
      'dify_base_url',
      'dify_api_key',
      'llm_model',
    ],
    required: ['user_ids', 'app_id', 'dify_base_url', 'dify_api_key'],
  },
  check_extraction_status: { params: ['task_id'], required: ['task_id'] },
  get_user_checkpoint: { params: ['user_id', 'app_id'], required: ['user_id'] },
  forget_memories: { params: ['user_id', 'app_id', 'dry_run'], required: ['user_id'] },
  // Added in this port (issue 15 §3).
  export_memories: { params: ['user_id', 'app_id', 'filters', 'include_history', 'offset'], required: ['user_id'] },
  import_memories: { params: ['file', 'url', 'user_id'], required: [] },
  // Added in this port (issue 14: queued writes are observable).
  get_job_status: { params: ['job_id', 'run_id', 'timeout'], required: ['job_id'] },
};

// Defaults and clamps the original documents: [default, min, max].
const SEED_NUMBERS: Record<string, Record<string, [number | boolean, number | undefined, number | undefined]>> = {
  search_memory: { top_k: [5, 1, 100] },
  get_all_memories: { limit: [100, 1, 1000], offset: [0, 0, 1_000_000_000] },
  extract_long_term_memory: {
    days_back: [1, 1, 7],
    conversations_limit: [20, 10, 500],
    max_tokens_per_conversation: [64, 1, 200],
    time_budget: [60, 5, 1440],
  },
  forget_memories: { dry_run: [false, undefined, undefined] },
  add_memory: { infer: [true, undefined, undefined] },
};

// The settings page of the original, in its order: name → [type, required, default].
const SEED_CREDENTIALS: Record<string, [string, boolean, string | boolean | undefined]> = {
  async_mode: ['boolean', false, true],
  // Ours: the workspace's models (model pickers); with them the LLM and embedder blocks may be left empty.
  llm_model: ['model-selector', false, undefined],
  embedding_model: ['model-selector', false, undefined],
  rerank_model: ['model-selector', false, undefined],
  local_llm_json_secret: ['secret-input', false, undefined],
  local_embedder_json_secret: ['secret-input', false, undefined],
  // Required in the original; optional here so an empty field can select the embedded PGlite store (CONFIG.md).
  local_vector_db_json_secret: ['secret-input', false, undefined],
  local_graph_db_json_secret: ['secret-input', false, undefined],
  local_reranker_json_secret: ['secret-input', false, undefined],
  max_concurrent_memory_operations: ['text-input', false, '20'],
  heartbeat_interval: ['text-input', false, '120'],
  log_level: ['select', false, 'INFO'],
  memory_ttl_days: ['text-input', false, undefined],
  checkpoint_ttl_days: ['text-input', false, '90'],
};

// ---- daemon rules (langgenius/dify-plugin-daemon) -------------------------------------------------------------

// pkg/entities/manifest_entities/version.go: VERSION_PATTERN, used by the `version` validator on version and meta.version.
const VERSION = /^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/;
// internal/core/plugin_manager/debugging_runtime (RemotePluginRuntime.Identity): remote registration refuses others.
// pkg/entities/plugin_entities/plugin_declaration.go has the looser AuthorRegex {1,64} / PluginNameRegex {1,128}.
const AUTHOR = /^[a-z0-9_-]{1,64}$/;
const PLUGIN_NAME = /^[a-z0-9_-]{1,64}$/;
// tool_declaration.go: tool_identity_name and tool_provider_identity_name validators.
const TOOL_NAME = /^[a-zA-Z0-9_-]+$/;
// constants (is_available_arch, is_available_language).
const ARCHES = ['amd64', 'arm64'];
// tool_declaration.go isToolParameterType / isToolParameterForm.
const PARAMETER_TYPES = [
  'string', 'number', 'boolean', 'select', 'secret-input', 'file', 'files', 'app-selector', 'model-selector',
  'any', 'dynamic-select', 'array', 'object', 'checkbox', 'date', 'date-range',
];
const PARAMETER_FORMS = ['schema', 'form', 'llm'];
// config.go isCredentialType.
const CREDENTIAL_TYPES = ['secret-input', 'text-input', 'select', 'boolean', 'app-selector', 'model-selector'];
// manifest_entities/tags.go isPluginTag.
const TAGS = [
  'search', 'image', 'videos', 'weather', 'finance', 'design', 'travel', 'social', 'news', 'medical',
  'productivity', 'education', 'business', 'entertainment', 'utilities', 'agent', 'other', 'trigger',
];
// basic_type.go I18nObject: en_US `required,gt=0,lt=1024`, the others `lt=1024` (go-playground counts runes).
const I18N_MAX = 1023;

type Problems = string[];

/** Every text a user reads must exist in all four languages, be non-empty and fit the daemon's length limit. */
function i18nProblems(where: string, text: I18nText | undefined): Problems {
  if (!text || typeof text !== 'object') return [`${where}: missing`];
  const problems: Problems = [];
  for (const language of LANGUAGES) {
    const value = (text as Record<string, unknown>)[language];
    if (typeof value !== 'string' || value.trim() === '') problems.push(`${where}.${language}: missing or empty`);
    else if ([...value].length > I18N_MAX) problems.push(`${where}.${language}: longer than ${I18N_MAX} characters`);
  }
  return problems;
}

function manifestProblems(d: Declarations): Problems {
  const m = d.manifest;
  const problems: Problems = [];
  // plugin_declaration.go PluginDeclarationWithoutAdvancedFields
  if (!VERSION.test(String(m.version))) problems.push(`version ${m.version} is not x.y.z`);
  if (m.type !== 'plugin') problems.push('type must be plugin');
  if (!AUTHOR.test(String(m.author))) problems.push(`author ${m.author} must match ${AUTHOR}`);
  if (!PLUGIN_NAME.test(String(m.name))) problems.push(`name ${m.name} must match ${PLUGIN_NAME}`);
  if (typeof m.icon !== 'string' || m.icon === '' || m.icon.length > 128) problems.push('icon: required, max 128');
  problems.push(...i18nProblems('manifest.label', m.label), ...i18nProblems('manifest.description', m.description));
  // PluginResourceRequirement.Memory `required` on an int64: zero is rejected; bytes, so a whole number.
  if (!Number.isInteger(m.resource?.memory) || m.resource.memory <= 0) problems.push('resource.memory must be > 0');
  // PluginExtensions.Tools `dive,max=128`
  if (!m.plugins?.tools?.length) problems.push('plugins.tools is empty');
  for (const file of m.plugins?.tools ?? []) if (file.length > 128) problems.push(`plugins.tools ${file} too long`);
  // PluginMeta: version `version`, arch `required,dive,is_available_arch`, runner required
  if (!VERSION.test(String(m.meta?.version))) problems.push(`meta.version ${m.meta?.version} is not x.y.z`);
  if (!Array.isArray(m.meta?.arch) || m.meta.arch.length === 0) problems.push('meta.arch is empty');
  for (const arch of m.meta?.arch ?? []) if (!ARCHES.includes(arch)) problems.push(`meta.arch ${arch} not allowed`);
  // PluginRunner: language `is_available_language` (python only), version max 128, entrypoint max 256
  const runner = m.meta?.runner;
  if (runner?.language !== 'python') problems.push('meta.runner.language must be python');
  if (!runner?.version || runner.version.length > 128) problems.push('meta.runner.version: required, max 128');
  if (!runner?.entrypoint || runner.entrypoint.length > 256) problems.push('meta.runner.entrypoint: required, max 256');
  // CreatedAt time.Time `required`: must parse as an RFC 3339 timestamp (a YAML timestamp for the Go decoder).
  const createdAt = String(m.created_at ?? '');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(createdAt)) {
    problems.push(`created_at ${createdAt} is not RFC 3339`);
  } else if (Number.isNaN(Date.parse(createdAt))) problems.push(`created_at ${createdAt} is not a real date`);
  const minimum = m.meta?.['minimum_dify_version' as keyof typeof m.meta];
  if (minimum !== undefined && !VERSION.test(String(minimum))) problems.push('meta.minimum_dify_version not x.y.z');
  return problems;
}

function providerProblems(d: Declarations): Problems {
  const p = d.provider;
  const problems: Problems = [];
  // ToolProviderIdentity: author, name (tool_provider_identity_name), icon, label required; tags `plugin_tag`
  if (!p.identity?.author) problems.push('provider identity.author is required');
  if (!TOOL_NAME.test(String(p.identity?.name))) problems.push(`provider name ${p.identity?.name} is invalid`);
  if (!p.identity?.icon) problems.push('provider identity.icon is required');
  problems.push(...i18nProblems('provider.label', p.identity?.label));
  problems.push(...i18nProblems('provider.description', p.identity?.description));
  for (const tag of p.identity?.tags ?? []) if (!TAGS.includes(tag)) problems.push(`tag ${tag} is not a daemon tag`);
  // ProviderConfig (config.go): name `gt=0,lt=1024`, type `credential_type`, default `is_basic_type`,
  // options `lt=128,dive` with value `required,lt=128`, label required, help/placeholder I18nObject.
  for (const [name, credential] of Object.entries(p.credentials_for_provider ?? {})) {
    const where = `credential ${name}`;
    if (name.length === 0 || name.length > 1023) problems.push(`${where}: name length`);
    if (!CREDENTIAL_TYPES.includes(credential.type)) problems.push(`${where}: type ${credential.type} not allowed`);
    problems.push(...i18nProblems(`${where}.label`, credential.label));
    problems.push(...i18nProblems(`${where}.help`, credential.help));
    if (credential.type !== 'boolean' && credential.type !== 'select') {
      problems.push(...i18nProblems(`${where}.placeholder`, credential.placeholder));
    }
    const fallback = credential.default;
    if (fallback !== undefined && fallback !== null) {
      const expected = credential.type === 'boolean' ? 'boolean' : 'string';
      if (typeof fallback !== expected) problems.push(`${where}: default ${String(fallback)} is not a ${expected}`);
    }
    if (credential.type === 'select') {
      const options = credential.options ?? [];
      if (options.length === 0 || options.length >= 128) problems.push(`${where}: needs 1-127 options`);
      for (const option of options) {
        if (!option.value || option.value.length >= 128) problems.push(`${where}: option value ${option.value}`);
        problems.push(...i18nProblems(`${where}.option ${option.value}`, option.label));
      }
      if (fallback !== undefined && !options.some((option) => option.value === fallback)) {
        problems.push(`${where}: default ${String(fallback)} is not an option`);
      }
    }
  }
  return problems;
}

function toolProblems(tool: ToolDeclaration, file: string): Problems {
  const name = tool.identity?.name;
  const problems: Problems = [];
  // ToolIdentity: author required, name `tool_identity_name`, label required
  if (!TOOL_NAME.test(String(name))) problems.push(`${file}: tool name ${name} is invalid`);
  if (path.basename(file, '.yaml') !== name) problems.push(`${file}: file name differs from identity.name ${name}`);
  if (!tool.identity?.author) problems.push(`${name}: identity.author is required`);
  problems.push(...i18nProblems(`${name}.label`, tool.identity?.label));
  // ToolDescription: human (I18nObject) and llm both required
  problems.push(...i18nProblems(`${name}.description.human`, tool.description?.human));
  if (!tool.description?.llm?.trim()) problems.push(`${name}: description.llm is required`);
  const seen = new Set<string>();
  for (const parameter of tool.parameters ?? []) {
    const where = `${name}.${parameter.name}`;
    // ToolParameter: name `gt=0,lt=1024`, type `tool_parameter_type`, form `tool_parameter_form`,
    // label and human_description required
    if (!parameter.name || parameter.name.length > 1023) problems.push(`${where}: name length`);
    if (seen.has(parameter.name)) problems.push(`${where}: duplicate parameter`);
    seen.add(parameter.name);
    if (!PARAMETER_TYPES.includes(parameter.type)) problems.push(`${where}: type ${parameter.type} not allowed`);
    if (!PARAMETER_FORMS.includes(parameter.form)) problems.push(`${where}: form ${parameter.form} not allowed`);
    problems.push(...i18nProblems(`${where}.label`, parameter.label));
    problems.push(...i18nProblems(`${where}.human_description`, parameter.human_description));
    // Ours: a model only fills a parameter well when told its format and unit.
    if (!parameter.llm_description?.trim()) problems.push(`${where}: llm_description is empty`);
    if (typeof parameter.required !== 'boolean') problems.push(`${where}: required must be true or false`);
    const fallback = parameter.default;
    if (fallback !== undefined && fallback !== null) {
      const expected = { number: 'number', boolean: 'boolean' }[parameter.type as string] ?? 'string';
      if (typeof fallback !== expected) problems.push(`${where}: default ${String(fallback)} is not a ${expected}`);
    }
    const { min, max } = parameter;
    if ((min !== undefined || max !== undefined) && parameter.type !== 'number') {
      problems.push(`${where}: min/max only make sense on numbers`);
    }
    if (min !== undefined && typeof min !== 'number') problems.push(`${where}: min is not a number`);
    if (max !== undefined && typeof max !== 'number') problems.push(`${where}: max is not a number`);
    if (typeof min === 'number' && typeof max === 'number' && min > max) problems.push(`${where}: min > max`);
    if (typeof fallback === 'number') {
      if (typeof min === 'number' && fallback < min) problems.push(`${where}: default below min`);
      if (typeof max === 'number' && fallback > max) problems.push(`${where}: default above max`);
    }
    if (parameter.type === 'select' && !parameter.options?.length) problems.push(`${where}: select needs options`);
  }
  // ToolOutputSchema is free-form for the daemon; Dify reads it as a JSON Schema object.
  const schema = tool.output_schema as { type?: string; properties?: Record<string, unknown> } | undefined;
  if (schema !== undefined && (schema.type !== 'object' || typeof schema.properties !== 'object')) {
    problems.push(`${name}: output_schema must be an object schema with properties`);
  }
  return problems;
}

function allProblems(d: Declarations): Problems {
  return [
    ...manifestProblems(d),
    ...providerProblems(d),
    ...d.tools.flatMap((tool, index) => toolProblems(tool, d.provider.tools[index] ?? '?')),
  ];
}

// ---- the tests ---------------------------------------------------------------------------------------------------

const declarations = loadDeclarations(ROOT);

describe('declarations load', () => {
  it('reads manifest → provider → the tools in order (the original 12 first)', () => {
    expect(declarations.manifest.plugins.tools).toEqual(['provider/mem0ai.yaml']);
    expect(declarations.tools.map((tool) => tool.identity.name)).toEqual(Object.keys(SEED_TOOLS));
    expect(declarations.provider.tools).toEqual(Object.keys(SEED_TOOLS).map((name) => `tools/${name}.yaml`));
  });

  it('has no stray tool file that the provider does not list', () => {
    const files = readdirSync(path.join(ROOT, 'tools')).filter((file) => file.endsWith('.yaml'));
    expect(files.sort()).toEqual(Object.keys(SEED_TOOLS).map((name) => `${name}.yaml`).sort());
  });

  it('names the plugin mem0ai by mem0-ts, version 0.3.0, everywhere', () => {
    const { manifest, provider, tools } = declarations;
    expect([manifest.name, manifest.author, manifest.version]).toEqual(['mem0ai', 'mem0-ts', '0.3.0']);
    // The daemon sends provider = identity.name with every request; the runtime routes on it.
    expect([provider.identity.name, provider.identity.author]).toEqual(['mem0ai', 'mem0-ts']);
    for (const tool of tools) expect(tool.identity.author).toBe('mem0-ts');
  });
});

describe('daemon rules', () => {
  it('manifest passes the strict checks', () => {
    expect(manifestProblems(declarations)).toEqual([]);
  });

  it('provider identity and credentials pass the checks', () => {
    expect(providerProblems(declarations)).toEqual([]);
  });

  it.each(Object.keys(SEED_TOOLS))('tool %s passes the checks', (name) => {
    const index = declarations.tools.findIndex((tool) => tool.identity.name === name);
    expect(index).toBeGreaterThanOrEqual(0);
    expect(toolProblems(declarations.tools[index]!, declarations.provider.tools[index]!)).toEqual([]);
  });

  it('icons exist under _assets, are SVG and fit one 8 KiB asset chunk', () => {
    // decoder CheckAssetsValid / media_transport RemapAssets look up manifest.icon and tool identity.icon in _assets;
    // remote registration sends each asset as base64 chunks of <= 8192 raw bytes.
    for (const icon of new Set([declarations.manifest.icon, declarations.provider.identity.icon])) {
      const file = path.join(ROOT, '_assets', icon);
      expect(existsSync(file), `${icon} in _assets`).toBe(true);
      expect(statSync(file).size).toBeLessThanOrEqual(8192);
      expect(readFileSync(file, 'utf8')).toMatch(/^<svg[\s>][\s\S]*<\/svg>\s*$/);
    }
  });
});

describe('the original contract', () => {
  it.each(Object.entries(SEED_TOOLS))('%s has exactly the original parameters and required flags', (name, seed) => {
    const tool = declarations.tools.find((candidate) => candidate.identity.name === name)!;
    expect(tool.parameters.map((parameter) => parameter.name)).toEqual(seed.params);
    const required = tool.parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name);
    expect(required).toEqual(seed.required);
  });

  it('run_id is an llm string and timeout a form number wherever they appear', () => {
    for (const tool of declarations.tools) {
      for (const parameter of tool.parameters) {
        if (parameter.name === 'run_id') expect([parameter.type, parameter.form]).toEqual(['string', 'llm']);
        if (parameter.name === 'timeout') {
          expect([parameter.type, parameter.form, parameter.required]).toEqual(['number', 'form', false]);
        }
      }
    }
  });

  it('every number parameter declares both min and max (the one number rule: below min an ERROR, above max clamped and reported)', () => {
    for (const tool of declarations.tools) {
      for (const parameter of tool.parameters.filter((candidate) => candidate.type === 'number')) {
        expect({ tool: tool.identity.name, name: parameter.name, min: typeof parameter.min, max: typeof parameter.max }).toEqual({
          tool: tool.identity.name, name: parameter.name, min: 'number', max: 'number',
        });
      }
    }
  });

  it('numbers and switches keep the original defaults and clamps', () => {
    for (const [toolName, parameters] of Object.entries(SEED_NUMBERS)) {
      const tool = declarations.tools.find((candidate) => candidate.identity.name === toolName)!;
      for (const [name, [fallback, min, max]] of Object.entries(parameters)) {
        const parameter = tool.parameters.find((candidate) => candidate.name === name)!;
        expect({ tool: toolName, name, default: parameter.default, min: parameter.min, max: parameter.max }).toEqual({
          tool: toolName,
          name,
          default: fallback,
          min,
          max,
        });
      }
    }
  });

  it('the API key for extraction is a secret set in the node, never filled by the model', () => {
    const tool = declarations.tools.find((candidate) => candidate.identity.name === 'extract_long_term_memory')!;
    const key = tool.parameters.find((parameter) => parameter.name === 'dify_api_key')!;
    expect([key.type, key.form]).toEqual(['secret-input', 'form']);
  });

  it('the settings page has every original credential with its type and default', () => {
    const credentials = declarations.provider.credentials_for_provider;
    expect(Object.keys(credentials)).toEqual(Object.keys(SEED_CREDENTIALS));
    for (const [name, [type, required, fallback]] of Object.entries(SEED_CREDENTIALS)) {
      const credential = credentials[name]!;
      expect({ name, type: credential.type, required: credential.required ?? false, default: credential.default }).toEqual(
        { name, type, required, default: fallback },
      );
    }
    expect(credentials.log_level!.options!.map((option) => option.value)).toEqual(['INFO', 'DEBUG', 'WARNING', 'ERROR']);
  });

  it('each model picker offers models of its kind, and the manifest asks for exactly those model calls', () => {
    const credentials = declarations.provider.credentials_for_provider;
    // config.go isModelConfigScope: llm, text-embedding, rerank (among others).
    expect([credentials.llm_model?.scope, credentials.embedding_model?.scope, credentials.rerank_model?.scope]).toEqual(['llm', 'text-embedding', 'rerank']);
    // plugin_declaration.go PluginPermissionModelRequirement; the daemon refuses an invoke type not allowed here.
    expect(declarations.manifest.resource.permission).toEqual({
      storage: { enabled: true, size: 1024 },
      model: { enabled: true, llm: true, text_embedding: true, rerank: true },
    });
  });
});

describe('the checks catch broken declarations', () => {
  const broken = (change: (copy: Declarations) => void): Problems => {
    const copy = structuredClone(declarations);
    change(copy);
    return allProblems(copy);
  };

  it('finds nothing wrong in the real declarations', () => {
    expect(allProblems(declarations)).toEqual([]);
  });

  it('a missing zh_Hans label fails', () => {
    const problems = broken((copy) => {
      delete copy.tools[0]!.parameters[0]!.label.zh_Hans;
    });
    expect(problems).toEqual(['add_memory.user.label.zh_Hans: missing or empty']);
  });

  it('an empty pt_BR help text, an unknown type and a bad form fail', () => {
    const problems = broken((copy) => {
      copy.provider.credentials_for_provider.log_level!.help!.pt_BR = ' ';
      (copy.tools[1]!.parameters[0] as { type: string }).type = 'text';
      (copy.tools[1]!.parameters[1] as { form: string }).form = 'user';
    });
    expect(problems).toEqual([
      'credential log_level.help.pt_BR: missing or empty',
      'search_memory.query: type text not allowed',
      'search_memory.user_id: form user not allowed',
    ]);
  });

  it('manifest rules reject what the daemon rejects', () => {
    const problems = broken((copy) => {
      copy.manifest.author = 'Mem0-TS';
      copy.manifest.version = '0.3';
      copy.manifest.resource.memory = 0;
      copy.manifest.meta.arch = ['x86'];
      copy.manifest.meta.runner.language = 'nodejs';
      copy.manifest.created_at = '21/11/2026';
    });
    expect(problems).toEqual([
      'version 0.3 is not x.y.z',
      `author Mem0-TS must match ${AUTHOR}`,
      'resource.memory must be > 0',
      'meta.arch x86 not allowed',
      'meta.runner.language must be python',
      'created_at 21/11/2026 is not RFC 3339',
    ]);
  });

  it('a default of the wrong type, a bad tag and a renamed tool fail', () => {
    const problems = broken((copy) => {
      copy.tools[1]!.parameters.find((parameter) => parameter.name === 'top_k')!.default = '5';
      copy.provider.identity.tags = ['memory'];
      copy.tools[3]!.identity.name = 'get memory';
    });
    expect(problems).toEqual([
      'tag memory is not a daemon tag',
      'search_memory.top_k: default 5 is not a number',
      'tools/get_memory.yaml: tool name get memory is invalid',
      'tools/get_memory.yaml: file name differs from identity.name get memory',
    ]);
  });
});
