/**
 * The CLI's local configuration: the same credential fields as the plugin's settings page in Dify
 * (provider/mem0ai.yaml `credentials_for_provider`), read from a YAML file or a `.env` file.
 *
 * YAML: one key per field; a JSON block may be written as YAML (a mapping) or as the JSON text Dify takes.
 * `.env`: `local_llm_json_secret={"provider":…}`; the names may also be upper case; other variables are ignored
 * there, since a `.env` also holds the runtime's own settings.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDotEnv } from '../runtime/config.js';
import { UsageError } from './args.js';

/** Reads a config file into credentials keyed by the declared field names. */
export function readConfigFile(file: string, fieldNames: readonly string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const known = new Set(fieldNames);
  const isEnv = path.basename(file).startsWith('.env') || file.endsWith('.env');
  if (isEnv) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(parseDotEnv(text))) {
      const name = key.toLowerCase();
      if (known.has(name)) out[name] = value;
    }
    return out;
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${file} must be a mapping of setting names to values`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!known.has(key)) throw new UsageError(`${file}: unknown setting "${key}"; the settings are ${fieldNames.join(', ')}`);
    if (value === null || value === undefined) continue;
    // Dify hands JSON blocks over as text; a mapping written in YAML becomes that text.
    out[key] = typeof value === 'object' ? JSON.stringify(value) : value;
  }
  return out;
}
