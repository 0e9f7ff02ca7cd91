/**
 * Where the embedded (PGlite) data lives, and how data an older version left behind gets there.
 *
 * The Dify daemon runs each installed version in its own folder, `PLUGIN_WORKING_PATH/<author>/<name>-<version>@<checksum>`
 * (`buildPluginWorkingPath`, internal/core/local_runtime/constructor.go), and makes it the working directory. Data kept
 * under the working directory would stay behind on every upgrade, so relative embedded paths resolve against a folder
 * that does not change with the version: the sibling `<author>/<name>-data/`. Outside such a folder (a checkout, remote
 * debugging) they resolve against the working directory, as before.
 *
 * Moving old data: on the first open of a location that does not exist yet, the newest copy of the same relative path
 * in the working directory or in a sibling version folder is renamed into place. A rename within one file system is
 * atomic (an interruption leaves the data either here or there, never half); across file systems the data is copied
 * into a temporary folder first and renamed into place once complete, and the old copy is kept. An existing location
 * is never overwritten. The caller holds the location's lock (data-lock.ts) while this runs.
 * @module
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/** `<name>-<version>@<checksum>`, the daemon's name for a version's working folder. */
const VERSIONED_FOLDER = /^(?<name>[a-z0-9_-]+)-(?<version>\d+\.\d+\.\d+[0-9A-Za-z.+-]*)@(?<checksum>[0-9a-fA-F]+)$/;

/** The environment variable that sets the embedded data directory used when the vector-store block gives no path. */
export const DATA_DIR_ENV = 'MEM0_DATA_DIR';

/** The embedded database's folder name when nothing else is configured, relative to {@link embeddedBase}. */
export const DEFAULT_EMBEDDED_PATH = path.join('data', 'pglite');

/** The daemon's versioned working folder `cwd` stands in, if it is one. */
export function versionedFolder(cwd: string): { parent: string; name: string } | null {
  const match = VERSIONED_FOLDER.exec(path.basename(cwd));
  return match?.groups ? { parent: path.dirname(cwd), name: match.groups.name! } : null;
}

/** The folder relative embedded paths resolve against: `<author>/<name>-data` beside a versioned folder, else `cwd`. */
export function embeddedBase(cwd: string): string {
  const versioned = versionedFolder(cwd);
  return versioned ? path.join(versioned.parent, `${versioned.name}-data`) : cwd;
}

export interface EmbeddedLocation {
  /** Absolute data directory. */
  dataDir: string;
  /**
   * The path (relative) at which older versions kept this data inside their working folder, so it can be moved
   * here on the first start; undefined when the location was given as an absolute path.
   */
  legacyPath?: string | undefined;
}

/**
 * Resolves the embedded data directory: the block's `path` (absolute, or relative to {@link embeddedBase}), else
 * `MEM0_DATA_DIR` (absolute, or relative to `cwd`), else `data/pglite` under {@link embeddedBase}.
 */
export function resolveEmbeddedLocation(blockPath: string | undefined, cwd: string, env: NodeJS.ProcessEnv = process.env): EmbeddedLocation {
  if (blockPath !== undefined) {
    if (path.isAbsolute(blockPath)) return { dataDir: path.normalize(blockPath) };
    return { dataDir: path.resolve(embeddedBase(cwd), blockPath), legacyPath: blockPath };
  }
  const fromEnv = env[DATA_DIR_ENV]?.trim();
  if (fromEnv) return { dataDir: path.resolve(cwd, fromEnv), legacyPath: DEFAULT_EMBEDDED_PATH };
  return { dataDir: path.resolve(embeddedBase(cwd), DEFAULT_EMBEDDED_PATH), legacyPath: DEFAULT_EMBEDDED_PATH };
}

/** Folders where older versions may have left `legacyPath`: the working directory and its sibling version folders. */
export async function legacyCandidates(legacyPath: string, cwd: string): Promise<string[]> {
  const found = new Set<string>([path.resolve(cwd, legacyPath)]);
  const versioned = versionedFolder(cwd);
  if (versioned) {
    const siblings = await readdir(versioned.parent).catch(() => [] as string[]);
    for (const entry of siblings) {
      const match = VERSIONED_FOLDER.exec(entry);
      if (match?.groups?.name === versioned.name) found.add(path.resolve(versioned.parent, entry, legacyPath));
    }
  }
  return [...found];
}

