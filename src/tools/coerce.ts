/**
 * Turns the parameters Dify sends into the types the tool YAML declares. Dify (and the LLMs filling `form: llm`
 * parameters) send numbers as numbers or strings (" 5 ", "5.0", "1e2"), booleans as true/"true"/"1"/"yes"/1 and so on,
 * and "not given" as a missing key, null or an empty string. This is the first, declaration-driven pass; each tool's
 * zod schema applies the tool's own rules afterwards.
 * @module
 */
import type { ToolParameterDeclaration } from '../runtime/declarations.js';
import { ValidationError } from './errors.js';
import type { Text } from './i18n.js';

type Coerced = { ok: true; value: unknown; warning?: Text } | { ok: false; issue: Text };

/** The coerced values and what the caller should be told about them (clamps, ignored parameters). */
export interface Coercion {
  values: Record<string, unknown>;
  warnings: Text[];
}

/** Boolean spellings accepted, after NFKC normalisation, trimming and lower-casing. */
const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true, false: false, '1': true, '0': false, yes: true, no: false, y: true, n: false, on: true, off: false,
  '是': true, '否': false, '真': true, '假': false, 'はい': true, 'いいえ': false, sim: true, 'não': false, nao: false,
};

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A value counts as "not given" when it is absent, null, or a string of only whitespace. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** How a value appears in a message: quoted, cut to 40 characters, and never shown for a secret parameter. */
export function showValue(value: unknown, secret = false): string {
  if (secret) return '(hidden)';
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return shown.length > 40 ? `${shown.slice(0, 39)}…` : shown;
}

function fail(key: string, parameter: ToolParameterDeclaration, value: unknown, extra: Text['params'] = {}): Coerced {
  const secret = parameter.type === 'secret-input';
  return { ok: false, issue: { key, params: { name: parameter.name, value: showValue(value, secret), ...extra } } };
}

function toNumber(parameter: ToolParameterDeclaration, value: unknown): Coerced {
  let number: number | undefined;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string') {
    const text = value.normalize('NFKC').trim();
    if (DECIMAL.test(text)) number = Number(text);
  }
  if (number === undefined || !Number.isFinite(number)) return fail('param.not_number', parameter, value);
  // One rule for every number: below the declared minimum is an error; above the maximum is clamped and reported.
  if (parameter.min !== undefined && parameter.min !== null && number < parameter.min) return fail('param.min', parameter, number, { min: parameter.min });
  if (parameter.max !== undefined && parameter.max !== null && number > parameter.max) {
    return { ok: true, value: parameter.max, warning: { key: 'warn.clamped', params: { name: parameter.name, value: number, max: parameter.max } } };
  }
  return { ok: true, value: number };
}

function toBoolean(parameter: ToolParameterDeclaration, value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value };
  if (value === 1 || value === 0) return { ok: true, value: value === 1 };
  if (typeof value === 'string') {
    const word = BOOLEAN_WORDS[value.normalize('NFKC').trim().toLowerCase()];
    if (word !== undefined) return { ok: true, value: word };
  }
  return fail('param.not_boolean', parameter, value);
}

function toSelect(parameter: ToolParameterDeclaration, value: unknown): Coerced {
  const options = (parameter.options ?? []).map((option) => option.value);
  const extra = { options: options.join(', ') };
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return fail('param.not_option', parameter, value, extra);
  const text = String(value).trim();
  if (options.length === 0) return { ok: true, value: text };
  const match = options.find((option) => option === text) ?? options.find((option) => option.toLowerCase() === text.toLowerCase());
  return match === undefined ? fail('param.not_option', parameter, value, extra) : { ok: true, value: match };
}

function toText(parameter: ToolParameterDeclaration, value: unknown): Coerced {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number') return { ok: true, value: String(value) };
  // An id (user_id, memory_id, …) is text or a number. A boolean or an object there is a wiring mistake that would
  // otherwise file memories under "true" or under the object's JSON, where the caller never looks again.
  if (parameter.name.endsWith('_id')) return fail('param.not_text', parameter, value);
  if (typeof value === 'boolean') return { ok: true, value: String(value) };
  // An LLM may fill a JSON-string parameter (metadata, filters) with the object itself: keep it as JSON text.
  if (typeof value === 'object' && value !== null) return { ok: true, value: JSON.stringify(value) };
  return fail('param.not_text', parameter, value);
}

function coerceOne(parameter: ToolParameterDeclaration, value: unknown): Coerced {
  switch (parameter.type) {
    case 'number':
      return toNumber(parameter, value);
    case 'boolean':
      return toBoolean(parameter, value);
    case 'select':
      return toSelect(parameter, value);
    case 'string':
    case 'secret-input':
      return toText(parameter, value);
    default:
      return { ok: true, value };
  }
}

/**
 * Coerces every declared parameter. Not given → the declared default (if any) → absent. A number below the
 * declaration's min fails; above its max it is clamped, with a warning. Parameters in `lenient` fall back to "not
 * given" when malformed instead of failing (the seed's rule for `timeout`), with a warning. Parameters in `keepBlank`
 * keep a given blank string as it is (the tool decides what empty text means, e.g. add_memory answers SKIP); absent
 * or null is still missing. Undeclared keys are not passed on; each is reported as ignored, or, with
 * `refuseUndeclared` (a tool that deletes or overwrites), refused unless blank: acting without a parameter the caller
 * meant (a misspelt `dry_run`, another tool's scope key) could delete what the caller meant to keep.
 * @throws ValidationError naming every parameter that is missing, malformed or (refused) undeclared.
 */
export function coerceParameters(
  declared: readonly ToolParameterDeclaration[],
  raw: Record<string, unknown>,
  lenient: readonly string[] = [],
  keepBlank: readonly string[] = [],
  refuseUndeclared = false,
): Coercion {
  const values: Record<string, unknown> = {};
  const issues: Text[] = [];
  const warnings: Text[] = [];
  for (const parameter of declared) {
    const given = raw[parameter.name];
    if (typeof given === 'string' && isBlank(given) && keepBlank.includes(parameter.name)) {
      values[parameter.name] = given;
      continue;
    }
    if (!isBlank(given)) {
      const result = coerceOne(parameter, given);
      if (result.ok) {
        values[parameter.name] = result.value;
        if (result.warning) warnings.push(result.warning);
        continue;
      }
      // Leniency covers malformed values only: a number below the minimum is an error for every parameter.
      if (!lenient.includes(parameter.name) || result.issue.key === 'param.min') {
        issues.push(result.issue);
        continue;
      }
      warnings.push({ key: 'warn.default_used', params: { name: parameter.name, value: showValue(given, parameter.type === 'secret-input') } });
    }
    if (!isBlank(parameter.default)) {
      const fallback = coerceOne(parameter, parameter.default);
      if (fallback.ok) values[parameter.name] = fallback.value;
      else issues.push(fallback.issue);
    } else if (parameter.required) {
      issues.push({ key: 'param.required', params: { name: parameter.name } });
    }
  }
  const names = new Set(declared.map((parameter) => parameter.name));
  for (const name of Object.keys(raw)) {
    if (names.has(name)) continue;
    // Blank carries no intent: Dify's workflow node sends null for a parameter the node holds but the tool no longer
    // declares (one removed in an upgrade); that must not stop a workflow.
    if (refuseUndeclared && !isBlank(raw[name])) issues.push({ key: 'param.undeclared', params: { name: showValue(name) } });
    else warnings.push({ key: 'warn.ignored', params: { name: showValue(name) } });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return { values, warnings };
}
