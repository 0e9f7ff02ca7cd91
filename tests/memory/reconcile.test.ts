import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/shared/errors.js';
import type { ChatMessage } from '../../src/memory/providers.js';
import { askJson, dedupeTexts, hashText, parseActions, parseFacts, planChanges, repairJson } from '../../src/memory/reconcile.js';
import type { Candidate } from '../../src/memory/reconcile.js';

describe('repairJson', () => {
  it.each([
    ['plain', '{"facts": ["a"]}'],
    ['code fence', '```json\n{"facts": ["a"]}\n```'],
    ['fence without language', '```\n{"facts": ["a"]}\n```'],
    ['prose around', 'Sure! Here you go:\n{"facts": ["a"]}\nHope this helps.'],
    ['trailing commas', '{"facts": ["a",],}'],
    ['reasoning block first', '<think>the user said {x}</think>{"facts": ["a"]}'],
  ])('%s', (_name, raw) => {
    expect(repairJson(raw)).toEqual({ facts: ['a'] });
  });

  it('returns null when there is no JSON', () => {
    expect(repairJson('I cannot help with that')).toBeNull();
    expect(repairJson('{"facts": [')).toBeNull();
  });
});

describe('parseFacts', () => {
  it('accepts {facts}, a bare list, and {fact}/{text} items; trims and dedups', () => {
    expect(parseFacts('{"facts": [" Likes tea ", "Likes tea", "", "Lives in Oslo"]}')).toEqual({ ok: true, value: ['Likes tea', 'Lives in Oslo'] });
    expect(parseFacts('["a", {"fact": "b"}, {"text": "c"}]')).toEqual({ ok: true, value: ['a', 'b', 'c'] });
  });

  it('keeps Chinese facts exactly as written', () => {
    const raw = '{"facts": ["喜欢喝乌龙茶", "住在上海"]}';
    expect(parseFacts(raw)).toEqual({ ok: true, value: ['喜欢喝乌龙茶', '住在上海'] });
  });

  it('reports the wrong shape', () => {
    expect(parseFacts('{"memories": 3}')).toMatchObject({ ok: false });
    expect(parseFacts('nothing')).toEqual({ ok: false, problem: 'no JSON object found' });
  });
});

