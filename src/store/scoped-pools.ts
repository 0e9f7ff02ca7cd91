/**
 * Three stand-ins for the store's `pg.Pool`, so the store's own code (memories.ts) runs unchanged in situations it
 * was not written for:
 * - {@link transactionPool}: inside a job's completion transaction. Every query goes to that one client, and the
 *   store's own BEGIN/COMMIT/ROLLBACK are dropped, so its "one transaction" is part of ours and the effect commits
 *   together with the job's `completed` mark, or not at all. (No savepoint is needed: any failure inside the
 *   store either propagates to the job's transaction, which then rolls back as a whole, or leaves the transaction
 *   aborted, which fails its COMMIT. Nothing is kept from a failed part.)
 * - {@link DeadlinePool}: bounded by a deadline. Getting a connection is bounded, every statement carries a server
 *   side `statement_timeout` of the time left (PostgreSQL really cancels the query), and at the deadline the caller
 *   gets a timeout at once while the connection is returned (or destroyed if it does not come back within a second).
 * - {@link GatedPool}: the workers' share of the connections, so the tools' calls find one free.
 * @module
 */
import type pg from 'pg';
import { EngineError } from '../shared/errors.js';
import { corked, pipelined } from './pipeline.js';

type QueryArgs = Parameters<pg.PoolClient['query']>;

/** Transaction control the store sends on its own; inside the job's transaction it is already in one. */
const OUTER_OWNS = new Set(['BEGIN', 'COMMIT', 'ROLLBACK']);

/** A pool whose only client is `client`, already inside a transaction that the caller commits or rolls back. */
export function transactionPool(client: pg.PoolClient): pg.Pool {
  const query = ((...args: QueryArgs) => {
    const [first] = args;
    if (typeof first === 'string' && OUTER_OWNS.has(first.trim().toUpperCase())) return Promise.resolve({ rows: [], rowCount: null });
    return (client.query as (...a: unknown[]) => unknown)(...args);
  }) as pg.PoolClient['query'];
  const nestedClient = { query, release: () => {} } as unknown as pg.PoolClient;
  return { query, connect: () => Promise.resolve(nestedClient) } as unknown as pg.Pool;
}

