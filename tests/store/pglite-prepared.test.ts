// Named (prepared) statements on embedded PGlite: PGlite is one server session behind every pg client the pool
// makes, so a statement prepared through one client must not be parsed again through its replacement.
import { afterEach, expect, it } from 'vitest';
import { parseStoreConfig } from '../../src/store/config.js';
import { openDatabase } from '../../src/store/pool.js';
import type { Database } from '../../src/store/pool.js';
import { prepared } from '../../src/store/sql.js';

let db: Database | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

it('a prepared statement still runs after the pool replaced its client (an error released it)', async () => {
  db = await openDatabase(parseStoreConfig({ provider: 'pglite', config: { path: 'memory://', embedding_model_dims: 8 } }));
  const plusOne = (n: number) => prepared({ text: 'SELECT $1::int + 1 AS n', values: [n] });
  expect((await db.pool.query(plusOne(1))).rows).toEqual([{ n: 2 }]);
  // A client released with an error is destroyed; the pool's next client is a new one over the same session.
  const first = await db.pool.connect();
  first.release(new Error('replace this client'));
  const second = await db.pool.connect();
  expect(second).not.toBe(first);
  second.release();
  expect((await db.pool.query(plusOne(41))).rows).toEqual([{ n: 42 }]);
});
