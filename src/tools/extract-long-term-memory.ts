/**
 * extract_long_term_memory: reads users' conversations of one Dify app through the Dify Service API and writes what
 * is worth keeping as memories. Always queued: answers ACCEPTED with a task id (or OVERLOAD when the queue is full).
 * @module
 */
import { z } from 'zod';
import { clamped, defineTool, difyBaseUrl, id, optionalId, secret, userIdList } from './schemas.js';

/** Defaults and bounds from the seed: days 1 (1–7), conversations per user 20 (10–500), 64k tokens (1–200k), 60 min (≥ 5). */
export const EXTRACTION_LIMITS = {
  daysBack: { fallback: 1, min: 1, max: 7 },
  conversationsLimit: { fallback: 20, min: 10, max: 500 },
  maxTokensK: { fallback: 64, min: 1, max: 200 },
  timeBudgetMinutes: { fallback: 60, min: 5, max: 24 * 60 },
};
const L = EXTRACTION_LIMITS;

export const extractLongTermMemory = defineTool({
  name: 'extract_long_term_memory',
  schema: z.object({
    user_ids: userIdList(),
    app_id: id(),
    run_id: optionalId(),
    days_back: clamped(L.daysBack.fallback, L.daysBack.min, L.daysBack.max),
    conversations_limit: clamped(L.conversationsLimit.fallback, L.conversationsLimit.min, L.conversationsLimit.max),
    max_tokens_per_conversation: clamped(L.maxTokensK.fallback, L.maxTokensK.min, L.maxTokensK.max),
    time_budget: clamped(L.timeBudgetMinutes.fallback, L.timeBudgetMinutes.min, L.timeBudgetMinutes.max),
    dify_base_url: difyBaseUrl(),
    dify_api_key: secret(),
  }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    const task = await services.extraction.start(
      {
        userIds: input.user_ids,
        appId: input.app_id,
        runId: input.run_id,
        daysBack: input.days_back,
        conversationsLimit: input.conversations_limit,
        maxTokensPerConversationK: input.max_tokens_per_conversation,
        timeBudgetMinutes: input.time_budget,
        difyBaseUrl: input.dify_base_url,
        difyApiKey: input.dify_api_key,
      },
      session.signal,
    );
    return { status: 'ACCEPTED', results: task, message: { key: 'ok.extract_long_term_memory', params: { task_id: task.task_id, users: input.user_ids.length } } };
  },
});
