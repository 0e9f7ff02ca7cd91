/**
 * forget_memories as one call: forgetting over the scope (user, or user + app = agent scope), then the cleaners of
 * other features (extraction checkpoints older than `checkpoint_ttl_days`, expired leases, old task records) that
 * register here. Memories of other users or apps are never read: every query is scoped. A dry run changes nothing:
 * cleaners are asked for what they would clean.
 * @module
 */
import type pg from 'pg';
import { logger } from '../../shared/log.js';
import type { Scope } from '../../store/queries.js';
import type { Tables } from '../../store/sql.js';
import { forgetMemories } from './forget.js';
import type { ForgetOptions, ForgetReport } from './forget.js';
import type { ForgettingService } from '../../memory/api.js';

export const DEFAULT_CHECKPOINT_TTL_DAYS = 90;
const MS_PER_DAY = 86_400_000;

/** What a cleaner is given: the scope, the cut-off for checkpoints, and whether to only count. */
export interface CleanupRequest {
  userId: string;
  appId: string | undefined;
  now: Date;
  /** Checkpoints last updated before this are stale. */
  checkpointsBefore: Date;
  dryRun: boolean;
  signal: AbortSignal;
}

/** Another feature's housekeeping; returns how many records it cleaned (or would clean, on a dry run). */
export type Cleaner = (request: CleanupRequest) => Promise<number>;

export interface ForgettingDeps {
  pool: pg.Pool;
  tables: Tables;
  /** Hard TTL in days, null for none (credential `memory_ttl_days`, parsed by memory/credentials.ts). */
  memoryTtlDays: number | null;
  /** Credential `checkpoint_ttl_days`; anything invalid becomes 90, minimum 1. */
  checkpointTtlDays?: number | null | undefined;
  /** Cleans extraction checkpoints (issue 5); its count is `checkpoints_cleaned`. */
  cleanCheckpoints?: Cleaner | undefined;
  /** Leases, finished task records, ...: run after forgetting, counts not reported. */
  housekeeping?: readonly Cleaner[] | undefined;
  clock?: (() => Date) | undefined;
  batchSize?: number | undefined;
  /** Replaces the SQL walk when the memories live elsewhere (an external vector store: external.ts). */
  forgetMemories?: ((options: ForgetOptions) => Promise<ForgetReport>) | undefined;
  /** With a graph store: what the forgotten memories alone taught leaves the graph with them. */
  graph?: ForgetOptions['graph'];
}

/** The slots other features fill (extraction's `extractionCleaners`), handed in by the wiring. */
export type ForgettingCleaners = Pick<ForgettingDeps, 'cleanCheckpoints' | 'housekeeping'>;

export type ForgetResult = {
  deleted_count: number;
  retained_count: number;
  checkpoints_cleaned: number;
  dry_run: boolean;
  would_delete?: ForgetReport['would_delete'];
  would_delete_truncated?: boolean;
  /** With a graph store: relations removed with the forgotten memories (a dry run: that would be). */
  deleted_relations?: number;
};

/** The checkpoint TTL to use: a positive number of days (at least 1), else the default 90. */
export function checkpointTtl(days: number | null | undefined): number {
  return typeof days === 'number' && Number.isFinite(days) && days > 0 ? Math.max(1, days) : DEFAULT_CHECKPOINT_TTL_DAYS;
}

/** The per-user forgetting run behind forget_memories (the tools see it as memory/api.ts's `ForgettingService`). */
export class Forgetter implements ForgettingService {
  constructor(private readonly deps: ForgettingDeps) {}

  async forget(input: { userId: string; appId?: string | undefined; dryRun: boolean }, signal: AbortSignal): Promise<ForgetResult> {
    const now = (this.deps.clock ?? (() => new Date()))();
    const scope: Scope = { userId: input.userId, agentId: input.appId };
    const options: ForgetOptions = { scope, dryRun: input.dryRun, now, ttlDays: this.deps.memoryTtlDays, batchSize: this.deps.batchSize, signal, graph: this.deps.graph };
    const report = this.deps.forgetMemories ? await this.deps.forgetMemories(options) : await forgetMemories(this.deps.pool, this.deps.tables, options);
    const request: CleanupRequest = {
      userId: input.userId,
      appId: input.appId,
      now,
      checkpointsBefore: new Date(now.getTime() - checkpointTtl(this.deps.checkpointTtlDays) * MS_PER_DAY),
      dryRun: input.dryRun,
      signal,
    };
    const checkpoints = this.deps.cleanCheckpoints ? await this.deps.cleanCheckpoints(request) : 0;
    for (const clean of this.deps.housekeeping ?? []) {
      signal.throwIfAborted();
      await clean(request);
    }
    const { deleted_count, retained_count, dry_run, would_delete, would_delete_truncated, orphans, deleted_relations } = report;
    logger.info({ dryRun: dry_run, deleted: deleted_count, retained: retained_count, orphanLogRows: orphans, checkpoints }, 'forgetting done');
    return {
      deleted_count,
      retained_count,
      checkpoints_cleaned: checkpoints,
      dry_run,
      ...(would_delete ? { would_delete, would_delete_truncated: would_delete_truncated ?? false } : {}),
      ...(deleted_relations === undefined ? {} : { deleted_relations }),
    };
  }
}
