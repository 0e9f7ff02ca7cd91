/**
 * Workspaces kept apart on the embedded database. One plugin process serves every Dify workspace that installed the
 * plugin, and the daemon does not say which workspace a request comes from; with an embedded (PGlite) store all of
 * them would share one database and one collection. Each workspace therefore gets a namespace, a random id kept in
 * the daemon's plugin storage (tools/workspace.ts), and its own collection `<collection_name>_w<namespace>` (its
 * history, queue, checkpoint and access-log tables follow the collection's name).
 *
 * Data written before namespaces existed sits under the plain collection name. The first workspace to get a namespace
 * for a data directory claims those plain names (store: `<dataDir>.shared-owner`) and keeps using them, so an
 * existing install keeps its memories; every later workspace gets its own suffixed collection.
 * @module
 */
import { randomBytes, createHash } from 'node:crypto';
import { claimShared, parseStoreConfig, settleEmbeddedDir, sharedOwner } from '../store/index.js';
import { settingsHash } from './config/settings.js';
import type { Settings } from './config/settings.js';
import { DEFAULT_COLLECTION } from './config/vector-store-config.js';

/** A namespace id: 12 lowercase hex digits (48 random bits). */
export const NAMESPACE_PATTERN = /^[0-9a-f]{12}$/;

export function newNamespace(): string {
  return randomBytes(6).toString('hex');
}

/** Settings whose memories need a workspace namespace: the embedded PGlite store (default or explicit). */
export function needsNamespace(settings: Settings): boolean {
  return settings.vectorStore.provider === 'pglite' && !settings.vectorStore.external;
}

/**
 * The embedded data directory of these settings, or null for a throwaway `memory://` database (nothing to claim).
 * An older version's data is moved into place first, with the file naming its owner.
 */
async function dataDirOf(settings: Settings): Promise<string | null> {
  const config = parseStoreConfig({ provider: 'pglite', config: settings.vectorStore.config });
  if (config.kind !== 'pglite' || config.dataDir.startsWith('memory://')) return null;
  await settleEmbeddedDir(config);
  return config.dataDir;
}

/** `<base>_w<namespace>`, shortened with a hash of `base` when it would pass PostgreSQL's 63-character limit. */
export function workspaceCollection(base: string, namespace: string): string {
  const suffix = `_w${namespace}`;
  if (base.length + suffix.length <= 63) return `${base}${suffix}`;
  const hash = createHash('sha1').update(base).digest('hex').slice(0, 6);
  return `${base.slice(0, 63 - suffix.length - 7)}_${hash}${suffix}`;
}

/** A new workspace namespace claims the plain collection names of its data directory if nobody did before. */
export async function claimSharedNames(settings: Settings, namespace: string): Promise<boolean> {
  const dataDir = await dataDirOf(settings);
  return dataDir !== null && (await claimShared(dataDir, namespace));
}

/**
 * The settings one workspace runs with: its own collection, unless it owns the plain names of this data directory.
 * Settings that need no namespace come back unchanged.
 */
export async function workspaceSettings(settings: Settings, namespace: string): Promise<Settings> {
  if (!needsNamespace(settings) || settings.vectorStore.provider !== 'pglite') return settings;
  const dataDir = await dataDirOf(settings);
  if (dataDir !== null && (await sharedOwner(dataDir)) === namespace) return settings;
  const config = settings.vectorStore.config;
  const base = typeof config.collection_name === 'string' && config.collection_name !== '' ? config.collection_name : DEFAULT_COLLECTION;
  const collection = workspaceCollection(base, namespace);
  const { hash: _previous, ...rest } = settings;
  const unhashed = { ...rest, vectorStore: { ...settings.vectorStore, config: { ...config, collection_name: collection } } };
  return { ...unhashed, hash: settingsHash(unhashed) };
}