describe('hashText / dedupeTexts', () => {
  it('is the md5 hex of the UTF-8 text, as Mem0 stores it', () => {
    expect(hashText('喜欢喝乌龙茶')).toBe(createHash('md5').update(Buffer.from('喜欢喝乌龙茶', 'utf8')).digest('hex'));
    expect(hashText('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('dedups identical texts, keeping the first', () => {
    expect(dedupeTexts(['x', 'y', 'x', ' y '])).toEqual(['x', 'y']);
  });
});

describe('parseActions', () => {
  const handles = new Set([0, 1, 2]);

  it('accepts valid actions, ids as numbers or digit strings, events in any case', () => {
    const raw = '{"actions": [{"event": "add", "text": "New"}, {"event": "UPDATE", "id": "0", "text": "Changed"}, {"event": "DELETE", "id": 1}, {"event": "NONE", "id": 2}]}';
    expect(parseActions(raw, handles)).toEqual({
      ok: true,
      value: [
        { event: 'ADD', text: 'New' },
        { event: 'UPDATE', handle: 0, text: 'Changed' },
        { event: 'DELETE', handle: 1, text: undefined },
        { event: 'NONE', handle: 2, text: undefined },
      ],
    });
  });

  it('rejects an id the LLM was not given (no invented ids)', () => {
    expect(parseActions('{"actions": [{"event": "DELETE", "id": 7}]}', handles)).toEqual({ ok: false, problem: 'id 7 is not in the stored list' });
    expect(parseActions('{"actions": [{"event": "UPDATE", "id": "3f1c2a9e-0000-4000-8000-000000000000", "text": "x"}]}', handles)).toMatchObject({ ok: false });
  });

  it('rejects an id used twice, an UPDATE without text, an ADD without text', () => {
    expect(parseActions('[{"event": "UPDATE", "id": 0, "text": "a"}, {"event": "DELETE", "id": 0}]', handles)).toMatchObject({ ok: false, problem: 'id 0 is used more than once' });
    expect(parseActions('[{"event": "UPDATE", "id": 0}]', handles)).toMatchObject({ ok: false });
    expect(parseActions('[{"event": "ADD", "text": "  "}]', handles)).toMatchObject({ ok: false });
  });

  it('accepts Mem0-style {"memory": [...]} and an unknown event is a shape error', () => {
    expect(parseActions('{"memory": [{"event": "ADD", "text": "x"}]}', handles)).toMatchObject({ ok: true });
    expect(parseActions('{"actions": [{"event": "MERGE", "id": 0}]}', handles)).toMatchObject({ ok: false });
  });
});

describe('askJson', () => {
  const messages: ChatMessage[] = [{ role: 'user', content: 'q' }];

  it('returns the first answer when it parses', async () => {
    const asked: ChatMessage[][] = [];
    const value = await askJson(async (m) => (asked.push(m), '{"facts": ["a"]}'), messages, parseFacts, 'step');
    expect(value).toEqual(['a']);
    expect(asked).toHaveLength(1);
  });

  it('retries once, showing the model its bad answer and the problem', async () => {
    const asked: ChatMessage[][] = [];
    const answers = ['not json at all', '{"facts": ["b"]}'];
    const value = await askJson(async (m) => (asked.push(m), answers.shift()!), messages, parseFacts, 'step');
    expect(value).toEqual(['b']);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.at(-2)).toEqual({ role: 'assistant', content: 'not json at all' });
    expect(asked[1]!.at(-1)!.content).toContain('no JSON object found');
  });

  it('fails with llm_output after the retry also fails (nothing silently lost)', async () => {
    let calls = 0;
    const error = await askJson(async () => (calls++, '{"oops": 1}'), messages, parseFacts, 'fact extraction').catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(isEngineError(error, 'llm_output')).toBe(true);
    expect((error as Error).message).toMatch(/^fact extraction: /);
  });
});

describe('planChanges', () => {
  const candidates: Candidate[] = [
    { handle: 0, id: 'id-0', text: 'Likes tea', hash: hashText('Likes tea') },
    { handle: 1, id: 'id-1', text: 'Lives in Oslo', hash: hashText('Lives in Oslo') },
  ];

  it('maps handles back to the real ids', () => {
    const plan = planChanges(candidates, [
      { event: 'UPDATE', handle: 0, text: 'Likes green tea' },
      { event: 'DELETE', handle: 1 },
      { event: 'ADD', text: 'Lives in Bergen' },
      { event: 'NONE', handle: undefined },
    ]);
    expect(plan).toEqual({
      adds: ['Lives in Bergen'],
      updates: [{ id: 'id-0', text: 'Likes green tea', previous: 'Likes tea' }],
      deletes: [{ id: 'id-1', text: 'Lives in Oslo' }],
    });
  });

  it('drops exact duplicates: ADD of stored text, repeated ADD, UPDATE to the same text', () => {
    const plan = planChanges(candidates, [
      { event: 'ADD', text: 'Likes tea' },
      { event: 'ADD', text: 'Plays chess' },
      { event: 'ADD', text: 'Plays chess' },
      { event: 'UPDATE', handle: 1, text: 'Lives in Oslo' },
    ]);
    expect(plan).toEqual({ adds: ['Plays chess'], updates: [], deletes: [] });
  });

  it('a deleted memory text may be added back', () => {
    const plan = planChanges(candidates, [{ event: 'DELETE', handle: 0 }, { event: 'ADD', text: 'Likes tea' }]);
    expect(plan.adds).toEqual(['Likes tea']);
  });
});
