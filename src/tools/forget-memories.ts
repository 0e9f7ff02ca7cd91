/**
 * forget_memories: deletes one user's memories whose retention fell below the threshold (or past the hard TTL) and
 * cleans old extraction checkpoints. With dry_run it only reports what it would delete.
 * @module
 */
import { z } from 'zod';
import { defineTool, flag, id, optionalId } from './schemas.js';

export const forgetMemories = defineTool({
  name: 'forget_memories',
  schema: z.object({ user_id: id(), app_id: optionalId(), dry_run: flag(false) }),
  emptyResults: () => ({}),
  destructive: true,
  async run(input, { services, session }) {
    const report = await services.forgetting.forget({ userId: input.user_id, appId: input.app_id, dryRun: input.dry_run }, session.signal);
    const deleted = typeof report.deleted_count === 'number' ? report.deleted_count : 0;
    const retained = typeof report.retained_count === 'number' ? report.retained_count : 0;
    const key = input.dry_run ? 'ok.forget_memories.dry_run' : 'ok.forget_memories';
    return { status: 'SUCCESS', results: report, message: { key, params: { deleted, retained } } };
  },
});
