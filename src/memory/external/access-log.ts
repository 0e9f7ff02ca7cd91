/**
 * The access log's writer when the memories live in a `mem0ai` vector store (qdrant, chroma, …). The SQL store's
 * writer (memory/access-log.ts) copies a memory's scope from the memories table, which is empty here; this one takes
 * it from the search hits (the repository hands over each hit's `agentId`). Writes run in the background, one
 * statement per search, never failing a search.
 * @module
 */
import type pg from 'pg';
import { logger } from '../../shared/log.js';
import { recordOwnedRecalls } from '../../store/access-log.js';
import type { OwnedRecall, ScoredResult } from '../../store/access-log.js';
import type { Tables } from '../../store/sql.js';
import type { Scope } from '../../store/queries.js';
import { qualityOf } from '../retention.js';

/** Background writer of the access log for an external vector store. */
export class ExternalAccessLog {
  private readonly writing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly tables: Tables,
    private readonly clock: () => Date = () => new Date(),
    private readonly maxWriting = 8,
  ) {}

  /** Notes a search's results; each may carry its memory's `agentId` (else the search's scope is used). */
  record(scope: Scope, results: readonly (ScoredResult & { id: string; agentId?: string | null })[]): void {
    if (this.closed) return;
    const recalls: OwnedRecall[] = [];
    const seen = new Set<string>();
    for (const r of results) {
      const q = qualityOf(r);
      if (q === null || seen.has(r.id)) continue;
      seen.add(r.id);
      recalls.push({ id: r.id, userId: scope.userId, appId: r.agentId !== undefined ? r.agentId : (scope.agentId ?? null), q });
    }
    if (recalls.length === 0) return;
    if (this.writing.size >= this.maxWriting) {
      logger.warn({ recalls: recalls.length }, 'access log behind: recalls dropped');
      return;
    }
    const write = this.pool.query(recordOwnedRecalls(this.tables, recalls, this.clock())).then(
      () => undefined,
      (error: unknown) => logger.warn({ err: (error as Error).message, recalls: recalls.length }, 'access log write failed'),
    );
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
