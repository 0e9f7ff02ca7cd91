/**
 * THE filter compiler: a JSON filter over payload keys → one parameterised SQL boolean expression.
 *
 * Grammar (Mem0's metadata filters):
 * - `{"key": value}` — equality shorthand; several keys in one object are ANDed; `"*"` means "key is present";
 *   a bare array means `in`.
 * - `{"key": {"eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin"|"contains"|"icontains": value, ...}}` — operators on one
 *   key, ANDed.
 * - `{"AND": [f, ...]}`, `{"OR": [f, ...]}`, `{"NOT": f}` (or `{"NOT": [f, ...]}` = not all of them), nestable.
 *
 * Key names must match {@link FILTER_KEY_PATTERN} and are still passed as parameters (`payload->($n::text)`), never
 * spliced. Numbers compare numerically (only against numeric payload values), strings compare as text in the "C"
 * collation (so ISO timestamps order correctly). Every leaf is made two-valued (`COALESCE(…, false)`) so NOT is an
 * exact complement: `ne` and `nin` also match rows where the key is missing.
 *
 * Scope (user_id, agent_id) is never part of the filter: callers AND it outside, so a filter cannot widen it.
 * @module
 */
import { EngineError } from '../shared/errors.js';
import type { Params } from './sql.js';

/** Payload key names allowed in filters and metadata: letters (any script), digits, `_` and `-`; max 64. */
export const FILTER_KEY_PATTERN = /^[\p{L}\p{N}_][\p{L}\p{N}_-]{0,63}$/u;

export const FILTER_OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'contains', 'icontains'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

const LOGICAL = new Set(['AND', 'OR', 'NOT']);
const MAX_DEPTH = 8;
const MAX_CONDITIONS = 200;
const MAX_LIST = 1000;

type Scalar = string | number | boolean | null;

