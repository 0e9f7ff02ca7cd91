/**
 * Names of the tables and indexes one collection uses. The memories table is named by `collection_name` (as in
 * Mem0's Python store); its history table is `<collection_name>_history`; the version table is shared by all
 * collections of a schema (`mem0_ts_migrations`). Every name is validated and quoted here, once.
 * @module
 */
import { createHash } from 'node:crypto';
import type { CollectionConfig } from './config.js';
import { quoteIdent } from './config.js';
import type { Tables } from './sql.js';

/** PostgreSQL truncates identifiers to 63 bytes. */
const MAX_IDENT = 63;

export function tablesFor(collection: Pick<CollectionConfig, 'schemaName' | 'collectionName'>): Tables {
  const schema = quoteIdent(collection.schemaName);
  const c = collection.collectionName;
  return {
    schema,
    collection: c,
    memories: `${schema}.${quoteIdent(c)}`,
    history: `${schema}.${quoteIdent(derivedName(c, 'history'))}`,
    migrations: `${schema}.${quoteIdent('mem0_ts_migrations')}`,
  };
}

/**
 * An index name for the collection, quoted. `mem0Style` reproduces Mem0's own naming (`<collection>_<suffix>`,
 * truncated as PostgreSQL would); otherwise a name that would not fit gets a short hash so two never collide.
 */
export function indexName(tables: Tables, suffix: string, mem0Style = false): string {
  const plain = `${tables.collection}_${suffix}`;
  if (mem0Style) return quoteIdent(plain.slice(0, MAX_IDENT));
  return quoteIdent(derivedName(tables.collection, suffix));
}

function derivedName(collection: string, suffix: string): string {
  const plain = `${collection}_${suffix}`;
  if (plain.length <= MAX_IDENT) return plain;
  const hash = createHash('sha1').update(collection).digest('hex').slice(0, 8);
  return `${collection.slice(0, MAX_IDENT - suffix.length - 10)}_${hash}_${suffix}`;
}
