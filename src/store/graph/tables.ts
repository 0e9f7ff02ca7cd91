/**
 * Names of one collection's graph tables: `<collection>_graph_entities`, `_graph_relations`, `_graph_history` and
 * `_graph_outbox` in the collection's schema, quoted, with the same shortening rule as every other derived name
 * (store/tables.ts).
 * @module
 */
import type { Tables } from '../sql.js';
import { indexName } from '../tables.js';

export interface GraphTables {
  entities: string;
  relations: string;
  /** What each write changed in the graph, per memory it wrote (migration 12). */
  history: string;
  /** Graph changes committed with their memories and not yet written to the graph store (migration 14). */
  outbox: string;
  /** A quoted index name derived from the collection. */
  index(suffix: string): string;
}

export function graphTablesFor(tables: Tables): GraphTables {
  return {
    entities: `${tables.schema}.${indexName(tables, 'graph_entities')}`,
    relations: `${tables.schema}.${indexName(tables, 'graph_relations')}`,
    history: `${tables.schema}.${indexName(tables, 'graph_history')}`,
    outbox: `${tables.schema}.${indexName(tables, 'graph_outbox')}`,
    index: (suffix) => indexName(tables, `graph_${suffix}`),
  };
}
