/**
 * Binds each tool declared in YAML to its handler module. The YAML is the source of truth for names and parameters;
 * the registry refuses to start when the two disagree, so a renamed parameter fails at startup, not in a workflow.
 * @module
 */
import type { ToolDeclaration } from '../runtime/declarations.js';
import { addMemory } from './add-memory.js';
import { checkExtractionStatus } from './check-extraction-status.js';
import { deleteAllMemories } from './delete-all-memories.js';
import { deleteMemory } from './delete-memory.js';
import { extractLongTermMemory } from './extract-long-term-memory.js';
import { exportMemories } from './export-memories.js';
import { forgetMemories } from './forget-memories.js';
import { getAllMemories } from './get-all-memories.js';
import { getJobStatus } from './get-job-status.js';
import { getMemoryHistory } from './get-memory-history.js';
import { getMemory } from './get-memory.js';
import { getUserCheckpoint } from './get-user-checkpoint.js';
import { importMemories } from './import-memories.js';
import type { ToolDefinition } from './schemas.js';
import { searchMemory } from './search-memory.js';
import { updateMemory } from './update-memory.js';

/** The handler modules, one per tool. */
export const TOOL_DEFINITIONS: readonly ToolDefinition[] = [
  addMemory,
  searchMemory,
  getAllMemories,
  getMemory,
  updateMemory,
  deleteMemory,
  deleteAllMemories,
  getMemoryHistory,
  extractLongTermMemory,
  checkExtractionStatus,
  getUserCheckpoint,
  forgetMemories,
  exportMemories,
  importMemories,
  getJobStatus,
] as readonly ToolDefinition[];

export interface BoundTool {
  declaration: ToolDeclaration;
  definition: ToolDefinition;
}

/**
 * @throws Error listing every mismatch: a declared tool without a handler, a handler without a declaration, a
 * duplicate, or a parameter present on one side only.
 */
export function bindTools(declarations: readonly ToolDeclaration[], definitions: readonly ToolDefinition[] = TOOL_DEFINITIONS): Map<string, BoundTool> {
  const problems: string[] = [];
  const handlers = new Map(definitions.map((definition) => [definition.name, definition]));
  const bound = new Map<string, BoundTool>();
  for (const declaration of declarations) {
    const name = declaration.identity?.name;
    const definition = handlers.get(name);
    if (bound.has(name)) problems.push(`tool "${name}" is declared twice`);
    else if (!definition) problems.push(`tool "${name}" is declared but has no handler module`);
    else {
      problems.push(...parameterProblems(declaration, definition));
      bound.set(name, { declaration, definition });
    }
  }
  for (const definition of definitions) {
    if (!declarations.some((declaration) => declaration.identity?.name === definition.name)) {
      problems.push(`handler "${definition.name}" has no tool declaration (tools/${definition.name}.yaml listed in the provider YAML)`);
    }
  }
  if (problems.length > 0) throw new Error(`tool registry does not match the declarations: ${problems.join('; ')}`);
  return bound;
}

function parameterProblems(declaration: ToolDeclaration, definition: ToolDefinition): string[] {
  const declared = (declaration.parameters ?? []).map((parameter) => parameter.name);
  const accepted = Object.keys(definition.schema.shape);
  return [
    ...declared.filter((name) => !accepted.includes(name)).map((name) => `tool "${definition.name}": parameter "${name}" is declared but the handler does not take it`),
    ...accepted.filter((name) => !declared.includes(name)).map((name) => `tool "${definition.name}": the handler takes parameter "${name}" which is not declared`),
  ];
}
