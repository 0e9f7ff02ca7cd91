/**
 * Names of one collection's graph tables: `<collection>_graph_entities` and `<collection>_graph_relations` in the
 * collection's schema, quoted, with the same shortening rule as every other derived name (store/tables.ts).
 * @module
 */
import type { Tables } from '../sql.js';
import { indexName } from '../tables.js';

export interface GraphTables {
  entities: string;
  relations: string;
  /** A quoted index name derived from the collection. */
  index(suffix: string): string;
}

export function graphTablesFor(tables: Tables): GraphTables {
  return {
    entities: `${tables.schema}.${indexName(tables, 'graph_entities')}`,
    relations: `${tables.schema}.${indexName(tables, 'graph_relations')}`,
    index: (suffix) => indexName(tables, `graph_${suffix}`),
  };
}
