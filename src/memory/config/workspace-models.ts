/**
 * The settings page's model pickers (Dify's `model-selector` credential type): a model the Dify workspace already
 * has configured, reached through the daemon (backwards invocation) instead of a provider block with an API key.
 *
 * Dify saves a picker as `{provider, model, model_type, mode?, completion_params?, type: "model-selector"}` (its
 * web form adds `type`; `provider` is the model plugin's id, e.g. `langgenius/openai/openai`). A picked model
 * becomes a {@link ProviderBlock} whose provider is {@link WORKSPACE_PROVIDER}, so the rest of the settings (hash,
 * logs, the providers factory) treat it like any other block. Pure: no I/O.
 * @module
 */
import { EngineError } from '../../shared/errors.js';
import type { ProviderRole } from '../../shared/errors.js';
import type { ProviderBlock } from './settings.js';

/** The provider name of a block built from a picker; never accepted in a JSON block. */
export const WORKSPACE_PROVIDER = 'dify_workspace';

/** The picker credential fields and their English labels (as on the settings page), per role. */
export const PICKERS: Record<ProviderRole, { field: string; label: string; modelType: string }> = {
  llm: { field: 'llm_model', label: 'LLM', modelType: 'llm' },
  embedder: { field: 'embedding_model', label: 'Embedding model', modelType: 'text-embedding' },
  reranker: { field: 'rerank_model', label: 'Rerank model (optional)', modelType: 'rerank' },
};

/** What a workspace block's config holds (the daemon's BaseRequestInvokeModel plus the LLM's mode and parameters). */
export interface WorkspaceModelConfig extends Record<string, unknown> {
  provider: string;
  model: string;
  model_type: string;
  /** LLM only: `chat` or `completion` (Dify's LLM mode); `chat` when the picker did not say. */
  mode?: string;
  /** LLM only: the parameters set next to the picker (temperature, max_tokens, …), sent as given. */
  completion_params?: Record<string, unknown>;
}

export function isWorkspaceModel(block: ProviderBlock | null | undefined): boolean {
  return block?.provider === WORKSPACE_PROVIDER;
}

/** `the workspace model "gpt-4o-mini" (langgenius/openai/openai) picked in "LLM"`, for messages (no secrets in it). */
export function describeWorkspaceModel(role: ProviderRole, block: ProviderBlock): string {
  const config = block.config as WorkspaceModelConfig;
  return `the workspace model "${String(config.model).slice(0, 80)}" (${String(config.provider).slice(0, 80)}) picked in "${PICKERS[role].label}"`;
}

function fail(field: string, message: string): never {
  throw new EngineError('credentials', `${field}: ${message}`, { field });
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * One picker's value → a workspace block, or null when the picker is empty. A JSON string is accepted too (a
 * credential set written by hand or by the command line).
 * @throws EngineError `credentials` naming the picker field.
 */
export function parsePicker(role: ProviderRole, raw: unknown): ProviderBlock | null {
  const { field, modelType } = PICKERS[role];
  let value = raw;
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    try {
      value = JSON.parse(value);
    } catch {
      fail(field, 'must be a model chosen with the picker ({"provider": ..., "model": ...}), not free text');
    }
  }
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) fail(field, 'must be a model chosen with the picker');
  const picked = value as Record<string, unknown>;
  // An untouched picker can come back as an object without a model: that is "not set".
  if (!nonEmpty(picked.model) && !nonEmpty(picked.provider)) return null;
  if (!nonEmpty(picked.provider)) fail(field, 'has no provider; choose the model again');
  if (!nonEmpty(picked.model)) fail(field, 'has no model; choose the model again');
  if (picked.model_type !== undefined && picked.model_type !== modelType) {
    fail(field, `holds a ${String(picked.model_type).slice(0, 40)} model; pick a ${modelType} model`);
  }
  const config: WorkspaceModelConfig = { provider: picked.provider.trim(), model: picked.model.trim(), model_type: modelType };
  if (role === 'llm') {
    config.mode = nonEmpty(picked.mode) ? picked.mode.trim() : 'chat';
    const params = picked.completion_params;
    if (params !== undefined && params !== null) {
      if (typeof params !== 'object' || Array.isArray(params)) fail(field, 'completion_params must be an object');
      config.completion_params = params as Record<string, unknown>;
    }
  }
  return { provider: WORKSPACE_PROVIDER, config };
}
