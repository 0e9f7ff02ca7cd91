/**
 * One tool call: coerce the parameters by the declaration, apply the tool's schema, resolve settings and services
 * for the credential set, run the handler, and turn whatever happens into an outcome. Never throws.
 * @module
 */
import { applyLogLevel } from '../shared/log.js';
import { ClientCache } from '../memory/client-cache.js';
import { parseCredentials } from '../memory/config/credentials.js';
import { databaseFailure } from '../memory/credential-check.js';
import { withWorkspaceModels } from '../memory/workspace-models.js';
import { parsePicker, PICKERS } from '../memory/config/workspace-models.js';
import { EngineError, isEngineError } from '../shared/errors.js';
import type { Settings } from '../memory/config/settings.js';
import type { InvokeToolRequest, SessionContext } from '../runtime/contract.js';
import { coerceParameters } from './coerce.js';
import type { BoundTool } from './registry.js';
import type { Text } from './i18n.js';
import { TimeoutError } from './errors.js';
import { outcomeFromError } from './result.js';
import type { ToolOutcome } from './result.js';
import { DEFAULT_TIMEOUT_SECONDS, parseInput } from './schemas.js';
import type { MemoryServices, ServicesFactory } from '../memory/api.js';
import type { WorkspaceNamespaces } from './workspace.js';

/** How many credential sets keep their services open at once (one per Dify workspace using the plugin). */
const MAX_OPEN_SERVICE_SETS = 8;

/**
 * Services per credential set, keyed by the settings hash: the engine's {@link ClientCache}, so a set that is
 * evicted (least recently used beyond 8) is closed only after the calls running on it have finished, and a set
 * whose services failed to build is forgotten so the next call tries again.
 */
export class ServicesCache extends ClientCache<Settings, MemoryServices> {
  constructor(factory: ServicesFactory, onCloseError: (error: unknown) => void = () => {}) {
    super((settings) => Promise.resolve().then(() => factory(settings)), (settings) => settings.hash, {
      capacity: MAX_OPEN_SERVICE_SETS,
      onCloseError,
    });
  }
}

export async function runTool(
  bound: BoundTool,
  request: InvokeToolRequest,
  session: SessionContext,
  cache: ServicesCache,
  workspaces: WorkspaceNamespaces,
): Promise<ToolOutcome> {
  const { declaration, definition } = bound;
  const started = performance.now();
  let outcome: ToolOutcome;
  let warnings: readonly Text[] = [];
  let settings: Settings | undefined;
  try {
    const coerced = coerceParameters(declaration.parameters ?? [], request.toolParameters ?? {}, definition.lenient, definition.keepBlank, definition.destructive === true);
    warnings = coerced.warnings;
    const input = parseInput(definition.schema, coerced.values);
    const parsed = parseCredentials(withNodeModels(request.credentials ?? {}, coerced.values));
    applyLogLevel(parsed.logLevel);
    // Finding the workspace and opening its services (database, migrations) on a first call count against the
    // call's timeout.
    const seconds = openTimeoutSeconds(input);
    const deadline = Date.now() + seconds * 1000;
    const current = await workspaces.settingsFor(parsed, session, seconds * 1000);
    settings = current;
    // The workspace's models (settings-page pickers) are reached through this session's backwards calls.
    outcome = await withWorkspaceModels(session.backwards, () =>
      cache.use(current, (services) => definition.run(input, { services, settings: current, session }), {
        ms: Math.max(1, deadline - Date.now()),
        error: () => new TimeoutError(seconds),
      }),
    );
  } catch (error) {
    // A database that is down or refuses us is named as the credential check names it, not as an unexpected error.
    outcome = outcomeFromError(databaseFailure(error, settings) ?? error, definition.emptyResults(), session.logger);
  }
  // The parameters' warnings come first, then the tool's own (e.g. a search that fell back).
  if (warnings.length > 0) outcome = { ...outcome, warnings: [...warnings, ...(outcome.warnings ?? [])] };
  const runId = request.toolParameters?.run_id;
  session.logger.info(
    { tool: definition.name, status: outcome.status, ms: Math.round(performance.now() - started), run_id: typeof runId === 'string' ? runId : undefined },
    'tool finished',
  );
  return outcome;
}

/**
 * The node's own model pickers (tool parameters `llm_model`, `rerank_model` of type model-selector, named like the
 * settings' pickers) win over the settings' picker and JSON block for this call. An empty node picker changes nothing.
 * @throws EngineError `invalid_params` naming the parameter when it holds no usable model of its kind.
 */
function withNodeModels(credentials: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  const out = { ...credentials };
  for (const role of ['llm', 'reranker'] as const) {
    const { field } = PICKERS[role];
    if (values[field] === undefined) continue;
    try {
      if (parsePicker(role, values[field])) out[field] = values[field];
    } catch (error) {
      if (isEngineError(error, 'credentials')) throw new EngineError('invalid_params', error.message, { field, cause: error });
      throw error;
    }
  }
  return out;
}

/** The call's own `timeout` (already defaulted and capped by its schema), else the default. */
function openTimeoutSeconds(input: unknown): number {
  const given = (input as { timeout?: unknown } | null)?.timeout;
  return typeof given === 'number' && given > 0 ? given : DEFAULT_TIMEOUT_SECONDS;
}