/** A signal that fires at `timeoutMs` or when `parent` fires; `done()` clears the timer. */
export function deadline(timeoutMs: number, parent?: AbortSignal): { signal: AbortSignal; at: number; done: () => void } {
  const controller = new AbortController();
  const at = Date.now() + timeoutMs;
  const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
  const onParent = (): void => controller.abort(new EngineError('timeout', 'the operation was cancelled'));
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    at,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

export function timeoutError(ms: number): EngineError {
  return new EngineError('timeout', `the operation did not finish within ${Math.round(ms / 100) / 10} s`);
}

/** How long a statement that outlived its deadline may take to come back before its connection is destroyed. */
const SETTLE_GRACE_MS = 1_000;

export class DeadlinePool {
  constructor(
    private readonly pool: pg.Pool,
    private readonly signal: AbortSignal,
    private readonly at: number,
    /** PGlite has no statement_timeout worth setting (one backend, in-process). */
    private readonly serverTimeouts: boolean,
  ) {}

  asPool(): pg.Pool {
    return { query: (...args: QueryArgs) => this.query(...args), connect: () => this.connect() } as unknown as pg.Pool;
  }

  async query(...args: QueryArgs): Promise<pg.QueryResult> {
    const client = await this.connect(true);
    try {
      return (await (client.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args));
    } finally {
      client.release();
    }
  }

  /** `oneShot`: the caller sends one statement and releases (the timeout is reset in the same round trip). */
  async connect(oneShot = false): Promise<pg.PoolClient> {
    const client = await this.race(this.pool.connect(), (late) => late.then((c) => c.release(), () => {}));
    let inFlight: Promise<unknown> | null = null;
    let released = false;
    let resetSent = false;
    const giveBack = (destroy: boolean): void => {
      if (released) return;
      released = true;
      client.release(destroy);
    };
    const query = (async (...args: unknown[]) => {
      // Past the deadline nothing more is sent (on PGlite a statement once sent cannot be stopped).
      if (this.signal.aborted) throw reason(this.signal);
      // Each statement gets the time that is left, enforced by the server: a blocked or slow query is cancelled there.
      const running = (async () => {
        if (!this.serverTimeouts) return (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
        const timeout = { text: "SELECT set_config('statement_timeout', $1, false)", values: [`${this.remaining()}ms`] };
        if (!pipelined(client)) {
          await client.query(timeout);
          return (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
        }
        // One round trip: the setting and the statement (and for a one-shot query the reset of the setting) leave in
        // one write and run in that order. The statement's own outcome is the answer: if the setting failed, so did
        // the connection, and the statement with it.
        resetSent = false;
        const sent = corked(client, () => [
          client.query(timeout),
          (client.query as (...a: unknown[]) => Promise<unknown>)(...args),
          oneShot ? client.query('RESET statement_timeout') : Promise.resolve(),
        ] as const);
        const [, statement, resetting] = await Promise.allSettled(sent);
        resetSent = oneShot && resetting.status === 'fulfilled';
        if (statement.status === 'rejected') throw statement.reason;
        return statement.value;
      })();
      inFlight = running.then(() => {}, () => {});
      return this.race(running, () => {});
    }) as pg.PoolClient['query'];
    const release = (): void => {
      const pending = inFlight;
      const settle = pending
        ? Promise.race([pending.then(() => true), sleep(SETTLE_GRACE_MS).then(() => false)])
        : Promise.resolve(true);
      void settle.then(async (settled) => {
        if (!settled) return giveBack(true);
        if (!this.serverTimeouts || resetSent) return giveBack(false);
        try {
          await client.query('RESET statement_timeout');
          giveBack(false);
        } catch {
          giveBack(true);
        }
      });
    };
    return { query, release } as unknown as pg.PoolClient;
  }

  private remaining(): number {
    return Math.max(1, this.at - Date.now());
  }

  /** `work`, or a timeout as soon as the deadline passes (`late` gets the abandoned promise). */
  private race<T>(work: Promise<T>, late: (work: Promise<T>) => void): Promise<T> {
    if (this.signal.aborted) {
      late(work);
      work.catch(() => {});
      return Promise.reject(reason(this.signal));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        late(work);
        work.catch(() => {});
        reject(reason(this.signal));
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          this.signal.removeEventListener('abort', onAbort);
          if (this.signal.aborted) return;
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          // The server's statement_timeout (57014) can fire a hair before our own timer: that is the same deadline.
          const serverDeadline = (error as { code?: string } | null)?.code === '57014' && Date.now() >= this.at - SERVER_CLOCK_SLACK_MS;
          reject(this.signal.aborted || serverDeadline ? reason(this.signal) : error);
        },
      );
    });
  }
}

/**
 * The workers' share of the pool: they hold at most `limit` connections at once, so the rest stay free for the
 * tools' calls (accepts, reads), which use the pool directly and so never queue behind background jobs for a
 * connection. Workers past the limit wait here, first come first served, for one of the workers' own connections.
 * Nothing waits forever: every holder runs bounded statements and gives its connection back.
 */
export class GatedPool {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly pool: pg.Pool,
    readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be an integer >= 1');
  }

  asPool(): pg.Pool {
    return { query: (...args: QueryArgs) => this.query(...args), connect: () => this.connect() } as unknown as pg.Pool;
  }

  async query(...args: QueryArgs): Promise<pg.QueryResult> {
    await this.acquire();
    try {
      return await (this.pool.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
    } finally {
      this.handOn();
    }
  }

  async connect(): Promise<pg.PoolClient> {
    await this.acquire();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      this.handOn();
      throw error;
    }
    // The pool gives every checkout a fresh release(); this one also frees the workers' slot (once).
    const release = client.release.bind(client);
    let released = false;
    client.release = (destroy?: boolean | Error) => {
      if (!released) {
        released = true;
        this.handOn();
      }
      release(destroy);
    };
    return client;
  }

  private acquire(): Promise<void> {
    if (this.inUse < this.limit) {
      this.inUse += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A finished holder's slot goes straight to the next waiting worker, else back to the free count. */
  private handOn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inUse -= 1;
  }
}

/**
 * How many of a pool's `max` connections the workers may hold: all but a fifth (at least one) kept for the tools'
 * calls. A pool of one connection (PGlite) is not split.
 */
export function workerShare(max: number): number {
  if (max <= 1) return max;
  return max - Math.max(1, Math.floor(max / 5));
}

/** How early the server may report our deadline (its timer starts when the statement arrives, ours before). */
const SERVER_CLOCK_SLACK_MS = 50;

function reason(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new EngineError('timeout', 'the operation ran out of time');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
