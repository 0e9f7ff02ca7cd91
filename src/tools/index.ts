/**
 * Builds the plugin's handlers from the declarations: tool dispatch (registry → coercion → schema → handler → result)
 * and credential validation. The runtime calls these; they know nothing about frames or sockets.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { validateCredentials } from '../memory/config/credentials.js';
import { describeSettings } from '../memory/config/settings.js';
import type { Settings } from '../memory/config/settings.js';
import { PluginError, TOOL_INVOKE_ERROR } from '../runtime/contract.js';
import { EngineError } from '../shared/errors.js';
import type { PluginHandlers, ToolMessage } from '../runtime/contract.js';
import type { Declarations } from '../runtime/declarations.js';
import { logger } from '../shared/log.js';
import { runTool, ServicesCache } from './dispatch.js';
import { pickLanguage } from './i18n.js';
import { bindTools, TOOL_DEFINITIONS } from './registry.js';
import type { ToolDefinition } from './schemas.js';
import { buildMessages, wireError } from './result.js';
import type { ToolOutcome } from './result.js';
import type { ServicesFactory } from '../memory/api.js';
import { WorkspaceNamespaces } from './workspace.js';
import { withWorkspaceModels } from '../memory/workspace-models.js';

/** How long validating credentials waits for the daemon's plugin storage (the workspace's namespace). */
const CREDENTIAL_CHECK_NAMESPACE_MS = 30_000;

/** The credential round trip: resolves when the settings work, throws PluginError naming the failing part. */
export type CredentialCheck = (settings: Settings, signal: AbortSignal) => Promise<unknown>;

export interface PluginAppOptions {
  /** Builds the memory services for a credential set (src/app/app.ts: the engine with the durable queue). */
  services: ServicesFactory;
  /** The credential round trip (src/app/app.ts: the engine's check of database, pgvector, embedder dimension, and the LLM's free model list; no tokens). */
  checkCredentials: CredentialCheck;
  /** The handler modules; tests pass their own. */
  definitions?: readonly ToolDefinition[];
  /** The configured language (defaults to the `PLUGIN_LANGUAGE` environment variable). */
  language?: () => string | undefined;
}

/** Dify's limit on one blob chunk (raw bytes before base64). */
export const BLOB_CHUNK_BYTES = 8192;

/**
 * Streams a file as blob chunks: sequence 0…n with the data, then an empty chunk with `end: true` (the shape Dify's
 * plugin SDK sends). The temporary file is deleted afterwards, also when the session ends early.
 */
async function* fileChunks(file: NonNullable<ToolOutcome['file']>, signal: AbortSignal): AsyncGenerator<ToolMessage> {
  const id = randomUUID().replace(/-/g, '');
  const meta = { mime_type: file.mimeType, filename: file.name };
  let sequence = 0;
  try {
    for await (const chunk of createReadStream(file.path, { highWaterMark: BLOB_CHUNK_BYTES })) {
      signal.throwIfAborted();
      const blob = (chunk as Buffer).toString('base64');
      yield { type: 'blob_chunk', message: { id, sequence: sequence++, total_length: file.bytes, blob, end: false }, meta };
    }
    yield { type: 'blob_chunk', message: { id, sequence, total_length: file.bytes, blob: '', end: true }, meta };
  } finally {
    await unlink(file.path).catch(() => {});
  }
}

/** @throws Error at startup when the declared tools and the handler modules do not match. */
export function createPluginApp(declarations: Declarations, options: PluginAppOptions): PluginHandlers {
  const tools = bindTools(declarations.tools, options.definitions ?? TOOL_DEFINITIONS);
  const cache = new ServicesCache(options.services, (error) => logger.warn({ err: error }, 'closing memory services failed'));
  const language = options.language ?? (() => process.env.PLUGIN_LANGUAGE);
  const workspaces = new WorkspaceNamespaces();
  return {
    async *invokeTool(request, session) {
      const bound = tools.get(request.tool);
      // Not a workflow-level failure: the daemon asked for a tool this plugin never declared.
      if (!bound) throw new PluginError(TOOL_INVOKE_ERROR, `unknown tool "${request.tool}"; this plugin provides: ${[...tools.keys()].join(', ')}`);
      const outcome = await runTool(bound, request, session, cache, workspaces);
      if (outcome.file) yield* fileChunks(outcome.file, session.signal);
      yield* buildMessages(bound.definition.name, outcome, pickLanguage(language(), request.toolParameters ?? {}));
    },
    async validateCredentials(request, session) {
      const started = performance.now();
      let settings: Settings;
      try {
        // The check opens the store the workspace will use (its own collection on the embedded store).
        settings = await workspaces
          .settingsFor(validateCredentials(request.credentials), session, CREDENTIAL_CHECK_NAMESPACE_MS)
          // Shown on the settings page: the credentials cannot be used until the workspace's namespace is known.
          .catch((error: unknown) => {
            throw new EngineError('credentials', error instanceof Error ? error.message : String(error), { cause: error });
          });
        const checked = settings;
        await withWorkspaceModels(session.backwards, () => options.checkCredentials(checked, session.signal));
      } catch (error) {
        throw wireError(error);
      }
      session.logger.info({ ...describeSettings(settings), ms: Math.round(performance.now() - started) }, 'credentials accepted');
    },
    close: () => cache.close(),
  };
}
