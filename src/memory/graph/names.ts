/**
 * How entity names and relationships are written down, so the same thing said twice lands on the same node:
 * Unicode NFKC (full-width letters and digits fold to their plain forms), lower case by Unicode rules, surrounding
 * quotes and punctuation dropped, runs of spaces and underscores one space. Nothing is ASCII-only: Chinese, Japanese
 * and accented names keep their characters.
 *
 * The match key is the form used to ask "does this text mention that entity": every word and every CJK character
 * stands alone between single spaces, so "安娜" is found in "我的妹妹安娜住在上海" and "anna" in "where does anna
 * live?", but "ann" is not found in "anna".
 * @module
 */
import { MAX_NAME_LENGTH, MAX_RELATIONSHIP_LENGTH } from '../../store/graph/types.js';

/** Scripts written without spaces between words: each character is its own token in a match key. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const UNSPACED_ALL = new RegExp(UNSPACED.source, 'gu');
const NOT_WORD = /[^\p{L}\p{M}\p{N}]+/gu;
/** Control characters (NUL among them, which PostgreSQL text cannot hold) separate; format characters vanish. */
const CONTROL = /\p{Cc}/gu;
const FORMAT = /\p{Cf}/gu;
const EDGE_PUNCTUATION = /^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu;

/** The stored form of an entity name; '' when nothing is left. */
export function normaliseName(raw: string): string {
  const text = raw.normalize('NFKC').toLowerCase().replace(CONTROL, ' ').replace(FORMAT, '').replace(/[\s_]+/gu, ' ').replace(EDGE_PUNCTUATION, '').trim();
  return cut(text, MAX_NAME_LENGTH);
}

/** The stored form of a relationship: lower snake_case (Mem0's style, e.g. `lives_in`); '' when nothing is left. */
export function normaliseRelationship(raw: string): string {
  const text = raw.normalize('NFKC').toLowerCase().replace(CONTROL, ' ').replace(FORMAT, '').replace(NOT_WORD, ' ').trim().replace(/ +/g, '_');
  return cut(text, MAX_RELATIONSHIP_LENGTH);
}

/** ` w1 w2 字 字 ` — see the module comment. */
export function matchKey(text: string): string {
  const spaced = text.normalize('NFKC').toLowerCase().replace(UNSPACED_ALL, (ch) => ` ${ch} `).replace(NOT_WORD, ' ').trim();
  return spaced === '' ? '' : ` ${spaced.replace(/ +/g, ' ')} `;
}

/** What a relation reads as, for embedding and keyword ranking: "anna lives in shanghai". */
export function tripleText(t: { source: string; relationship: string; destination: string }): string {
  return `${t.source} ${t.relationship.replace(/_/g, ' ')} ${t.destination}`;
}

/** Cuts at a code point boundary (never half a surrogate pair). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out.trim();
}
