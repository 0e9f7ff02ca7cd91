/**
 * add_memory: remembers what a user said (and the assistant's reply) for that user. Sync mode answers the
 * ADD/UPDATE/DELETE events; async mode answers ACCEPT at once and writes in the background.
 * @module
 */
import { z } from 'zod';
import { defineTool, id, jsonObject, optionalId, optionalText, scopeOf, text, timeout } from './schemas.js';

export const addMemory = defineTool({
  name: 'add_memory',
  schema: z.object({
    user: text(),
    assistant: optionalText(),
    user_id: id(),
    agent_id: optionalId(),
    run_id: optionalId(),
    metadata: jsonObject(),
    timeout: timeout(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const events = await services.memories.add(
      { scope: scopeOf(input), user: input.user, assistant: input.assistant, metadata: input.metadata },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    const accepted = events.some((event) => event.event === 'ACCEPT');
    return {
      status: 'SUCCESS',
      results: events,
      message: { key: accepted ? 'ok.add_memory.accepted' : 'ok.add_memory', params: { count: events.filter((e) => e.event !== 'SKIP').length } },
    };
  },
});
