/**
 * The graph memory's pure parts: name normalisation and match keys (English, Chinese, full-width, control
 * characters), the LLM answer checks, the ranking, and the graph-store block.
 */
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../src/shared/errors.js';
import { parseGraphStore } from '../../../src/memory/config/graph-config.js';
import { matchKey, normaliseName, normaliseRelationship } from '../../../src/memory/graph/names.js';
import { parseGraphDeletions, parseGraphExtraction } from '../../../src/memory/graph/parse.js';
import { rankRelations } from '../../../src/memory/graph/ranking.js';

describe('names', () => {
  it('folds case, width and spacing, keeps every script', () => {
    expect(normaliseName('  My   Sister_Anna ')).toBe('my sister anna');
    expect(normaliseName('"Anna."')).toBe('anna');
    expect(normaliseName('ＡＮＮＡ')).toBe('anna');
    expect(normaliseName('Émile Zola')).toBe('émile zola');
    expect(normaliseName('上海 ')).toBe('上海');
    expect(normaliseName('北京\u0000大学')).toBe('北京 大学');
    expect(normaliseName('ab\u200bc')).toBe('abc');
    expect(normaliseName('...')).toBe('');
    expect(normaliseName('x'.repeat(500))).toHaveLength(200);
    expect(normaliseName('😀'.repeat(150)).length).toBeLessThanOrEqual(200);
    expect(normaliseName('😀'.repeat(150)).endsWith('\ud83d')).toBe(false);
  });

  it('writes relationships as lower snake case', () => {
    expect(normaliseRelationship('Lives In')).toBe('lives_in');
    expect(normaliseRelationship('  WORKS-AT ')).toBe('works_at');
    expect(normaliseRelationship('住在')).toBe('住在');
    expect(normaliseRelationship('!!')).toBe('');
  });

  it('match keys find whole words and single CJK characters only', () => {
    expect(matchKey('Where does Anna live?')).toBe(' where does anna live ');
    expect(matchKey('我的妹妹安娜')).toBe(' 我 的 妹 妹 安 娜 ');
    expect(matchKey('where does anna live').includes(matchKey('anna'))).toBe(true);
    expect(matchKey('where does annabel live').includes(matchKey('anna'))).toBe(false);
    expect(matchKey('我的妹妹安娜住在上海').includes(matchKey('安娜'))).toBe(true);
    expect(matchKey('??')).toBe('');
  });
});

describe('LLM answers', () => {
  it('reads entities and relations, accepting Mem0-style keys', () => {
    const ok = parseGraphExtraction('```json\n{"entities": [{"name": "Anna", "entity_type": "person"}], "relations": [{"source": "Anna", "relation": "likes", "target": "tea"}]}\n```');
    expect(ok).toEqual({ ok: true, value: { entities: [{ name: 'Anna', type: 'person' }], relations: [{ source: 'Anna', relationship: 'likes', destination: 'tea' }] } });
    expect(parseGraphExtraction('no json here')).toMatchObject({ ok: false });
    expect(parseGraphExtraction('{"relations": [{"relationship": "x"}]}')).toMatchObject({ ok: false });
  });

  it('accepts only the handles it showed', () => {
    expect(parseGraphDeletions('{"delete": [1, "0", 1]}', new Set([0, 1]))).toEqual({ ok: true, value: [1, 0] });
    expect(parseGraphDeletions('{"delete": [2]}', new Set([0, 1]))).toEqual({ ok: false, problem: 'id 2 is not in the stored list' });
    expect(parseGraphDeletions('{"delete": "all"}', new Set([0]))).toMatchObject({ ok: false });
  });
});

describe('ranking', () => {
  const near = [
    { source: 'anna', relationship: 'likes', destination: 'tea', hop: 1 as const, seed: 'anna' },
    { source: 'anna', relationship: 'lives_in', destination: 'shanghai', hop: 1 as const, seed: 'anna' },
    { source: 'shanghai', relationship: 'located_in', destination: 'china', hop: 2 as const, seed: 'anna' },
    { source: 'anna', relationship: 'likes', destination: 'tea', hop: 1 as const, seed: 'anna' },
  ];
  it('puts the keyword match first, the far relation last, lists a triple once, and cuts at top_k', () => {
    const ranked = rankRelations('where does anna live? lives in', near, new Map([['anna', 1]]), 10);
    expect(ranked.map((r) => r.destination)).toEqual(['shanghai', 'tea', 'china']);
    expect(ranked[0]!.score).toBe(1);
    for (const r of ranked) expect(r.score).toBeGreaterThan(0);
    expect(rankRelations('anna', near, new Map([['anna', 1]]), 2)).toHaveLength(2);
    expect(rankRelations('anna', [], new Map(), 5)).toEqual([]);
  });
});

describe('graph store block', () => {
  const field = 'local_graph_db_json_secret';
  it('defaults to the built-in PostgreSQL graph', () => {
    expect(parseGraphStore({}, field)).toEqual({ provider: 'postgres', threshold: 0.7 });
    expect(parseGraphStore({ provider: 'Postgres', threshold: '0.8', custom_prompt: ' people only ' }, field)).toEqual({ provider: 'postgres', threshold: 0.8, customPrompt: 'people only' });
  });

  it("takes Mem0's Neo4j keys", () => {
    expect(parseGraphStore({ provider: 'neo4j', config: { url: 'neo4j+s://db.example:7687', username: 'neo4j', password: 'pw', database: 'mem' } }, field))
      .toEqual({ provider: 'neo4j', threshold: 0.7, connection: { url: 'neo4j+s://db.example:7687', username: 'neo4j', password: 'pw', database: 'mem' } });
  });

  it('refuses other providers and bad keys, naming what is supported and never a value', () => {
    for (const provider of ['memgraph', 'neptune', 'kuzu', 'redis']) {
      expect(() => parseGraphStore({ provider, config: { url: 'bolt://x' } }, field)).toThrow(/is not supported.*use "postgres" \(the default.*or "neo4j"/);
    }
    expect(() => parseGraphStore({ provider: 'memgraph' }, field)).toThrow(/a Mem0 graph store this build does not include/);
    expect(() => parseGraphStore({ provider: 'neo4j', config: { url: 'http://secret-host:7474', password: 'hunter2' } }, field)).toThrow(`${field}.config.url must be a bolt:// or neo4j:// URL`);
    expect(() => parseGraphStore({ provider: 'neo4j', config: { password: 'hunter2' } }, field)).toThrow(`${field}.config.url is required`);
    expect(() => parseGraphStore({ provider: 'neo4j', config: { url: 'bolt://h:1', pasword: 'hunter2' } }, field)).toThrow(/unknown key\(s\) "pasword"/);
    expect(() => parseGraphStore({ provider: 'postgres', config: { url: 'bolt://h:1' } }, field)).toThrow(/must be empty with "postgres"/);
    expect(() => parseGraphStore({ threshold: 3 }, field)).toThrow(`${field}.threshold must be a number between 0 and 1`);
    expect(() => parseGraphStore({ llm: { provider: 'openai' } }, field)).toThrow(/llm is not supported/);
    expect(() => parseGraphStore([], field)).toThrow(EngineError);
    try {
      parseGraphStore({ provider: 'neo4j', config: { url: 'ftp://hunter2' } }, field);
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
