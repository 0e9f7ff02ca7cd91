/**
 * extract_long_term_memory: reads users' conversations of one Dify app through the Dify Service API and writes what
 * is worth keeping as memories. Async mode answers ACCEPTED with a task id at once (or OVERLOAD when too many users
 * are pending); sync mode runs the task in the foreground and answers SUCCESS with its final status.
 * @module
 */
import { z } from 'zod';
import { taskOutcome } from './check-extraction-status.js';
import type { ToolOutcome } from './result.js';
import { count, defineTool, difyBaseUrl, id, optionalId, secret, userIdList, nodeModel } from './schemas.js';

/** Defaults from the seed; the bounds (days 1–7, conversations 10–500, 1–200k tokens, 5–1440 min) are in the YAML. */
const DEFAULTS = { daysBack: 1, conversationsLimit: 20, maxTokensK: 64, timeBudgetMinutes: 60 };

export const extractLongTermMemory = defineTool({
  name: 'extract_long_term_memory',
  schema: z.object({
    user_ids: userIdList(),
    app_id: id(),
    run_id: optionalId(),
    days_back: count(DEFAULTS.daysBack),
    conversations_limit: count(DEFAULTS.conversationsLimit),
    max_tokens_per_conversation: count(DEFAULTS.maxTokensK),
    time_budget: count(DEFAULTS.timeBudgetMinutes),
    dify_base_url: difyBaseUrl(),
    dify_api_key: secret(),
    llm_model: nodeModel(),
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
    if (task.mode === 'sync') return taskOutcome(task);
    return { status: 'ACCEPTED', results: task, message: { key: 'ok.extract_long_term_memory', params: { task_id: task.task_id, users: input.user_ids.length } } };
  },
});
