import { describe, expect, it } from 'vitest';
import { ClassificationError, classifyConversation, parseClassification } from '../../../src/jobs/extraction/classify.js';
import type { ExtractionLlm } from '../../../src/jobs/extraction/classify.js';
import {
  classificationMessages,
  extractionFocus,
  extractionMetadata,
  scriptHint,
} from '../../../src/jobs/extraction/prompts.js';
import type { PromptMessage } from '../../../src/jobs/extraction/prompts.js';
import type { ConversationTurn } from '../../../src/jobs/extraction/tokens.js';

describe('parseClassification', () => {
  it.each([
    ['{"type": "SEMANTIC", "reason": "user states a diet"}', 'SEMANTIC', 'user states a diet'],
    ['```json\n{"type":"episodic","reason":"a trip next month"}\n```', 'EPISODIC', 'a trip next month'],
    ['Here is my answer:\n{"type": "Procedural", "reason": "answer format {short}"}\nHope it helps.', 'PROCEDURAL', 'answer format {short}'],
    ['{"memory_type": "NONE"}', 'NONE', ''],
    ['{"type": "SEMANTIC memory"}', 'SEMANTIC', ''],
    ['EPISODIC', 'EPISODIC', ''],
    ['"none".', 'NONE', ''],
    ['```\n{"category": " semantic ", "reason": 3}\n```', 'SEMANTIC', ''],
  ])('reads %j', (raw, kind, reason) => {
    expect(parseClassification(raw)).toEqual({ kind, reason });
  });

  it.each([
    ['', /not JSON/],
    ['I think it is mostly about food.', /not JSON/],
    ['{"type": "FACTUAL"}', /unknown type "FACTUAL"/],
    ['{"type": "SEMANTIC or EPISODIC"}', /unknown type/],
    ['{"answer": "SEMANTIC"}', /expected shape/],
    ['{"type": "SEMANTIC"', /not JSON/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseClassification(raw)).toThrow(ClassificationError);
    expect(() => parseClassification(raw)).toThrow(message);
  });
});

const turns: ConversationTurn[] = [
  { role: 'user', content: '我不吃辣，有什么清淡的川菜推荐吗？' },
  { role: 'assistant', content: '可以试试开水白菜。' },
];

class ScriptedLlm implements ExtractionLlm {
  readonly calls: PromptMessage[][] = [];
  constructor(private readonly answers: string[]) {}
  async completeJson(messages: PromptMessage[]): Promise<string> {
    this.calls.push(messages);
    const next = this.answers.shift();
    if (next === undefined) throw new Error('no scripted answer left');
    return next;
  }
}

describe('classifyConversation', () => {
  it('makes exactly one call showing the whole transcript', async () => {
    const llm = new ScriptedLlm(['{"type":"SEMANTIC","reason":"diet"}']);
    expect(await classifyConversation(llm, turns)).toEqual({ kind: 'SEMANTIC', reason: 'diet' });
    expect(llm.calls).toHaveLength(1);
    const [system, user] = llm.calls[0]!;
    expect(system!.role).toBe('system');
    expect(system!.content).toMatch(/SEMANTIC.*EPISODIC.*PROCEDURAL.*NONE/s);
    expect(user!.content).toBe('Conversation:\nuser: 我不吃辣，有什么清淡的川菜推荐吗？\nassistant: 可以试试开水白菜。');
  });

  it('does not call the LLM for an empty conversation', async () => {
    const llm = new ScriptedLlm([]);
    expect(await classifyConversation(llm, [])).toMatchObject({ kind: 'NONE' });
    expect(llm.calls).toHaveLength(0);
  });

  it('surfaces an unreadable answer as ClassificationError', async () => {
    await expect(classifyConversation(new ScriptedLlm(['no idea']), turns)).rejects.toBeInstanceOf(ClassificationError);
  });
});

describe('extraction prompts', () => {
  it('asks for facts in the user’s language, naming a non-Latin script', () => {
    expect(extractionFocus('SEMANTIC', turns)).toMatch(/language of the user's messages \(Chinese\); never translate/);
    expect(extractionFocus('EPISODIC', [{ role: 'user', content: 'I fly to Rome on Friday.' }])).toMatch(/language of the user's messages; never translate/);
    expect(extractionFocus('EPISODIC', turns)).toMatch(/absolute date/);
    expect(extractionFocus('PROCEDURAL', turns)).toMatch(/steps/);
    // Only the user's words decide: an English answer to a Chinese question stays Chinese.
    expect(extractionFocus('SEMANTIC', [turns[0]!, { role: 'assistant', content: 'Sure, try boiled cabbage soup.' }])).toMatch(/\(Chinese\)/);
  });

  it('tells scripts apart', () => {
    expect(scriptHint('明日は京都へ行きます')).toBe('Japanese');
    expect(scriptHint('내일 서울에 가요')).toBe('Korean');
    expect(scriptHint('Я живу в Москве')).toBe('Cyrillic script');
    expect(scriptHint('I use 微信 at work every day')).toBeUndefined();
    expect(scriptHint('1234 !!')).toBeUndefined();
  });

  it('tags memories with a lower-case subtype and the implicit origin', () => {
    expect(extractionMetadata('PROCEDURAL')).toEqual({ memory_subtype: 'procedural', memory_origin: 'implicit' });
  });

  it('keeps the classification prompt free of the answer’s content', () => {
    const [system] = classificationMessages(turns);
    expect(system!.content).not.toContain('川菜');
  });
});
