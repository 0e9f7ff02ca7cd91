// End to end through the real Dify plugin daemon: TWO WORKSPACES and an UPGRADE, on the embedded default store (the
// vector-store field left empty). Both tenants install the same .difypkg, so one plugin process serves both, and both
// use the user id "alice": what one writes must never reach the other's search, get_all, get, export, delete or
// delete_all. Then each tenant upgrades to v2 (the same package with a bumped version, installed through the daemon's
// install/upgrade as Dify's console does): every memory is still there, still apart, and v1 and v2 never open the
// data at once — while one tenant is still on v1, v2 answers ERROR naming v1's process instead of opening it.
// Last, a build without storage permission, where the daemon refuses the storage calls: ERROR naming plugin storage,
// never a fall-back to a shared collection.
//
// In CI a daemon that cannot be built, set up or started FAILS this file with the reason; elsewhere it skips with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readZip, writeZip } from '../../scripts/sign.mjs';
import { Daemon, blobFile, daemonUnavailable, fakeModelCredentials, waitFor, whereDaemonMissing } from '../helpers/dify-daemon.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { REPO_ROOT } from '../helpers/plugin-process.js';
import { plainModel } from '../integration/app.js';

const run = promisify(execFile);
const reason = daemonUnavailable({ packaged: true });
const DIMS = 16;
const USER = 'alice';
const TEA = 'I drink green tea every morning';
const COFFEE = 'I drink black coffee at night';

interface Package {
  name: string;
  bytes: Buffer;
  version: string;
}

/**
 * The same package with its manifest's version raised by `by` patch levels (what a release of the plugin is), and
 * its manifest text passed through `edit`.
 */
async function bumped(v1: Package, by = 1, edit: (manifest: string) => string = (m) => m): Promise<Package> {
  const [major, minor, patch] = v1.version.split('.').map(Number) as [number, number, number];
  const version = `${major}.${minor}.${patch + by}`;
  const { entries } = await readZip(v1.bytes);
  const files = entries
    .filter((entry) => !entry.isDirectory)
    .map((entry) =>
      entry.name === 'manifest.yaml'
        ? { name: entry.name, data: Buffer.from(edit(entry.data.toString('utf8').replace(/^version: .*$/m, `version: ${version}`))) }
        : { name: entry.name, data: entry.data },
    );
  return { name: v1.name.replace(v1.version, version), bytes: await writeZip(files, { mtime: new Date('2000-01-01T00:00:00Z') }), version };
}