/** A PostgreSQL data directory (PGlite's too) has PG_VERSION at its top. */
function holdsDatabase(dir: string): boolean {
  return existsSync(path.join(dir, 'PG_VERSION'));
}

/** When the database in `dir` was last written: its control file changes on every checkpoint and shutdown. */
async function lastWritten(dir: string): Promise<number> {
  for (const file of [path.join(dir, 'global', 'pg_control'), dir]) {
    const info = await stat(file).catch(() => null);
    if (info) return info.mtimeMs;
  }
  return 0;
}

export type AdoptResult =
  | { moved: false; reason: 'in-place' | 'nothing-found' }
  | { moved: true; from: string; how: 'rename' | 'copy'; leftBehind: string[] };

/**
 * Moves the newest older copy of the data into `target` when `target` holds no database yet. Never overwrites:
 * a `target` that already holds a database (or anything else) is left alone.
 */
export async function adoptLegacyData(target: string, candidates: readonly string[], logger: Logger): Promise<AdoptResult> {
  if (existsSync(target)) {
    if (!holdsDatabase(target) && (await readdir(target)).length > 0) {
      logger.warn({ dataDir: target }, 'the embedded data directory is not empty but holds no database; nothing is moved into it');
    }
    return { moved: false, reason: 'in-place' };
  }
  const sources = candidates.filter((dir) => path.resolve(dir) !== path.resolve(target) && holdsDatabase(dir));
  if (sources.length === 0) return { moved: false, reason: 'nothing-found' };
  const dated = await Promise.all(sources.map(async (dir) => ({ dir, at: await lastWritten(dir) })));
  dated.sort((a, b) => b.at - a.at);
  const from = dated[0]!.dir;
  const leftBehind = dated.slice(1).map((d) => d.dir);
  await mkdir(path.dirname(target), { recursive: true });
  try {
    await rename(from, target);
    await carryOwner(from, target, 'move');
    logger.info({ from, to: target, leftBehind }, 'moved the embedded data of an older version to its version-independent folder');
    return { moved: true, from, how: 'rename', leftBehind };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  // Another file system: copy completely under a temporary name, then rename into place; the old copy stays.
  const incoming = `${target}.incoming-${process.pid}`;
  await rm(incoming, { recursive: true, force: true });
  await cp(from, incoming, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
  await rename(incoming, target);
  await carryOwner(from, target, 'copy');
  logger.info({ from, to: target, leftBehind: [from, ...leftBehind] }, 'copied the embedded data of an older version to its version-independent folder; the old copy is kept');
  return { moved: true, from, how: 'copy', leftBehind: [from, ...leftBehind] };
}

/** The owner of the plain collection names (see {@link sharedOwnerPath}) goes with the data; never overwritten. */
async function carryOwner(from: string, target: string, how: 'move' | 'copy'): Promise<void> {
  const source = sharedOwnerPath(from);
  const destination = sharedOwnerPath(target);
  if (!existsSync(source) || existsSync(destination)) return;
  if (how === 'move') await rename(source, destination);
  else await cp(source, destination, { errorOnExist: true, force: false });
}

/**
 * The file recording which workspace owns the collection names without a workspace suffix in `dataDir` (the names
 * every workspace shared before workspaces were kept apart). Beside the data, so a backup of the data folder's parent
 * carries it.
 */
export function sharedOwnerPath(dataDir: string): string {
  return `${dataDir}.shared-owner`;
}

/** The namespace that owns the unsuffixed collection names in `dataDir`, or null while nobody has claimed them. */
export async function sharedOwner(dataDir: string): Promise<string | null> {
  try {
    const owner = (await readFile(sharedOwnerPath(dataDir), 'utf8')).trim();
    return owner === '' ? null : owner;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Claims the unsuffixed names for `namespace`; exactly one claim ever succeeds per data directory (exclusive create). */
export async function claimShared(dataDir: string, namespace: string): Promise<boolean> {
  await mkdir(path.dirname(dataDir), { recursive: true });
  try {
    await writeFile(sharedOwnerPath(dataDir), `${namespace}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
