/**
 * How a search ranks: the keyword score (IDF-weighted, BM25-like) and the fusion with the vector similarity into the
 * one 0–1 `score` results are ordered by. The SQL store computes the same formula in SQL (queries.ts reads the
 * constants below); {@link keywordScores} and {@link fuseScores} are the JavaScript side for backends whose search
 * cannot run it (the external vector stores), so every backend's `score` means the same.
 *
 * - keyword score k ∈ [0, 1]: the IDF mass of the query's terms that a memory contains, over the IDF mass of all the
 *   query's terms (a term no memory contains counts too, with the highest weight), times a BM25 length factor that
 *   is 1 up to the average length and shrinks for longer memories. Memories hold each term once (the stored column
 *   is a set), so BM25's term-frequency part is constant and only IDF and length remain.
 * - score = v + W·k·(1 − v), v the 0–1 vector similarity: never below v (a strong vector hit is never pushed under
 *   a weaker one by keywords alone), a keyword match lifts a memory by a share of what it lacks, and a memory that
 *   shares nothing with the query (v = 0, k = 0) scores 0.
 * @module
 */

/** BM25's k1 and b (the usual values). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Weight of the keyword score in the fusion (chosen on bench/retrieval; see docs/benchmarks.md). */
export const KEYWORD_WEIGHT = 0.5;

/** BM25's IDF, always positive: `ln(1 + (n − df + 0.5) / (df + 0.5))`. */
export function idf(rows: number, df: number): number {
  const n = Math.max(rows, df);
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** The length factor: 1 up to the average length, below 1 for longer memories. */
export function lengthFactor(length: number, averageLength: number): number {
  const ratio = length / Math.max(averageLength, 1);
  return Math.min(1, (1 + BM25_K1) / (1 + BM25_K1 * (1 - BM25_B + BM25_B * ratio)));
}

/**
 * Keyword scores of `documents` (each the set of its terms) for `queryTerms`, with document frequencies counted
 * over `documents` themselves. Returns one score per document, in order.
 */
export function keywordScores(queryTerms: readonly string[], documents: ReadonlyArray<ReadonlySet<string>>): number[] {
  if (queryTerms.length === 0 || documents.length === 0) return documents.map(() => 0);
  const weights = queryTerms.map((term) => idf(documents.length, documents.filter((d) => d.has(term)).length));
  const total = weights.reduce((a, b) => a + b, 0);
  const averageLength = documents.reduce((a, d) => a + d.size, 0) / documents.length;
  return documents.map((doc) => {
    let matched = 0;
    queryTerms.forEach((term, i) => {
      if (doc.has(term)) matched += weights[i]!;
    });
    return matched === 0 ? 0 : clamp01((matched / total) * lengthFactor(doc.size, averageLength));
  });
}

/** The fused 0–1 relevance of a memory from its vector similarity and keyword score. */
export function fuseScores(vectorScore: number, keywordScore: number): number {
  const v = clamp01(vectorScore);
  return clamp01(v + KEYWORD_WEIGHT * clamp01(keywordScore) * (1 - v));
}

export function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