describe.skipIf(reason !== undefined)('Dify plugin daemon: two workspaces on the embedded store, then an upgrade', () => {
  const tenantA = randomUUID();
  const tenantB = randomUUID();
  const difyUser = randomUUID();
  let daemon: Daemon | undefined;
  const openai = useFakeModel({ dims: DIMS, script: plainModel });
  let outDir = '';
  let credentials: Record<string, unknown> = {};
  let v1: Package;
  let v1Id = '';
  const ids: Record<string, string> = {};

  const invoke = (tenant: string, tool: string, parameters: Record<string, unknown>) =>
    daemon!.invoke(tenant, difyUser, tool, credentials, parameters);
  const json = async (tenant: string, tool: string, parameters: Record<string, unknown>) => (await invoke(tenant, tool, parameters)).json;
  const memories = async (tenant: string) =>
    ((await json(tenant, 'get_all_memories', { user_id: USER })).results as Array<{ memory: string }>).map((m) => m.memory).sort();
  const searched = async (tenant: string, query: string) =>
    ((await json(tenant, 'search_memory', { query, user_id: USER })).results as Array<{ memory: string }>).map((m) => m.memory);
  const exported = async (tenant: string) => {
    const answer = await invoke(tenant, 'export_memories', { user_id: USER });
    expect(answer.json.status).toBe('SUCCESS');
    return blobFile(answer.messages)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => (JSON.parse(line) as { text: string }).text);
  };
  const processesOf = (version: string) => daemon!.pluginProcesses().filter((p) => p.cmdline.includes(`mem0ai-${version}@`));
  /** The embedded data's lock: beside the versioned folders, in <author>/<name>-data/. */
  const lockFile = () => join(daemon!.stateDir, 'working', 'mem0-ts', 'mem0ai-data', 'data', 'pglite.lock');
  const lockHolder = (): number | undefined => {
    try {
      return (JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'e2e-tenants-'));
    await run(process.execPath, [join(REPO_ROOT, 'scripts', 'package.mjs'), '--out', outDir], { cwd: REPO_ROOT });
    const name = readdirSync(outDir).find((file) => file.endsWith('.difypkg'));
    if (!name) throw new Error(`npm run package wrote no .difypkg into ${outDir}`);
    const version = /-(\d+\.\d+\.\d+)\.difypkg$/.exec(name)?.[1];
    if (!version) throw new Error(`no version in the package name ${name}`);
    v1 = { name, bytes: readFileSync(join(outDir, name)), version };

    credentials = fakeModelCredentials(openai);
    daemon = await Daemon.start();
    v1Id = await daemon.installPackage(tenantA, v1);
    expect(await daemon.installPackage(tenantB, v1)).toBe(v1Id);
    await daemon.waitForPlugin(tenantA, difyUser, credentials, 'after install in tenant A');
    await daemon.waitForPlugin(tenantB, difyUser, credentials, 'after install in tenant B');
  }, 400_000);

  afterAll(async () => {
    await daemon?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  }, 120_000);

  it('serves both tenants from one process, and nothing one writes for "alice" reaches the other', async () => {
    expect(processesOf(v1.version)).toHaveLength(1);
    const addedA = await json(tenantA, 'add_memory', { user: TEA, user_id: USER });
    const addedB = await json(tenantB, 'add_memory', { user: COFFEE, user_id: USER });
    expect([addedA.status, addedB.status]).toEqual(['SUCCESS', 'SUCCESS']);
    ids.A = (addedA.results as Array<{ id: string }>)[0]!.id;
    ids.B = (addedB.results as Array<{ id: string }>)[0]!.id;

    expect(await memories(tenantA)).toEqual([TEA]);
    expect(await memories(tenantB)).toEqual([COFFEE]);
    expect(await searched(tenantA, 'what do I drink')).toEqual([TEA]);
    expect(await searched(tenantB, 'what do I drink')).toEqual([COFFEE]);
    expect(await exported(tenantA)).toEqual([TEA]);
    expect(await exported(tenantB)).toEqual([COFFEE]);

    // An id from the other workspace is unknown: get, update and delete answer NOT_FOUND and change nothing.
    expect((await json(tenantB, 'get_memory', { memory_id: ids.A })).status).toBe('NOT_FOUND');
    expect((await json(tenantA, 'get_memory', { memory_id: ids.B })).status).toBe('NOT_FOUND');
    expect((await json(tenantB, 'update_memory', { memory_id: ids.A, text: 'overwritten' })).status).toBe('NOT_FOUND');
    expect((await json(tenantA, 'delete_memory', { memory_id: ids.B })).status).toBe('NOT_FOUND');
    expect((await json(tenantB, 'get_memory_history', { memory_id: ids.A })).status).toBe('NOT_FOUND');

    // delete_all in one workspace leaves the other's "alice" alone, both ways.
    expect((await json(tenantB, 'delete_all_memories', { user_id: USER })).status).toBe('SUCCESS');
    expect(await memories(tenantA)).toEqual([TEA]);
    expect(await memories(tenantB)).toEqual([]);
    const again = await json(tenantB, 'add_memory', { user: COFFEE, user_id: USER });
    ids.B = (again.results as Array<{ id: string }>)[0]!.id;
    expect((await json(tenantA, 'delete_all_memories', { user_id: USER })).status).toBe('SUCCESS');
    expect(await memories(tenantB)).toEqual([COFFEE]);
    const readded = await json(tenantA, 'add_memory', { user: TEA, user_id: USER });
    ids.A = (readded.results as Array<{ id: string }>)[0]!.id;
    expect(await memories(tenantA)).toEqual([TEA]);
  }, 300_000);

  it('upgrades v1 → v2 through the daemon: the memories are there, and the two versions never open the data at once', async () => {
    const [first] = processesOf(v1.version);
    expect(first).toBeDefined();
    expect(lockHolder()).toBe(first!.pid);
    const v2 = await bumped(v1);

    // Watch the lock for the whole upgrade: whoever it names must be a running plugin process, v1's first, then v2's,
    // never back.
    const holders: number[] = [];
    const sampler = setInterval(() => {
      const pid = lockHolder();
      if (pid !== undefined && holders.at(-1) !== pid) holders.push(pid);
    }, 100);
    try {
      // Tenant A upgrades; tenant B still runs v1, whose process keeps the data open.
      const v2Id = await daemon!.upgradePackage(tenantA, v1Id, v2);
      expect(v2Id).not.toBe(v1Id);
      expect(v2Id.startsWith(`mem0-ts/mem0ai:${v2.version}@`)).toBe(true);
      const refused = await waitFor(
        async () => {
          try {
            // A timeout longer than the lock's wait (20 s), so the answer says why rather than only that it took long.
            return await json(tenantA, 'get_all_memories', { user_id: USER, timeout: 60 });
          } catch {
            return undefined; // v2 not launched yet
          }
        },
        240_000,
        () => `v2 never answered tenant A\n${daemon!.log()}`,
      );
      expect(processesOf(v1.version).map((p) => p.pid)).toEqual([first!.pid]);
      expect(refused.status, JSON.stringify(refused)).toBe('ERROR');
      expect(String(refused.messages)).toContain(`in use by process ${first!.pid}`);
      // Tenant B, still on v1, is unharmed.
      expect(await memories(tenantB)).toEqual([COFFEE]);

      // Tenant B upgrades too: v1 has no workspace left, the daemon stops it, and v2 gets the data.
      expect(await daemon!.upgradePackage(tenantB, v1Id, v2)).toBe(v2Id);
      await waitFor(async () => (processesOf(v1.version).length === 0 ? true : undefined), 120_000, () => `v1 still runs\n${daemon!.log()}`);
      await daemon!.waitForPlugin(tenantA, difyUser, credentials, 'after the upgrade');
      expect(await memories(tenantA)).toEqual([TEA]);
      expect(await memories(tenantB)).toEqual([COFFEE]);
      expect(await searched(tenantB, 'what do I drink')).toEqual([COFFEE]);
      expect((await json(tenantB, 'get_memory', { memory_id: ids.A })).status).toBe('NOT_FOUND');
      expect(((await json(tenantA, 'get_memory', { memory_id: ids.A })).results as { memory: string }).memory).toBe(TEA);
      const history = await json(tenantB, 'get_memory_history', { memory_id: ids.B });
      expect((history.results as Array<{ event: string }>).map((h) => h.event)).toEqual(['ADD']);
      expect((await json(tenantA, 'add_memory', { user: 'I started drinking matcha', user_id: USER })).status).toBe('SUCCESS');
    } finally {
      clearInterval(sampler);
    }
    const [second] = processesOf(v2.version);
    expect(second).toBeDefined();
    expect(existsSync(lockFile())).toBe(true);
    expect(holders).toEqual([first!.pid, second!.pid]);
  }, 600_000);

  it('answers ERROR naming plugin storage, and writes nothing, where the daemon refuses the storage calls', async () => {
    // A build whose manifest does not ask for storage: the daemon answers every storage call "permission denied".
    const withoutStorage = await bumped(v1, 2, (manifest) => manifest.replace(/(\n\s+storage:\n\s+enabled:) true/, '$1 false'));
    expect(withoutStorage.bytes.equals(v1.bytes)).toBe(false);
    const tenantC = randomUUID();
    await daemon!.installPackage(tenantC, withoutStorage);
    const holder = lockHolder();
    const answer = await waitFor(
      async () => {
        try {
          return await json(tenantC, 'add_memory', { user: 'I collect stamps', user_id: USER });
        } catch {
          return undefined; // not launched yet
        }
      },
      240_000,
      () => `the build without storage never answered tenant C\n${daemon!.log()}`,
    );
    expect(answer.status, JSON.stringify(answer)).toBe('ERROR');
    expect(String(answer.messages)).toContain('Dify plugin storage');
    expect(String(answer.messages)).toContain('permission denied');
    const listed = await json(tenantC, 'get_all_memories', { user_id: USER });
    expect(listed.status).toBe('ERROR');
    // Nothing fell back to a shared collection: the other workspaces' "alice" is as it was, and the data was never
    // opened by the new build.
    expect(await memories(tenantA)).toEqual([TEA, 'I started drinking matcha']);
    expect(await memories(tenantB)).toEqual([COFFEE]);
    expect(lockHolder()).toBe(holder);
  }, 400_000);
});

// Where the daemon cannot run: in CI that is a failure with the reason, elsewhere a skip with it.
whereDaemonMissing('Dify plugin daemon: two workspaces and an upgrade', reason, 'the real Dify plugin daemon with a packaged-install environment');

