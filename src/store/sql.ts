/**
 * The shape every SQL builder returns, and the parameter list they share. Values only ever travel as `$n`
 * parameters; the only text spliced into SQL is identifiers that passed {@link quoteIdent}.
 * @module
 */
import { createHash } from 'node:crypto';

export interface SqlQuery {
  text: string;
  values: unknown[];
  /** Set by {@link prepared}: the server keeps the parsed statement per connection under this name. */
  name?: string;
}

/**
 * The statement as a named prepared statement: each connection parses (and plans) it once, later calls send only
 * the parameters. The name is derived from the text, so one name never stands for two texts (node-postgres refuses
 * that) and every collection's tables get their own. Only for statements whose text does not grow with the input
 * (arrays travel as one parameter each).
 */
export function prepared(query: SqlQuery): SqlQuery {
  return { ...query, name: `mem0_${createHash('sha1').update(query.text).digest('hex').slice(0, 24)}` };
}

/**
 * A vector as pgvector's text input, `[0.1,-0.2,…]`. JSON.stringify writes each number exactly as `join(',')`
 * does (the shortest text that reads back as the same double) but about 3× faster, which is a tenth of an add's
 * node CPU at 384 dimensions (bench/store/cpu.ts). Arrays of finite numbers only: callers check that first.
 */
export function vectorLiteral(vector: readonly number[]): string {
  return JSON.stringify(vector);
}

/** The largest magnitude a float4 holds; pgvector stores each value as one. */
export const FLOAT4_MAX = 3.4028234663852886e38;

/**
 * A vector in pgvector's binary form (what `vector_recv` reads): the dimension count and a zero as 16-bit integers,
 * then each value as a big-endian float4. node-postgres sends a Buffer parameter in binary, so the server stores it
 * without parsing text, and writing it costs about a sixth of the text form (bench/store/cpu.ts), the largest piece
 * of a search's node CPU. Each value is rounded to the nearest float4, as the server rounds the text form; only a
 * double exactly halfway between two float4s may land on the other neighbour (ties go to even here, to the side of
 * the decimal text there), one float4 step. Finite numbers within float4's range only: callers check that first.
 * For a single vector parameter; arrays of vectors stay text.
 */
export function vectorBinary(vector: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * vector.length);
  out.writeInt16BE(vector.length, 0);
  out.writeInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) out.writeFloatBE(vector[i]!, 4 + 4 * i);
  return out;
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
