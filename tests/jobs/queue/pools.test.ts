// The queue's connection plumbing on the real databases: the workers' share of the pool (accepts find a connection
// while workers queue for theirs), statements sent together (one round trip on PostgreSQL, in order everywhere), and
// which failures count as a dropped connection.
import { afterAll, describe, expect, it } from 'vitest';
import { classifyError, isConnectionError } from '../../../src/jobs/queue/errors.js';
import { pipelined, sendTogether } from '../../../src/store/pipeline.js';
import { DeadlinePool, GatedPool, workerShare } from '../../../src/store/scoped-pools.js';
import { backends } from '../../store/backends.js';
import { eventually } from '../../helpers/fake-providers.js';
import { hold } from '../../helpers/hold.js';

const all = backends();
afterAll(async () => {
  for (const b of all) await b.close();
});

describe.each(all.map((b) => [b.name, b] as const))('queue connections on %s', (name, backend) => {
  it('sends statements together: in order, one result each, the first failure reported after all answered', async () => {
    const store = await backend.open(await backend.freshConfig());
    const client = await store.database.pool.connect();
    try {
      expect(pipelined(client)).toBe(name === 'postgres');
      const results = await sendTogether(client, [
        'BEGIN',
        { text: 'CREATE TEMP TABLE together (n int) ON COMMIT DROP', values: [] },
        { text: 'INSERT INTO together VALUES ($1), ($2)', values: [1, 2] },
        { text: 'SELECT sum(n)::int AS s FROM together', values: [] },
        'COMMIT',
      ]);
      expect(results.map((r) => r.command)).toEqual(['BEGIN', 'CREATE', 'INSERT', 'SELECT', 'COMMIT']);
      expect(results[3]!.rows).toEqual([{ s: 3 }]);
      await expect(sendTogether(client, ['BEGIN', { text: 'SELECT 1/0', values: [] }, 'COMMIT'])).rejects.toMatchObject({ code: '22012' });
      // The connection is idle and usable again (no transaction left open behind the failure).
      await client.query('ROLLBACK').catch(() => null);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });
});

it.skipIf(!process.env.TEST_DATABASE_URL)('workers hold at most their share; a tool call finds a free connection while they queue', async () => {
  const pgBackend = all.find((b) => b.name === 'postgres')!;
  const store = await pgBackend.open(await pgBackend.freshConfig({ maxconn: 3 }));
  const held = hold();
  try {
    const pool = store.database.pool;
    const share = workerShare(3);
    expect(share).toBe(2);
    const gate = new GatedPool(pool, share).asPool();
    // Five workers that each hold a connection until the test lets go.
    let most = 0;
    let holding = 0;
    const worker = async () => {
      const client = await gate.connect();
      holding += 1;
      most = Math.max(most, holding);
      try {
        await held.released;
      } finally {
        holding -= 1;
        client.release();
      }
    };
    const workers = Array.from({ length: 5 }, worker);
    await eventually(() => holding === share);
    // A tool call's statement is answered while the workers hold their share and three more queue for it: it did
    // not wait behind them (if it did, it would wait for good and this test would time out).
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(holding).toBe(share);
    held.release();
    await Promise.all(workers);
    expect(most).toBe(2);
    // gate.query() is counted the same way.
    const queries = await Promise.all(Array.from({ length: 4 }, () => gate.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = $2', ['mem0-dify-plugin', 'active'])));
    for (const r of queries) expect(r.rows[0].n).toBeLessThanOrEqual(2);
  } finally {
    held.release();
    await store.close();
  }
});

it.skipIf(!process.env.TEST_DATABASE_URL)('a bounded statement carries its deadline to the server and leaves the connection with the default timeout', async () => {
  const pgBackend = all.find((b) => b.name === 'postgres')!;
  const store = await pgBackend.open(await pgBackend.freshConfig({ minconn: 1, maxconn: 1 }));
  try {
    const bounded = (ms: number) => new DeadlinePool(store.database.pool, new AbortController().signal, Date.now() + ms, true).asPool();
    const timeoutMs = "SELECT setting::int AS ms FROM pg_settings WHERE name = 'statement_timeout'";
    // The time left of a 60 s deadline: above the pool's default 30 s (unless this machine stalled for half a
    // minute), never above the deadline.
    const ms = (await bounded(60_000).query(timeoutMs)).rows[0].ms as number;
    expect(ms).toBeGreaterThan(30_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    // One connection: the next user gets the same one, back at the pool's default.
    await eventually(() => store.database.pool.idleCount === 1, 20_000, 10);
    expect((await store.database.pool.query(timeoutMs)).rows[0].ms).toBe(30_000);
    // A statement that outlives its deadline is cancelled by the server, and the connection comes back clean.
    await expect(bounded(300).query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: 'timeout' });
    await eventually(() => store.database.pool.idleCount === 1, 20_000, 10);
    expect((await store.database.pool.query(timeoutMs)).rows[0].ms).toBe(30_000);
  } finally {
    await store.close();
  }
});

it('splits a pool: all but a fifth (at least one) for the workers; a single connection is not split', () => {
  expect([1, 2, 5, 6, 10, 20].map(workerShare)).toEqual([1, 1, 4, 5, 8, 16]);
});

it("counts Node's socket errors as a dropped connection, also EPIPE (which looks like a SQLSTATE)", () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  expect(classifyError(epipe)).toMatchObject({ code: 'epipe', retryable: true });
  expect(isConnectionError(epipe)).toBe(true);
  expect(classifyError(Object.assign(new Error('division by zero'), { code: '22012' }))).toMatchObject({ code: 'sql_22012', retryable: false });
  expect(isConnectionError(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true);
});
