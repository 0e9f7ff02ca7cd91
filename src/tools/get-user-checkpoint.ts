/**
 * get_user_checkpoint: where extraction stands for one user (and app): processed conversations and resume cursor.
 * @module
 */
import { z } from 'zod';
import { defineTool, id, optionalId } from './schemas.js';

export const getUserCheckpoint = defineTool({
  name: 'get_user_checkpoint',
  schema: z.object({ user_id: id(), app_id: optionalId() }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    const checkpoint = await services.extraction.checkpoint({ userId: input.user_id, appId: input.app_id }, session.signal);
    const conversations = typeof checkpoint.conversations_count === 'number' ? checkpoint.conversations_count : 0;
    return { status: 'SUCCESS', results: checkpoint, message: { key: 'ok.get_user_checkpoint', params: { user_id: input.user_id, count: conversations } } };
  },
});
