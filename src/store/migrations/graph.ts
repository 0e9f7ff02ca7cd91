/**
 * Migration 10: the graph memory's tables beside the collection's memories (same database, same schema, names derived
 * from the collection name). Entities are keyed by (user, agent, normalised name) and carry the embedding of their
 * name; relations join two entities of the same graph. Created for every collection, used only when a graph store
 * is configured: empty tables cost nothing and a later switch-on needs no DDL.
 * @module
 */
import { HNSW_MAX_DIMS } from '../migration.js';
import type { Migration } from '../migration.js';
import { graphTablesFor } from '../graph/tables.js';

export const graphMigration: Migration = {
  version: 10,
  name: 'graph_tables',
  async up({ client, tables, collection }) {
    const g = graphTablesFor(tables);
    // agent_id '' is the user's own graph (no agent): a NOT NULL key column keeps the unique index simple.
    await client.query(`CREATE TABLE ${g.entities} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id text NOT NULL,
      agent_id text NOT NULL DEFAULT '',
      name text NOT NULL,
      match_key text NOT NULL,
      entity_type text NOT NULL DEFAULT '',
      embedding vector(${collection.dims}) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, agent_id, name)
    )`);
    await client.query(`CREATE TABLE ${g.relations} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id text NOT NULL,
      agent_id text NOT NULL DEFAULT '',
      source_id bigint NOT NULL REFERENCES ${g.entities} (id) ON DELETE CASCADE,
      relationship text NOT NULL,
      destination_id bigint NOT NULL REFERENCES ${g.entities} (id) ON DELETE CASCADE,
      memory_ids uuid[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (source_id, relationship, destination_id)
    )`);
    await client.query(`CREATE INDEX ${g.index('rel_scope_idx')} ON ${g.relations} (user_id, agent_id, updated_at DESC)`);
    await client.query(`CREATE INDEX ${g.index('rel_destination_idx')} ON ${g.relations} (destination_id)`);
    if (collection.hnsw && collection.dims <= HNSW_MAX_DIMS) {
      await client.query(`CREATE INDEX ${g.index('entity_hnsw_idx')} ON ${g.entities} USING hnsw (embedding vector_cosine_ops)`);
    }
  },
};
