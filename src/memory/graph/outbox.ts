/**
 * Writes the graph outbox (store/graph/outbox.ts) to a graph kept apart from the memories: right after the write
 * that stored a row (its writer drains the row's scope), and in the background for rows left behind by a graph
 * store that did not answer or a process that died between the SQL commit and the graph write.
 *
 * One holder per process. Within the process a scope is drained by one caller at a time (a queue per scope), so two
 * adds of the same user never write the graph concurrently; across processes the claim's lease does that.
 * @module
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  claimScope, dueScopes, releasePendingGraph, settlePendingGraph,
} from '../../store/graph/outbox.js';
import type { PendingGraphWrite } from '../../store/graph/outbox.js';
import type { AppliedGraphChanges, GraphBackend } from '../../store/graph/types.js';
import type { Tables } from '../../store/sql.js';

export interface GraphOutboxTiming {
  /** How long a claim holds a scope's rows (a holder that dies releases them when this runs out). */
  leaseMs: number;
  /** Rows younger than this are left to the writer that stored them (the background drain skips them). */
  settleMs: number;
  /** First retry after a failed write; doubled per attempt up to {@link maxRetryMs}. */
  retryMs: number;
  maxRetryMs: number;
}

export const DEFAULT_OUTBOX_TIMING: GraphOutboxTiming = { leaseMs: 120_000, settleMs: 5_000, retryMs: 5_000, maxRetryMs: 300_000 };

/**
 * The timing with `MEM0_GRAPH_RETRY_SECONDS` (default 5) as the first retry, the settle time and the background
 * drain's interval (a malformed value keeps the default), and a lease of four graph deadlines (at least 10 s): one
 * graph write, its driver's retries included, ends within two, so a live holder never loses its claim mid-write and
 * a dead one's claim runs out soon.
 */
export function outboxTiming(graphTimeoutMs: number, env: NodeJS.ProcessEnv = process.env): GraphOutboxTiming {
  const leaseMs = Math.max(10_000, 4 * graphTimeoutMs);
  const raw = Number(env.MEM0_GRAPH_RETRY_SECONDS?.trim() || NaN);
  if (!(Number.isFinite(raw) && raw > 0)) return { ...DEFAULT_OUTBOX_TIMING, leaseMs };
  const ms = Math.round(raw * 1000);
  return { leaseMs, settleMs: ms, retryMs: ms, maxRetryMs: Math.max(ms, DEFAULT_OUTBOX_TIMING.maxRetryMs) };
}

/** What one drain of a scope wrote (by outbox row id), and whether a write failed. */
interface Drained {
  done: Map<string, AppliedGraphChanges>;
  failed: boolean;
}

/** Rows claimed at once per scope, and rounds per drain (rows that arrive while a scope drains are taken next round). */
const CLAIM_LIMIT = 50;
const ROUNDS = 5;

export class GraphOutbox {
  /** This process's name on the claims it takes. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
    private readonly backend: GraphBackend,
    private readonly logger?: Logger | undefined,
    readonly timing: GraphOutboxTiming = DEFAULT_OUTBOX_TIMING,
  ) {}

  /**
   * Writes the pending rows of `scope` (a write scope) to the graph in order, the row `id` among them; what that row
   * changed, or null while it is still pending (the graph store failed, or another process holds the scope and
   * writes it next).
   */
  async write(scope: { userId: string; agentId: string }, id: string): Promise<AppliedGraphChanges | null> {
    try {
      return (await this.drainScope(scope, 0)).done.get(id) ?? null;
    } catch (error) {
      // The memories are committed and the row is safe in the outbox: the caller is told it waits, not that it failed.
      this.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'graph outbox write failed; the changes wait for the background drain');
      return null;
    }
  }

  /**
   * Writes every scope's rows that have waited past the settle time; how many rows were written. Stops at the first
   * scope whose write fails (the graph store is likely away): that scope waits for its retry, the others for the next
   * drain.
   */
  async drainDue(): Promise<number> {
    const scopes = await dueScopes(this.pool, this.tables, { minAgeMs: this.timing.settleMs, limit: 100 });
    let written = 0;
    for (const scope of scopes) {
      const { done, failed } = await this.drainScope(scope, this.timing.settleMs);
      written += done.size;
      if (failed) break;
    }
    return written;
  }

  private drainScope(scope: { userId: string; agentId: string }, minAgeMs: number): Promise<Drained> {
    const key = `${scope.userId}\u0000${scope.agentId}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.drainOnce(scope, minAgeMs), () => this.drainOnce(scope, minAgeMs));
    const tail = run.catch(() => {});
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async drainOnce(scope: { userId: string; agentId: string }, minAgeMs: number): Promise<Drained> {
    const done = new Map<string, AppliedGraphChanges>();
    for (let round = 0; round < ROUNDS; round++) {
      const claimed = await claimScope(this.pool, this.tables, scope, this.holder, { leaseMs: this.timing.leaseMs, limit: CLAIM_LIMIT, minAgeMs });
      if (claimed.length === 0) break;
      for (const [i, pending] of claimed.entries()) {
        let applied: AppliedGraphChanges;
        try {
          applied = await this.backend.apply(pending.scope, pending.changes, pending.memoryIds);
        } catch (error) {
          // Keep the order: this row and every later one of the scope wait for the retry.
          await this.release(claimed.slice(i), pending, error);
          return { done, failed: true };
        }
        if (await settlePendingGraph(this.pool, this.tables, pending, this.holder, applied)) done.set(pending.id, applied);
      }
    }
    return { done, failed: false };
  }

  private async release(rows: PendingGraphWrite[], failed: PendingGraphWrite, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const retryInMs = Math.min(this.timing.maxRetryMs, this.timing.retryMs * 2 ** Math.min(failed.attempts, 16));
    this.logger?.warn(
      { user_id: failed.scope.userId, pending: rows.length, attempt: failed.attempts + 1, retry_in_s: retryInMs / 1000, err: message },
      'graph write failed; the relations stay queued and are written when the graph store answers',
    );
    await releasePendingGraph(this.pool, this.tables, rows.map((r) => r.id), this.holder, { id: failed.id, error: message }, retryInMs)
      .catch((e: unknown) => this.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not release graph outbox rows; their lease runs out'));
  }
}
