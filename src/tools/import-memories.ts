/**
 * import_memories: reads memories from a file given in Dify (a file parameter reaches the plugin as a signed URL of
 * Dify's file service) or from an http(s) URL, and inserts them under their own ids: a memory whose id exists is
 * skipped, so importing the same file twice changes nothing. Texts are embedded anew with the configured embedder.
 * @module
 */
import { z } from 'zod';
import { checkImportUrl } from '../memory/import-source.js';
import { NotBuiltError, ValidationError } from './errors.js';
import { defineTool, optionalId, optionalText } from './schemas.js';

/** The URL of a Dify file parameter: `{"dify_model_identity": "__dify__file__", "url": …, "filename": …}`. */
const difyFile = z
  .union([z.object({ url: z.string().optional(), remote_url: z.string().nullable().optional() }).passthrough(), z.string()])
  .optional();

export const importMemories = defineTool({
  name: 'import_memories',
  schema: z.object({
    file: difyFile,
    url: optionalText(2048),
    user_id: optionalId(),
  }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    const fromFile = typeof input.file === 'string' ? input.file : (input.file?.url ?? input.file?.remote_url ?? undefined);
    if (fromFile && input.url) throw new ValidationError([{ key: 'param.import_one_source' }]);
    const source = fromFile ?? input.url;
    if (!source) throw new ValidationError([{ key: 'param.import_source' }]);
    const url = checkImportUrl(source, fromFile ? 'file' : 'url');
    // Parameters first: a bad call is told what is wrong with it even where import is not built.
    if (!services.transfer) throw new NotBuiltError('transfer');
    const report = await services.transfer.importUrl({ url, defaultUserId: input.user_id }, session.signal);
    return {
      status: report.failed > 0 && report.inserted + report.skipped === 0 ? 'ERROR' : 'SUCCESS',
      results: report,
      message: { key: 'ok.import_memories', params: { inserted: report.inserted, skipped: report.skipped, failed: report.failed } },
      details: report.failures.map((failure) => `line ${failure.line}: ${failure.reason}`),
    };
  },
});
