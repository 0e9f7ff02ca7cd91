import { describe, expect, it } from 'vitest';
import { factExtractionMessages, reconcileMessages, retryMessages } from '../../src/memory/prompts.js';

describe('prompts', () => {
  it('fact extraction: system rules + transcript, asks for {"facts": [...]} in the conversation language', () => {
    const messages = factExtractionMessages(
      [{ role: 'user', content: '我下周去东京出差' }, { role: 'assistant', content: '祝你顺利！' }],
      { today: '2026-03-01', focus: 'preferences only' },
    );
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]!.content).toContain('{"facts": ["...", "..."]}');
    expect(messages[0]!.content).toContain('Chinese stays Chinese');
    expect(messages[0]!.content).toContain('Today is 2026-03-01.');
    expect(messages[0]!.content).toContain('Focus: preferences only');
    expect(messages[1]!.content).toBe('Conversation:\nuser: 我下周去东京出差\nassistant: 祝你顺利！');
  });

  it('reconciliation: stored memories under integer ids, new facts as a JSON list', () => {
    const messages = reconcileMessages([{ handle: 0, text: 'Likes tea' }, { handle: 1, text: '住在上海' }], ['Likes coffee']);
    expect(messages[0]!.content).toContain('{"actions": [');
    expect(messages[1]!.content).toBe('Stored memories:\n[{"id":0,"text":"Likes tea"},{"id":1,"text":"住在上海"}]\n\nNew facts:\n["Likes coffee"]');
    expect(reconcileMessages([], ['x'])[1]!.content).toContain('Stored memories:\n(none)');
  });

  it('retry shows the bad answer and the problem after the original request', () => {
    const original = factExtractionMessages([{ role: 'user', content: 'hi' }], { today: '2026-01-01' });
    const retry = retryMessages(original, 'oops', 'no JSON object found');
    expect(retry.slice(0, 2)).toEqual(original);
    expect(retry[2]).toEqual({ role: 'assistant', content: 'oops' });
    expect(retry[3]!.content).toContain('no JSON object found');
  });
});
