// Scores of mem0ai vector stores as 0-1 similarities: each store's `score` is what mem0ai 3.3 computes from the
// backend's answer (read in node_modules/mem0ai/dist/oss/index.mjs); a distance backend must end at max(0, 1 - d).
import { describe, expect, it } from 'vitest';
import { mapVectorStoreConfig, normalizeScore } from '../../../src/memory/config/vector-store-config.js';

/** What mem0ai reports for a distance `d` when it turns it into `1 / (1 + d)`. */
const inverse = (d: number): number => 1 / (1 + d);
const score = (provider: string, raw: number, pythonConfig: Record<string, unknown> = {}): number =>
  normalizeScore(provider, raw, mapVectorStoreConfig(provider, pythonConfig));

describe('vector store scores', () => {
  it('distance backends score max(0, 1 - distance) whatever mem0ai made of the distance', () => {
    for (const d of [0, 0.25, 0.5, 0.9]) {
      expect(score('chroma', inverse(d))).toBeCloseTo(1 - d, 10);
      // Milvus and Baidu default to L2; mem0ai reports 1 / (1 + d) for it.
      expect(score('milvus', inverse(d))).toBeCloseTo(1 - d, 10);
      expect(score('milvus', inverse(d), { metric_type: 'L2' })).toBeCloseTo(1 - d, 10);
      expect(score('baidu', inverse(d))).toBeCloseTo(1 - d, 10);
      expect(score('turbopuffer', inverse(d), { distance_metric: 'euclidean_squared' })).toBeCloseTo(1 - d, 10);
      expect(score('s3_vectors', inverse(d), { distance_metric: 'euclidean' })).toBeCloseTo(1 - d, 10);
      expect(score('neptune', inverse(d))).toBeCloseTo(1 - d, 10);
      expect(score('oracledb', inverse(d), { distance_metric: 'EUCLIDEAN' })).toBeCloseTo(1 - d, 10);
      expect(score('oracledb', 1 / (1 + Math.sqrt(d)), { distance_metric: 'EUCLIDEAN_SQUARED' })).toBeCloseTo(1 - d, 10);
      // A lower-case "l2" is not recognised by mem0ai, which then passes the raw distance through.
      expect(score('milvus', d, { metric_type: 'l2' })).toBeCloseTo(1 - d, 10);
    }
    // Far away: 0, never negative.
    expect(score('chroma', inverse(3))).toBe(0);
    expect(score('milvus', inverse(1.5))).toBe(0);
  });

  it('similarity backends are clamped to [0, 1]', () => {
    expect(score('milvus', 0.8, { metric_type: 'COSINE' })).toBeCloseTo(0.8, 10);
    expect(score('milvus', 1.7, { metric_type: 'IP' })).toBe(1);
    expect(score('turbopuffer', 0.7)).toBeCloseTo(0.7, 10);
    expect(score('s3_vectors', 0.6)).toBeCloseTo(0.6, 10);
    expect(score('oracledb', 0.4)).toBeCloseTo(0.4, 10);
    expect(score('qdrant', 0.93)).toBeCloseTo(0.93, 10);
    expect(score('memory', -0.2)).toBe(0);
    expect(score('redis', 1.2)).toBe(1);
    expect(score('qdrant', Number.NaN)).toBe(0);
    expect(score('qdrant', undefined as unknown as number)).toBe(0);
  });
});
