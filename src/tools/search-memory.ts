/**
 * search_memory: the memories of one user most relevant to a query, best first by a 0–1 `score` (with its parts),
 * optionally only those scoring at least `threshold`.
 * @module
 */
import { z } from 'zod';
import { bounded, count, defineTool, id, jsonObject, optionalId, scopeOf, text, timeout, nodeModel } from './schemas.js';

/** The seed's default (the ceiling, 100, keeps a workflow's context small: declared in the YAML). */
const DEFAULT_TOP_K = 5;

export const searchMemory = defineTool({
  name: 'search_memory',
  schema: z.object({
    query: text(),
    user_id: id(),
    agent_id: optionalId(),
    run_id: optionalId(),
    filters: jsonObject(),
    top_k: count(DEFAULT_TOP_K),
    threshold: bounded(0, 1),
    timeout: timeout(),
    rerank_model: nodeModel(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const { results: hits, warnings, relations } = await services.memories.search(
      { scope: scopeOf(input), query: input.query, filters: input.filters, topK: input.top_k, threshold: input.threshold },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: hits,
      warnings: warnings.map((w) => ({ key: 'warn.reranker_fallback', params: { provider: w.provider, detail: w.detail } })),
      message: { key: 'ok.search_memory', params: { count: hits.length } },
      details: [
        ...hits.map((hit, index) => `${index + 1}. ${hit.memory} (${hit.score.toFixed(2)})`),
        ...(relations ?? []).map((r) => `${r.source} —${r.relationship}→ ${r.destination} (${r.score.toFixed(2)})`),
      ],
      ...(relations ? { relations } : {}),
    };
  },
});
