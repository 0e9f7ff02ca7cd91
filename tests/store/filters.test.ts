import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/store/filters.js';
import { EngineError } from '../../src/shared/errors.js';
import type { Store } from '../../src/store/index.js';
import { Params } from '../../src/store/sql.js';
import { backends, vec } from './backends.js';

describe('compileFilter (no database)', () => {
  const compile = (f: unknown) => {
    const p = new Params();
    return { text: compileFilter(f, p), values: p.values };
  };

  it('treats empty input as no filter', () => {
    for (const f of [null, undefined, '', '  ', {}, '{}']) expect(compile(f).text).toBe('TRUE');
  });

  it('never puts keys or values into the SQL text', () => {
    const evil = "x'); DROP TABLE mem0; --";
    const { text, values } = compile({ category: { eq: evil }, n: { gt: 5 }, OR: [{ tag: { contains: evil } }] });
    expect(text).not.toContain('DROP');
    expect(text).not.toContain('category');
    expect(values).toContain(evil);
    expect(values).toContain('category');
  });

  it.each([
    ['not JSON', '{"a": ', /filters is not valid JSON/],
    ['not an object', '[1,2]', /must be a JSON object/],
    ['unknown operator', { a: { regex: '.*' } }, /unknown filter operator "regex" on key 'a'; allowed: eq, ne/],
    ['SQL in a key', { "a'; DROP TABLE x; --": 1 }, /invalid filter key "a'; DROP TABLE x; --"/],
    ['key with a dot', { 'a.b': 1 }, /invalid filter key "a.b"/],
    ['lower-case logical', { or: [{ a: 1 }] }, /logical operator 'or' must be written 'OR'/],
    ['OR not an array', { OR: { a: 1 } }, /filters.OR must be an array/],
    ['empty AND', { AND: [] }, /filters.AND is an empty array/],
    ['object as eq value', { a: { eq: { b: 1 } } }, /operator 'eq' on key 'a' needs a string, number, boolean or null/],
    ['boolean for gt', { a: { gt: true } }, /operator 'gt' on key 'a' needs a number or a string/],
    ['in without array', { a: { in: 'x' } }, /operator 'in' on key 'a' needs an array/],
    ['contains a number', { a: { contains: 3 } }, /operator 'contains' on key 'a' needs a string/],
    ['empty operator object', { a: {} }, /filters.a has no operator/],
    ['too deep', JSON.parse('{"NOT":'.repeat(12) + '{"a":1}' + '}'.repeat(12)), /nest deeper than 8/],
  ])('rejects %s with a clear error', (_name, filter, message) => {
    expect(() => compile(filter)).toThrow(EngineError);
    expect(() => compile(filter)).toThrow(message);
  });
});

