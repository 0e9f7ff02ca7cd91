/**
 * Checkpoints in their own table, saved with compare-and-set: a save names the version it started from and succeeds
 * only if the row is still at that version (and, for a run, only while the run still holds the user's lease). Every
 * successful save bumps the version. Two writers that loaded the same version cannot both win: the second gets a
 * {@link CheckpointConflictError} instead of silently overwriting the first (no lost update).
 * @module
 */
import type pg from 'pg';
import { z } from 'zod';
import { Params } from './sql.js';
import type { SqlQuery, Tables } from './sql.js';
import { extractionTables } from './extraction-tables.js';

/** One conversation's checkpoint (field names as `get_user_checkpoint` shows them; times are Unix seconds). */
export interface ConversationCheckpoint {
  /** The newest message processed so far. */
  last_processed_message_id: string | null;
  /** Covered span, start inclusive. */
  processed_range_start: number | null;
  /** Covered span, end exclusive. */
  processed_range_end: number | null;
}

/**
 * The stored per user+app checkpoint, in the shape `get_user_checkpoint` shows. Times are ISO 8601 (UTC).
 * `resume_end_time` is ours (the original kept only the start of the interrupted window).
 */
export interface UserCheckpoint {
  conversations: Record<string, ConversationCheckpoint>;
  resume_conversation_cursor: string | null;
  resume_run_at: string | null;
  resume_start_time: string | null;
  resume_end_time: string | null;
}

/** A save lost the race: the row moved on (`version`) or the run no longer holds the user's lease (`lease`). */
export class CheckpointConflictError extends Error {
  override readonly name = 'CheckpointConflictError';
  constructor(
    readonly reason: 'version' | 'lease',
    readonly userId: string,
    readonly appId: string,
  ) {
    super(
      reason === 'version'
        ? `the checkpoint of user ${userId} (app ${appId}) was changed by another run; this run's result was not saved`
        : `this run lost the lease on user ${userId} (app ${appId}); its result was not saved`,
    );
  }
}

export interface StoredCheckpoint {
  userId: string;
  appId: string;
  checkpoint: UserCheckpoint;
  /** 0 when there is no row yet. */
  version: number;
  conversationsCount: number;
  createdAt: Date | null;
  updatedAt: Date | null;
}

const seconds = z.number().finite().nullable();
const conversationSchema: z.ZodType<ConversationCheckpoint> = z.object({
  last_processed_message_id: z.string().nullable(),
  processed_range_start: seconds,
  processed_range_end: seconds,
});
const iso = z.string().nullable().optional().transform((v) => v ?? null);
const checkpointSchema = z.object({
  conversations: z.record(z.string(), conversationSchema),
  resume_conversation_cursor: iso,
  resume_run_at: iso,
  resume_start_time: iso,
  resume_end_time: iso,
});

/** Reads a stored checkpoint; a row that does not have the shape is reported, never treated as empty. */
export function parseCheckpoint(raw: unknown): UserCheckpoint {
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) throw new Error('the stored extraction checkpoint is unreadable (unexpected shape)');
  return parsed.data;
}

