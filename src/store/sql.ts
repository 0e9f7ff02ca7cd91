/**
 * The shape every SQL builder returns, and the parameter list they share. Values only ever travel as `$n`
 * parameters; the only text spliced into SQL is identifiers that passed {@link quoteIdent}.
 * @module
 */

export interface SqlQuery {
  text: string;
  values: unknown[];
}

/** Collects parameter values and hands out their `$n` placeholders. */
export class Params {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, e.g. `$3`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The table names one collection uses, already quoted and schema-qualified. */
export interface Tables {
  schema: string;
  collection: string;
  /** `"schema"."collection"` */
  memories: string;
  /** `"schema"."collection_history"` */
  history: string;
  /** `"schema"."mem0_ts_migrations"` */
  migrations: string;
}
