/**
 * Command line of `mem0ai-dify` / `npm run try --`: `<tool> [--param value …] [--config FILE] [--demo] [--json]`.
 * Tool parameters are taken by their declared names (`--user_id alice`, `--top_k=5`); a declared boolean may stand
 * alone (`--infer`). Values stay strings, as Dify sends them, and the tool's own parsing applies.
 * @module
 */
import type { ToolDeclaration } from '../runtime/declarations.js';

/** A mistake on the command line; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

export interface CliFlags {
  config?: string;
  demo: boolean;
  json: boolean;
  help: boolean;
}

export interface CliCommand extends CliFlags {
  /** A tool name, `demo`, `help` or `tools`; undefined when nothing was asked. */
  command?: string;
  /** Raw `--name value` pairs that are not CLI flags, in order. */
  params: Array<[string, string | true]>;
}

const BOOLEAN_FLAGS = new Set(['demo', 'json', 'help']);

/** Splits argv (after the script) into the command, the CLI's own flags and the tool parameters. */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  const out: CliCommand = { demo: false, json: false, help: false, params: [] };
  const args = argv[0] === 'try' ? argv.slice(1) : [...argv];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (out.command === undefined) out.command = arg;
      else throw new UsageError(`unexpected "${arg}": give parameters as --name value`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!name) throw new UsageError(`"${arg}" has no parameter name`);
    let value: string | true;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (BOOLEAN_FLAGS.has(name) || i + 1 >= args.length || (args[i + 1] as string).startsWith('--')) value = true;
    else value = args[++i] as string;
    if (BOOLEAN_FLAGS.has(name)) {
      out[name as 'demo' | 'json' | 'help'] = value === true || !['false', '0', 'no'].includes(value.toLowerCase());
    } else if (name === 'config') {
      if (value === true) throw new UsageError('--config needs a file: --config mem0ai-dify.yaml');
      out.config = value;
    } else {
      out.params.push([name, value]);
    }
  }
  return out;
}

/** Checks the parameters against the tool's declaration and returns them as Dify would send them. */
export function toolParameters(tool: ToolDeclaration, params: CliCommand['params']): Record<string, unknown> {
  const declared = new Map(tool.parameters.map((p) => [p.name, p]));
  const out: Record<string, unknown> = {};
  for (const [name, value] of params) {
    const declaration = declared.get(name);
    if (!declaration) {
      const names = [...declared.keys()].map((n) => `--${n}`).join(', ');
      throw new UsageError(`${tool.identity.name} has no parameter "${name}"; it takes ${names || 'none'}`);
    }
    if (value === true && declaration.type !== 'boolean') throw new UsageError(`--${name} needs a value`);
    out[name] = value === true ? 'true' : value;
  }
  const missing = tool.parameters.filter((p) => p.required && !(p.name in out)).map((p) => `--${p.name}`);
  if (missing.length > 0) throw new UsageError(`${tool.identity.name} needs ${missing.join(', ')}`);
  return out;
}
