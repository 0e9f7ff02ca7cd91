/**
 * search_memory: the memories of one user closest to a query, each with a 0–1 similarity score.
 * @module
 */
import { z } from 'zod';
import { count, defineTool, id, jsonObject, optionalId, scopeOf, text, timeout } from './schemas.js';

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
    timeout: timeout(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const hits = await services.memories.search(
      { scope: scopeOf(input), query: input.query, filters: input.filters, topK: input.top_k },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: hits,
      message: { key: 'ok.search_memory', params: { count: hits.length } },
      details: hits.map((hit, index) => `${index + 1}. ${hit.memory} (${hit.score.toFixed(2)})`),
    };
  },
});
