// The keyword side of hybrid search and its fusion with the vector side, on the real store (PGlite, and PostgreSQL
// when TEST_DATABASE_URL is set): stopwords, stems and possessives, IDF weighting, ties, and a strong vector hit that
// weak keyword matches must not displace. Also: the external stores' JavaScript ranking agrees with the SQL one.
import { describe, expect, it } from 'vitest';
import { fuseScores, keywordScores } from '../../src/store/ranking.js';
import { queryTerms, wordTokens } from '../../src/store/tokens.js';
import { backends, DIMS, freshStores, vec } from './backends.js';

/** A unit vector at `cos` similarity to axis 0 (in the plane of axes 0 and 1). */
function at(cos: number): number[] {
  const v = Array.from({ length: DIMS }, () => 0);
  v[0] = cos;
  v[1] = Math.sqrt(Math.max(0, 1 - cos * cos));
  return v;
}
const QUERY = at(1);
/** Orthogonal to the query: similarity 0. */
const AWAY = vec(5, 6, 0);

describe('query terms', () => {
  it('leave out stopwords, fold possessives and reduce English words to their stem', () => {
    expect(queryTerms("What did Jon's sister choose when she was offering help?")).toEqual(['jon', 'sister', 'choos', 'offer', 'help']);
    expect(queryTerms('Jon’s dogs')).toEqual(['jon', 'dog']);
    expect(wordTokens("Jon's dog adopted puppies")).toEqual(['jon', 'dog', 'adopt', 'puppi']);
    // Chinese keeps ICU's words; its stopwords (的, 是, 我 …) are left out of queries.
    expect(queryTerms('我的妹妹住在上海')).toEqual(['妹妹', '住在', '上海']);
    expect(queryTerms('我喜欢喝什么？')).toEqual(['喜欢', '喝']);
    expect(queryTerms('the with did')).toEqual([]);
  });
});

describe.each(backends())('keyword ranking on $name', (backend) => {
  const open = freshStores(backend);

  it('matches across word forms and possessives', async () => {
    const store = await open();
    const scope = { userId: 'forms' };
    await store.memories.insert(scope, [
      { data: 'Maria adopted two puppies last spring', vector: AWAY },
      { data: 'Nothing to see here', vector: AWAY },
    ]);
    const hits = await store.memories.search(scope, { vector: QUERY, query: "When was Maria's puppy adopting?", topK: 5 });
    expect(hits[0]?.data).toBe('Maria adopted two puppies last spring');
    expect(hits[0]?.keywordScore).toBeCloseTo(1, 6);
  }, 120_000); // the first test of a backend opens its database

  it('gives stopwords no weight', async () => {
    const store = await open();
    const scope = { userId: 'stop' };
    await store.memories.insert(scope, [{ data: 'Did you see what they did with the car?', vector: AWAY }]);
    const hits = await store.memories.search(scope, { vector: QUERY, query: 'What did you do with the dog?', topK: 5 });
    // The memory shares only stopwords with the query (and its vector is orthogonal): it scores nothing.
    expect(hits.map((h) => [h.data, h.keywordScore, h.score])).toEqual([['Did you see what they did with the car?', 0, 0]]);
  });

  it('weights rare words above common ones (IDF)', async () => {
    const store = await open();
    const scope = { userId: 'idf' };
    // "jon" is in every memory but one; "guitar" only in one.
    await store.memories.insert(scope, [
      ...Array.from({ length: 9 }, (_, i) => ({ data: `Jon said hello number ${i}`, vector: AWAY })),
      { data: 'Maria bought a guitar', vector: AWAY },
    ]);
    const hits = await store.memories.search(scope, { vector: QUERY, query: 'Jon guitar', topK: 10 });
    expect(hits[0]?.data).toBe('Maria bought a guitar');
    expect(hits[0]!.keywordScore).toBeGreaterThan(hits[1]!.keywordScore * 2);
  });

  it('does not let weak keyword matches push out strong vector hits', async () => {
    const store = await open();
    const scope = { userId: 'fusion' };
    // Five vector hits (similarity 0.9 … 0.5) sharing no word with the query, and five far memories that share only
    // the query's most common word.
    await store.memories.insert(scope, [
      ...[0.9, 0.8, 0.7, 0.6, 0.5].map((cos, i) => ({ data: `vector neighbour ${i}`, vector: at(cos) })),
      ...Array.from({ length: 5 }, (_, i) => ({ data: `Jon mentioned something ${i}`, vector: AWAY })),
      ...Array.from({ length: 20 }, (_, i) => ({ data: `Jon chatting ${i}`, vector: vec(6, 7, 0) })),
    ]);
    const hits = await store.memories.search(scope, { vector: QUERY, query: "Jon's violin teacher in Lisbon", topK: 5 });
    expect(hits.map((h) => h.data)).toEqual([0, 1, 2, 3, 4].map((i) => `vector neighbour ${i}`));
    for (const h of hits) expect(h.score).toBeCloseTo(h.vectorScore, 9);
  });

  it('breaks ties by recency, not by id', async () => {
    const store = await open();
    const scope = { userId: 'ties' };
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [record] = await store.memories.insert(scope, [{ data: 'Likes green tea', vector: QUERY }]);
      order.push(record!.id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const hits = await store.memories.search(scope, { vector: QUERY, query: 'green tea', topK: 6 });
    expect(hits.map((h) => h.id)).toEqual([...order].reverse());
  });

  it('scores as the JavaScript ranking of the external stores does (same formula)', async () => {
    const store = await open();
    const scope = { userId: 'agree' };
    const texts = ['Jon plays the violin', 'Jon lives in Lisbon', 'Maria teaches violin in Porto', 'Small talk about the weather', 'Jon and Maria went hiking in Lisbon'];
    await store.memories.insert(scope, texts.map((data, i) => ({ data, vector: at([0.9, 0.7, 0.5, 0.3, 0.1][i]!) })));
    const query = "Who teaches Jon's violin lessons in Lisbon?";
    const hits = await store.memories.search(scope, { vector: QUERY, query, topK: 5 });
    expect(hits).toHaveLength(5);
    const js = keywordScores(queryTerms(query), texts.map((t) => new Set(wordTokens(t))));
    for (const hit of hits) {
      const i = texts.indexOf(hit.data);
      expect(hit.keywordScore).toBeCloseTo(js[i]!, 9);
      expect(hit.score).toBeCloseTo(fuseScores(hit.vectorScore, hit.keywordScore), 9);
    }
  });
});
