/**
 * Reaching a model provider WITHOUT spending tokens, for the credential check (is the LLM there, is its key
 * accepted?) and the keep-alive. Which providers have such a free endpoint is read from the one provider table
 * (config/provider-catalog.ts, through the key mapping of config/provider-config.ts):
 * - the OpenAI SDK route and every OpenAI-compatible one: the model list, `GET <base URL>/models` with the key;
 * - Ollama: its tags, `GET <host>/api/tags`;
 * - every other provider (its own SDK: Anthropic, Gemini, Bedrock, …), a refused one, and a workspace model picked on
 *   the settings page (reached only through the daemon, inside a call): no probe (null).
 * @module
 */
import { mapProviderConfig } from './config/provider-config.js';
import type { ProviderBlock } from './config/settings.js';
import { isWorkspaceModel } from './config/workspace-models.js';
import type { ProviderRole } from '../shared/errors.js';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** A free endpoint of the provider (no tokens), with its auth header; null when it has none we know. */
export function modelsEndpoint(block: ProviderBlock, role: ProviderRole = 'llm'): { url: string; headers: Record<string, string> } | null {
  if (isWorkspaceModel(block)) return null;
  let mapped: ReturnType<typeof mapProviderConfig>;
  try {
    mapped = mapProviderConfig(role, block);
  } catch {
    // A block this build cannot run: the provider factory refuses it, naming the field; nothing to probe.
    return null;
  }
  const { route, config } = mapped;
  const base = typeof config.baseURL === 'string' && config.baseURL.trim() !== '' ? config.baseURL.trim().replace(/\/+$/, '') : undefined;
  const key = typeof config.apiKey === 'string' && config.apiKey !== '' ? config.apiKey : undefined;
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (route.via === 'openai-compatible') {
    // Ollama is reached at <host>/v1 for its OpenAI API; its own tag list lives at the host.
    if (route.appendV1) return base ? { url: `${base.replace(/\/v1$/, '')}/api/tags`, headers: {} } : null;
    return base ? { url: `${base}/models`, headers } : null;
  }
  if (route.via === 'sdk' && route.sdk === 'openai' && (route.mem0 === 'openai' || route.mem0 === 'openai_structured')) {
    return { url: `${base ?? OPENAI_BASE_URL}/models`, headers };
  }
  return null;
}

export type ProbeResult =
  | { reachable: true; status: number }
  | { reachable: false; status?: number; detail: string };

/**
 * One probe of the provider's free endpoint: reachable when it answers anything but 401/403 (a server without a
 * model list still answers); the key refused on 401/403; unreachable on a network error or no answer in time.
 * null when the provider has no free endpoint we know. Never returns the key or the response body.
 */
export async function probeProvider(
  block: ProviderBlock,
  options: { role?: ProviderRole; timeoutMs: number; signal?: AbortSignal | undefined; fetch?: typeof fetch },
): Promise<ProbeResult | null> {
  const probe = modelsEndpoint(block, options.role);
  if (!probe) return null;
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  try {
    const res = await (options.fetch ?? fetch)(probe.url, { headers: probe.headers, signal: AbortSignal.any(signals) });
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) return { reachable: false, status: res.status, detail: `HTTP ${res.status} (key refused)` };
    return { reachable: true, status: res.status };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { reachable: false, detail: `no answer from ${origin(probe.url)} within ${Math.round(options.timeoutMs / 1000)} s` };
    }
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    return { reachable: false, detail: `cannot reach ${origin(probe.url)}${typeof code === 'string' ? ` (${code})` : ''}` };
  }
}

/** scheme://host:port of a URL, for messages (never a path with a key in it, never user:password). */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured endpoint';
  }
}
