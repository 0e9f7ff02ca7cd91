// search_memory as an operator sees it: the BUILT plugin (dist/plugin.js) over stdio frames, embedded PGlite in a
// temporary folder, the loopback fake OpenAI as LLM and embedder. Thirteen memories in English and Chinese; every
// answer must be sorted by its `score`, carry the score's parts, honour `threshold`, never pad top_k with memories
// that share nothing with the query, and a reranker that fails must leave the un-reranked order with a warning.
// Property test: 200 random queries over random mixed English/Chinese memories.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { invokeFrame, PluginProcess } from '../helpers/plugin-process.js';
import type { Frame } from '../helpers/plugin-process.js';
import { credentials, DIMS, pgliteFolder, plainModel } from './app.js';
import { seededRandom } from '../helpers/random.js';

interface Hit {
  id: string;
  memory: string;
  score: number;
  vector_score?: number;
  keyword_score?: number;
  rerank_score?: number;
}
interface Answer {
  status: string;
  messages: string;
  results: Hit[];
  warnings?: string[];
}

const MEMORIES = [
  'I live in Lisbon with my partner Ana.',
  "My dog's name is Rex.",
  'I work as a nurse at the city hospital.',
  'I am allergic to peanuts.',
  'My favorite food is grilled sardines.',
  'I go running every Sunday morning.',
  'I moved from Porto to Lisbon in 2019.',
  'I play the guitar in a small band.',
  "Jon's birthday party is next Friday.",
  '我喜欢喝绿茶。',
  '我的生日是五月三日。',
  '我在学习日语。',
  '我妹妹住在上海。',
];

const QUERIES = [
  'Where do I live?',
  'What is my dog called?',
  'What food do I like?',
  'When is Jon’s party?',
  'What do I do on Sundays?',
  '我喜欢喝什么？',
  '谁住在上海？',
];

const fake = useFakeModel({ dims: DIMS, script: plainModel });
const failingReranker = useFakeModel({ dims: DIMS, script: (model) => model.onChat(() => ({ status: 500, error: 'reranker model crashed' })) });
let proc: PluginProcess;
let n = 0;

async function call(tool: string, parameters: Record<string, unknown>, creds: Record<string, unknown>): Promise<Answer> {
  const id = `search-${n++}-${randomUUID().slice(0, 8)}`;
  const frame: Frame = invokeFrame(id, tool, parameters);
  (frame.data as Record<string, unknown>).credentials = creds;
  proc.send(frame);
  const session = await proc.frames.session(id, 90_000).catch((error: Error) => {
    throw new Error(`${error.message}; plugin log: ${proc.stderr.slice(-1500)}`);
  });
  const json = session.streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: Answer } } | undefined;
  if (!json) throw new Error(`${tool} answered no json: ${JSON.stringify(session.error ?? session.streams).slice(0, 300)}`);
  return json.message.json_object;
}

function expectSortedScores(answer: Answer, query: string): void {
  expect(answer.status, `${query}: ${answer.messages}`).toBe('SUCCESS');
  const scores = answer.results.map((h) => h.score);
  expect(scores, `${query}: order and score disagree`).toEqual([...scores].sort((a, b) => b - a));
  for (const hit of answer.results) {
    expect(hit.score, `${query}: ${hit.memory}`).toBeGreaterThan(0);
    expect(hit.score).toBeLessThanOrEqual(1);
  }
}

let store: Record<string, unknown>;

beforeAll(async () => {
  proc = new PluginProcess({ env: { LOG_LEVEL: 'warn' } });
  store = { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } };
  // The first call opens the embedded database: give it the longest deadline a call may have (a loaded machine is slow).
  for (const memory of MEMORIES) {
    const added = await call('add_memory', { user: memory, user_id: 'ana', timeout: 60 }, credentials(fake, store));
    expect(added.status, `${added.messages}; plugin log: ${proc.stderr.slice(-1500)}`).toBe('SUCCESS');
    expect(added.results).toHaveLength(1);
  }
}, 180_000);

afterAll(async () => {
  proc?.closeStdin();
  await proc?.stop(15_000);
});

