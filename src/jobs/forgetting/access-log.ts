/**
 * Records what searches recall, off the search's critical path: `record()` returns at once and the upsert (one
 * statement per search, see {@link recordRecalls}) runs in the background. `flush()` waits for everything started
 * so far (call it before closing the pool).
 * @module
 */
import type pg from 'pg';
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

export class AccessLogger {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Logs one search's results in the background. A failure cannot reach the search (it already answered); it is
   * logged as a warning with the memory count, never with the memories' text.
   */
  record(scope: Scope, results: readonly (ScoredResult & { id: string })[]): void {
    const now = this.clock();
    const task = logRecalls(this.pool, this.tables, scope, results, now).then(
      () => undefined,
      (error: unknown) => {
        logger.warn({ err: (error as Error).message, results: results.length }, 'recording recalls failed');
      },
    );
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Resolves when every recall recorded so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
