/**
 * Runtime texts (status messages) in the four languages Dify shows, loaded from i18n/*.json, and the per-request
 * language pick. The JSON files are bundled into dist/plugin.js, so nothing is read from disk at run time.
 * @module
 */
import enUS from '../../i18n/en_US.json' with { type: 'json' };
import zhHans from '../../i18n/zh_Hans.json' with { type: 'json' };
import jaJP from '../../i18n/ja_JP.json' with { type: 'json' };
import ptBR from '../../i18n/pt_BR.json' with { type: 'json' };

export const LANGUAGES = ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A translatable text: a key in i18n/*.json plus the values for its `{placeholders}`. */
export interface Text {
  key: string;
  params?: Record<string, string | number>;
}

export const CATALOGS: Record<Language, Record<string, string>> = {
  en_US: enUS,
  zh_Hans: zhHans,
  ja_JP: jaJP,
  pt_BR: ptBR,
};

/** Renders a text; a key missing in one language falls back to English, an unknown key to the key itself. */
export function translate(language: Language, text: Text): string {
  const template = CATALOGS[language][text.key] ?? CATALOGS.en_US[text.key] ?? text.key;
  const params = text.params ?? {};
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Accepts `zh_Hans`, `zh-CN`, `zh`, `ja`, `ja-JP`, `pt`, `pt-BR`, `en`, …; anything else is `undefined`. */
export function normalizeLanguage(value: string | undefined): Language | undefined {
  const wanted = value?.trim().toLowerCase().replace('-', '_');
  if (!wanted) return undefined;
  const exact = LANGUAGES.find((language) => language.toLowerCase() === wanted);
  if (exact) return exact;
  const prefixes: Record<string, Language> = { zh: 'zh_Hans', ja: 'ja_JP', pt: 'pt_BR', en: 'en_US' };
  return prefixes[wanted.slice(0, 2)];
}

const KANA = /[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]/u;
const HAN = /\p{Script=Han}/u;

/**
 * The language for one request: `PLUGIN_LANGUAGE` when it names one of ours, otherwise a guess from the request's text
 * parameters: any kana → Japanese (Japanese text mixes kana with Han), else any Han → Simplified Chinese, else English.
 * Portuguese is only chosen through `PLUGIN_LANGUAGE`: telling it from English by script is not possible.
 */
export function pickLanguage(configured: string | undefined, parameters: Record<string, unknown>): Language {
  const chosen = normalizeLanguage(configured);
  if (chosen) return chosen;
  const text = Object.values(parameters)
    .filter((value): value is string => typeof value === 'string')
    .join('\n');
  if (KANA.test(text)) return 'ja_JP';
  if (HAN.test(text)) return 'zh_Hans';
  return 'en_US';
}
