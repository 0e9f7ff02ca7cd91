import { describe, expect, it } from 'vitest';
import { wordTokens, tsqueryText } from '../../src/store/tokens.js';

describe('wordTokens', () => {
  it('splits Chinese and Japanese into words, not one giant token', () => {
    expect(wordTokens('我喜欢寿司')).toEqual(expect.arrayContaining(['喜欢', '寿司']));
    expect(wordTokens('私は寿司が好きです').length).toBeGreaterThan(2);
  });

  it('keeps every word of a long text that spans many segmentation chunks', () => {
    const words = Array.from({ length: 1500 }, (_, i) => `word${i}`);
    const tokens = wordTokens(words.join(' '));
    expect(tokens).toEqual(words);
  });

  it('stops at the token cap and does not scan past the character bound', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    expect(wordTokens(many)).toHaveLength(2048);
    const late = `${'same '.repeat(50_000)}needle`; // "needle" starts at character 250 000
    expect(wordTokens(late)).toEqual(['same']);
    // Tokens are Snowball stems ("needle" → "needl"), the form the keyword column stores.
    expect(wordTokens(`needle ${'same '.repeat(50_000)}`)).toEqual(['needl', 'same']);
  });

  it('quotes every token so no input can inject tsquery operators', () => {
    expect(tsqueryText(["it's", 'a\\b'])).toBe("'it''s' | 'a\\\\b'");
    expect(tsqueryText([])).toBeNull();
  });
});
