import { afterAll, describe, expect, it } from 'vitest';
import { backends, vec } from './backends.js';

describe.each(backends())('smoke on $name', (backend) => {
  afterAll(() => backend.close());
  it('inserts and searches', async () => {
    const store = await backend.open(await backend.freshConfig());
    const scope = { userId: 'u1' };
    const rows = await store.memories.insert(scope, [
      { data: 'I like sushi', vector: vec(0) },
      { data: '我喜欢吃寿司和拉面', vector: vec(1) },
    ]);
    expect(rows).toHaveLength(2);
    const hits = await store.memories.search(scope, { vector: vec(0), query: '拉面', topK: 5 });
    console.log(store.pgvectorVersion, hits.map((h) => [h.data, h.score, h.vectorRank, h.keywordRank]));
    console.log(await store.memories.history(scope, rows[0]!.id));
    await store.close();
  });
});
