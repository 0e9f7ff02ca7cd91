/**
 * Records what searches recall, off the search's critical path: `record()` only queues, and the upserts (one
 * set-based statement per search, or fewer when searches queue up: see {@link AccessLogger}) run in the background.
 * `flush()` waits for everything recorded so far; `close()` also refuses new recalls (call it before the pool closes).
 * @module
 */
import type pg from 'pg';
import { logger } from '../shared/log.js';
import type { Scope } from '../store/queries.js';
import type { Tables } from '../store/sql.js';
import { foldRecalls, recordFolded } from '../store/access-log.js';
import type { Recall, RecallSink, ScoredResult, SearchRecalls } from '../store/access-log.js';
import { qualityOf } from './retention.js';

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
  return logSearches(db, tables, scope, [{ recalls: recallsOf(results), at: now }]);
}

/** Writes several searches of one scope (oldest first) as one statement; resolves with how many memories were logged. */
export async function logSearches(db: Pick<pg.Pool, 'query'>, tables: Tables, scope: Scope, searches: readonly SearchRecalls[]): Promise<number> {
  const folded = foldRecalls(searches);
  if (folded.length === 0) return 0;
  const res = await db.query(recordFolded(tables, scope, folded));
  return res.rowCount ?? 0;
}

/** Statements in flight at once: each holds a pool connection that searches also need. */
export const DEFAULT_WRITERS = 2;
/** Searches waiting beyond this are dropped with a warning (the process keeps bounded memory). */
export const DEFAULT_MAX_QUEUED = 10_000;
/** How long a recall may wait for others to share its statement. */
export const DEFAULT_LINGER_MS = 20;
/** Searches folded into one write at most. */
export const MAX_SEARCHES_PER_WRITE = 100;

interface Queued {
  scope: Scope;
  search: SearchRecalls;
}

export interface AccessLoggerOptions {
  writers?: number;
  maxQueued?: number;
  lingerMs?: number;
}

/**
 * Write-behind access log. `record()` only queues (the search's time and its counted ids); a write starts after
 * `lingerMs` or as soon as a writer is free, takes every queued search (up to {@link MAX_SEARCHES_PER_WRITE}) and
 * writes them with one statement per scope among them, folded in search order ({@link foldRecalls}) — so under
 * load the database sees fewer, larger upserts, never one per memory, and each search's recalls still count exactly
 * once and in order. A failed write is logged as a warning (memory count only, never text) and never reaches a search.
 */
export class AccessLogger implements RecallSink {
  private queue: Queued[] = [];
  private readonly writing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly writers: number;
  private readonly maxQueued: number;
  private readonly lingerMs: number;
  private closed = false;
  private dropped = 0;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly tables: Tables,
    private readonly clock: () => Date = () => new Date(),
    options: AccessLoggerOptions = {},
  ) {
    this.writers = options.writers ?? DEFAULT_WRITERS;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  }

  record(scope: Scope, results: readonly (ScoredResult & { id: string })[]): void {
    if (this.closed || results.length === 0) return;
    const recalls = recallsOf(results);
    if (recalls.length === 0) return;
    if (this.queue.length >= this.maxQueued) {
      if (this.dropped++ % 1000 === 0) logger.warn({ dropped: this.dropped, queued: this.queue.length }, 'access log behind: recalls dropped');
      return;
    }
    this.queue.push({ scope: { userId: scope.userId, agentId: scope.agentId ?? undefined }, search: { recalls, at: this.clock() } });
    this.schedule(this.lingerMs);
  }

  /** Resolves when every recall recorded so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writing.size > 0) {
      this.drain();
      await Promise.all([...this.writing]);
    }
  }

  /** Stops taking recalls and writes those already taken (call before the pool closes). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.queue.length === 0 || this.writing.size >= this.writers) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain();
    }, delayMs);
    this.timer.unref();
  }

  private drain(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0 && this.writing.size < this.writers) {
      const batch = this.queue.splice(0, MAX_SEARCHES_PER_WRITE);
      const task = this.write(batch).finally(() => {
        this.writing.delete(task);
        // What queued up meanwhile goes at once: it has already waited for a writer.
        this.schedule(0);
      });
      this.writing.add(task);
    }
  }

  private async write(batch: Queued[]): Promise<void> {
    const byScope = new Map<string, { scope: Scope; searches: SearchRecalls[] }>();
    for (const { scope, search } of batch) {
      const key = JSON.stringify([scope.userId, scope.agentId ?? null]);
      const group = byScope.get(key) ?? { scope, searches: [] };
      group.searches.push(search);
      byScope.set(key, group);
    }
    for (const { scope, searches } of byScope.values()) {
      try {
        await logSearches(this.pool, this.tables, scope, searches);
      } catch (error) {
        logger.warn({ err: (error as Error).message, searches: searches.length }, 'recording recalls failed');
      }
    }
  }
}
