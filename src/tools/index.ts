/**
 * Builds the plugin's handlers from the declarations: tool dispatch (registry → coercion → schema → handler → result)
 * and credential validation. The runtime calls these; they know nothing about frames or sockets.
 * @module
 */
import { validateCredentials } from '../memory/credentials.js';
import { describeSettings } from '../memory/settings.js';
import { PluginError, TOOL_INVOKE_ERROR } from '../runtime/contract.js';
import type { PluginHandlers } from '../runtime/contract.js';
import type { Declarations } from '../runtime/declarations.js';
import { logger } from '../log.js';
import { runTool, ServicesCache } from './dispatch.js';
import { pickLanguage } from './i18n.js';
import { bindTools, TOOL_DEFINITIONS } from './registry.js';
import type { ToolDefinition } from './schemas.js';
import { buildMessages } from './result.js';
import { notBuiltServices } from './services.js';
import type { ServicesFactory } from './services.js';

export interface PluginAppOptions {
  /** Builds the memory services for a credential set; defaults to this version's not-built services. */
  services?: ServicesFactory;
  /** The handler modules; tests pass their own. */
  definitions?: readonly ToolDefinition[];
  /** The configured language (defaults to the `PLUGIN_LANGUAGE` environment variable). */
  language?: () => string | undefined;
}

/** @throws Error at startup when the declared tools and the handler modules do not match. */
export function createPluginApp(declarations: Declarations, options: PluginAppOptions = {}): PluginHandlers {
  const tools = bindTools(declarations.tools, options.definitions ?? TOOL_DEFINITIONS);
  const cache = new ServicesCache(options.services ?? notBuiltServices, (error) => logger.warn({ err: error }, 'closing memory services failed'));
  const language = options.language ?? (() => process.env.PLUGIN_LANGUAGE);
  return {
    async *invokeTool(request, session) {
      const bound = tools.get(request.tool);
      // Not a workflow-level failure: the daemon asked for a tool this plugin never declared.
      if (!bound) throw new PluginError(TOOL_INVOKE_ERROR, `unknown tool "${request.tool}"; this plugin provides: ${[...tools.keys()].join(', ')}`);
      const outcome = await runTool(bound, request, session, cache);
      yield* buildMessages(bound.definition.name, outcome, pickLanguage(language(), request.toolParameters ?? {}));
    },
    async validateCredentials(request, session) {
      const settings = validateCredentials(request.credentials);
      session.logger.info(describeSettings(settings), 'credentials accepted');
    },
    close: () => cache.close(),
  };
}
