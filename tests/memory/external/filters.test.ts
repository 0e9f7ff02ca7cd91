// The plugin-side filter evaluator (used for mem0ai vector stores) gives the same answer as the SQL compiler the
// PostgreSQL store uses: every filter below is run both ways over the same payloads, the SQL side in real PGlite.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFilter, matchesFilter } from '../../../src/memory/external/filters.js';
import { compileFilter } from '../../../src/store/filters.js';
import { Params } from '../../../src/store/sql.js';

const PAYLOADS: Array<Record<string, unknown>> = [
  { data: 'Alpha', n: 1, color: 'Red', tags: ['a', 'b'], flag: true, at: '2025-01-01T00:00:00+00:00' },
  { data: 'beta', n: 2.5, color: 'green', tags: ['B'], flag: false, at: '2025-06-01T00:00:00+00:00' },
  { data: 'Gamma ray', n: '3', color: null, at: '2026-01-01T00:00:00+00:00' },
  { data: 'délta', n: 10, color: 'Blue', nested: { x: 1 }, tags: [] },
  { data: '', color: 'red' },
];

const FILTERS: unknown[] = [
  { n: 1 }, { n: 3 }, { n: '3' }, { n: { eq: 2.5 } }, { n: { ne: 1 } }, { n: { gt: 1 } }, { n: { gte: 2.5 } }, { n: { lt: 10 } },
  { n: { lte: 10, gt: 1 } }, { n: { gt: '2' } }, { color: 'Red' }, { color: null }, { color: { ne: null } }, { color: { eq: 'red' } },
  { color: ['Red', 'red'] }, { color: { in: ['Blue', null] } }, { color: { nin: ['Red'] } }, { color: { in: [] } }, { color: { nin: [] } },
  { tags: { contains: 'a' } }, { tags: { contains: 'A' } }, { tags: { icontains: 'b' } }, { data: { contains: 'mm' } }, { data: { icontains: 'ALP' } },
  { data: { icontains: 'DÉL' } }, { data: { contains: '' } }, { tags: '*' }, { nested: '*' }, { flag: true }, { flag: false }, { flag: { ne: true } },
  { at: { gte: '2025-06-01' } }, { at: { lt: '2025-06-01T00:00:00+00:00' } }, { data: { gt: 'Gamma' } },
  { AND: [{ n: { gt: 0 } }, { color: { icontains: 'r' } }] }, { OR: [{ n: 1 }, { color: 'Blue' }] }, { NOT: { n: 1 } },
  { NOT: [{ n: { gte: 1 } }, { color: 'green' }] }, { OR: [{ NOT: { tags: '*' } }, { AND: [{ flag: true }, { n: 1 }] }] },
  { n: { gt: 1 }, color: { ne: 'green' } },
];

describe('filter evaluator ≡ SQL compiler', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = new PGlite();
    await db.waitReady;
  });
  afterAll(async () => {
    await db.close();
  });

  async function sqlMatches(filter: unknown): Promise<number[]> {
    const params = new Params();
    params.add(JSON.stringify(PAYLOADS));
    const where = compileFilter(filter, params, 'payload');
    const res = await db.query<{ i: number }>(
      `SELECT (i - 1)::int AS i FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(payload, i) WHERE ${where} ORDER BY i`,
      params.values,
    );
    return res.rows.map((r) => r.i);
  }

  it.each(FILTERS.map((f) => [JSON.stringify(f), f]))('%s', async (_name, filter) => {
    const checked = checkFilter(filter);
    const js = PAYLOADS.map((p, i) => (matchesFilter(p, checked) ? i : -1)).filter((i) => i >= 0);
    expect(js).toEqual(await sqlMatches(filter));
  });

  it('refuses what the compiler refuses, with its message', () => {
    expect(() => checkFilter({ n: { between: [1, 2] } })).toThrow(/unknown filter operator "between"/);
    expect(() => checkFilter({ 'bad key!': 1 })).toThrow(/invalid filter key/);
    expect(() => checkFilter('[1]')).toThrow(/filters must be a JSON object/);
    expect(checkFilter('')).toBeNull();
    expect(checkFilter({})).toBeNull();
  });
});
