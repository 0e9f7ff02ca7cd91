/**
 * A lease per (user, app) in the database keeps two extraction runs off the same user, also when they run in two
 * processes. Acquire is ONE statement: insert the row, or take over a row whose lease has expired; a live lease of
 * someone else makes it return nothing (PostgreSQL's ON CONFLICT serialises racing acquirers on the row, so exactly
 * one wins). Every acquisition gets a fresh UUID `holder`, the fencing token: renew, release and every checkpoint
 * save name it, so a run whose lease expired and was taken over can no longer write. The holder renews well before
 * expiry while it runs; a holder that dies stops renewing and its lease frees itself after the TTL.
 * @module
 */
import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import type { SqlQuery, Tables } from './sql.js';
import { extractionTables } from './extraction-tables.js';

export function acquireLeaseSql(t: Tables, input: { userId: string; appId: string; holder: string; taskId: string; ttlMs: number }): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `INSERT INTO ${x.leases} AS l (user_id, app_id, holder, task_id, acquired_at, expires_at)
      VALUES ($1::text, $2::text, $3::uuid, $4::text, now(), now() + make_interval(secs => $5::double precision / 1000))
      ON CONFLICT (user_id, app_id) DO UPDATE SET
        holder = EXCLUDED.holder, task_id = EXCLUDED.task_id, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
      WHERE l.expires_at <= now()
      RETURNING l.holder::text AS holder`,
    values: [input.userId, input.appId, input.holder, input.taskId, input.ttlMs],
  };
}

export function renewLeaseSql(t: Tables, input: { userId: string; appId: string; holder: string; ttlMs: number }): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `UPDATE ${x.leases} SET expires_at = now() + make_interval(secs => $4::double precision / 1000)
      WHERE user_id = $1::text AND app_id = $2::text AND holder = $3::uuid AND expires_at > now()
      RETURNING 1 AS held`,
    values: [input.userId, input.appId, input.holder, input.ttlMs],
  };
}

export function releaseLeaseSql(t: Tables, input: { userId: string; appId: string; holder: string }): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `DELETE FROM ${x.leases} WHERE user_id = $1::text AND app_id = $2::text AND holder = $3::uuid`,
    values: [input.userId, input.appId, input.holder],
  };
}

/** Expired leases (left by a process that died) of one user, or of everyone; `dryRun` counts them. */
export function expiredLeasesSql(t: Tables, input: { userId?: string | undefined; dryRun: boolean }): SqlQuery {
  const x = extractionTables(t);
  const values: unknown[] = [];
  let where = 'expires_at <= now()';
  if (input.userId !== undefined) {
    values.push(input.userId);
    where += ' AND user_id = $1::text';
  }
  if (input.dryRun) return { text: `SELECT count(*)::int AS n FROM ${x.leases} WHERE ${where}`, values };
  return { text: `WITH gone AS (DELETE FROM ${x.leases} WHERE ${where} RETURNING 1) SELECT count(*)::int AS n FROM gone`, values };
}

export interface Lease {
  readonly userId: string;
  readonly appId: string;
  /** The fencing token. */
  readonly holder: string;
}

export class LeaseStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
  ) {}

  /** The lease, or null when another run holds a live one. */
  async acquire(userId: string, appId: string, taskId: string, ttlMs: number): Promise<Lease | null> {
    const holder = randomUUID();
    const q = acquireLeaseSql(this.tables, { userId, appId, holder, taskId, ttlMs });
    const { rows } = await this.pool.query<{ holder: string }>(q.text, q.values);
    return rows[0]?.holder === holder ? { userId, appId, holder } : null;
  }

  /** Extends the lease; false when it was lost (expired, taken over or released). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const q = renewLeaseSql(this.tables, { ...lease, ttlMs });
    const res = await this.pool.query(q.text, q.values);
    return (res.rowCount ?? 0) > 0;
  }

  /** Gives the lease back (a no-op when it was already lost). */
  async release(lease: Lease): Promise<void> {
    const q = releaseLeaseSql(this.tables, lease);
    await this.pool.query(q.text, q.values);
  }

  async cleanExpired(input: { userId?: string | undefined; dryRun: boolean }): Promise<number> {
    const q = expiredLeasesSql(this.tables, input);
    const { rows } = await this.pool.query<{ n: number }>(q.text, q.values);
    return rows[0]?.n ?? 0;
  }
}
