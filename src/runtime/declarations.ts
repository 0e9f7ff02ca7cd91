/**
 * Loads the Dify declarations (manifest.yaml → provider YAML → tool YAMLs) from the plugin folder.
 * The YAML files are the single source of truth for names, parameters and labels: the tool registry binds handlers
 * to them and remote registration sends them to the daemon as JSON.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export type I18nText = { en_US: string; zh_Hans?: string; ja_JP?: string; pt_BR?: string };

export interface ParameterOption {
  value: string;
  label: I18nText;
}

export interface ToolParameterDeclaration {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'select' | 'secret-input' | 'file' | 'files' | 'model-selector';
  /** model-selector: which models it offers (`llm`, `rerank`, …). */
  scope?: string;
  required?: boolean;
  form: 'llm' | 'form' | 'schema';
  default?: string | number | boolean | null;
  options?: ParameterOption[];
  min?: number;
  max?: number;
  label: I18nText;
  human_description: I18nText;
  llm_description?: string;
}

export interface ToolDeclaration {
  identity: { name: string; author: string; label: I18nText };
  description: { human: I18nText; llm: string };
  parameters: ToolParameterDeclaration[];
  output_schema?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export interface CredentialDeclaration {
  type: 'secret-input' | 'text-input' | 'select' | 'boolean' | 'model-selector';
  /** model-selector: which models it offers (`llm`, `text-embedding`, `rerank`, …; config.go isModelConfigScope). */
  scope?: string;
  required?: boolean;
  default?: string | number | boolean | null;
  options?: ParameterOption[];
  label: I18nText;
  help?: I18nText;
  placeholder?: I18nText;
  url?: string;
}

export interface ProviderDeclaration {
  identity: {
    author: string;
    name: string;
    label: I18nText;
    description: I18nText;
    icon: string;
    tags?: string[];
  };
  credentials_for_provider: Record<string, CredentialDeclaration>;
  tools: string[];
  extra?: Record<string, unknown>;
}

export interface Manifest {
  version: string;
  type: string;
  author: string;
  name: string;
  icon: string;
  label: I18nText;
  description: I18nText;
  created_at: string;
  resource: { memory: number; permission?: Record<string, unknown> };
  plugins: { tools: string[] };
  meta: { version: string; arch: string[]; runner: { language: string; version: string; entrypoint: string } };
  [key: string]: unknown;
}

export interface Declarations {
  /** Folder holding manifest.yaml. */
  root: string;
  manifest: Manifest;
  provider: ProviderDeclaration;
  /** Tools in the order the provider lists them. */
  tools: ToolDeclaration[];
}

/** The plugin folder: the parent of dist/ for the bundle, the repository root when run from source. */
export function pluginRoot(): string {
  if (process.env.PLUGIN_ROOT) return path.resolve(process.env.PLUGIN_ROOT);
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/plugin.js → ..; src/runtime/declarations.ts → ../..
  return path.basename(here) === 'dist' ? path.resolve(here, '..') : path.resolve(here, '..', '..');
}

function readYaml<T>(root: string, relative: string): T {
  const file = path.join(root, relative);
  try {
    return parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new Error(`cannot read declaration ${relative}: ${(error as Error).message}`, { cause: error });
  }
}

export function loadDeclarations(root: string = pluginRoot()): Declarations {
  const manifest = readYaml<Manifest>(root, 'manifest.yaml');
  const providerPath = manifest.plugins?.tools?.[0];
  if (!providerPath) throw new Error('manifest.yaml declares no tool provider under plugins.tools');
  const provider = readYaml<ProviderDeclaration>(root, providerPath);
  const tools = (provider.tools ?? []).map((toolPath) => readYaml<ToolDeclaration>(root, toolPath));
  return { root, manifest, provider, tools };
}
