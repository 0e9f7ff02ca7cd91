/**
 * Statements sent back to back on one connection, in one round trip where the connection pipelines (the store's
 * PostgreSQL pool sets node-postgres' `pipeline` option) and one after another where it does not (PGlite's single
 * client). The server runs them in order either way; pipelining only saves the waits between them.
 *
 * Use it only where a later statement running after an earlier one failed is harmless: inside a transaction the
 * later ones then fail too (the transaction is aborted, and a COMMIT of an aborted transaction rolls it back), and
 * outside one they must not depend on the earlier ones. The non-pipelined path stops at the first failure.
 * @module
 */
import type pg from 'pg';
import type { SqlQuery } from './sql.js';

type Statement = string | SqlQuery;

/** True when `client` sends queued statements without waiting for each answer. */
export function pipelined(client: pg.ClientBase): boolean {
  return (client as { pipeline?: unknown }).pipeline === true;
}

/**
 * Sends `statements` on `client` and resolves to their results in order; rejects with the first failure, but only
 * once every statement sent has answered (so the connection is idle again when the caller sees the error).
 */
export async function sendTogether(client: pg.ClientBase, statements: readonly Statement[]): Promise<pg.QueryResult[]> {
  if (!pipelined(client)) {
    const results: pg.QueryResult[] = [];
    for (const statement of statements) results.push(await client.query(statement));
    return results;
  }
  const settled = await Promise.allSettled(corked(client, () => statements.map((statement) => client.query(statement))));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<pg.QueryResult>).value);
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Runs `send` (which must queue its statements synchronously, as a pipelining client does) with the connection's
 * socket corked, so the statements leave in one write instead of one system call each.
 */
export function corked<T>(client: pg.ClientBase, send: () => T): T {
  const stream = (client as { connection?: { stream?: Partial<Corkable> } }).connection?.stream;
  const socket = typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as Corkable) : null;
  socket?.cork();
  try {
    return send();
  } finally {
    socket?.uncork();
  }
}