interface Row {
  userId: string;
  appId: string;
  checkpoint: unknown;
  version: string;
  conversationsCount: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `c.user_id AS "userId", c.app_id AS "appId", c.checkpoint, c.version::text AS version,
  c.conversations_count AS "conversationsCount", c.created_at AS "createdAt", c.updated_at AS "updatedAt"`;

export function selectCheckpoint(t: Tables, userId: string, appId: string | undefined): SqlQuery {
  const x = extractionTables(t);
  if (appId !== undefined) {
    return { text: `SELECT ${COLUMNS} FROM ${x.checkpoints} c WHERE c.user_id = $1 AND c.app_id = $2`, values: [userId, appId] };
  }
  // Without an app: the user's most recently saved checkpoint (of whichever app).
  return { text: `SELECT ${COLUMNS} FROM ${x.checkpoints} c WHERE c.user_id = $1 ORDER BY c.updated_at DESC LIMIT 1`, values: [userId] };
}

/** The lease condition a run's save carries: the holder still holds an unexpired lease on this (user, app). */
function leaseHeld(x: ReturnType<typeof extractionTables>, user: string, app: string, holder: string): string {
  return `EXISTS (SELECT 1 FROM ${x.leases} l WHERE l.user_id = ${user} AND l.app_id = ${app} AND l.holder = ${holder}::uuid AND l.expires_at > now())`;
}

/**
 * Compare-and-set in ONE statement. `expected = 0`: insert, only if no row exists; otherwise update, only if the row
 * is at `expected`. With a `holder`, also only while that lease is held. Returns the new version, or no row.
 */
export function saveCheckpointSql(
  t: Tables,
  input: { userId: string; appId: string; checkpoint: UserCheckpoint; expected: number; holder: string | null },
): SqlQuery {
  const x = extractionTables(t);
  const p = new Params();
  const user = p.add(input.userId);
  const app = p.add(input.appId);
  const json = p.add(JSON.stringify(input.checkpoint));
  const count = p.add(Object.keys(input.checkpoint.conversations).length);
  const fence = input.holder === null ? 'true' : leaseHeld(x, `${user}::text`, `${app}::text`, p.add(input.holder));
  if (input.expected === 0) {
    return {
      text: `INSERT INTO ${x.checkpoints} (user_id, app_id, checkpoint, conversations_count, version)
        SELECT ${user}::text, ${app}::text, ${json}::jsonb, ${count}::int, 1 WHERE ${fence}
        ON CONFLICT (user_id, app_id) DO NOTHING
        RETURNING version::text AS version`,
      values: p.values,
    };
  }
  const expected = p.add(input.expected);
  return {
    text: `UPDATE ${x.checkpoints} SET checkpoint = ${json}::jsonb, conversations_count = ${count}::int,
        version = version + 1, updated_at = now()
      WHERE user_id = ${user}::text AND app_id = ${app}::text AND version = ${expected}::bigint AND ${fence}
      RETURNING version::text AS version`,
    values: p.values,
  };
}

/**
 * Stale checkpoints of one user (and app) last saved before `before`, except those a run holds a live lease on.
 * `dryRun` counts instead of deleting.
 */
export function cleanCheckpointsSql(t: Tables, input: { userId: string; appId: string | undefined; before: Date; dryRun: boolean }): SqlQuery {
  const x = extractionTables(t);
  const p = new Params();
  const where = [`c.user_id = ${p.add(input.userId)}::text`, `c.updated_at < ${p.add(input.before)}::timestamptz`];
  if (input.appId !== undefined) where.push(`c.app_id = ${p.add(input.appId)}::text`);
  where.push(`NOT EXISTS (SELECT 1 FROM ${x.leases} l WHERE l.user_id = c.user_id AND l.app_id = c.app_id AND l.expires_at > now())`);
  const predicate = where.join(' AND ');
  if (input.dryRun) return { text: `SELECT count(*)::int AS n FROM ${x.checkpoints} c WHERE ${predicate}`, values: p.values };
  return {
    text: `WITH gone AS (DELETE FROM ${x.checkpoints} c WHERE ${predicate} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    values: p.values,
  };
}

export class CheckpointStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
  ) {}

  /** The stored checkpoint, or null. Without `appId`, the user's most recently saved one. */
  async find(userId: string, appId?: string | undefined): Promise<StoredCheckpoint | null> {
    const q = selectCheckpoint(this.tables, userId, appId);
    const { rows } = await this.pool.query<Row>(q.text, q.values);
    const row = rows[0];
    if (!row) return null;
    return {
      userId: row.userId,
      appId: row.appId,
      checkpoint: parseCheckpoint(row.checkpoint),
      version: Number(row.version),
      conversationsCount: row.conversationsCount,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  /** The checkpoint a run starts from: the stored one, or version 0 (nothing stored). */
  async load(userId: string, appId: string): Promise<{ checkpoint: UserCheckpoint | null; version: number }> {
    const found = await this.find(userId, appId);
    return found ? { checkpoint: found.checkpoint, version: found.version } : { checkpoint: null, version: 0 };
  }

  /**
   * Saves `checkpoint` if the row is still at `expected` (0: no row yet) and, when `holder` is given, that lease is
   * still held. Returns the new version; throws {@link CheckpointConflictError} when either condition failed.
   */
  async save(input: { userId: string; appId: string; checkpoint: UserCheckpoint; expected: number; holder: string | null }): Promise<number> {
    const q = saveCheckpointSql(this.tables, input);
    const { rows } = await this.pool.query<{ version: string }>(q.text, q.values);
    const saved = rows[0];
    if (saved) return Number(saved.version);
    // Tell the two causes apart for the report (the write itself was already refused atomically).
    let reason: 'version' | 'lease' = 'version';
    if (input.holder !== null) {
      const x = extractionTables(this.tables);
      const held = await this.pool.query(
        `SELECT 1 FROM ${x.leases} WHERE user_id = $1 AND app_id = $2 AND holder = $3::uuid AND expires_at > now()`,
        [input.userId, input.appId, input.holder],
      );
      if (held.rowCount === 0) reason = 'lease';
    }
    throw new CheckpointConflictError(reason, input.userId, input.appId);
  }

  async clean(input: { userId: string; appId: string | undefined; before: Date; dryRun: boolean }): Promise<number> {
    const q = cleanCheckpointsSql(this.tables, input);
    const { rows } = await this.pool.query<{ n: number }>(q.text, q.values);
    return rows[0]?.n ?? 0;
  }
}
