/**
 * Which workspace a call comes from, as far as the embedded store is concerned (memory/workspace.ts explains why).
 * The namespace id lives in the daemon's plugin storage under {@link NAMESPACE_KEY}; the daemon scopes that storage
 * to the calling workspace, so reading the key answers "which workspace is this" without the daemon ever naming it.
 * One storage read per call on the embedded store; a workspace's first call also writes the key.
 * @module
 */
import { claimSharedNames, NAMESPACE_PATTERN, needsNamespace, newNamespace, workspaceSettings } from '../memory/workspace.js';
import type { Settings } from '../memory/config/settings.js';
import { BackwardsCallError, BackwardsSessionClosedError, BackwardsTimeoutError } from '../runtime/backwards.js';
import type { BackwardsCallOptions } from '../runtime/backwards.js';
import type { SessionContext } from '../runtime/contract.js';
import { PluginStorage } from '../runtime/plugin-storage.js';
import { EngineError } from '../shared/errors.js';
import { TimeoutError } from './errors.js';

/** The plugin-storage key holding a workspace's namespace id. */
export const NAMESPACE_KEY = 'mem0_workspace_namespace';

const SERVICE = 'Dify plugin storage';

export class WorkspaceNamespaces {
  /** New namespaces are created one at a time in this process, so two first calls of one workspace agree on one. */
  private creating: Promise<unknown> = Promise.resolve();

  /**
   * The settings this call runs with: unchanged unless the store is embedded and a daemon is on the line; otherwise
   * scoped to the calling workspace. Bounded by `timeoutMs`.
   * @throws TimeoutError when the daemon does not answer in time; EngineError `upstream` when it answers with an error.
   */
  async settingsFor(settings: Settings, session: SessionContext, timeoutMs: number): Promise<Settings> {
    if (!needsNamespace(settings) || !session.backwards) return settings;
    const storage = new PluginStorage(session.backwards);
    const options: BackwardsCallOptions = { timeoutMs, signal: session.signal };
    try {
      const namespace = (await read(storage, options)) ?? (await this.create(storage, settings, options, session));
      return await workspaceSettings(settings, namespace);
    } catch (error) {
      throw asToolError(error, timeoutMs);
    }
  }

  private create(storage: PluginStorage, settings: Settings, options: BackwardsCallOptions, session: SessionContext): Promise<string> {
    const run = this.creating.then(async () => {
      // Another call of the same workspace may have created it while this one waited.
      const existing = await read(storage, options);
      if (existing) return existing;
      await storage.set(NAMESPACE_KEY, newNamespace(), options);
      // Read back what the daemon kept: with several plugin processes the last write wins, and everyone uses that.
      const namespace = await read(storage, options);
      if (!namespace) throw new BackwardsCallError('storage', `${NAMESPACE_KEY} was written but cannot be read back`);
      const adopted = await claimSharedNames(settings, namespace);
      session.logger.info({ namespace, adoptedSharedCollection: adopted }, 'new workspace namespace for the embedded store');
      return namespace;
    });
    this.creating = run.catch(() => undefined);
    return run;
  }
}

async function read(storage: PluginStorage, options: BackwardsCallOptions): Promise<string | null> {
  const value = await storage.get(NAMESPACE_KEY, options);
  if (value === null) return null;
  const namespace = value.toString('utf8');
  // Never replaced silently: a new id would hide every memory the workspace has.
  if (!NAMESPACE_PATTERN.test(namespace)) throw new BackwardsCallError('storage', `${NAMESPACE_KEY} holds an unexpected value`);
  return namespace;
}

function asToolError(error: unknown, timeoutMs: number): unknown {
  if (error instanceof BackwardsTimeoutError) return new TimeoutError(Math.round(timeoutMs / 1000), { cause: error });
  if (error instanceof BackwardsCallError || error instanceof BackwardsSessionClosedError) {
    return new EngineError('upstream', `${SERVICE}: ${error.message} (the embedded store keeps each workspace's memories apart with it)`, { cause: error });
  }
  return error;
}
