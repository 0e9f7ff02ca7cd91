/**
 * The store migration that adds the extraction tables (see tables.ts). It lives next to the SQL that uses them and
 * is listed in store/migrations.ts like every other numbered migration.
 * @module
 */
import type { Migration } from '../migration.js';
import { createExtractionTables } from '../extraction-tables.js';

export const extractionMigration: Migration = {
  version: 7,
  name: 'extraction_tables',
  async up({ client, tables }) {
    for (const statement of createExtractionTables(tables)) await client.query(statement);
  },
};
