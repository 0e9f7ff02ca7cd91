/**
 * One client per credential set, keyed by the settings hash. A client that is replaced (evicted because newer
 * credential sets arrived) is closed once its in-flight calls have finished, never under a running call, and once
 * its own background work has drained (`drain`, e.g. extraction tasks it started). Closing the cache does not wait
 * for that background work: it closes every client as soon as their calls have finished.
 * A client that fails to build is forgotten, so the next call tries again.
 * @module
 */

export interface Closable {
  close(): Promise<void>;
  /** Optional: settles when work the client runs in the background has finished (bounded by that work's own limits). */
  drain?(): Promise<void>;
}

interface Entry<T> {
  key: string;
  client: Promise<T>;
  inFlight: number;
  retired: boolean;
  closing: Promise<void> | null;
}

export interface ClientCacheOptions {
  /** How many credential sets stay open at once (several Dify workspaces can share one plugin process). */
  capacity?: number;
  onCloseError?: (error: unknown) => void;
}

export class ClientCache<S, T extends Closable> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly retiring = new Set<Entry<T>>();
  private readonly capacity: number;
  private readonly onCloseError: (error: unknown) => void;
  /** Resolved by close(): retired clients still draining stop waiting and close. */
  private readonly shutdown: Promise<void>;
  private endDrains: () => void = () => {};

  constructor(
    private readonly build: (settings: S) => Promise<T>,
    private readonly keyOf: (settings: S) => string,
    options: ClientCacheOptions = {},
  ) {
    this.capacity = Math.max(1, options.capacity ?? 4);
    this.onCloseError = options.onCloseError ?? (() => {});
    this.shutdown = new Promise((resolve) => (this.endDrains = resolve));
  }

  /**
   * Runs `work` with the client for these settings; the client stays open at least until `work` settles. With
   * `openWithin`, a client still being built after `ms` fails the call with `error()`; the build goes on, and the
   * next call gets the client (or builds anew if it failed).
   */
  async use<R>(settings: S, work: (client: T) => Promise<R>, openWithin?: { ms: number; error: () => Error }): Promise<R> {
    const entry = this.entryFor(settings);
    entry.inFlight += 1;
    try {
      return await work(await (openWithin ? withDeadline(entry.client, openWithin.ms, openWithin.error) : entry.client));
    } finally {
      entry.inFlight -= 1;
      if (entry.retired && entry.inFlight === 0) void this.closeEntry(entry);
    }
  }

  /** Number of open (not retired) clients. */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every client, waiting for running calls first. */
  async close(): Promise<void> {
    this.endDrains();
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of all) this.retire(entry);
    await Promise.all([...this.retiring].map((e) => e.closing ?? this.waitClosed(e)));
  }

  private entryFor(settings: S): Entry<T> {
    const key = this.keyOf(settings);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
    } else {
      const client = this.build(settings);
      entry = { key, client, inFlight: 0, retired: false, closing: null };
      const created = entry;
      client.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
    }
    this.entries.set(key, entry);
    for (const [oldKey, oldest] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldKey);
      this.retire(oldest);
    }
    return entry;
  }

  private retire(entry: Entry<T>): void {
    entry.retired = true;
    this.retiring.add(entry);
    if (entry.inFlight === 0) void this.closeEntry(entry);
  }

  private closeEntry(entry: Entry<T>): Promise<void> {
    entry.closing ??= entry.client
      .then(async (client) => {
        // Evicted: background work (an extraction run) finishes first, unless the whole cache is closing.
        if (client.drain) await Promise.race([client.drain().catch(() => undefined), this.shutdown]);
        await client.close();
      }, () => undefined)
      .catch(this.onCloseError)
      .finally(() => this.retiring.delete(entry));
    return entry.closing;
  }

  private waitClosed(entry: Entry<T>): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (entry.closing) void entry.closing.then(resolve);
        else setTimeout(check, 10);
      };
      check();
    });
  }
}

function withDeadline<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