/** Parses filter input that may be JSON text; `null`, `undefined`, `""` and `{}` mean "no filter". */
export function parseFilterInput(input: unknown): Record<string, unknown> | null {
  let value = input;
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new EngineError('validation', `filters is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (value === null || value === undefined) return null;
  if (!isPlainObject(value)) throw new EngineError('validation', 'filters must be a JSON object');
  return Object.keys(value).length === 0 ? null : value;
}

/**
 * Compiles a filter into a SQL boolean expression over `column` (a jsonb column reference the caller controls),
 * adding values to `params`. Returns `TRUE` for no filter. Throws {@link EngineError} naming what is wrong.
 */
export function compileFilter(input: unknown, params: Params, column = 'payload'): string {
  const filter = parseFilterInput(input);
  if (filter === null) return 'TRUE';
  const state = { params, column, conditions: 0 };
  return compileNode(filter, state, 0, 'filters');
}

interface State {
  params: Params;
  column: string;
  conditions: number;
}

function compileNode(node: unknown, state: State, depth: number, where: string): string {
  if (depth > MAX_DEPTH) throw new EngineError('validation', `filters nest deeper than ${MAX_DEPTH} levels at ${where}`);
  if (!isPlainObject(node)) throw new EngineError('validation', `${where} must be an object`);
  const entries = Object.entries(node);
  if (entries.length === 0) throw new EngineError('validation', `${where} is an empty object`);
  const parts = entries.map(([key, value]) => {
    if (LOGICAL.has(key)) return compileLogical(key as 'AND' | 'OR' | 'NOT', value, state, depth, `${where}.${key}`);
    const upper = key.toUpperCase();
    if (LOGICAL.has(upper)) throw new EngineError('validation', `logical operator '${key}' must be written '${upper}'`);
    return compileKey(key, value, state, `${where}.${key}`);
  });
  return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
}

function compileLogical(op: 'AND' | 'OR' | 'NOT', value: unknown, state: State, depth: number, where: string): string {
  if (op === 'NOT') {
    const inner = Array.isArray(value)
      ? joinAll(value, 'AND', state, depth, where)
      : compileNode(value, state, depth + 1, where);
    return `(NOT ${inner})`;
  }
  if (!Array.isArray(value)) throw new EngineError('validation', `${where} must be an array of filters`);
  return joinAll(value, op, state, depth, where);
}

function joinAll(items: unknown[], op: 'AND' | 'OR', state: State, depth: number, where: string): string {
  if (items.length === 0) throw new EngineError('validation', `${where} is an empty array`);
  const parts = items.map((item, i) => compileNode(item, state, depth + 1, `${where}[${i}]`));
  return parts.length === 1 ? parts[0]! : `(${parts.join(` ${op} `)})`;
}

function compileKey(key: string, value: unknown, state: State, where: string): string {
  if (!FILTER_KEY_PATTERN.test(key)) {
    throw new EngineError('validation', 
      `invalid filter key ${JSON.stringify(key)} at ${where}: keys may contain only letters, digits, '_' and '-' (max 64)`,
    );
  }
  if (isPlainObject(value)) {
    const ops = Object.entries(value);
    if (ops.length === 0) throw new EngineError('validation', `${where} has no operator`);
    const parts = ops.map(([op, operand]) => {
      if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
        throw new EngineError('validation', 
          `unknown filter operator ${JSON.stringify(op)} on key '${key}'; allowed: ${FILTER_OPERATORS.join(', ')}`,
        );
      }
      return compileLeaf(key, op as FilterOperator, operand, state, `${where}.${op}`);
    });
    return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  }
  if (Array.isArray(value)) return compileLeaf(key, 'in', value, state, where);
  if (value === '*') {
    countCondition(state, where);
    return `(${state.column} ? ${state.params.add(key)}::text)`;
  }
  return compileLeaf(key, 'eq', value, state, where);
}

function compileLeaf(key: string, op: FilterOperator, operand: unknown, state: State, where: string): string {
  countCondition(state, where);
  if ((op === 'in' || op === 'nin') && scalarList(operand, key, op).length === 0) {
    return op === 'in' ? 'FALSE' : 'TRUE';
  }
  const k = `${state.params.add(key)}::text`;
  const json = `(${state.column}->${k})`;
  const text = `(${state.column}->>${k})`;
  switch (op) {
    case 'eq':
      return equals(json, text, scalar(operand, key, op), state.params);
    case 'ne':
      return `(NOT ${equals(json, text, scalar(operand, key, op), state.params)})`;
    case 'in':
    case 'nin': {
      const list = scalarList(operand, key, op);
      const any = `(${list.map((v) => equals(json, text, v, state.params)).join(' OR ')})`;
      return op === 'in' ? any : `(NOT ${any})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const sqlOp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[op];
      const v = operand;
      if (typeof v === 'number' && Number.isFinite(v)) {
        return `COALESCE(${numeric(json, text)} ${sqlOp} ${state.params.add(v)}::numeric, false)`;
      }
      if (typeof v === 'string') {
        return `COALESCE(${text} COLLATE "C" ${sqlOp} ${state.params.add(v)}::text COLLATE "C", false)`;
      }
      throw new EngineError('validation', `operator '${op}' on key '${key}' needs a number or a string`);
    }
    case 'contains':
    case 'icontains': {
      if (typeof operand !== 'string') throw new EngineError('validation', `operator '${op}' on key '${key}' needs a string`);
      const v = state.params.add(operand);
      if (op === 'contains') {
        return `COALESCE(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} @> jsonb_build_array(${v}::text) ELSE strpos(${text}, ${v}::text) > 0 END, false)`;
      }
      return `COALESCE(CASE WHEN jsonb_typeof(${json}) = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements_text(${json}) AS e(x) WHERE strpos(lower(e.x), lower(${v}::text)) > 0) ELSE strpos(lower(${text}), lower(${v}::text)) > 0 END, false)`;
    }
  }
}

/** Two-valued equality of a payload value with a JSON scalar. */
function equals(json: string, text: string, value: Scalar, params: Params): string {
  if (value === null) return `(COALESCE(jsonb_typeof(${json}), 'null') = 'null')`;
  if (typeof value === 'number') return `COALESCE(${numeric(json, text)} = ${params.add(value)}::numeric, false)`;
  if (typeof value === 'boolean') return `COALESCE(${json} = ${params.add(JSON.stringify(value))}::jsonb, false)`;
  return `COALESCE(${text} = ${params.add(value)}::text, false)`;
}

/** The payload value as numeric when it is a JSON number, else NULL (CASE keeps the cast from seeing text). */
function numeric(json: string, text: string): string {
  return `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN ${text}::numeric END)`;
}

function scalar(value: unknown, key: string, op: string): Scalar {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new EngineError('validation', `operator '${op}' on key '${key}' needs a string, number, boolean or null`);
}

function scalarList(value: unknown, key: string, op: string): Scalar[] {
  if (!Array.isArray(value)) throw new EngineError('validation', `operator '${op}' on key '${key}' needs an array`);
  if (value.length > MAX_LIST) throw new EngineError('validation', `operator '${op}' on key '${key}' has more than ${MAX_LIST} values`);
  return value.map((v) => scalar(v, key, op));
}

function countCondition(state: State, where: string): void {
  state.conditions += 1;
  if (state.conditions > MAX_CONDITIONS) {
    throw new EngineError('validation', `filters have more than ${MAX_CONDITIONS} conditions (at ${where})`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
