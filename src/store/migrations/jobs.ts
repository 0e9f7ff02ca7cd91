/**
 * The store migration that adds the durable write queue (see plans.ts for its shape). It lives next to the SQL that
 * uses the table and is listed in store/migrations.ts like every other numbered migration.
 * @module
 */
import type { Migration } from '../migration.js';
import { createQueue } from '../jobs.js';

export const jobQueueMigration: Migration = {
  version: 6,
  name: 'job_queue',
  async up({ client, tables }) {
    for (const statement of createQueue(tables)) await client.query(statement);
  },
};
