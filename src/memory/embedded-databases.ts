/**
 * One embedded (PGlite) database per data directory in this process. Two PGlite instances over one directory would
 * corrupt it, and that situation is ordinary here: when an operator edits the credentials, Dify validates the new
 * set (a second engine) while the old engine still serves calls, and both point at the same `./data/pglite`.
 * Engines therefore borrow the database from this registry; the last one to give it back closes it.
 * `memory://` databases are throwaway and private to each engine, so they are never shared.
 * @module
 */
import { openDatabase } from '../store/index.js';
import type { Database, StoreConfig } from '../store/index.js';

export interface BorrowedDatabase {
  /** The shared database, or undefined when the store should open (and own) its own. */
  database: Database | undefined;
  /** Gives the database back; closes it when nobody else holds it. Safe to call twice. */
  release(): Promise<void>;
}

interface Shared {
  opening: Promise<Database>;
  holders: number;
}

const open = new Map<string, Shared>();
/** Directories whose database is still closing: a new open waits for it (PGlite holds the directory until then). */
const closing = new Map<string, Promise<void>>();

export function isShareable(config: StoreConfig): config is Extract<StoreConfig, { kind: 'pglite' }> {
  return config.kind === 'pglite' && !config.dataDir.startsWith('memory://');
}

export async function borrowDatabase(config: StoreConfig): Promise<BorrowedDatabase> {
  if (!isShareable(config)) return { database: undefined, release: () => Promise.resolve() };
  const dir = config.dataDir;
  let shared = open.get(dir);
  if (!shared) {
    const previous = closing.get(dir) ?? Promise.resolve();
    const opening = previous.then(() => openDatabase(config));
    shared = { opening, holders: 0 };
    open.set(dir, shared);
    const created = shared;
    // A failed open is forgotten at once so the next engine tries again.
    opening.catch(() => {
      if (open.get(dir) === created) open.delete(dir);
    });
  }
  shared.holders += 1;
  const held = shared;
  let database: Database;
  try {
    database = await held.opening;
  } catch (error) {
    held.holders -= 1;
    throw error;
  }
  let released: Promise<void> | undefined;
  return {
    database,
    release: () => (released ??= giveBack(dir, held, database)),
  };
}

function giveBack(dir: string, shared: Shared, database: Database): Promise<void> {
  shared.holders -= 1;
  if (shared.holders > 0) return Promise.resolve();
  if (open.get(dir) === shared) open.delete(dir);
  const done = database.close().finally(() => {
    if (closing.get(dir) === done) closing.delete(dir);
  });
  closing.set(dir, done);
  return done;
}

/** How many embedded databases are open (for tests). */
export function openEmbeddedDatabases(): number {
  return open.size;
}
