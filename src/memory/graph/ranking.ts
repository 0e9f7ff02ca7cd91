/**
 * Orders the relations found near the query's entities. Two parts, both 0–1:
 * - closeness: how well the relation's seed entity matched the query (1 when the query names it, else the cosine of
 *   the query and the name), halved for a relation two hops away;
 * - keywords: Okapi BM25 of the query over the relation triples ("anna lives in shanghai"), divided by the best
 *   candidate's, with words and CJK characters as terms (the match-key tokens of names.ts).
 * score = 0.6 × closeness + 0.4 × keywords. The same triple found in several of a user's graphs is listed once.
 * @module
 */
import type { NearRelation } from '../../store/graph/types.js';
import { matchKey, tripleText } from './names.js';

export interface RankedRelation {
  source: string;
  relationship: string;
  destination: string;
  score: number;
}

const K1 = 1.2;
const B = 0.75;
const CLOSENESS_WEIGHT = 0.6;

export function rankRelations(query: string, found: NearRelation[], seedScores: ReadonlyMap<string, number>, topK: number): RankedRelation[] {
  const unique = new Map<string, NearRelation>();
  for (const r of found) {
    const key = `${r.source}\u0000${r.relationship}\u0000${r.destination}`;
    const known = unique.get(key);
    if (!known || closeness(r, seedScores) > closeness(known, seedScores)) unique.set(key, r);
  }
  const rows = [...unique.values()];
  const docs = rows.map((r) => terms(tripleText(r)));
  const bm25 = okapi(terms(query), docs);
  const best = Math.max(0, ...bm25);
  return rows
    .map((r, i) => ({
      relation: r,
      score: round(CLOSENESS_WEIGHT * closeness(r, seedScores) + (1 - CLOSENESS_WEIGHT) * (best > 0 ? bm25[i]! / best : 0)),
    }))
    .sort((a, b) => b.score - a.score || a.relation.hop - b.relation.hop || tripleText(a.relation).localeCompare(tripleText(b.relation)))
    .slice(0, topK)
    .map(({ relation, score }) => ({ source: relation.source, relationship: relation.relationship, destination: relation.destination, score }));
}

function closeness(r: NearRelation, seedScores: ReadonlyMap<string, number>): number {
  const seed = Math.min(1, Math.max(0, seedScores.get(r.seed) ?? 0));
  return r.hop === 1 ? seed : seed / 2;
}

function terms(text: string): string[] {
  return matchKey(text).trim().split(' ').filter((t) => t !== '');
}

/** BM25 of `query` against each document of `docs` (IDF with the usual +1 so common terms never go negative). */
function okapi(query: string[], docs: string[][]): number[] {
  if (docs.length === 0) return [];
  const avg = docs.reduce((s, d) => s + d.length, 0) / docs.length || 1;
  const df = new Map<string, number>();
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1);
  const unique = [...new Set(query)];
  return docs.map((d) => {
    const tf = new Map<string, number>();
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    for (const t of unique) {
      const f = tf.get(t) ?? 0;
      if (f === 0) continue;
      const n = df.get(t) ?? 0;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      score += idf * ((f * (K1 + 1)) / (f + K1 * (1 - B + (B * d.length) / avg)));
    }
    return score;
  });
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
