import { describe, expect, it } from 'vitest';
import { coerceParameters } from '../../src/tools/coerce.js';
import { ValidationError } from '../../src/tools/errors.js';
import { translate } from '../../src/tools/i18n.js';
import { param } from './fixtures.js';

const number = param('top_k', 'number', { default: 5, min: 1, max: 100 });
const flag = param('dry_run', 'boolean', { default: false });
const text = param('user_id', 'string', { required: true });

function coerce(declared: Parameters<typeof coerceParameters>[0], raw: Record<string, unknown>, lenient: string[] = []) {
  return coerceParameters(declared, raw, lenient).values;
}

function warnings(declared: Parameters<typeof coerceParameters>[0], raw: Record<string, unknown>, lenient: string[] = []): string[] {
  return coerceParameters(declared, raw, lenient).warnings.map((text) => translate('en_US', text));
}

function failure(declared: Parameters<typeof coerceParameters>[0], raw: Record<string, unknown>): string[] {
  try {
    coerce(declared, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((issue) => translate('en_US', issue));
  }
  throw new Error('expected a ValidationError');
}

describe('numbers', () => {
  it.each([
    [7, 7],
    ['7', 7],
    [' 5 ', 5],
    ['5.0', 5],
    ['1e1', 10],
    ['+3', 3],
    ['.5e1', 5],
    ['８', 8], // full-width digit
  ])('%j → %j', (given, expected) => {
    expect(coerce([number], { top_k: given })).toEqual({ top_k: expected });
  });

  it.each(['abc', '5 apples', '0x10', 'NaN', 'Infinity', '1,000', true, [], {}])('rejects %j naming the parameter', (given) => {
    expect(failure([number], { top_k: given })[0]).toMatch(/^top_k must be a number, got /);
  });

  it('quotes the value it got', () => {
    expect(failure([number], { top_k: 'abc' })).toEqual(['top_k must be a number, got "abc"']);
  });

  it('refuses a number below the declared min, naming the parameter (numbers given as text too)', () => {
    expect(failure([number], { top_k: 0 })).toEqual(['top_k must be at least 1, got 0']);
    expect(failure([number], { top_k: '-4' })).toEqual(['top_k must be at least 1, got -4']);
  });

  it('clamps a number above the declared max and reports the clamp', () => {
    expect(coerce([number], { top_k: '1e3' })).toEqual({ top_k: 100 });
    expect(warnings([number], { top_k: '1e3' })).toEqual(['top_k 1000 is above the maximum; 100 was used']);
    expect(warnings([number], { top_k: 100 })).toEqual([]);
  });

  it('uses the default when not given: missing, null, empty or blank', () => {
    for (const raw of [{}, { top_k: null }, { top_k: undefined }, { top_k: '' }, { top_k: '  ' }]) {
      expect(coerce([number], raw)).toEqual({ top_k: 5 });
    }
  });

  it('leaves an optional number without default absent', () => {
    expect(coerce([param('timeout', 'number')], { timeout: '' })).toEqual({});
  });
});

describe('booleans', () => {
  it.each([
    [true, true], [false, false], ['true', true], ['FALSE', false], ['1', true], ['0', false], [1, true], [0, false],
    ['yes', true], ['No', false], [' on ', true], ['off', false], ['是', true], ['否', false], ['はい', true], ['いいえ', false], ['sim', true], ['não', false],
  ])('%j → %j', (given, expected) => {
    expect(coerce([flag], { dry_run: given })).toEqual({ dry_run: expected });
  });

  it.each(['maybe', 2, '2', 'tru', {}])('rejects %j', (given) => {
    expect(failure([flag], { dry_run: given })[0]).toMatch(/^dry_run must be true or false, got /);
  });

  it('defaults', () => {
    expect(coerce([flag], { dry_run: '' })).toEqual({ dry_run: false });
  });
});

describe('strings', () => {
  it('keeps text as given, turns numbers and booleans into text, objects into JSON text', () => {
    expect(coerce([text], { user_id: ' alex ' })).toEqual({ user_id: ' alex ' });
    expect(coerce([text], { user_id: 42 })).toEqual({ user_id: '42' });
    expect(coerce([param('query', 'string')], { query: false })).toEqual({ query: 'false' });
    expect(coerce([param('metadata', 'string')], { metadata: { a: 1 } })).toEqual({ metadata: '{"a":1}' });
  });

  it('refuses a boolean, an object or a list as an id, naming it (they would file memories under their text)', () => {
    expect(failure([text], { user_id: false })).toEqual(['user_id must be text, got false']);
    expect(failure([text], { user_id: { id: 'alex' } })).toEqual(['user_id must be text, got {"id":"alex"}']);
    expect(failure([param('memory_id', 'string')], { memory_id: ['a'] })).toEqual(['memory_id must be text, got ["a"]']);
  });

  it('names a required parameter that is missing, null, empty or blank', () => {
    for (const raw of [{}, { user_id: null }, { user_id: '' }, { user_id: ' \n ' }]) {
      expect(failure([text], raw)).toEqual(['user_id is required']);
    }
  });

  it('never shows the value of a secret', () => {
    const secret = param('dify_api_key', 'secret-input', { required: true });
    expect(coerce([secret], { dify_api_key: 'app-123' })).toEqual({ dify_api_key: 'app-123' });
    expect(failure([secret], { dify_api_key: Symbol('x') })).toEqual(['dify_api_key must be text, got (hidden)']);
  });
});

describe('select', () => {
  const level = param('mode', 'select', {
    default: 'fast',
    options: [
      { value: 'fast', label: { en_US: 'fast' } },
      { value: 'Thorough', label: { en_US: 'thorough' } },
    ],
  });

  it('accepts an option, case-insensitively, and returns its canonical spelling', () => {
    expect(coerce([level], { mode: 'fast' })).toEqual({ mode: 'fast' });
    expect(coerce([level], { mode: ' thorough ' })).toEqual({ mode: 'Thorough' });
    expect(coerce([level], {})).toEqual({ mode: 'fast' });
  });

  it('rejects anything else and lists the options', () => {
    expect(failure([level], { mode: 'slow' })).toEqual(['mode must be one of fast, Thorough, got "slow"']);
  });
});

describe('the whole set', () => {
  it('does not pass undeclared parameters on, and reports each as ignored', () => {
    expect(coerce([text], { user_id: 'a', injected: 'x' })).toEqual({ user_id: 'a' });
    expect(warnings([text], { user_id: 'a', injected: 'x', other: null })).toEqual([
      '"injected" is not a parameter of this tool and was ignored',
      '"other" is not a parameter of this tool and was ignored',
    ]);
  });

  it('reports every bad parameter at once', () => {
    expect(failure([text, number, flag], { top_k: 'many', dry_run: 'perhaps' })).toEqual([
      'user_id is required',
      'top_k must be a number, got "many"',
      'dry_run must be true or false, got "perhaps"',
    ]);
  });

  it('lenient parameters fall back to their default instead of failing', () => {
    const timeout = param('timeout', 'number', { min: 0, max: 60 });
    expect(coerce([timeout], { timeout: 'soon' }, ['timeout'])).toEqual({});
    expect(warnings([timeout], { timeout: 'soon' }, ['timeout'])).toEqual(['timeout "soon" is not a number; the default was used']);
    expect(coerce([number], { top_k: 'soon' }, ['top_k'])).toEqual({ top_k: 5 });
    // Leniency is for malformed values: below the minimum is still an error.
    expect(() => coerce([timeout], { timeout: -1 }, ['timeout'])).toThrow(ValidationError);
  });

  it('cuts long values in messages', () => {
    const [message] = failure([number], { top_k: 'x'.repeat(500) });
    expect(message!.length).toBeLessThan(80);
  });
});
