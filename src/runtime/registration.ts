/**
 * Remote-debug registration: what the plugin sends after connecting to the daemon's debug port, in order:
 * handshake → manifest_declaration → tool_declaration → asset_chunk… → end (one `{"type","data"}` line each).
 *
 * Shapes follow how the daemon decodes them (langgenius/dify-plugin-daemon):
 * - envelope `RemotePluginRegisterPayload{type, data}`, `RemotePluginRegisterHandshake{key}` and
 *   `RemotePluginRegisterAssetChunk{filename, data, end}` (pkg/entities/plugin_entities/remote_entities.go);
 * - manifest_declaration → `PluginDeclaration` from JSON (plugin_declaration.go): the manifest's own keys, with
 *   `created_at` an RFC 3339 string (Go `time.Time`);
 * - tool_declaration → a JSON array of `ToolProviderDeclaration` (tool_declaration.go). Its JSON decoder wants
 *   `credentials_schema` as a LIST of `{name, type, required, default, options, label, help, url, placeholder}`:
 *   given a map it keeps the values but loses the keys, so the provider YAML's `credentials_for_provider` map is
 *   turned into a list with `name` filled in (as the Python SDK's model_dump does). `tools` holds the full tool
 *   objects (identity, description, parameters, output_schema, has_runtime_parameters), not file paths.
 * - assets: every file of `_assets/` by bare file name, like the Python SDK (the daemon remaps icon names to stored
 *   files), base64 of at most 8192 raw bytes per chunk; the daemon requires a non-empty `data`, so empty files are
 *   skipped.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Declarations, ToolDeclaration } from './declarations.js';

export const ASSET_CHUNK_BYTES = 8192;

export interface RegisterMessage {
  type: 'handshake' | 'manifest_declaration' | 'tool_declaration' | 'asset_chunk' | 'end';
  data: unknown;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function rfc3339(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' && !RFC3339.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return new Date(time).toISOString();
  }
  return value;
}

/** The manifest as the daemon's PluginDeclaration JSON. */
export function manifestDeclaration(declarations: Declarations): Record<string, unknown> {
  const manifest: Record<string, unknown> = { ...declarations.manifest };
  if ('created_at' in manifest) manifest.created_at = rfc3339(manifest.created_at);
  return manifest;
}

/** Option values are Go strings on the daemon side (the Python SDK stringifies them too): `10` becomes `"10"`. */
function options(list: unknown): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((option: unknown) =>
    option && typeof option === 'object' && 'value' in option
      ? { ...option, value: String((option as { value: unknown }).value) }
      : option,
  );
}

function toolJson(tool: ToolDeclaration): Record<string, unknown> {
  const out: Record<string, unknown> = {
    identity: tool.identity,
    description: tool.description,
    parameters: (tool.parameters ?? []).map((parameter) => ({ ...parameter, options: options(parameter.options) })),
    has_runtime_parameters: false,
  };
  if (tool.output_schema) out.output_schema = tool.output_schema;
  return out;
}

/** The provider and its tools as the daemon's ToolProviderDeclaration JSON (a one-element list). */
export function toolDeclaration(declarations: Declarations): Record<string, unknown>[] {
  const { provider } = declarations;
  const raw = provider.credentials_for_provider as unknown;
  const credentials = Array.isArray(raw)
    ? raw
    : Object.entries((raw ?? {}) as Record<string, Record<string, unknown>>).map(([name, credential]) => ({
        name,
        ...credential,
        options: options(credential.options),
      }));
  return [
    {
      identity: provider.identity,
      credentials_schema: credentials,
      tools: declarations.tools.map(toolJson),
    },
  ];
}

/** Icon file names the declarations point at (they should be among the assets). */
export function referencedIcons(declarations: Declarations): string[] {
  const identity = declarations.provider.identity as Record<string, unknown>;
  const names = [declarations.manifest.icon, declarations.manifest.icon_dark, identity.icon, identity.icon_dark];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n.length > 0))];
}

/** Files sent as assets: every regular, non-empty file directly in `_assets/`, by name, sorted. */
export function assetFiles(root: string): { filename: string; file: string }[] {
  const dir = path.join(root, '_assets');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names
    .map((filename) => ({ filename, file: path.join(dir, filename) }))
    .filter(({ file }) => {
      const stat = statSync(file, { throwIfNoEntry: false });
      return stat !== undefined && stat.isFile() && stat.size > 0;
    });
}

/** asset_chunk messages for one file's bytes; the last one has `end: true`. */
export function assetChunks(filename: string, bytes: Buffer): RegisterMessage[] {
  const chunks: RegisterMessage[] = [];
  for (let offset = 0; offset < bytes.length; offset += ASSET_CHUNK_BYTES) {
    const slice = bytes.subarray(offset, offset + ASSET_CHUNK_BYTES);
    chunks.push({
      type: 'asset_chunk',
      data: { filename, data: slice.toString('base64'), end: offset + ASSET_CHUNK_BYTES >= bytes.length },
    });
  }
  return chunks;
}

/** The registration sequence after the handshake: manifest, tools, assets, end. */
export function registrationMessages(declarations: Declarations): RegisterMessage[] {
  const messages: RegisterMessage[] = [
    { type: 'manifest_declaration', data: manifestDeclaration(declarations) },
    { type: 'tool_declaration', data: toolDeclaration(declarations) },
  ];
  for (const { filename, file } of assetFiles(declarations.root)) {
    messages.push(...assetChunks(filename, readFileSync(file)));
  }
  messages.push({ type: 'end', data: {} });
  return messages;
}

export function handshakeMessage(key: string): RegisterMessage {
  return { type: 'handshake', data: { key } };
}
