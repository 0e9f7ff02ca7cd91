/**
 * Our filter JSON evaluated in the plugin, over a memory's payload, for vector stores reached through `mem0ai`
 * (their own filter support differs from store to store: Chroma has no `contains`, Qdrant no `NOT`, …). The
 * grammar and its checks are the SQL compiler's (src/store/filters.ts): a filter is validated by compiling it
 * there, so an invalid one fails with the same message; this module then gives the same answer the SQL would:
 * - equality shorthand, several keys ANDed, `"*"` = key present, a bare array = `in`;
 * - `eq`/`ne`/`in`/`nin` compare numbers as numbers, booleans as booleans, strings with the value's text;
 * - `gt`/`gte`/`lt`/`lte`: a number operand only matches numeric values; a string operand compares the value's
 *   text in code-point order (ISO timestamps order correctly);
 * - `contains`/`icontains`: an array value matches on an element, any other value on its text;
 * - every leaf is two-valued, so `ne`/`nin` also match a missing key and `NOT` is an exact complement.
 * @module
 */
import { compileFilter, parseFilterInput } from '../../store/filters.js';
import { Params } from '../../store/sql.js';

export type Filter = Record<string, unknown>;

/** Parses and checks a filter (JSON text or object). Null for no filter. @throws EngineError */
export function checkFilter(input: unknown): Filter | null {
  const filter = parseFilterInput(input);
  if (filter === null) return null;
  compileFilter(filter, new Params());
  return filter;
}

/** Whether `payload` satisfies a filter already passed through {@link checkFilter}. */
export function matchesFilter(payload: Record<string, unknown>, filter: Filter | null): boolean {
  if (filter === null) return true;
  return matchNode(payload, filter);
}

function matchNode(payload: Record<string, unknown>, node: Filter): boolean {
  for (const [key, value] of Object.entries(node)) {
    if (!matchEntry(payload, key, value)) return false;
  }
  return true;
}

function matchEntry(payload: Record<string, unknown>, key: string, value: unknown): boolean {
  if (key === 'AND') return (value as Filter[]).every((f) => matchNode(payload, f));
  if (key === 'OR') return (value as Filter[]).some((f) => matchNode(payload, f));
  if (key === 'NOT') {
    return Array.isArray(value) ? !(value as Filter[]).every((f) => matchNode(payload, f)) : !matchNode(payload, value as Filter);
  }
  if (isObject(value)) return Object.entries(value).every(([op, operand]) => leaf(payload, key, op, operand));
  if (Array.isArray(value)) return leaf(payload, key, 'in', value);
  if (value === '*') return Object.prototype.hasOwnProperty.call(payload, key);
  return leaf(payload, key, 'eq', value);
}

function leaf(payload: Record<string, unknown>, key: string, op: string, operand: unknown): boolean {
  const has = Object.prototype.hasOwnProperty.call(payload, key);
  const value = has ? payload[key] : undefined;
  switch (op) {
    case 'eq':
      return equals(value, operand);
    case 'ne':
      return !equals(value, operand);
    case 'in':
      return (operand as unknown[]).some((v) => equals(value, v));
    case 'nin':
      return !(operand as unknown[]).some((v) => equals(value, v));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      let cmp: number | null = null;
      if (typeof operand === 'number') {
        if (typeof value === 'number') cmp = value - operand;
      } else {
        const text = textOf(value);
        if (text !== null) cmp = compareCodePoints(text, operand as string);
      }
      if (cmp === null) return false;
      return op === 'gt' ? cmp > 0 : op === 'gte' ? cmp >= 0 : op === 'lt' ? cmp < 0 : cmp <= 0;
    }
    case 'contains':
    case 'icontains': {
      const needle = operand as string;
      const fold = op === 'icontains' ? (t: string) => t.toLowerCase() : (t: string) => t;
      if (Array.isArray(value)) {
        if (op === 'contains') return value.some((e) => typeof e === 'string' && e === needle);
        return value.some((e) => {
          const t = textOf(e);
          return t !== null && fold(t).includes(fold(needle));
        });
      }
      const text = textOf(value);
      return text !== null && fold(text).includes(fold(needle));
    }
    default:
      return false;
  }
}

/** SQL's two-valued equality of a payload value with a JSON scalar operand. */
function equals(value: unknown, operand: unknown): boolean {
  if (operand === null) return value === undefined || value === null;
  if (typeof operand === 'number') return typeof value === 'number' && value === operand;
  if (typeof operand === 'boolean') return value === operand;
  const text = textOf(value);
  return text !== null && text === operand;
}

/** PostgreSQL's `payload->>key`: strings as they are, other values as JSON text, null when missing or JSON null. */
function textOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
