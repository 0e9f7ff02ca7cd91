/**
 * One tool call: coerce the parameters by the declaration, apply the tool's schema, resolve settings and services
 * for the credential set, run the handler, and turn whatever happens into an outcome. Never throws.
 * @module
 */
import { applyLogLevel } from '../log.js';
import { parseCredentials } from '../memory/credentials.js';
import type { Settings } from '../memory/settings.js';
import type { InvokeToolRequest, SessionContext } from '../runtime/contract.js';
import { coerceParameters } from './coerce.js';
import type { BoundTool } from './registry.js';
import { outcomeFromError } from './result.js';
import type { ToolOutcome } from './result.js';
import { parseInput } from './schemas.js';
import type { MemoryServices, ServicesFactory } from './services.js';

/** How many credential sets keep their services open at once (one per Dify workspace using the plugin). */
const MAX_OPEN_SERVICE_SETS = 8;

/** Services per credential set, keyed by the settings hash; the least recently used set is closed when evicted. */
export class ServicesCache {
  private readonly open = new Map<string, Promise<MemoryServices>>();

  constructor(
    private readonly factory: ServicesFactory,
    private readonly onCloseError: (error: unknown) => void = () => {},
  ) {}

  get(settings: Settings): Promise<MemoryServices> {
    let services = this.open.get(settings.hash);
    if (services) this.open.delete(settings.hash);
    else services = Promise.resolve().then(() => this.factory(settings));
    this.open.set(settings.hash, services);
    // A set whose services failed to build is forgotten, so the next call tries again.
    const built = services;
    built.catch(() => {
      if (this.open.get(settings.hash) === built) this.open.delete(settings.hash);
    });
    for (const [hash, oldest] of this.open) {
      if (this.open.size <= MAX_OPEN_SERVICE_SETS) break;
      this.open.delete(hash);
      oldest.then((evicted) => evicted.close()).catch(this.onCloseError);
    }
    return services;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((services) => services.then((open) => open.close()).catch(this.onCloseError)));
  }
}

export async function runTool(bound: BoundTool, request: InvokeToolRequest, session: SessionContext, cache: ServicesCache): Promise<ToolOutcome> {
  const { declaration, definition } = bound;
  const started = performance.now();
  let outcome: ToolOutcome;
  try {
    const values = coerceParameters(declaration.parameters ?? [], request.toolParameters ?? {}, definition.lenient);
    const input = parseInput(definition.schema, values);
    const settings = parseCredentials(request.credentials ?? {});
    applyLogLevel(settings.logLevel);
    outcome = await definition.run(input, { services: await cache.get(settings), settings, session });
  } catch (error) {
    outcome = outcomeFromError(error, definition.emptyResults(), session.logger);
  }
  const runId = request.toolParameters?.run_id;
  session.logger.info(
    { tool: definition.name, status: outcome.status, ms: Math.round(performance.now() - started), run_id: typeof runId === 'string' ? runId : undefined },
    'tool finished',
  );
  return outcome;
}