describe('search_memory through the built plugin', () => {
  it('sorts every answer by score, each score 0–1 with its parts; nothing in common never fills top_k', async () => {
    for (const query of QUERIES) {
      const answer = await call('search_memory', { query, user_id: 'ana', top_k: 13 }, credentials(fake, store));
      expectSortedScores(answer, query);
      // Some memories share nothing with each of these queries: they must not be padded in to reach top_k 13.
      expect(answer.results.length, query).toBeLessThan(MEMORIES.length);
      for (const hit of answer.results) {
        expect(hit.vector_score, `${query}: vector_score`).toBeGreaterThanOrEqual(0);
        expect(hit.vector_score!).toBeLessThanOrEqual(1);
        expect(hit.keyword_score, `${query}: keyword_score`).toBeGreaterThanOrEqual(0);
        expect(hit.keyword_score!).toBeLessThanOrEqual(1);
        // The fused score is never below the vector similarity, and the keyword side only ever adds.
        expect(hit.score).toBeGreaterThanOrEqual(hit.vector_score! - 1e-9);
      }
    }
    const jon = await call('search_memory', { query: 'When is Jon’s party?', user_id: 'ana', top_k: 3 }, credentials(fake, store));
    expect(jon.results[0]?.memory).toBe("Jon's birthday party is next Friday.");
    expect(jon.results[0]?.keyword_score).toBeGreaterThan(0);
    const tea = await call('search_memory', { query: '我喜欢喝什么？', user_id: 'ana', top_k: 3 }, credentials(fake, store));
    expect(tea.results[0]?.memory).toBe('我喜欢喝绿茶。');
  });

  it('threshold drops results scoring below it and never returns a lower score', async () => {
    const all = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', top_k: 10 }, credentials(fake, store));
    expectSortedScores(all, 'all');
    expect(all.results.length).toBeGreaterThan(2);
    const cut = all.results[1]!.score;
    const kept = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', top_k: 10, threshold: cut }, credentials(fake, store));
    expectSortedScores(kept, 'threshold');
    expect(kept.results.map((h) => h.id)).toEqual(all.results.filter((h) => h.score >= cut).map((h) => h.id));
    expect(kept.results.every((h) => h.score >= cut)).toBe(true);
    const none = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', threshold: '1' }, credentials(fake, store));
    expect(none.status).toBe('SUCCESS');
    expect(none.results.every((h) => h.score >= 1)).toBe(true);
    const bad = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', threshold: 'high' }, credentials(fake, store));
    expect(bad.status).toBe('ERROR');
    expect(bad.messages).toContain('threshold');
  });

  it('a reranker that fails at search time leaves the un-reranked order, with a warning, and never zeroes the scores', async () => {
    const plain = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', top_k: 5 }, credentials(fake, store));
    const reranker = JSON.stringify({ provider: 'llm_reranker', config: { api_key: 'k', openai_base_url: failingReranker.baseURL, model: 'judge' } });
    const answer = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', top_k: 5 },
      credentials(fake, store, { local_reranker_json_secret: reranker }));
    expect(failingReranker.chatCalls().length).toBeGreaterThan(0);
    expectSortedScores(answer, 'failed reranker');
    expect(answer.results.map((h) => [h.id, h.score])).toEqual(plain.results.map((h) => [h.id, h.score]));
    expect(answer.results.every((h) => h.rerank_score === undefined)).toBe(true);
    expect(answer.warnings).toHaveLength(1);
    expect(answer.warnings![0]).toMatch(/reranker \(llm_reranker\) failed/);
  });

  it('a reranker whose package this build lacks is refused or warned about, never answered with zero scores', async () => {
    const reranker = JSON.stringify({ provider: 'cohere', config: { api_key: 'co-test-key', model: 'rerank-english-v3.0' } });
    const answer = await call('search_memory', { query: 'Where do I live?', user_id: 'ana', top_k: 5 },
      credentials(fake, store, { local_reranker_json_secret: reranker }));
    if (answer.status === 'SUCCESS') {
      expectSortedScores(answer, 'cohere');
      expect(answer.results.length).toBeGreaterThan(0);
      expect(answer.warnings?.[0]).toMatch(/reranker \(cohere\) failed/);
    } else {
      expect(answer.status).toBe('ERROR');
      expect(answer.messages).toMatch(/cohere/);
    }
    expect(proc.stderr).not.toContain('co-test-key');
  });
});

const ENGLISH = ['tea', 'coffee', 'dog', 'dogs', "Jon's", 'Lisbon', 'running', 'runs', 'guitar', 'the', 'with', 'did', 'my', 'sister', 'adopted', 'adopting', 'party', 'Friday', 'hospital', 'nurse', 'peanuts', 'allergic', 'garden', 'book', 'reading'];
const CHINESE = ['我', '喜欢', '绿茶', '咖啡', '妹妹', '上海', '住在', '生日', '学习', '日语', '的', '是', '跑步', '医院', '花园', '读书'];

describe('search_memory property test through the built plugin', () => {
  it('200 random queries: sorted by score, every score in [0, 1], threshold never returns a lower score', async () => {
    const random = seededRandom(20261203);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const phrase = (min: number, max: number) => {
      const words = Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, () => (random() < 0.5 ? pick(ENGLISH) : pick(CHINESE)));
      return words.join(random() < 0.3 ? '' : ' ');
    };
    const creds = credentials(fake, store);
    const memories = Array.from({ length: 40 }, (_, i) => `${phrase(2, 7)} ${i}.`);
    for (const memory of memories) {
      const added = await call('add_memory', { user: memory, user_id: 'prop', timeout: 60 }, creds);
      expect(added.status, added.messages).toBe('SUCCESS');
    }
    for (let q = 0; q < 200; q++) {
      const query = phrase(1, 5) + (random() < 0.2 ? '?' : '');
      const topK = 1 + Math.floor(random() * 20);
      const answer = await call('search_memory', { query, user_id: 'prop', top_k: topK }, creds);
      expectSortedScores(answer, query);
      expect(answer.results.length).toBeLessThanOrEqual(topK);
      for (const hit of answer.results) {
        expect(hit.score).toBeGreaterThanOrEqual(0);
        expect(hit.score).toBeLessThanOrEqual(1);
      }
      const threshold = Math.round(random() * 100) / 100;
      const cut = await call('search_memory', { query, user_id: 'prop', top_k: topK, threshold }, creds);
      expectSortedScores(cut, `${query} ≥ ${threshold}`);
      expect(cut.results.every((h) => h.score >= threshold), `${query} ≥ ${threshold}`).toBe(true);
      // The same search with a threshold is the unthresholded one without the results below it.
      expect(cut.results.map((h) => h.id)).toEqual(answer.results.filter((h) => h.score >= threshold).map((h) => h.id));
    }
  }, 300_000);
});
