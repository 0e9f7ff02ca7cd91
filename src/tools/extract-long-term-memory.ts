/**
 * extract_long_term_memory: reads users' conversations of one Dify app through the Dify Service API and writes what
 * is worth keeping as memories. Async mode answers ACCEPTED with a task id at once (or OVERLOAD when too many users
 * are pending); sync mode runs the task in the foreground and answers SUCCESS with its final status.
 * @module
 */
import { z } from 'zod';
import type { ToolOutcome } from './result.js';
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
  async run(input, { services, session }): Promise<ToolOutcome> {
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
    // Sync mode (async_mode off) ran the task in the foreground: the answer is its final status, not an acceptance.
    if (task.mode === 'sync') {
      const state = typeof task.task_status === 'string' ? task.task_status : 'unknown';
      return { status: 'SUCCESS', results: task, message: { key: 'ok.check_extraction_status', params: { task_id: task.task_id, state } } };
    }
    return { status: 'ACCEPTED', results: task, message: { key: 'ok.extract_long_term_memory', params: { task_id: task.task_id, users: input.user_ids.length } } };
  },
});
