/**
 * Migration 12: the graph's change log, so a memory's history can say which relations the write that created or
 * changed it added or removed. One row per (write, memory written): the relations as JSON arrays of
 * `{source, relationship, destination}`. It lives in the SQL database whichever graph store is configured (the
 * memories' history is there too, also beside a mem0ai vector store); without a graph store it stays empty.
 * @module
 */
import type { Migration } from '../migration.js';
import { graphTablesFor } from '../graph/tables.js';

export const graphHistoryMigration: Migration = {
  version: 12,
  name: 'graph_history',
  async up({ client, tables }) {
    const g = graphTablesFor(tables);
    await client.query(`CREATE TABLE ${g.history} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      memory_id uuid NOT NULL,
      user_id text NOT NULL,
      agent_id text NOT NULL DEFAULT '',
      added jsonb NOT NULL DEFAULT '[]',
      deleted jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await client.query(`CREATE INDEX ${g.index('history_memory_idx')} ON ${g.history} (memory_id, id)`);
  },
};
