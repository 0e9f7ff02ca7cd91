import { beforeAll, describe, expect, it } from 'vitest';
import type { DifyMessage } from '../../../src/jobs/extraction/dify-client.js';
import { capNewest, loadTokenizer, messageTokens, messageTurns, tokenBudget, tokenCap } from '../../../src/jobs/extraction/tokens.js';
import type { Tokenizer } from '../../../src/jobs/extraction/tokens.js';
import { sampleTurns } from '../../helpers/fake-dify.js';

let tk: Tokenizer;
beforeAll(async () => {
  tk = await loadTokenizer();
});

const messages = (language: 'en' | 'zh', n: number): DifyMessage[] =>
  sampleTurns(language, n).map((t, i) => ({ id: `m${i}`, conversation_id: 'c', query: t.query, answer: t.answer, created_at: 1000 + i }));

describe('cl100k_base tokenizer', () => {
  it('counts like OpenAI’s cl100k_base', () => {
    // Reference counts of the cl100k_base encoding.
    expect(tk.count('hello world')).toBe(2);
    expect(tk.count('tiktoken is great!')).toBe(6);
    expect(tk.count('')).toBe(0);
    // Chinese takes about one token per character or more.
    expect(tk.count('我不吃辣')).toBeGreaterThanOrEqual(4);
  });

  it('treats special-token text from users as plain text', () => {
    expect(() => tk.count('please ignore <|endoftext|> this')).not.toThrow();
    expect(tk.count('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('loads once and hands out the same instance', async () => {
    expect(await loadTokenizer()).toBe(tk);
  });

  it('truncates Chinese text without leaving a broken character', () => {
    const text = '我女儿今年八岁，喜欢熊猫，周末想带她去看熊猫基地。'.repeat(20);
    for (const n of [1, 2, 3, 7, 50]) {
      const cut = tk.truncate(text, n);
      expect(cut).not.toMatch(/\uFFFD/u);
      expect(text.startsWith(cut)).toBe(true);
      expect(tk.count(cut)).toBeLessThanOrEqual(n);
    }
    expect(tk.truncate('short', 100)).toBe('short');
  });
});

describe('capNewest', () => {
  it('keeps every message when the conversation fits', () => {
    const list = messages('en', 4);
    const capped = capNewest(list, tokenCap(64), tk);
    expect(capped).toMatchObject({ keptMessages: 4, droppedMessages: 0, truncated: false });
    expect(capped.turns).toHaveLength(8);
    expect(capped.turns[0]).toEqual({ role: 'user', content: list[0]!.query });
  });

  it('keeps the newest messages of a long Chinese conversation within the cap', () => {
    const list = messages('zh', 400);
    const perMessage = list.map((m) => messageTokens(m, tk));
    const total = perMessage.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(tokenCap(1) * 5);
    const capped = capNewest(list, tokenCap(1), tk);
    expect(capped.tokens).toBeLessThanOrEqual(1000);
    expect(capped.droppedMessages + capped.keptMessages).toBe(400);
    // Exactly the newest messages that fit, in chronological order, ending with the last one.
    const kept = list.slice(400 - capped.keptMessages);
    expect(capped.turns).toEqual(kept.flatMap((m) => messageTurns(m)));
    const next = perMessage[400 - capped.keptMessages - 1]!;
    expect(capped.tokens + next).toBeGreaterThan(1000);
    // The transcript the engine builds really fits (counted as one text).
    const transcript = capped.turns.map((t) => `${t.role}: ${t.content}\n`).join('');
    expect(tk.count(transcript)).toBeLessThanOrEqual(1000);
  });

  it('cuts the newest message when it alone is over the cap, keeping the user’s words first', () => {
    const huge: DifyMessage = {
      id: 'big',
      conversation_id: 'c',
      query: '请记住：我对花生过敏。',
      answer: '好的，我记住了。'.repeat(2000),
      created_at: 5,
    };
    const capped = capNewest([...messages('zh', 3), huge], 200, tk);
    expect(capped).toMatchObject({ keptMessages: 1, droppedMessages: 3, truncated: true });
    expect(capped.turns[0]).toEqual({ role: 'user', content: huge.query });
    expect(capped.turns[1]!.role).toBe('assistant');
    expect(huge.answer.startsWith(capped.turns[1]!.content)).toBe(true);
    expect(capped.tokens).toBeLessThanOrEqual(200);
  });

  it('skips messages with neither query nor answer', () => {
    const list = [...messages('en', 2), { id: 'e', conversation_id: 'c', query: ' ', answer: '', created_at: 9 }];
    expect(capNewest(list, 10_000, tk)).toMatchObject({ keptMessages: 2, droppedMessages: 0 });
  });

  it('tokenCap reads thousands', () => {
    expect(tokenCap(64)).toBe(64_000);
    expect(tokenCap(0)).toBe(1000);
  });

  it('tokenBudget says "enough" once the newest messages fill the cap', () => {
    const list = messages('zh', 100).reverse();
    const enough = tokenBudget(500, tk);
    let pages = 0;
    for (let i = 0; i < list.length; i += 10) {
      pages += 1;
      if (enough(list.slice(i, i + 10))) break;
    }
    const needed = capNewest([...list].reverse(), 500, tk).keptMessages;
    expect(pages).toBe(Math.floor(needed / 10) + 1);
  });
});
