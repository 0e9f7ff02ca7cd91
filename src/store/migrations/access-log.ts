/**
 * The store migration that adds the access log (see queries.ts for its shape). It lives here, next to the SQL that
 * uses the table, and is listed in store/migrations.ts like every other numbered migration.
 * @module
 */
import type { Migration } from '../migration.js';
import { createAccessLog, memoriesScopeIdIndex } from '../access-log.js';

export const accessLogMigration: Migration = {
  version: 5,
  name: 'memory_access_log',
  async up({ client, tables }) {
    for (const statement of createAccessLog(tables)) await client.query(statement);
  },
  // The one thing this migration puts on the memories table itself.
  async readopt({ client, tables }) {
    await client.query(memoriesScopeIdIndex(tables, { ifNotExists: true }));
  },
};