describe.each(backends())('filters on $name', (backend) => {
  let store: Store;
  const scope = { userId: 'filter-user' };
  const ids = new Map<string, string>();

  beforeAll(async () => {
    store = await backend.open(await backend.freshConfig());
    const rows = [
      { name: 'a', metadata: { category: 'food', priority: 1, tags: ['red', 'Spicy'], note: 'Loves Thai curry', at: '2025-01-05T00:00:00+00:00', done: true } },
      { name: 'b', metadata: { category: 'food', priority: 5, tags: ['green'], note: 'hates cilantro', at: '2025-02-01T00:00:00+00:00', done: false } },
      { name: 'c', metadata: { category: 'travel', priority: 10, tags: [], note: 'Visited Kyoto', at: '2025-03-01T00:00:00+00:00' } },
      { name: 'd', metadata: { category: 'travel', priority: '7', note: null } },
      { name: 'e', metadata: { priority: 2.5, category: "x'); DROP TABLE mem0; --" } },
    ];
    const inserted = await store.memories.insert(scope, rows.map((r, i) => ({ data: `memory ${r.name}`, vector: vec(i), metadata: r.metadata })));
    inserted.forEach((m, i) => ids.set(rows[i]!.name, m.id));
    // Another user with matching metadata: must never appear.
    await store.memories.insert({ userId: 'other' }, [{ data: 'memory z', vector: vec(0), metadata: { category: 'food', priority: 1 } }]);
  });
  afterAll(async () => {
    await store.close();
    await backend.close();
  });

  const names = async (filters: unknown) => {
    const listed = await store.memories.list(scope, { limit: 100, filters });
    const byId = new Map([...ids].map(([n, id]) => [id, n]));
    return listed.map((m) => byId.get(m.id) ?? `foreign:${m.userId}`).sort();
  };

  it.each([
    ['shorthand eq', { category: 'food' }, ['a', 'b']],
    ['eq', { category: { eq: 'travel' } }, ['c', 'd']],
    ['ne (includes missing keys)', { category: { ne: 'food' } }, ['c', 'd', 'e']],
    ['numeric eq ignores numeric strings', { priority: 5 }, ['b']],
    ['string eq matches a number’s text', { priority: '7' }, ['d']],
    ['gt number', { priority: { gt: 2 } }, ['b', 'c', 'e']],
    ['gte number', { priority: { gte: 5 } }, ['b', 'c']],
    ['lt number', { priority: { lt: 2.5 } }, ['a']],
    ['lte number', { priority: { lte: 2.5 } }, ['a', 'e']],
    ['range on ISO strings', { at: { gte: '2025-01-15', lt: '2025-03-01' } }, ['b']],
    ['in', { category: { in: ['travel', 'nothing'] } }, ['c', 'd']],
    ['bare array = in', { priority: [1, 10] }, ['a', 'c']],
    ['nin', { category: { nin: ['food', 'travel'] } }, ['e']],
    ['empty in', { category: { in: [] } }, []],
    ['contains substring', { note: { contains: 'Thai' } }, ['a']],
    ['contains is case-sensitive', { note: { contains: 'thai' } }, []],
    ['icontains', { note: { icontains: 'KYOTO' } }, ['c']],
    ['contains array element', { tags: { contains: 'red' } }, ['a']],
    ['icontains array element', { tags: { icontains: 'spicy' } }, ['a']],
    ['boolean eq', { done: true }, ['a']],
    ['null eq (null or missing)', { note: null }, ['d', 'e']],
    ['wildcard: key present', { done: '*' }, ['a', 'b']],
    ['AND', { AND: [{ category: 'food' }, { priority: { gt: 1 } }] }, ['b']],
    ['OR', { OR: [{ category: 'travel' }, { priority: 1 }] }, ['a', 'c', 'd']],
    ['NOT', { NOT: { category: 'food' } }, ['c', 'd', 'e']],
    ['NOT of a list (not all)', { NOT: [{ category: 'food' }, { priority: 1 }] }, ['b', 'c', 'd', 'e']],
    ['nested', { OR: [{ AND: [{ category: 'food' }, { NOT: { done: true } }] }, { priority: { gte: 10 } }] }, ['b', 'c']],
    ['several keys are ANDed', { category: 'travel', priority: 10 }, ['c']],
    ['injection text is an inert value', { category: "x'); DROP TABLE mem0; --" }, ['e']],
    ['injection in contains', { note: { contains: "%' OR 1=1 --" } }, []],
    ['JSON text input', '{"category": {"in": ["food"]}}', ['a', 'b']],
  ])('%s', async (_name, filters, expected) => {
    expect(await names(filters)).toEqual(expected);
  });

  it('cannot widen the scope', async () => {
    expect(await names({ user_id: 'other' })).toEqual([]);
    expect(await names({ OR: [{ user_id: 'other' }, { user_id: { ne: 'nobody' } }] })).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await names({ NOT: { user_id: 'filter-user' } })).toEqual([]);
  });

  it('applies the same filters to search and count', async () => {
    const hits = await store.memories.search(scope, { vector: vec(0), query: 'memory', topK: 10, filters: { category: 'food' } });
    expect(hits.map((h) => h.id).sort()).toEqual([ids.get('a'), ids.get('b')].sort());
    expect(await store.memories.count(scope, { priority: { gt: 2 } })).toBe(3);
    // The table is still there after the injection attempts.
    expect(await store.memories.count(scope)).toBe(5);
  });

  it('reports invalid filters from the store as validation errors', async () => {
    await expect(store.memories.list(scope, { filters: { a: { like: 'x' } } })).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining("unknown filter operator \"like\" on key 'a'"),
    });
  });
});
