/**
 * The daemon's plugin storage: a small key-value store the daemon keeps per workspace (tenant) and plugin, reached
 * with backwards calls of type `storage` (`{"opt":"get"|"set"|"del"|"exist","key","value"}`, values hex-encoded; the
 * daemon's executeDifyInvocationStorageTask). Needs `resource.permission.storage` in manifest.yaml; its `size` caps
 * what one workspace may store. The daemon scopes every key itself: two workspaces never see each other's keys.
 * @module
 */
import { BackwardsCallError } from './backwards.js';
import type { BackwardsCallOptions, BackwardsInvoker } from './backwards.js';

/** Keys: the daemon refuses 256 characters or more and anything that looks like a path traversal. */
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;

function checkKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.includes('..')) throw new Error(`plugin storage key ${JSON.stringify(key.slice(0, 40))} is not allowed`);
}

/** The `data` field of the one `struct` response a storage call answers with. */
function structData(chunks: readonly { message: string; data: unknown }[], opt: string): unknown {
  const struct = chunks.find((c) => c.message === 'struct');
  const data = (struct?.data as { data?: unknown } | null | undefined)?.data;
  if (data === undefined) throw new BackwardsCallError('storage', `the ${opt} answer carried no data`);
  return data;
}

export class PluginStorage {
  constructor(private readonly invoker: BackwardsInvoker) {}

  /** The value, or null when the key was never set (the daemon answers a missing key with an error; `exist` tells). */
  async get(key: string, options: BackwardsCallOptions): Promise<Buffer | null> {
    checkKey(key);
    try {
      const data = structData(await this.invoker.call('storage', { opt: 'get', key }, options), 'get');
      if (typeof data !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(data)) throw new BackwardsCallError('storage', 'the get answer is not hex-encoded');
      return Buffer.from(data, 'hex');
    } catch (error) {
      if (error instanceof BackwardsCallError && !(await this.exists(key, options))) return null;
      throw error;
    }
  }

  async set(key: string, value: Buffer | string, options: BackwardsCallOptions): Promise<void> {
    checkKey(key);
    const hex = Buffer.from(value).toString('hex');
    const data = structData(await this.invoker.call('storage', { opt: 'set', key, value: hex }, options), 'set');
    if (data !== 'ok') throw new BackwardsCallError('storage', `the set answer was ${JSON.stringify(data).slice(0, 40)}, not "ok"`);
  }

  async exists(key: string, options: BackwardsCallOptions): Promise<boolean> {
    checkKey(key);
    return structData(await this.invoker.call('storage', { opt: 'exist', key }, options), 'exist') === true;
  }

  async delete(key: string, options: BackwardsCallOptions): Promise<void> {
    checkKey(key);
    await this.invoker.call('storage', { opt: 'del', key }, options);
  }
}
