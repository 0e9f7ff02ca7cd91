/**
 * add_memory: remembers what a user said (and the assistant's reply) for that user. Sync mode answers the
 * ADD/UPDATE/DELETE events; async mode answers ACCEPT at once and writes in the background. A turn with no text
 * (the user message given but blank, no assistant reply) is skipped: SUCCESS with one `event: SKIP`. `infer` false
 * stores the turn's text as given, with no LLM call (Mem0's `infer=False`).
 * @module
 */
import { z } from 'zod';
import { blankableText, defineTool, flag, id, jsonObject, MAX_MESSAGE_LENGTH, optionalId, optionalText, scopeOf, timeout, nodeModel } from './schemas.js';

export const addMemory = defineTool({
  name: 'add_memory',
  schema: z.object({
    user: blankableText(MAX_MESSAGE_LENGTH),
    assistant: optionalText(MAX_MESSAGE_LENGTH),
    user_id: id(),
    agent_id: optionalId(),
    run_id: optionalId(),
    metadata: jsonObject(),
    infer: flag(true),
    timeout: timeout(),
    llm_model: nodeModel(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  keepBlank: ['user'],
  async run(input, { services, session }) {
    if (input.user.trim() === '' && input.assistant === undefined) {
      return { status: 'SUCCESS', results: [{ id: null, memory: '', event: 'SKIP' }], message: { key: 'ok.add_memory.skip' } };
    }
    const { results: events, relations } = await services.memories.add(
      { scope: scopeOf(input), user: input.user, assistant: input.assistant, metadata: input.metadata, infer: input.infer },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    const accepted = events.find((event) => event.event === 'ACCEPT');
    const changed = events.filter((e) => e.event !== 'SKIP').length;
    const key = accepted ? 'ok.add_memory.accepted' : changed === 0 ? 'ok.add_memory.none' : 'ok.add_memory';
    return {
      status: 'SUCCESS',
      results: events,
      message: { key, params: { count: changed, job_id: accepted?.job_id ?? '' } },
      details: [
        ...events.filter((e) => e.event !== 'SKIP').map((e) => `${e.event} ${e.memory}`),
        ...(relations?.added_entities ?? []).map((r) => `+ ${r.source} —${r.relationship}→ ${r.target}`),
        ...(relations?.deleted_entities ?? []).map((r) => `− ${r.source} —${r.relationship}→ ${r.target}`),
      ],
      ...(relations ? { relations } : {}),
      ...(relations?.pending ? { warnings: [{ key: 'warn.graph_pending' }] } : {}),
    };
  },
});
