/**
 * Migration 14: the graph outbox. When the graph is not in the memories' transaction (Neo4j, or any graph beside a
 * mem0ai vector store), an add's graph changes are stored here in the same SQL transaction as its memories (or its
 * queued job's completion), then written to the graph and removed. A row left behind (the graph store was down, the
 * process died in between) is written later by whichever process drains it (store/graph/outbox.ts).
 * @module
 */
import type { Migration } from '../migration.js';
import { graphTablesFor } from '../graph/tables.js';

export const graphOutboxMigration: Migration = {
  version: 14,
  name: 'graph_outbox',
  async up({ client, tables }) {
    const g = graphTablesFor(tables);
    await client.query(`CREATE TABLE ${g.outbox} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id text NOT NULL,
      agent_id text NOT NULL DEFAULT '',
      changes jsonb NOT NULL,
      memory_ids uuid[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0,
      claimed_by text,
      claimed_until timestamptz,
      last_error text
    )`);
    await client.query(`CREATE INDEX ${g.index('outbox_scope_idx')} ON ${g.outbox} (user_id, agent_id, id)`);
  },
};
