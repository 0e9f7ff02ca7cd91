/**
 * Records what searches recall, off the search's critical path: `record()` returns at once and the upsert (one
 * statement per search, see {@link recordRecalls}) runs in the background. `flush()` waits for everything started
 * so far; `close()` also refuses new recalls (call it before closing the pool).
 * @module
 */
import type pg from 'pg';
import pLimit from 'p-limit';
import type { LimitFunction } from 'p-limit';
import { logger } from '../../log.js';
import type { Scope } from '../../store/queries.js';
import type { Tables } from '../../store/sql.js';
import { recordRecalls } from './queries.js';
import type { Recall } from './queries.js';
import { qualityOf } from './retention.js';
import type { ScoredResult } from './retention.js';

/** The counted recalls of one search's results (quality ≥ 0.5). */
export function recallsOf(results: readonly (ScoredResult & { id: string })[]): Recall[] {
  const recalls: Recall[] = [];
  for (const result of results) {
    const q = qualityOf(result);
    if (q !== null) recalls.push({ id: result.id, q });
  }
  return recalls;
}

/** Writes the recalls of one search now and resolves with how many memories were logged. */
export async function logRecalls(
  db: Pick<pg.Pool, 'query'>,
  tables: Tables,
  scope: Scope,
  results: readonly (ScoredResult & { id: string })[],
  now: Date,
): Promise<number> {
  const recalls = recallsOf(results);
  if (recalls.length === 0) return 0;
  const res = await db.query(recordRecalls(tables, scope, recalls, now));
  return res.rowCount ?? 0;
}

/** What a search hands its results to (the store's access log): returns at once, never throws. */
export interface RecallSink {
  record(scope: Scope, results: readonly (ScoredResult & { id: string })[]): void;
}

/** Upserts in flight at once: each holds a pool connection that searches also need. */
export const DEFAULT_WRITERS = 2;
/** Searches waiting to be logged (or being written) beyond this are dropped with a warning (bounded memory). */
export const DEFAULT_MAX_QUEUED = 10_000;

export class AccessLogger implements RecallSink {
  private readonly pending = new Set<Promise<void>>();
  private readonly limit: LimitFunction;
  private readonly maxQueued: number;
  private closed = false;
  private dropped = 0;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly tables: Tables,
    private readonly clock: () => Date = () => new Date(),
    options: { writers?: number; maxQueued?: number } = {},
  ) {
    this.limit = pLimit(options.writers ?? DEFAULT_WRITERS);
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
  }

  /**
   * Logs one search's results in the background: the time is taken now, the statement is built and sent after the
   * caller's turn of the event loop (setImmediate), at most `writers` at a time. A failure cannot reach the search
   * (it already answered); it is logged as a warning with the memory count, never with the memories' text.
   */
  record(scope: Scope, results: readonly (ScoredResult & { id: string })[]): void {
    if (this.closed || results.length === 0) return;
    if (this.pending.size >= this.maxQueued) {
      if (this.dropped++ % 1000 === 0) logger.warn({ dropped: this.dropped, queued: this.pending.size }, 'access log behind: recalls dropped');
      return;
    }
    const now = this.clock();
    const copy = results.map((r) => ({ id: r.id, score: r.score, rerankScore: r.rerankScore, rerank_score: r.rerank_score }));
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.limit(() => logRecalls(this.pool, this.tables, scope, copy, now)))
      .then(
        () => undefined,
        (error: unknown) => {
          logger.warn({ err: (error as Error).message, results: copy.length }, 'recording recalls failed');
        },
      );
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Resolves when every recall recorded so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Stops taking recalls and waits for those already taken (call before the pool closes). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
