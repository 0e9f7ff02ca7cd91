/**
 * One side of the retrieval benchmark: loads the generated conversations (data.ts) with their precomputed
 * embeddings into a fresh embedded PGlite store (one scope per conversation, every turn a memory as stored with
 * `infer=false`), asks every question in its conversation's scope through the store's own search, and measures
 * recall@1/5/10 (a question counts when one of its evidence turns is in the top k) and search latency.
 *
 * run.mjs bundles this file twice: against this tree's src/ ("new") and against the src/ of a baseline commit
 * ("old"), so both rankings run the same code path on the same data. Only the store's public API is used here, so
 * both trees build it. `vector only` is the same store searched without query text.
 * @module
 */
import { openStore, parseStoreConfig } from '../../src/store/index.js';

export interface SideInput {
  texts: string[];
  /** Conversation of each text. */
  conversation: number[];
  vectors: Float32Array;
  dims: number;
  questions: Array<{ conversation: number; text: string; evidence: number[]; vector: number[] }>;
  vectorOnly: boolean;
}

export interface SideResult {
  recall: Record<1 | 5 | 10, number>;
  questions: number;
  p50: number;
  p95: number;
}

const TOP_K = 10;
const BATCH = 500;

export async function main(input: SideInput): Promise<SideResult> {
  const store = await openStore(parseStoreConfig({
    provider: 'pglite', config: { path: 'memory://', collection_name: 'retrieval', embedding_model_dims: input.dims },
  }));
  try {
    const byConversation = new Map<number, number[]>();
    input.conversation.forEach((c, i) => byConversation.set(c, [...(byConversation.get(c) ?? []), i]));
    for (const [c, rows] of byConversation) {
      for (let from = 0; from < rows.length; from += BATCH) {
        const chunk = rows.slice(from, from + BATCH);
        await store.memories.insert({ userId: `conv-${c}` }, chunk.map((i) => ({
          data: input.texts[i]!,
          vector: Array.from(input.vectors.subarray(i * input.dims, (i + 1) * input.dims)),
        })));
      }
    }
    const hits = { 1: 0, 5: 0, 10: 0 };
    const times: number[] = [];
    for (const q of input.questions) {
      const started = performance.now();
      const found = await store.memories.search({ userId: `conv-${q.conversation}` }, {
        vector: q.vector, query: input.vectorOnly ? null : q.text, topK: TOP_K,
      });
      times.push(performance.now() - started);
      // Evidence turns are told apart by their text (each states one speaker's fact with its value: unique).
      const evidence = new Set(q.evidence.map((i) => input.texts[i]));
      for (const k of [1, 5, 10] as const) if (found.slice(0, k).some((h) => evidence.has(h.data))) hits[k] += 1;
    }
    times.sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
    const n = input.questions.length;
    return { recall: { 1: hits[1] / n, 5: hits[5] / n, 10: hits[10] / n }, questions: n, p50: at(0.5), p95: at(0.95) };
  } finally {
    await store.close();
  }
}
