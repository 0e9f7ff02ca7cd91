import { describe, expect, it } from 'vitest';
import { CATALOGS, LANGUAGES, normalizeLanguage, pickLanguage, translate } from '../../src/tools/i18n.js';

const placeholders = (template: string) => [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('catalogs', () => {
  it.each(LANGUAGES)('%s has every key of en_US, with the same placeholders, and nothing else', (language) => {
    const english = CATALOGS.en_US;
    const catalog = CATALOGS[language];
    expect(Object.keys(catalog).sort()).toEqual(Object.keys(english).sort());
    for (const [key, template] of Object.entries(english)) {
      expect(placeholders(catalog[key]!), `${language} ${key}`).toEqual(placeholders(template));
      expect(catalog[key]!.trim(), `${language} ${key}`).not.toBe('');
    }
  });

  it('non-English catalogs are translated, not copies of English', () => {
    for (const language of ['zh_Hans', 'ja_JP', 'pt_BR'] as const) {
      const same = Object.keys(CATALOGS.en_US).filter((key) => !key.startsWith('format.') && CATALOGS[language][key] === CATALOGS.en_US[key]);
      expect(same, language).toEqual([]);
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en_US', { key: 'param.min', params: { name: 'top_k', min: 1, value: 0 } })).toBe('top_k must be at least 1, got 0');
    expect(translate('en_US', { key: 'param.min', params: { name: 'top_k' } })).toBe('top_k must be at least {min}, got {value}');
    expect(translate('zh_Hans', { key: 'no.such.key' })).toBe('no.such.key');
  });
});

describe('pickLanguage', () => {
  it('follows PLUGIN_LANGUAGE when it names a language we have', () => {
    expect(pickLanguage('pt_BR', { query: '你好' })).toBe('pt_BR');
    expect(pickLanguage('zh-CN', {})).toBe('zh_Hans');
    expect(pickLanguage('ja', {})).toBe('ja_JP');
    expect(pickLanguage(' EN ', { query: 'こんにちは' })).toBe('en_US');
  });

  it('detects from the request text otherwise: kana → Japanese, Han → Chinese, else English', () => {
    expect(pickLanguage(undefined, { user: '我喜欢喝茶', user_id: 'alex' })).toBe('zh_Hans');
    expect(pickLanguage(undefined, { user: '私はお茶が好きです', user_id: 'alex' })).toBe('ja_JP');
    expect(pickLanguage(undefined, { user: 'カレー', user_id: 'alex' })).toBe('ja_JP');
    expect(pickLanguage(undefined, { user: 'I like tea', top_k: 5 })).toBe('en_US');
    expect(pickLanguage(undefined, { user: 'Eu gosto de chá' })).toBe('en_US');
    expect(pickLanguage('', {})).toBe('en_US');
  });

  it('ignores a PLUGIN_LANGUAGE it does not know', () => {
    expect(pickLanguage('fr_FR', { user: '喝茶' })).toBe('zh_Hans');
    expect(normalizeLanguage('klingon')).toBeUndefined();
  });
});
