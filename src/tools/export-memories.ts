/**
 * export_memories: one user's memories (optionally one app's, optionally filtered) as a JSON Lines file, sent as a
 * Dify file (blob chunks) followed by the usual JSON answer with the counts. The file is written to a temporary
 * folder first, a page of memories at a time, and streamed from there (tools/index.ts), so memory stays flat.
 * @module
 */
import { z } from 'zod';
import { NotBuiltError } from './errors.js';
import type { Text } from './i18n.js';
import { clamped, defineTool, flag, id, jsonObject, optionalId } from './schemas.js';

/** The file's content type: JSON Lines. */
export const EXPORT_MIME_TYPE = 'application/x-ndjson';

function fileName(userId: string, appId: string | undefined): string {
  const safe = (value: string) => value.replace(/[^\w.-]+/g, '_').slice(0, 64);
  return `memories-${safe(userId)}${appId ? `-${safe(appId)}` : ''}.jsonl`;
}

export const exportMemories = defineTool({
  name: 'export_memories',
  schema: z.object({
    user_id: id(),
    app_id: optionalId(),
    filters: jsonObject(),
    include_history: flag(false),
    offset: clamped(0, 0, Number.MAX_SAFE_INTEGER),
  }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    if (!services.transfer) throw new NotBuiltError('transfer');
    const file = await services.transfer.exportFile(
      { scope: { userId: input.user_id, agentId: input.app_id }, filters: input.filters, includeHistory: input.include_history, offset: input.offset },
      session.signal,
    );
    const results = { exported_count: file.count, bytes: file.bytes, truncated: file.truncated, next_offset: file.nextOffset, file_name: fileName(input.user_id, input.app_id) };
    const message: Text = file.truncated
      ? { key: 'ok.export_memories.truncated', params: { count: file.count, offset: file.nextOffset ?? 0 } }
      : { key: 'ok.export_memories', params: { count: file.count } };
    return {
      status: 'SUCCESS',
      results,
      message,
      file: { path: file.path, name: results.file_name, mimeType: EXPORT_MIME_TYPE, bytes: file.bytes },
    };
  },
});
