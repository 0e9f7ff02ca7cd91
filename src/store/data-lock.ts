/**
 * One process at a time per embedded data directory. PGlite is a single-process database: two processes writing
 * one directory corrupt it. That happens for real during an upgrade, when the daemon starts the new version while the
 * old one still runs, both now pointing at the same version-independent folder (embedded-home.ts).
 *
 * The lock is the file `<dataDir>.lock` (beside the directory, not inside PostgreSQL's files), created exclusively
 * and holding the holder's pid, host name, a random token and (on Linux) when the holder started. A second process
 * waits for it (`MEM0_DATA_LOCK_WAIT_MS`, default 20 s) and then fails with a message naming the holder. A lock left by
 * a process that no longer exists on this host is taken over. A pid alone does not say that: after a kill -9 the pid
 * may belong to another process by now, or — a container restarted — to the new plugin process itself. So a lock
 * naming our own pid but not taken by this process, or a live pid that started at another moment than the holder,
 * is stale too. A lock from another host cannot be checked and is never taken over.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import { EngineError } from '../shared/errors.js';

export const LOCK_WAIT_ENV = 'MEM0_DATA_LOCK_WAIT_MS';
const DEFAULT_WAIT_MS = 20_000;
const POLL_MS = 250;

interface Holder {
  pid: number;
  host: string;
  since: string;
  token: string;
  /** Boot id and start time of the holder process (Linux); absent in locks of older versions and elsewhere. */
  started?: string | undefined;
}

/** Tokens of the locks this process holds: a lock naming our pid with another token is a previous process's. */
const heldHere = new Set<string>();

export interface DataLock {
  readonly path: string;
  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

export function lockPathOf(dataDir: string): string {
  return `${dataDir}.lock`;
}

function waitFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[LOCK_WAIT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_WAIT_MS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new EngineError('store_config', `${LOCK_WAIT_ENV} must be a number of milliseconds ≥ 0 (got ${JSON.stringify(raw.slice(0, 32))})`);
  }
  return value;
}

async function readHolder(file: string): Promise<Holder | null | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') {
      const started = typeof value.started === 'string' ? value.started : undefined;
      return { pid: value.pid, host: value.host, since: String(value.since ?? ''), token: value.token, started };
    }
  } catch {
    // being written right now, or damaged: treated as held (below) rather than guessed at
  }
  return null;
}

/** Whether `pid` is a running process on this host (EPERM: it exists but belongs to another user). */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootId: Promise<string> | undefined;

/**
 * Who `pid` is right now: the boot id and the process's start time in clock ticks (`/proc/<pid>/stat`, field 22), so a
 * pid reused by another process is told apart. Undefined where /proc cannot say (not Linux, or the process is gone).
 */
async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((id) => id.trim());
    const [stat, boot] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), bootId]);
    // The command name (field 2) may hold spaces and parentheses: the fields after its closing one start at field 3.
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return started ? `${boot}:${started}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock of `holder` (on this host) was left by a process that is gone. */
async function isStale(holder: Holder): Promise<boolean> {
  if (holder.pid === process.pid) return !heldHere.has(holder.token);
  if (!isAlive(holder.pid)) return true;
  if (holder.started === undefined) return false; // an older lock: the pid is all there is to go on
  const now = await processIdentity(holder.pid);
  return now !== undefined && now !== holder.started;
}

function describeHolder(holder: Holder | null): string {
  if (!holder) return 'another process (the lock file is being written or is damaged)';
  const where = holder.host === os.hostname() ? '' : ` on host ${holder.host}`;
  return `process ${holder.pid}${where} since ${holder.since}`;
}

/**
 * Removes the stale lock `file` of `stale` without ever removing a lock someone else has just taken: the file is
 * renamed aside first (atomic), and put back if what was renamed turns out not to be the stale one.
 */
async function takeOver(file: string, stale: Holder): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(aside);
  if (moved !== 'gone' && moved?.token !== stale.token) {
    // Someone took the lock between our read and our rename: give it back (link fails if yet another one exists).
    await link(aside, file).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

/**
 * Takes the lock of `dataDir`, waiting up to `waitMs` (default from `MEM0_DATA_LOCK_WAIT_MS`) for a live holder.
 * @throws EngineError `unavailable` naming the holder when the wait ends.
 */
export async function acquireDataLock(
  dataDir: string,
  options: { waitMs?: number; logger?: Logger; env?: NodeJS.ProcessEnv } = {},
): Promise<DataLock> {
  const file = lockPathOf(dataDir);
  const waitMs = options.waitMs ?? waitFromEnv(options.env ?? process.env);
  const mine: Holder = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: randomUUID(),
    started: await processIdentity(process.pid),
  };
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      await writeFile(file, JSON.stringify(mine), { flag: 'wx' });
      heldHere.add(mine.token);
      return { path: file, release: once(() => releaseIfMine(file, mine.token)) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new EngineError('unavailable', `cannot create the lock file ${file}: ${(error as Error).message}`, { cause: error });
      }
    }
    const holder = await readHolder(file);
    if (holder === 'gone') continue;
    if (holder && holder.host === os.hostname() && (await isStale(holder))) {
      options.logger?.warn({ lock: file, pid: holder.pid, since: holder.since }, 'taking over the lock of a process that no longer runs');
      await takeOver(file, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      const own = holder?.pid === process.pid && holder.host === os.hostname();
      throw new EngineError(
        'unavailable',
        own
          ? `the embedded database in ${dataDir} is already open in this process`
          : `the embedded database in ${dataDir} is in use by ${describeHolder(holder)}; PGlite allows one process at a ` +
            `time (during an upgrade the previous version may still be stopping: try again shortly). If no such process ` +
            `runs any more, delete ${file}.`,
      );
    }
    if (!announced) {
      announced = true;
      options.logger?.info({ lock: file, holder: holder ? { pid: holder.pid, host: holder.host } : null, waitMs }, 'waiting for the embedded database lock');
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

async function releaseIfMine(file: string, token: string): Promise<void> {
  const holder = await readHolder(file).catch(() => null);
  if (holder !== 'gone' && holder?.token === token) await unlink(file).catch(() => undefined);
  heldHere.delete(token);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
